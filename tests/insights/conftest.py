"""Hand-built canonical event logs shared by the insights tests (answers worked by hand)."""

from __future__ import annotations

import pandas as pd
import pytest

from .factories import make_events


@pytest.fixture
def shop_log() -> pd.DataFrame:
    """5 sessions of 4 users; s1 on a Saturday, the rest on weekdays.

    s1 a DE mobile: view A, cart A, purchase A (o1, 30)      -> converted
    s2 a DE mobile: view B
    s3 b UK desktop: view B, cart B                           -> cart abandoned
    s4 c UK mobile: view A, cart B, purchase B x2 (o2, 20+30) -> converted
    s5 d FR desktop: view A
    """
    n = None
    return make_events(
        [
            ("a", "s1", "2024-01-06 10:00", "view", n, "A", 30.0, 1, n, "DE", "mobile"),
            ("a", "s1", "2024-01-06 10:01", "cart", n, "A", 30.0, 1, n, "DE", "mobile"),
            ("a", "s1", "2024-01-06 10:02", "purchase", "o1", "A", 30.0, 1, 30.0, "DE", "mobile"),
            ("a", "s2", "2024-01-08 09:00", "view", n, "B", 5.0, 1, n, "DE", "mobile"),
            ("b", "s3", "2024-01-08 11:00", "view", n, "B", 5.0, 1, n, "UK", "desktop"),
            ("b", "s3", "2024-01-08 11:05", "cart", n, "B", 5.0, 1, n, "UK", "desktop"),
            ("c", "s4", "2024-01-09 12:00", "view", n, "A", 30.0, 1, n, "UK", "mobile"),
            ("c", "s4", "2024-01-09 12:01", "cart", n, "B", 10.0, 2, n, "UK", "mobile"),
            ("c", "s4", "2024-01-09 12:02", "purchase", "o2", "B", 10.0, 2, 20.0, "UK", "mobile"),
            ("c", "s4", "2024-01-09 12:02", "purchase", "o2", "B", 30.0, 1, 30.0, "UK", "mobile"),
            ("d", "s5", "2024-01-10 13:00", "view", n, "A", 30.0, 1, n, "FR", "desktop"),
        ]
    )


@pytest.fixture
def funnel_log() -> pd.DataFrame:
    """Six users for the funnel view -> cart -> purchase (times in seconds after 2024-01-01).

    u1 DE: view 0, cart 60, checkout 120, purchase 180
    u2 DE: view 0, view 30, cart 60, purchase 90
    u3 DE: cart 0, view 60, purchase 120
    u4 UK: view 0, remove_from_cart 30, cart 60, purchase 90
    u5 UK: view 0, cart +1 day, purchase +3 days
    u6 FR: cart 0
    """
    t0 = pd.Timestamp("2024-01-01")
    spec = {
        ("u1", "DE"): [(0, "view"), (60, "cart"), (120, "checkout"), (180, "purchase")],
        ("u2", "DE"): [(0, "view"), (30, "view"), (60, "cart"), (90, "purchase")],
        ("u3", "DE"): [(0, "cart"), (60, "view"), (120, "purchase")],
        ("u4", "UK"): [(0, "view"), (30, "remove_from_cart"), (60, "cart"), (90, "purchase")],
        ("u5", "UK"): [(0, "view"), (86400, "cart"), (3 * 86400, "purchase")],
        ("u6", "FR"): [(0, "cart")],
    }
    rows = [
        (
            user,
            f"{user}-s",
            t0 + pd.Timedelta(seconds=s),
            kind,
            None,
            None,
            None,
            None,
            None,
            country,
            "mobile",
        )
        for (user, country), evs in spec.items()
        for s, kind in evs
    ]
    return make_events(rows)
