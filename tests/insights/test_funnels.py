import pytest

from xbehavior.errors import ConfigError
from xbehavior.insights.funnels import funnel, funnel_units

STEPS = ("view", "cart", "purchase")


def counts(table):
    return table["n"].tolist()


@pytest.mark.parametrize(
    ("mode", "window", "expected"),
    [
        ("ordered", "2D", [5, 4, 3]),  # u5's purchase falls outside the window
        ("ordered", "7D", [5, 4, 4]),
        ("strict", "2D", [5, 3, 1]),  # checkout / repeat view / remove break u1, u3, u4
        ("any_order", "2D", [5, 5, 4]),  # u3 (cart before view) completes; u5 has 2
    ],
)
def test_funnel_counts_per_mode_and_window(funnel_log, mode, window, expected):
    table = funnel(funnel_log, STEPS, window=window, mode=mode)
    assert counts(table) == expected
    assert table["entered"].iloc[0] == 5


def test_units_reached_per_mode(funnel_log):
    strict = funnel_units(funnel_log, STEPS, "2D", "strict").set_index("user_id")["reached"]
    assert strict.to_dict() == {"u1": 2, "u2": 3, "u3": 1, "u4": 1, "u5": 2}
    anyo = funnel_units(funnel_log, STEPS, "2D", "any_order").set_index("user_id")
    assert anyo.loc["u3", "reached"] == 3
    assert anyo.loc["u3", "t_3"] == 120.0
    assert "u6" not in anyo.index  # never viewed: never entered


def test_strict_takes_the_second_view_as_start(funnel_log):
    units = funnel_units(funnel_log, STEPS, "2D", "strict").set_index("user_id")
    assert units.loc["u2", ["t_2", "t_3"]].tolist() == [30.0, 60.0]


def test_rates_drop_off_and_median_time(funnel_log):
    table = funnel(funnel_log, STEPS, window="2D", mode="ordered")
    assert table["drop_off"].tolist() == [0, 1, 1]
    assert table["step_conversion"].tolist() == pytest.approx([1.0, 4 / 5, 3 / 4])
    assert table["overall_conversion"].tolist() == pytest.approx([1.0, 4 / 5, 3 / 5])
    # step 2 times: u1 60, u2 60, u4 60, u5 86400; step 3: u1 180, u2 90, u4 90
    assert table["median_time_to_convert_s"].tolist() == [0.0, 60.0, 90.0]


def test_breakdown_with_other(funnel_log):
    table = funnel(funnel_log, STEPS, window="2D", by="country", min_count=3)
    entered = table[table["step"] == 1].set_index("country")["n"].to_dict()
    assert entered == {"DE": 3, "Other": 2}  # UK has 2 entering users < 3
    de = table[table["country"] == "DE"]["n"].tolist()
    assert de == [3, 2, 2]  # u3 only views after carting


def test_session_unit_and_bad_steps(funnel_log):
    assert funnel(funnel_log, STEPS, unit="session")["n"].iloc[0] == 5
    with pytest.raises(ConfigError):
        funnel(funnel_log, ("view", "view"))
    with pytest.raises(ConfigError):
        funnel(funnel_log, STEPS, mode="loose")
