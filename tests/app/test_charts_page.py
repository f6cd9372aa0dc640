"""AppTest: the Charts page's tabs (only the open tab's charts are built and sent)."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest


def _titles(at: AppTest) -> list[str]:
    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


def test_without_a_country_column_the_tab_says_so_in_one_sentence(at: AppTest) -> None:
    at.switch_page("pages/data.py").run()
    data = "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n1,A,2011-01-01,1,2\n2,B,2011-02-03,1,3\n"
    at.file_uploader(key="upload").upload("nocountry.csv", data.encode(), "text/csv")
    at.run()
    at.switch_page("pages/charts.py").run()
    assert not at.exception
    assert not [i for i in at.info if "no country column" in i.value]  # its tab is closed
    at.session_state["charts_tab"] = "Months and countries"
    at.run()
    assert not at.exception
    assert [i.value for i in at.info if "no country column" in i.value] == [
        "This file has no country column, so there is no revenue by country. Map one on the Data page if the file "
        "has it under another name."]
    assert _titles(at)[-1] == "Monthly revenue and active customers"  # and no country chart after it


def test_the_first_tab_is_open_on_arrival(at: AppTest) -> None:
    at.switch_page("pages/charts.py").run()
    assert not at.exception
    assert [t.label for t in at.tabs] == ["Recency, frequency and spend", "Score edges", "Months and countries"]
    assert _titles(at)[:2] == ["Segments by number of customers", "Customers vs revenue share by segment"]
    assert _titles(at)[2:4] == ["Mean spend by recency and frequency score", "Revenue concentration (Pareto curve)"]
    assert _titles(at)[4].startswith("Recency vs monetary by segment")
    assert len(_titles(at)) == 5
