"""features.monthly on a hand-built orders table: trailing-window population and sequences."""

import numpy as np
import pandas as pd
import pytest

from xbehavior.engine import DuckDBEngine
from xbehavior.features import STEP_GROUPS
from xbehavior.features.data import FeatureVocabulary
from xbehavior.features.monthly import monthly_sequences, monthly_user_features
from xbehavior.segments.rules import rule_based_segments

ROWS = [  # user, order, ts, is_return, revenue
    ("a", "1", "2011-01-01 00:00", False, 10.0),
    ("b", "2", "2011-02-01 00:00", False, 20.0),
    ("b", "C3", "2011-02-02 00:00", True, -5.0),
    ("a", "4", "2011-03-10 00:00", False, 30.0),
    ("c", "5", "2011-03-31 23:00", False, 7.0),
]


@pytest.fixture
def engine() -> DuckDBEngine:
    orders = pd.DataFrame(ROWS, columns=["user_id", "order_id", "ts", "is_return", "revenue"])
    orders["ts"] = pd.to_datetime(orders["ts"])
    orders = orders.assign(n_items=2, n_lines=1, n_distinct=1, mean_price=5.0, max_price=5.0,
                           new_item_share=1.0, coupon_share=0.0, country="UK",
                           days_since_prev=np.nan)  # fmt: skip
    eng = DuckDBEngine()
    eng.register("orders", orders)
    return eng


def test_population_is_the_trailing_window_with_zero_order_months(engine):
    months = monthly_user_features(engine, pd.Timestamp("2011-01-15"), n_months=3)
    assert list(months) == ["2011-01", "2011-02", "2011-03"]
    assert {m: sorted(f.index) for m, f in months.items()} == {
        "2011-01": ["a"], "2011-02": ["a", "b"], "2011-03": ["a", "b", "c"],
    }  # fmt: skip
    feb, mar = months["2011-02"], months["2011-03"]
    # a bought in January only: in February's population with 0 orders that month
    assert feb.loc["a", ["orders", "orders_this_month"]].tolist() == [1.0, 0.0]
    assert feb.loc["a", "recency_days"] == 59.0  # Jan 1 -> Mar 1
    # the window is clipped at the log's first order: Feb's covers Jan 1 - Mar 1, 59 days
    assert feb.loc["a", "orders_per_month"] == pytest.approx(30.4375 / 59)
    assert feb.loc["b", ["orders", "returns", "revenue"]].tolist() == [1.0, 1.0, 15.0]
    # March: Jan 1 - Apr 1 = 90 days; a has 2 orders in it
    assert mar.loc["a", "orders_per_month"] == pytest.approx(2 * 30.4375 / 90)
    assert mar.loc["b", "orders_this_month"] == 0.0
    assert mar.attrs["month_end"] == pd.Timestamp("2011-04-01")
    # < 1 order / month: everyone is a window shopper, which a one-month population never has
    assert set(rule_based_segments(mar["orders_per_month"])) == {"window"}


def test_month_sequences_use_only_orders_before_the_month_end(engine):
    months = monthly_user_features(engine, pd.Timestamp("2011-01-01"), n_months=3)
    n_features = sum(len(cols) for cols in STEP_GROUPS.values())
    vocab = FeatureVocabulary(np.zeros(n_features, np.float32), np.ones(n_features, np.float32),
                              ["UK"])  # fmt: skip
    seqs = monthly_sequences(engine, months, vocab, max_len=4)
    assert seqs["2011-02"].keys["user_id"].tolist() == months["2011-02"].index.tolist()
    # in February, a's March order is in the future: one real step, not two
    lengths = dict(zip(seqs["2011-02"].keys["user_id"], seqs["2011-02"].mask.sum(axis=1),
                       strict=True))  # fmt: skip
    assert lengths == {"a": 1, "b": 2}
    assert seqs["2011-03"].mask.sum(axis=1).tolist() == [2, 2, 1]
    assert (seqs["2011-03"].keys["cutoff"] == pd.Timestamp("2011-04-01")).all()
