import pytest

from tests.insights.conftest import make_events
from xbehavior.insights.cohorts import repeat_purchase_rate, retention_matrix, retention_wide


@pytest.fixture
def buyers():
    """x: Jan, Feb, Mar orders; y: Jan; z: two Feb orders; w: Mar (last month of the log)."""
    spec = [
        ("x", "2024-01-05", "o1", "DE"),
        ("x", "2024-02-10", "o2", "DE"),
        ("x", "2024-03-01", "o3", "DE"),
        ("y", "2024-01-20", "o4", "UK"),
        ("z", "2024-02-03", "o5", "DE"),
        ("z", "2024-02-20", "o6", "DE"),
        ("w", "2024-03-15", "o7", "UK"),
    ]
    return make_events(
        [(u, f"{o}-s", ts, "purchase", o, None, 1.0, 1, 1.0, c, None) for u, ts, o, c in spec]
    )


def test_retention_cells(buyers):
    m = retention_matrix(buyers)
    cells = {(r.cohort, r.offset): (r.active, r.cohort_size) for r in m.itertuples()}
    assert cells == {
        ("2024-01", 0): (2, 2),
        ("2024-01", 1): (1, 2),
        ("2024-01", 2): (1, 2),
        ("2024-02", 0): (1, 1),
        ("2024-02", 1): (0, 1),  # z bought twice, both in month 0
        ("2024-03", 0): (1, 1),
    }
    wide = retention_wide(m)
    assert wide.loc["2024-01", 1] == pytest.approx(0.5)
    assert wide.isna().loc["2024-03", 1]  # not observed, not zero


def test_weekly_cohorts_and_max_offset(buyers):
    m = retention_matrix(buyers, period="week", max_offset=1)
    assert m["offset"].max() == 1
    assert m.iloc[0]["cohort"] == "2024-01-01"  # Monday of the week of 2024-01-05


def test_repeat_purchase_rate(buyers):
    overall = repeat_purchase_rate(buyers, min_count=1)
    assert (overall["converters"].iloc[0], overall["n"].iloc[0]) == (2, 4)
    by = repeat_purchase_rate(buyers, by="country", min_count=1).set_index("country")
    assert (by.loc["DE", "converters"], by.loc["DE", "n"]) == (2, 2)
    assert (by.loc["UK", "converters"], by.loc["UK", "n"]) == (0, 2)
