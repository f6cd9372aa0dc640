"""AppTest: the Audiences and Segments over time pages, driven by widget keys; figures checked with plain pandas
on the same analysis (not with the code under test)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from rfm_core import CleaningPolicy, analyze
from rfm_core.settings import AnalysisSettings
from tests.app.conftest import fresh_app
from tests.conftest import HAND_CSV, ROOT, SAMPLE

APP = str(ROOT / "streamlit_app.py")


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return analyze(SAMPLE, warn=False).segmentation.customers


@pytest.fixture
def at() -> AppTest:
    return fresh_app(timeout=90)


def go(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def table(at: AppTest, *columns: str) -> pd.DataFrame:
    """The first table showing all these columns (plain st.dataframe elements carry no key in AppTest)."""
    for df in at.dataframe:
        if all(c in df.value.columns for c in columns):
            return df.value
    raise AssertionError(f"no table with columns {columns}")


def money0(x: float) -> str:
    return f"{x:,.0f}"


def test_audience_example_counts_and_revenue(at: AppTest, sample: pd.DataFrame) -> None:
    go(at, "audiences")
    assert "2 or more orders and no order in the last 90 days" in " ".join(m.value for m in at.markdown)
    expected = sample[(sample["frequency"] >= 2) & (sample["recency_days"] > 90)]
    m = metrics(at)
    assert m["Customers"] == f"{len(expected):,}" and m["Revenue"] == money0(expected["monetary"].sum())
    assert at.dataframe[0].value["customer_id"].tolist()[:5] == expected["customer_id"].tolist()[:5]
    labels = [d.proto.label for d in at.get("download_button")]
    assert f"Download the {len(expected):,} customers (CSV)" in labels


def test_audience_changes_follow_the_widgets(at: AppTest, sample: pd.DataFrame) -> None:
    go(at, "audiences")
    at.number_input(key="aud_0_frequency_gte_v").set_value(5).run()
    at.number_input(key="aud_1_recency_days_gt_v").set_value(30).run()
    assert not at.exception
    first = (sample["frequency"] >= 5) & (sample["recency_days"] > 30)
    assert metrics(at)["Customers"] == f"{int(first.sum()):,}"
    # An OR group: segment is one of Champions.
    at.button(key="aud_add_group").click().run()
    at.selectbox(key="aud_2_field").set_value("segment").run()
    at.selectbox(key="aud_2_op").set_value("in").run()
    assert at.warning  # no value chosen yet: the page says so instead of guessing
    at.multiselect(key="aud_2_segment_in_v").set_value(["Champions"]).run()
    assert not at.exception and not at.warning
    both = first | (sample["segment"].astype(str) == "Champions")
    assert metrics(at)["Customers"] == f"{int(both.sum()):,}"
    assert "(5 or more orders and no order in the last 30 days) or segment is Champions" in " ".join(
        m.value for m in at.markdown)
    # Removing the first group's conditions leaves an empty group, which matches everyone.
    at.button(key="aud_0_remove").click().run()
    at.button(key="aud_1_remove").click().run()
    assert not at.exception
    assert metrics(at)["Customers"] == f"{int((sample['segment'].astype(str) == 'Champions').sum()):,}"


def test_between_with_low_above_high_is_explained(at: AppTest) -> None:
    go(at, "audiences")
    at.selectbox(key="aud_0_op").set_value("between").run()
    at.number_input(key="aud_0_frequency_between_lo").set_value(9).run()
    at.number_input(key="aud_0_frequency_between_hi").set_value(3).run()
    assert not at.exception
    assert any("low end" in w.value for w in at.warning)


def test_save_and_open_an_audience(at: AppTest, sample: pd.DataFrame) -> None:
    go(at, "audiences")
    at.text_input(key="aud_name").set_value("Lapsed repeat").run()
    at.button(key="aud_save").click().run()
    saved = table(at, "Audience", "Who", "Customers now")
    assert saved["Audience"].tolist() == ["Lapsed repeat"]
    expected = int(((sample["frequency"] >= 2) & (sample["recency_days"] > 90)).sum())
    assert saved["Customers now"].tolist() == [f"{expected:,}"]
    at.number_input(key="aud_0_frequency_gte_v").set_value(7).run()
    at.button(key="aud_open").click().run()
    assert not at.exception
    assert metrics(at)["Customers"] == f"{expected:,}"


def test_lifetime_value_fields_when_the_model_fits(at: AppTest) -> None:
    go(at, "audiences")
    assert "p_alive" not in at.selectbox(key="aud_0_field").options
    at.toggle(key="aud_with_clv").set_value(True).run()
    assert not at.exception
    options = at.selectbox(key="aud_0_field").options
    assert "P(alive)" in options and "Predicted CLV" in options


def test_lifetime_value_toggle_on_data_that_cannot_support_it(at: AppTest) -> None:
    go(at, "data")
    at.file_uploader(key="upload").upload("hand.csv", HAND_CSV.encode(), "text/csv")
    at.run()
    go(at, "audiences")
    at.toggle(key="aud_with_clv").set_value(True).run()
    assert not at.exception and any("No lifetime-value columns" in w.value for w in at.warning)
    assert "Country" in at.selectbox(key="aud_0_field").options


def test_segments_over_time_matches_overview_at_month_ends(at: AppTest) -> None:
    go(at, "segments_over_time")
    assert not at.error
    assert len(at.get("plotly_chart")) == 1
    by_month = next(df.value for df in at.dataframe if any(str(c).endswith("*") for c in df.value.columns))
    months = list(by_month.columns)
    assert months[-1].endswith("*") and not months[0].endswith("*")
    # Independent: the whole pipeline with the date window ending on the day before each column's analysis date.
    full = analyze(SAMPLE, warn=False)
    last = full.segmentation.summary.set_index("segment")["customers"]
    assert by_month[months[-1]].to_dict() == last.to_dict()
    first = months[0]
    start = pd.Timestamp(f"{first}-01")
    as_of = (start + pd.offsets.MonthBegin(1)).date()
    early = analyze(SAMPLE, AnalysisSettings(cleaning=CleaningPolicy(end=as_of - dt.timedelta(days=1)), as_of=as_of),
                    warn=False).segmentation.summary.set_index("segment")["customers"]
    assert by_month[first].to_dict() == early.to_dict()
    assert any("partial month" in c.value for c in at.caption)
    at.radio(key="sot_measure").set_value("share").run()
    assert not at.exception


def test_segment_by_country_table(at: AppTest, sample: pd.DataFrame) -> None:
    go(at, "segments_over_time")
    by_country = table(at, "Total")
    sizes = sample["segment"].astype(str).value_counts()
    assert {k: v for k, v in by_country["Total"].to_dict().items() if v} == sizes.to_dict()
    top = sample["country"].value_counts().index[0]
    assert by_country.columns[0] == top
    at.radio(key="sot_country_value").set_value("revenue").run()
    revenue = table(at, "Total")
    assert revenue["Total"].sum() == pytest.approx(sample["monetary"].sum())


def test_no_country_column_is_one_sentence(at: AppTest) -> None:
    go(at, "data")
    data = "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n1,A,2011-01-01,1,2\n2,B,2011-02-03,1,3\n"
    at.file_uploader(key="upload").upload("nocountry.csv", data.encode(), "text/csv")
    at.run()
    go(at, "segments_over_time")
    assert not at.error
    assert any("no country column" in i.value for i in at.info)
    go(at, "audiences")
    assert "Country" not in at.selectbox(key="aud_0_field").options
