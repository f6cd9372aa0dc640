"""AppTest: the Data page's used lines per month, for a hand-made file with a gap month and a dropped line."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
from streamlit.testing.v1 import AppTest


def _numbers(values: Any) -> list[float]:
    """A figure's number array as sent: a list, or plotly's packed ``{"dtype", "bdata"}``."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)


def _lines_chart(at: AppTest) -> dict[str, Any]:
    charts = [c for c in at.get("plotly_chart") if "Lines used per month" in c.proto.spec]
    assert len(charts) == 1
    return json.loads(charts[0].proto.spec)


def test_lines_per_month_of_an_upload(at: AppTest) -> None:
    # Counted by hand: January 2 lines (from the 5th), February none, March 2 used (the line without a customer
    # is dropped), March ends on the 31st so it is whole.
    data = ("InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n"
            "1,A,2011-01-05,1,2\n2,A,2011-01-20,1,3\n3,B,2011-03-02,2,2\n4,,2011-03-03,1,2\n5,B,2011-03-31,1,5\n")
    at.switch_page("pages/data.py").run()
    at.file_uploader(key="upload").upload("months.csv", data.encode(), "text/csv")
    at.run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Rows used"] == "4"
    spec = _lines_chart(at)
    bar = spec["data"][0]
    assert bar["x"] == ["Jan 2011", "Feb 2011", "Mar 2011"]
    assert _numbers(bar["y"]) == [2, 0, 2]
    assert bar["customdata"] == ["partial month: data from the 5th", "", ""]
    assert [a["x"] for a in spec["layout"]["annotations"]] == ["Jan 2011"]


def test_the_sample_shows_it_when_the_app_opens(at: AppTest) -> None:
    # The bundled sample, as on opening the app: the chart is there and its lines add up to the rows used.
    spec = _lines_chart(at)
    used = int({m.label: m.value for m in at.metric}["Rows used"].replace(",", ""))
    assert sum(_numbers(spec["data"][0]["y"])) == used
