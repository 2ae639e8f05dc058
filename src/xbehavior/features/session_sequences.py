"""Cart sessions as event sequences: purchased vs abandoned, seen only up to the decision point.

Inputs: canonical ``events`` already sessionised (``features.sessions.sessionise`` wrote the
view ``session_events``). Outputs:

* ``cart_session_steps(engine)``: one row per event of every session with a ``cart`` event,
  ordered, **cut before the session's first purchase** (that event and everything after it
  are dropped, so the label cannot leak into the sequence); ``label`` = the session has a
  purchase;
* ``split_by_time(...)`` (the default): train / val / test per session by start time, so no
  session trains on a time after a validation or test session began; ``split_by_user(...)``
  (the alternative): no user in two splits (seeded, stratified on "user has a purchased
  session");
* ``build_session_sequences(steps, examples)``: a ``SequenceData`` whose step statistics
  (standardisation, category popularity) come from the training split only.

Step features (groups of the paper's multi-dimensional cell):
behaviour = event type one-hot; product = log(1 + price), price missing flag, category
popularity (share of training events in the step's category); time = log(1 + seconds since
the previous event), log(1 + seconds since the session's first event).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xbehavior.engine import Engine
from xbehavior.errors import ConfigError, DataError
from xbehavior.features.data import FeatureVocabulary, SequenceData

#: event types a truncated cart session can contain (purchase never does; others -> 'other')
STEP_EVENT_TYPES = ("view", "cart", "remove_from_cart", "checkout", "other")

SESSION_STEP_GROUPS = {
    "behaviour": [f"is_{t}" for t in STEP_EVENT_TYPES],
    "product": ["log_price", "price_missing", "category_popularity"],
    "time": ["log_seconds_since_prev", "log_seconds_since_start"],
}

# Ties in ts are broken by file order (event_row), so "before the first purchase" is exact
# even when a cart and its purchase share one second.
CART_STEPS_SQL = """
WITH ev AS (
  SELECT session_key AS session_id, user_id, ts, event_type, price, category,
         row_number() OVER w AS pos,
         date_diff('second', lag(ts) OVER w, ts) AS seconds_since_prev,
         date_diff('second', first_value(ts) OVER w, ts) AS seconds_since_start
  FROM session_events WHERE _session_no IS NOT NULL
  WINDOW w AS (PARTITION BY _session_no ORDER BY ts, event_row)
), per_session AS (
  SELECT session_id,
         min(pos) FILTER (WHERE event_type = 'purchase') AS first_purchase_pos,
         bool_or(event_type = 'cart') AS has_cart
  FROM ev GROUP BY session_id
)
SELECT ev.*, (p.first_purchase_pos IS NOT NULL)::INTEGER AS label
FROM ev JOIN per_session p USING (session_id)
WHERE p.has_cart AND (p.first_purchase_pos IS NULL OR ev.pos < p.first_purchase_pos)
ORDER BY session_id, pos
"""


def cart_session_steps(engine: Engine) -> pd.DataFrame:
    """Events of cart sessions, truncated before the first purchase, one row per kept event.

    Columns: session_id, user_id, ts, event_type, price, category, pos (1-based position in
    the full session), seconds_since_prev (NULL on the first event), seconds_since_start,
    label (1 = the session has a purchase). Sessions whose first event is the purchase keep
    no step and are absent. Requires ``sessionise(engine)`` to have run.
    """
    steps = engine.sql(CART_STEPS_SQL)
    if steps.empty:
        raise DataError("no session with a cart event before its first purchase; "
                        "cart-abandonment sequences need view/cart/purchase events")
    steps["label"] = steps["label"].astype(int)
    return steps


def session_examples(steps: pd.DataFrame) -> pd.DataFrame:
    """One row per session of ``steps``: session_id, user_id, label, n_steps, start_ts (the
    session's first event, UTC: a kept session always keeps its first event), sorted by id."""
    g = steps.groupby("session_id", sort=True)
    return pd.DataFrame({
        "user_id": g["user_id"].first(), "label": g["label"].first(), "n_steps": g.size(),
        "start_ts": g["ts"].min(),
    }).reset_index()


def time_cutoffs(
    starts: pd.Series, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Default (t1, t2) of ``split_by_time``: empirical quantiles of the start times.

    With n sessions cut by ``fractions`` (largest remainder: n_train, n_val), t1 is the
    (n_train + 1)-th earliest start and t2 the (n_train + n_val + 1)-th, so without ties the
    splits hold exactly n_train / n_val / the rest sessions.
    """
    _check_fractions(fractions)
    ordered = _starts(starts).sort_values(kind="stable").reset_index(drop=True)
    n_train, n_val = _counts(len(ordered), fractions)
    if n_train == 0 or n_val == 0 or n_train + n_val >= len(ordered):
        raise DataError(f"time split: {len(ordered)} sessions cannot fill train / val / test "
                        f"with fractions {fractions}; use more sessions or other fractions")
    return ordered.iloc[n_train], ordered.iloc[n_train + n_val]


def split_by_time(
    starts: pd.Series, t1: pd.Timestamp | None = None, t2: pd.Timestamp | None = None,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
) -> np.ndarray:
    """'train' (start < t1) / 'val' (t1 <= start < t2) / 'test' (start >= t2) per row.

    ``starts``: session start times (UTC); cut-offs default to ``time_cutoffs(starts,
    fractions)``. Sessions starting exactly at a cut-off go to the later split, so nothing
    that starts at or after a cut-off is trained on. One user's sessions may fall in several
    splits: labels are per session and a session's steps come from that session alone, cut
    before its purchase. A training session that starts before t1 may still end after it.
    Returns an object array aligned with ``starts``; raises DataError if a split is empty.
    """
    times = _starts(starts)
    if t1 is None or t2 is None:
        d1, d2 = time_cutoffs(times, fractions)
        t1, t2 = (d1 if t1 is None else t1), (d2 if t2 is None else t2)
    t1, t2 = pd.Timestamp(t1), pd.Timestamp(t2)
    if t1 > t2:
        raise ConfigError(f"time split: t1 ({t1}) is after t2 ({t2}); pass t1 <= t2")
    split = np.where((times < t1).to_numpy(), "train",
                     np.where((times < t2).to_numpy(), "val", "test")).astype(object)
    for name in ("train", "val", "test"):
        if not (split == name).any():
            raise DataError(f"time split: no session in {name} (t1={t1}, t2={t2}; starts "
                            f"{times.min()} .. {times.max()}); choose cut-offs inside that range")
    return split


def _starts(starts: pd.Series) -> pd.Series:
    """Start times as datetime64, refusing missing ones (they cannot be placed in time)."""
    times = pd.to_datetime(pd.Series(starts))
    if times.isna().any():
        raise DataError(f"time split: {int(times.isna().sum())} sessions have no start time; "
                        "drop them or sessionise the events first")
    return times


def _check_fractions(fractions: tuple[float, float, float]) -> None:
    if not np.isclose(sum(fractions), 1.0) or min(fractions) < 0:
        raise DataError(f"split fractions must be >= 0 and sum to 1, got {fractions}")


def split_by_user(
    users: pd.Series, labels: np.ndarray, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    seed: int = 0,
) -> np.ndarray:
    """'train' / 'val' / 'test' per row, every user's rows in one split (seeded).

    Users are stratified on "has any positive row" and each stratum is cut by the
    ``fractions`` of its users (largest-remainder rounding), so the splits' base rates stay
    close while no user crosses splits. Returns an object array aligned with ``users``.
    """
    _check_fractions(fractions)
    frame = pd.DataFrame({"user": users.to_numpy(), "y": np.asarray(labels)})
    user_pos = frame.groupby("user", sort=True)["y"].max()
    rng = np.random.default_rng(seed)
    assignment: dict[object, str] = {}
    for stratum in (0, 1):
        members = user_pos.index[user_pos.to_numpy() == stratum].to_numpy()
        members = members[rng.permutation(len(members))]
        n_train, n_val = _counts(len(members), fractions)
        for i, user in enumerate(members):
            assignment[user] = "train" if i < n_train else "val" if i < n_train + n_val else "test"
    return frame["user"].map(assignment).to_numpy(dtype=object)


def _counts(n: int, fractions: tuple[float, float, float]) -> tuple[int, int]:
    """(n_train, n_val) of n items by largest remainder."""
    raw = np.asarray(fractions) * n
    base = np.floor(raw).astype(int)
    for k in np.argsort(-(raw - base), kind="stable")[: n - base.sum()]:
        base[k] += 1
    return int(base[0]), int(base[1])


def step_matrix(steps: pd.DataFrame, popularity: dict[str, float]) -> np.ndarray:
    """Raw (unstandardised) step features (n_steps, F) in SESSION_STEP_GROUPS order."""
    kind = steps["event_type"].where(steps["event_type"].isin(STEP_EVENT_TYPES[:-1]), "other")
    onehot = np.stack([(kind == t).to_numpy(float) for t in STEP_EVENT_TYPES], axis=1)
    price = steps["price"].astype(float).to_numpy()
    category = steps["category"].astype(object).to_numpy()
    popular = np.array([popularity.get(c, 0.0) if isinstance(c, str) else 0.0
                        for c in category])
    gap = steps["seconds_since_prev"].astype(float).fillna(0.0).clip(lower=0).to_numpy()
    since = steps["seconds_since_start"].astype(float).clip(lower=0).to_numpy()
    return np.column_stack([
        onehot, np.log1p(np.nan_to_num(np.clip(price, 0, None))), np.isnan(price),
        popular, np.log1p(gap), np.log1p(since),
    ]).astype(np.float32)


def pad_last(example_index: np.ndarray, values: np.ndarray, n: int,
             max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-padded (n, max_len, F) array and (n, max_len) mask from time-ordered step rows.

    ``example_index`` (n_steps,) gives each row's example; rows of one example must be
    contiguous and in time order. The **last** ``max_len`` steps are kept (the ones nearest
    the decision point); padded steps are 0.
    """
    lengths = np.bincount(example_index, minlength=n)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    rank = np.arange(len(example_index)) - starts[example_index]  # 0-based position in example
    drop = lengths[example_index] - np.minimum(lengths[example_index], max_len)
    keep = rank >= drop
    x = np.zeros((n, max_len, values.shape[1]), dtype=np.float32)
    x[example_index[keep], (rank - drop)[keep]] = values[keep]
    mask = np.arange(max_len)[None, :] < np.minimum(lengths, max_len)[:, None]
    return x, mask


def standardise(x: np.ndarray, mask: np.ndarray,
                train: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x standardised with the mean / std (F,) of real training steps; padded steps stay 0."""
    real = x[train][mask[train]]
    if len(real) == 0:
        raise DataError("the training split has no steps to learn feature scaling from")
    mean, std = real.mean(axis=0), real.std(axis=0)
    std = np.where(std < 1e-6, 1.0, std)
    out = np.where(mask[..., None], (x - mean) / std, 0.0).astype(np.float32)
    return out, mean.astype(np.float32), std.astype(np.float32)


def build_session_sequences(steps: pd.DataFrame, examples: pd.DataFrame,
                            max_len: int = 50) -> SequenceData:
    """SequenceData for ``examples`` (rows: session_id, user_id, label, split).

    ``steps`` from ``cart_session_steps``; category popularity and scaling use training
    sessions only. Context is a single zero column (``no_context``): the REES46 window has
    no country or device, and the models need S >= 1.
    """
    index = pd.Series(np.arange(len(examples)), index=examples["session_id"].to_numpy())
    steps = steps[steps["session_id"].isin(index.index)]
    example_index = index.loc[steps["session_id"].to_numpy()].to_numpy()
    order = np.lexsort((steps["pos"].to_numpy(), example_index))  # contiguous, time-ordered
    steps, example_index = steps.iloc[order], example_index[order]
    train = (examples["split"] == "train").to_numpy()
    train_steps = steps[train[example_index]]
    popularity = train_steps["category"].dropna().value_counts(normalize=True).to_dict()
    names = [name for group in SESSION_STEP_GROUPS.values() for name in group]
    x, mask = pad_last(example_index, step_matrix(steps, popularity), len(examples), max_len)
    x, mean, std = standardise(x, mask, train)
    groups, start = {}, 0
    for group, cols in SESSION_STEP_GROUPS.items():
        groups[group] = list(range(start, start + len(cols)))
        start += len(cols)
    return SequenceData(
        x=x, mask=mask, context=np.zeros((len(examples), 1), np.float32),
        y=examples["label"].to_numpy(np.float32), feature_names=names,
        context_names=["no_context"], groups=groups,
        keys=examples[["session_id", "user_id"]].reset_index(drop=True),
        vocabulary=FeatureVocabulary(mean, std, []),
    )
