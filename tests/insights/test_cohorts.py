import pytest

from xbehavior.insights.cohorts import repeat_purchase_rate, retention_matrix, retention_wide

from .factories import make_events


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


def test_last_partial_period_is_flagged(buyers):
    # the log ends 2024-03-15: March (and the week of Mon 03-11) is cut short
    m = retention_matrix(buyers)
    flagged = set(m.loc[m["partial_period"], ["cohort", "offset"]].itertuples(index=False))
    assert flagged == {("2024-01", 2), ("2024-02", 1), ("2024-03", 0)}
    weekly = retention_matrix(buyers, period="week")
    # every cohort's cell of the last week (Mon 03-11; offset 10, 8, 6, 0) and no other
    cut = weekly.loc[weekly["partial_period"], ["cohort", "offset"]].values.tolist()
    assert cut == [["2024-01-01", 10], ["2024-01-15", 8], ["2024-01-29", 6], ["2024-03-11", 0]]


@pytest.fixture
def visitors():
    """p: view Jan 10, purchase Feb 5; q: view Jan 20; r: views Feb 1 and Sun Mar 31."""
    spec = [("p", "2024-01-10", "view", None), ("p", "2024-02-05", "purchase", "o1"),
            ("q", "2024-01-20", "view", None), ("r", "2024-02-01", "view", None),
            ("r", "2024-03-31", "view", None)]
    return make_events(
        [(u, f"{u}{ts}", ts, kind, o, None, 1.0, 1, 1.0, "DE", None) for u, ts, kind, o in spec]
    )


def test_first_visit_cohorts(visitors):
    m = retention_matrix(visitors, anchor="visit")
    cells = {(r.cohort, r.offset): (r.active, r.cohort_size) for r in m.itertuples()}
    assert cells == {
        ("2024-01", 0): (2, 2),
        ("2024-01", 1): (1, 2),  # p came back (to buy) in February
        ("2024-01", 2): (0, 2),
        ("2024-02", 0): (1, 1),
        ("2024-02", 1): (1, 1),  # r returned on March 31
    }
    assert not m["partial_period"].any()  # the log ends on March's last day
    bought = retention_matrix(visitors)  # first-purchase anchor: only p, from February
    assert bought[["cohort", "offset", "active"]].values.tolist() == [
        ["2024-02", 0, 1], ["2024-02", 1, 0]]
    weekly = retention_matrix(visitors, period="week", anchor="visit")
    assert not weekly["partial_period"].any()  # 2024-03-31 is a Sunday
    assert weekly["cohort"].iloc[0] == "2024-01-08"
