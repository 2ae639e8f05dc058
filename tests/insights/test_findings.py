import math

import pandas as pd
import pytest

from xbehavior.insights.findings import (
    bundled_tables,
    compare_extremes,
    log_ratio_z,
    make_findings,
    table_findings,
)
from xbehavior.insights.stats import rate_table


def _table(counts):
    units = pd.DataFrame(
        [(g, i < k) for g, (k, n) in counts.items() for i in range(n)], columns=["g", "converted"]
    )
    return rate_table(units, "g", min_count=1)


def test_overlap_is_said():
    f = compare_extremes("t", _table({"a": (6, 10), "b": (5, 10)}), "g", "Conversion", min_n=5)
    assert f.overlap and "not established" in f.text
    f = compare_extremes("t", _table({"a": (90, 100), "b": (10, 100)}), "g", "Conversion")
    assert not f.overlap and "9.00×" in f.text and "90/100" in f.text and "10/100" in f.text


def test_strength_ranks_pairs_by_hand():
    t = _table({"a": (50, 100), "b": (30, 100), "c": (10, 100), "d": (5, 10)})
    # a/c: log 5 / sqrt(1/50 - 1/100 + 1/10 - 1/100) = 1.6094 / 0.31623 = 5.089
    # b/c: log 3 / sqrt(1/30 - 1/100 + 0.09) = 3.263;  a/b: log(5/3) / sqrt(0.0333) = 2.798
    found = table_findings("t", t, "g", "Conversion", min_n=30)  # d (n = 10) is left out
    assert [(f.group, f.ref_group) for f in found] == [("a", "c"), ("b", "c")]
    assert found[0].strength == pytest.approx(math.log(5) / math.sqrt(0.1))
    assert found[1].strength == pytest.approx(math.log(3) / math.sqrt(1 / 30 - 0.01 + 0.09))
    # a zero count: 0.5 added to k and n of both groups, (10.5/100.5) / (0.5/100.5) = 21
    se = math.sqrt(1 / 10.5 - 1 / 100.5 + 1 / 0.5 - 1 / 100.5)
    assert log_ratio_z(10, 100, 0, 100) == pytest.approx(math.log(21) / se)
    # two tables of three groups give four findings, ranked non-overlapping, then strength
    ranked = make_findings({"t": (t, "g", "C"), "u": (t, "g", "C")}, min_n=30)
    assert len(ranked) == 4 and [f.strength for f in ranked][:2] == [found[0].strength] * 2


def test_findings_match_their_tables():
    tables = bundled_tables()
    found = make_findings(tables)
    assert 5 <= len(found) <= 10
    for f in found:
        table, key, _ = tables[f.source]
        rows = table.set_index(table[key].astype(str))
        for group, k, n, rate, lo, hi in [
            (f.group, f.converters, f.n, f.rate, f.ci_low, f.ci_high),
            (f.ref_group, f.ref_converters, f.ref_n, f.ref_rate, f.ref_ci_low, f.ref_ci_high),
        ]:
            row = rows.loc[group]
            assert (row["converters"], row["n"]) == (k, n)
            assert (row["rate"], row["ci_low"], row["ci_high"]) == pytest.approx((rate, lo, hi))
            assert f"{k}/{n}" in f.text
        assert f.ratio == pytest.approx(f.rate / f.ref_rate)
        assert f.overlap == (f.ref_ci_high >= f.ci_low)


def test_plots_build_from_tables(funnel_log):
    from xbehavior.insights.funnels import funnel
    from xbehavior.insights.plots import funnel_figure, gain_figure, rate_bars
    from xbehavior.insights.targeting import gain_table

    table = _table({"a": (6, 10), "b": (5, 10)})
    assert len(rate_bars(table, "g").data) == 1
    assert (
        len(
            funnel_figure(
                funnel(funnel_log, ("view", "cart"), by="country", min_count=1), by="country"
            ).data
        )
        == 2
    )
    assert len(gain_figure(gain_table([1, 0] * 5, list(range(10)))).data) == 2
