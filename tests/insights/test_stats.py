import numpy as np
import pandas as pd
import pytest

from xbehavior.insights.stats import OTHER, rate_table, wilson_interval


def test_wilson_known_values():
    # 5/10: centre 0.5, half-width 1.96*sqrt(.025+.009604)/1.38416 = 0.26341
    lo, hi = wilson_interval(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4)
    assert hi == pytest.approx(0.7634, abs=1e-4)
    # 0/10: upper bound z^2/(n+z^2) = 3.8415/13.8415 = 0.27754
    lo, hi = wilson_interval(0, 10)
    assert lo == pytest.approx(0.0, abs=1e-12)
    assert hi == pytest.approx(0.27754, abs=1e-4)


def test_wilson_zero_n_is_nan():
    lo, hi = wilson_interval(np.array([0]), np.array([0]))
    assert np.isnan(lo[0]) and np.isnan(hi[0])


def test_rate_table_pools_small_groups_into_other():
    units = pd.DataFrame(
        {
            "g": ["x"] * 4 + ["y"] * 3 + ["z"] * 1 + ["w"] * 1,
            "converted": [1, 1, 0, 0, 1, 0, 0, 1, 1],
        }
    )
    table = rate_table(units, "g", min_count=3)
    assert table["g"].tolist() == ["x", "y", OTHER]
    assert table["n"].tolist() == [4, 3, 2]
    assert table["converters"].tolist() == [2, 1, 2]
    assert table["base_rate"].iloc[0] == pytest.approx(5 / 9)
    assert table["rel_to_base"].iloc[0] == pytest.approx(0.5 / (5 / 9))


@pytest.mark.parametrize(("flag", "label"), [
    ("converted", "converted"), ("abandoned", "abandoned"), ("repeat", "repeat_buyers"),
    ("is_return", "cancelled")])
def test_shown_rate_table_names_what_the_count_counts(flag, label):
    from xbehavior.insights.stats import shown

    table = rate_table(pd.DataFrame({"g": ["x", "y"], flag: [True, False]}), "g", flag, 1)
    assert "converters" in table.columns  # the shared column, for findings and JSON
    assert shown(table).columns.tolist()[:3] == ["g", "n", label]
