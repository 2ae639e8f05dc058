import json
import math

import numpy as np
import pandas as pd

from xbehavior.atomic import strict_json, write_json


def test_strict_json_turns_nan_inf_and_missing_into_null(tmp_path):
    payload = {"a": math.nan, "b": [np.float64("inf"), np.int64(3), 1.5], "c": pd.NA,
               "d": pd.Timestamp("2011-01-02 03:04:05"), 5: (True, None, pd.NaT)}
    assert strict_json(payload) == {"a": None, "b": [None, 3, 1.5], "c": None,
                                    "d": "2011-01-02 03:04:05", "5": [True, None, None]}
    write_json(tmp_path / "x.json", payload)
    text = (tmp_path / "x.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text)["b"] == [None, 3, 1.5]
