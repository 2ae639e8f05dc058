"""Cart-session sequences on a hand-built log (answers worked out by hand)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xbehavior.engine import DuckDBEngine
from xbehavior.errors import ConfigError, DataError
from xbehavior.features.session_sequences import (
    SESSION_STEP_GROUPS,
    build_session_sequences,
    cart_session_steps,
    pad_last,
    session_examples,
    split_by_time,
    split_by_user,
    step_matrix,
    time_cutoffs,
)
from xbehavior.features.sessions import sessionise
from xbehavior.ingest import EVENT_COLUMNS

ROWS = [  # (user, session, 'HH:MM:SS', event_type, price, category)
    # s1: purchased; the purchase and the view after it must go -> 2 steps, label 1
    ("a", "s1", "10:00:00", "view", 10.0, "c1"),
    ("a", "s1", "10:01:00", "cart", 10.0, "c1"),
    ("a", "s1", "10:02:00", "purchase", 10.0, "c1"),
    ("a", "s1", "10:03:00", "view", 5.0, "c2"),
    # s2: abandoned cart -> all 3 steps, label 0
    ("a", "s2", "11:00:00", "view", 5.0, "c2"),
    ("a", "s2", "11:00:30", "cart", 5.0, "c2"),
    ("a", "s2", "11:02:30", "view", None, None),
    # s3: no cart event -> not a cart session
    ("b", "s3", "10:00:00", "view", 1.0, "c1"),
    # s4: purchase first -> nothing before it, dropped
    ("b", "s4", "12:00:00", "purchase", 3.0, "c1"),
    ("b", "s4", "12:01:00", "cart", 3.0, "c1"),
    # s5: cart and purchase in the same second; file order decides -> 1 step, label 1
    ("c", "s5", "09:00:00", "cart", 7.0, "c3"),
    ("c", "s5", "09:00:00", "purchase", 7.0, "c3"),
]


def _events(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["user_id", "session_id", "ts", "event_type", "price",
                                        "category"])
    frame["ts"] = pd.to_datetime("2024-03-01 " + frame["ts"])
    for column in EVENT_COLUMNS:
        if column not in frame:
            frame[column] = pd.Series([None] * len(frame), dtype=object)
    return frame[list(EVENT_COLUMNS)].astype({"price": float, "revenue": float})


@pytest.fixture
def steps() -> pd.DataFrame:
    eng = DuckDBEngine(threads=1)
    eng.register("events", _events(ROWS))
    sessionise(eng)
    return cart_session_steps(eng)


def test_truncated_before_first_purchase(steps):
    got = steps[["session_id", "event_type", "pos", "label"]].values.tolist()
    assert got == [
        ["s1", "view", 1, 1], ["s1", "cart", 2, 1],
        ["s2", "view", 1, 0], ["s2", "cart", 2, 0], ["s2", "view", 3, 0],
        ["s5", "cart", 1, 1],
    ]
    assert "purchase" not in set(steps["event_type"])
    s2 = steps[steps["session_id"] == "s2"]
    assert s2["seconds_since_prev"].fillna(-1).tolist() == [-1, 30, 120]
    assert s2["seconds_since_start"].tolist() == [0, 30, 150]


def test_session_examples(steps):
    ex = session_examples(steps)
    assert ex.drop(columns="start_ts").values.tolist() == [
        ["s1", "a", 1, 2], ["s2", "a", 0, 3], ["s5", "c", 1, 1]]
    assert ex["start_ts"].dt.strftime("%H:%M:%S").tolist() == ["10:00:00", "11:00:00", "09:00:00"]


def test_step_matrix_hand_worked(steps):
    x = step_matrix(steps[steps["session_id"] == "s2"], {"c2": 0.25})
    # view, price 5, category c2 (popularity 0.25), first step: gaps 0
    np.testing.assert_allclose(x[0], [1, 0, 0, 0, 0, np.log(6), 0, 0.25, 0, 0], rtol=1e-6)
    # view without price or category, 120 s after the previous event, 150 s into the session
    np.testing.assert_allclose(x[2], [1, 0, 0, 0, 0, 0, 1, 0, np.log(121), np.log(151)],
                               rtol=1e-6)


def test_padding_and_train_only_scaling(steps):
    ex = session_examples(steps).assign(split=["train", "train", "test"])
    data = build_session_sequences(steps, ex, max_len=4)
    assert data.x.shape == (3, 4, 10) and data.context.shape == (3, 1)
    assert data.mask.tolist() == [[True, True, False, False], [True, True, True, False],
                                  [True, False, False, False]]
    assert np.all(data.x[~data.mask] == 0)
    assert data.y.tolist() == [1, 0, 1]
    real = data.x[:2][data.mask[:2]]  # the 5 training steps are standardised to mean 0
    np.testing.assert_allclose(real.mean(axis=0), 0, atol=1e-6)
    # popularity from training steps only: c1 2/4, c2 2/4 of categorised steps; c3 (test) 0
    pop = data.feature_names.index("category_popularity")
    raw_s5 = data.x[2, 0, pop] * data.vocabulary.step_std[pop] + data.vocabulary.step_mean[pop]
    assert raw_s5 == pytest.approx(0.0, abs=1e-6)
    assert sorted(i for g in data.groups.values() for i in g) == list(range(10))
    assert list(data.groups) == list(SESSION_STEP_GROUPS)


def test_pad_last_keeps_the_most_recent_steps():
    values = np.arange(5, dtype=np.float32)[:, None]  # example 0: 0,1,2 ; example 1: 3,4
    x, mask = pad_last(np.array([0, 0, 0, 1, 1]), values, n=2, max_len=2)
    assert x[..., 0].tolist() == [[1, 2], [3, 4]]
    assert mask.all()


def test_split_by_user_no_overlap_and_stratified():
    users = pd.Series([f"u{i // 2}" for i in range(80)])  # 40 users, 2 sessions each
    labels = np.array([1 if (i // 2) % 2 == 0 else 0 for i in range(80)])  # 20 pos users
    split = split_by_user(users, labels, seed=3)
    by_split = {s: set(users[split == s]) for s in ("train", "val", "test")}
    assert not (by_split["train"] & by_split["val"]) and not (by_split["train"] & by_split["test"])
    assert not (by_split["val"] & by_split["test"])
    # each stratum of 20 users -> 14 / 3 / 3
    assert {s: len(u) for s, u in by_split.items()} == {"train": 28, "val": 6, "test": 6}
    assert labels[split == "val"].sum() == 6  # 3 positive users x 2 sessions
    again = split_by_user(users, labels, seed=3)
    assert (split == again).all()
    assert not (split == split_by_user(users, labels, seed=4)).all()


def _hours(*hours: float) -> pd.Series:
    return pd.Series(pd.Timestamp("2024-03-01") + pd.to_timedelta(list(hours), unit="h"))


def test_split_by_time_default_quantile_cutoffs():
    # 10 sessions, shuffled hours 0..9: 70/15/15 -> 7 / 1.5 / 1.5 -> largest remainder
    # (ties to val first) 7 / 2 / 1; t1 = 8th earliest start (7 h), t2 = 10th (9 h)
    starts = _hours(3, 9, 0, 7, 1, 8, 2, 6, 4, 5)
    t1, t2 = time_cutoffs(starts)
    assert (t1, t2) == (pd.Timestamp("2024-03-01 07:00"), pd.Timestamp("2024-03-01 09:00"))
    split = split_by_time(starts)
    assert split.tolist() == ["train", "test", "train", "val", "train", "val", "train",
                              "train", "train", "train"]
    # every training session starts before every validation one, and so on: no future leaks
    assert starts[split == "train"].max() < starts[split == "val"].min()
    assert starts[split == "val"].max() < starts[split == "test"].min()


def test_split_by_time_explicit_cutoffs_and_ties_go_later():
    starts = _hours(1, 2, 2, 3, 4, 4)
    split = split_by_time(starts, pd.Timestamp("2024-03-01 02:00"), "2024-03-01 04:00")
    # start == t1 -> val (not train); start == t2 -> test
    assert split.tolist() == ["train", "val", "val", "val", "test", "test"]
    # default cut-offs with ties: 6 x (.7, .15, .15) -> 4 / 1 / 1; t1 = 5th start = 4 h,
    # t2 = 6th = 4 h: both sessions at 4 h go to test and val is empty -> a clear error
    with pytest.raises(DataError, match="time split: no session in val"):
        split_by_time(starts)


def test_split_by_time_bad_input():
    with pytest.raises(ConfigError, match=r"t1 \(2024-03-01 05:00:00\) is after t2"):
        split_by_time(_hours(1, 2, 3), "2024-03-01 05:00", "2024-03-01 02:00")
    with pytest.raises(DataError, match="1 sessions have no start time"):
        split_by_time(pd.Series([pd.Timestamp("2024-03-01"), pd.NaT, pd.Timestamp("2024-03-02")]))
    with pytest.raises(DataError, match="2 sessions cannot fill train / val / test"):
        time_cutoffs(_hours(1, 2))
