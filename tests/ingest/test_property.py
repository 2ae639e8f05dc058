"""Property: ingest never loses or invents rows (kept + dropped by reason = read)."""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import given, settings
from hypothesis import strategies as st

from xbehavior.engine import DuckDBEngine
from xbehavior.ingest import ingest_file

_row = st.tuples(
    st.sampled_from(["u1", "u2", ""]),                              # "" = missing user id
    st.sampled_from(["2024-03-01 10:00:00", "2024-03-01 10:31:00", ""]),  # "" = missing ts
    st.sampled_from(["view", "cart", "purchase", "noise"]),
    st.sampled_from(["1.5", "0", "-2", ""]),                        # negative price dropped
)
ENGINE = DuckDBEngine(threads=1)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(_row, min_size=1, max_size=25),
       duplicate_first=st.integers(min_value=0, max_value=3))
def test_kept_plus_dropped_equals_read(rows, duplicate_first):
    rows = rows + rows[:1] * duplicate_first  # plant exact duplicates
    text = "user,when,what,price\n" + "".join(",".join(r) + "\n" for r in rows)
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.csv"
        path.write_text(text)
        quality = ingest_file(ENGINE, path, {
            "columns": {"user_id": "user", "ts": "when", "event_type": "what"},
            "events": {"noise": "drop"}})
    assert quality.rows_read == len(rows)
    assert quality.rows_kept + sum(quality.dropped.values()) == len(rows)
    assert ENGINE.count("events") == quality.rows_kept
    # hand-derivable counts: every reason is the first matching rule of its row
    no_ts = sum(r[1] == "" for r in rows)
    neg = sum(r[1] != "" and r[3] == "-2" for r in rows)
    assert quality.dropped.get("missing_timestamp", 0) == no_ts
    assert quality.dropped.get("negative_price", 0) == neg
    valid = [r for r in rows if r[1] != "" and r[3] != "-2" and r[2] != "noise"]
    assert quality.rows_kept == len(set(valid))
    assert quality.notes["no_user_id"] == len({r for r in valid if r[0] == ""})
