"""Orders, cut-offs, labels and sequences on a hand-built order-line log."""

import numpy as np
import pandas as pd
import pytest

from xbehavior.engine import DuckDBEngine
from xbehavior.errors import DataError
from xbehavior.features import (
    CutoffPlan,
    build_examples,
    build_orders,
    build_sequences,
    plan_cutoffs,
)
from xbehavior.ingest.schema import EVENT_COLUMNS


def _events(rows: list[tuple]) -> pd.DataFrame:
    cols = ["user_id", "order_id", "ts", "event_type", "item_id", "price", "quantity", "country"]
    frame = pd.DataFrame(rows, columns=cols)
    frame["ts"] = pd.to_datetime(frame["ts"])
    frame["revenue"] = frame["price"] * frame["quantity"]
    for col in EVENT_COLUMNS:
        if col not in frame:
            frame[col] = None
    return frame[list(EVENT_COLUMNS)]


@pytest.fixture
def engine() -> DuckDBEngine:
    # u1: orders on Jan 5 (2 lines), Jan 20, a return on Jan 25, a purchase Feb 10 (after cut-off)
    # u2: one order on Jan 10, nothing after; u3: first order after the cut-off
    rows = [
        ("u1", "o1", "2011-01-05 10:00", "purchase", "A", 2.0, 3, "France"),
        ("u1", "o1", "2011-01-05 10:00", "purchase", "B", 5.0, 1, "France"),
        ("u1", "o2", "2011-01-20 12:00", "purchase", "A", 2.0, 2, "France"),
        ("u1", "C3", "2011-01-25 09:00", "return", "B", 5.0, -1, "France"),
        ("u1", "o4", "2011-02-10 09:00", "purchase", "C", 1.0, 1, "France"),
        ("u2", "o5", "2011-01-10 08:00", "purchase", "A", 2.0, 10, "Germany"),
        ("u3", "o6", "2011-02-03 08:00", "purchase", "A", 2.0, 1, "Germany"),
        (None, "o7", "2011-01-11 08:00", "purchase", "A", 2.0, 1, "Spain"),
    ]
    eng = DuckDBEngine(threads=1)
    eng.register("events", _events(rows))
    build_orders(eng)
    return eng


def _plan(cutoff: str) -> CutoffPlan:
    """Train cut-off ``cutoff``; val and test far enough apart for a 30-day horizon."""
    c = pd.Timestamp(cutoff)
    return CutoffPlan(train=(c,), val=c + pd.Timedelta(days=60), test=c + pd.Timedelta(days=90),
                      horizon_days=30)


def test_orders_net_returns_and_skip_anonymous(engine: DuckDBEngine) -> None:
    orders = engine.sql("SELECT * FROM orders ORDER BY user_id, ts").set_index("order_id")
    assert list(orders.index) == ["o1", "o2", "C3", "o4", "o5", "o6"]  # o7 has no user
    assert orders.loc["o1", "revenue"] == 11.0 and orders.loc["o1", "n_items"] == 4
    assert orders.loc["C3", "is_return"] and orders.loc["C3", "revenue"] == -5.0
    # o2 re-buys item A: nothing new; o1 is all new
    assert orders.loc["o2", "new_item_share"] == 0.0 and orders.loc["o1", "new_item_share"] == 1.0
    assert orders.loc["o2", "days_since_prev"] == pytest.approx(15 + 2 / 24)


def test_partial_refunds_and_lines_without_price_or_quantity() -> None:
    rows = [
        ("u1", "o1", "2011-01-05 10:00", "purchase", "A", 2.0, 3, "France"),
        ("u1", "o1", "2011-01-06 10:00", "return", "A", 2.0, -1, "France"),  # partial refund
        ("u1", "o2", "2011-01-07 10:00", "purchase", "B", None, None, "France"),
    ]
    eng = DuckDBEngine(threads=1)
    frame = _events(rows)
    frame["revenue"] = [6.0, -2.0, None]  # as ingest nets them; no price: no revenue
    eng.register("events", frame)
    build_orders(eng)
    orders = eng.sql("SELECT * FROM orders ORDER BY ts").set_index("order_id")
    # the refund nets the purchase; the order still counts as one
    assert not orders.loc["o1", "is_return"] and orders.loc["o1", "revenue"] == 4.0
    assert orders.loc["o1", "n_items"] == 3
    # unknown price and quantity: no revenue, one item, price features 0, never NaN
    assert orders.loc["o2", ["revenue", "n_items", "mean_price", "max_price"]].tolist() == [
        0.0, 1, 0.0, 0.0]
    assert not orders.drop(columns="days_since_prev").isna().any().any()


def test_examples_use_only_history_and_label_the_horizon(engine: DuckDBEngine) -> None:
    examples = build_examples(engine, _plan("2011-02-01").frame(), 30).set_index("user_id")
    train = examples[examples["split"] == "train"]
    assert sorted(train.index) == ["u1", "u2"]  # u3 has no history before the cut-off
    u1 = train.loc["u1"]
    assert u1["frequency"] == 2 and u1["n_returns"] == 1
    assert u1["monetary"] == 11.0 + 4.0 - 5.0
    assert u1["recency_days"] == pytest.approx(11.5)  # Jan 20 12:00 -> Feb 1 00:00
    assert u1["return_rate"] == pytest.approx(1 / 3)
    assert u1["label"] == 1  # buys Feb 10, inside [Feb 1, Mar 3)
    assert train.loc["u2", "label"] == 0


def test_sequences_oldest_first_right_padded(engine: DuckDBEngine) -> None:
    examples = build_examples(engine, _plan("2011-02-01").frame(), 30)
    examples = examples[examples["split"] == "train"].reset_index(drop=True)
    data = build_sequences(engine, examples, max_len=2, n_countries=1)
    u1 = int(np.flatnonzero(data.keys["user_id"] == "u1")[0])
    u2 = int(np.flatnonzero(data.keys["user_id"] == "u2")[0])
    assert data.x.shape == (2, 2, len(data.feature_names))
    assert data.mask[u1].tolist() == [True, True]  # 3 orders, the 2 most recent kept
    assert data.mask[u2].tolist() == [True, False]
    is_return = data.feature_names.index("is_return")
    # standardised, so compare order: the latest step (the return) is highest
    assert data.x[u1, 1, is_return] > data.x[u1, 0, is_return]
    assert np.all(data.x[u2, 1] == 0.0)
    # one example each from France and Germany: the tie goes to the alphabetically first
    assert data.context_names == ["country=France", "country=Other"]
    assert data.context[u1].tolist() == [1.0, 0.0] and data.context[u2].tolist() == [0.0, 1.0]
    assert sorted(i for g in data.groups.values() for i in g) == list(range(data.x.shape[2]))


def test_plan_keeps_label_windows_apart() -> None:
    plan = plan_cutoffs(pd.Timestamp("2010-12-01"), pd.Timestamp("2011-12-09 12:50"), 90, 3, 30)
    assert plan.test == pd.Timestamp("2011-09-10")
    assert plan.val == pd.Timestamp("2011-06-12")
    assert max(plan.train) + pd.Timedelta(days=90) <= plan.val
    assert plan.val + pd.Timedelta(days=90) <= plan.test


def test_plan_refuses_short_logs() -> None:
    with pytest.raises(DataError, match="too short"):
        plan_cutoffs(pd.Timestamp("2011-01-01"), pd.Timestamp("2011-03-01"), 90)
