"""AppTest: every page, driven by widget keys, starting from the entry file."""

from __future__ import annotations

import io
import json
from typing import Any

import openpyxl
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from rfm_core import analyze
from tests.conftest import HAND_CSV, ROOT, SAMPLE

APP = str(ROOT / "streamlit_app.py")
PAGES = ["data", "settings", "segment_rules", "overview", "charts", "actions", "customers", "export"]


def table(at: AppTest, *columns: str) -> pd.DataFrame:
    """The first table showing all these columns (plain st.dataframe elements carry no key in AppTest)."""
    for df in at.dataframe:
        value = df.value
        if all(c in value.columns for c in columns):
            return value
    raise AssertionError(f"no table with columns {columns}")


def go(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def mapping_box(at: AppTest, role: str) -> Any:
    """The Data page's dropdown for one role (its key changes with every new file, its label does not)."""
    return next(box for box in at.selectbox if box.label == role.replace("_", " "))


def segment_counts(at: AppTest) -> dict[str, int]:
    go(at, "overview")
    summary = table(at, "segment", "customers")
    return dict(zip(summary["segment"], summary["customers"], strict=True))


def upload(at: AppTest, name: str, data: bytes, mime: str = "text/csv") -> AppTest:
    go(at, "data")
    at.file_uploader(key="upload").upload(name, data, mime)
    at.run()
    return at


def test_default_state_is_the_sample_on_every_page(at: AppTest) -> None:
    expected = analyze(SAMPLE, warn=False)
    assert at.title[0].value == "Data"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows read"] == f"{len(pd.read_csv(SAMPLE)):,}"
    assert metrics["Customers"] == f"{len(expected.customers):,}"
    ledger = table(at, "reason", "rows", "share")
    assert ledger["rows"].sum() == expected.cleaned.input_rows
    counts = segment_counts(at)
    assert counts == expected.segmentation.summary.set_index("segment")["customers"].to_dict()
    for page in PAGES:
        go(at, page)
        assert at.title, page
    go(at, "charts")
    shown = {json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")}
    for tab in ("Score edges", "Months and countries"):  # the closed tabs' charts are sent when a tab is opened
        at.session_state["charts_tab"] = tab
        at.run()
        assert not at.exception
        shown |= {json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")}
    assert len(shown) == 10  # every chart of the page, each once


def test_csv_upload(at: AppTest) -> None:
    upload(at, "hand.csv", HAND_CSV.encode())
    assert not at.exception and not at.error
    assert {m.label: m.value for m in at.metric}["Customers"] == "3"
    assert sum(segment_counts(at).values()) == 3


def test_xlsx_upload_with_sheet_picker(at: AppTest) -> None:
    frame = pd.read_csv(io.StringIO(HAND_CSV), dtype=str)
    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    wb.active.append(["nothing here"])
    ws = wb.create_sheet("Sales")
    ws.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        ws.append([None if pd.isna(v) else v for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    upload(at, "book.xlsx", buf.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert not at.error
    assert at.selectbox(key="sheet").options[1:3] == ["Notes", "Sales"]
    assert {m.label: m.value for m in at.metric}["Customers"] == "3"


def test_mapping_change_changes_customers(at: AppTest) -> None:
    data = ("InvoiceNo,CustomerID,Email,InvoiceDate,Quantity,UnitPrice\n"
            "1,A,x@example.com,2011-01-01,1,2\n2,B,x@example.com,2011-01-02,1,2\n3,C,y@example.com,2011-01-03,1,2\n")
    upload(at, "m.csv", data.encode())
    assert {m.label: m.value for m in at.metric}["Customers"] == "3"
    mapping_box(at, "customer_id").set_value("Email").run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Customers"] == "2"


def test_bins_change_changes_segments(at: AppTest) -> None:
    before = segment_counts(at)
    go(at, "settings")
    at.slider(key="bins_recency").set_value(3).run()
    at.slider(key="bins_frequency").set_value(3).run()
    assert not at.exception
    after = segment_counts(at)
    assert after != before and sum(after.values()) == sum(before.values())


def test_threshold_change_changes_segments(at: AppTest) -> None:
    go(at, "settings")
    at.selectbox(key="method_recency").set_value("thresholds").run()
    assert at.number_input(key="edge_recency_0").value > 0  # pre-filled from the quantile edges
    before = segment_counts(at)
    go(at, "settings")
    at.number_input(key="edge_recency_3").set_value(300.0).run()
    at.number_input(key="edge_recency_2").set_value(200.0).run()
    at.number_input(key="edge_recency_1").set_value(100.0).run()
    at.number_input(key="edge_recency_0").set_value(90.0).run()
    assert not at.error
    after = segment_counts(at)
    assert after != before and sum(after.values()) == sum(before.values())


def test_add_and_delete_rules(at: AppTest) -> None:
    go(at, "segment_rules")
    assert len(at.selectbox(key="rule_pick").options) == 11
    at.button(key="rule_add").click().run()
    assert len(at.selectbox(key="rule_pick").options) == 12
    assert at.selectbox(key="rule_pick").options[0] == "New segment 1"
    # the new catch-all rule sits on top and wins every cell
    counts = segment_counts(at)
    assert counts["New segment 1"] == sum(counts.values())
    go(at, "segment_rules")
    at.selectbox(key="rule_pick").set_value("New segment 1").run()
    at.button(key="rule_delete").click().run()
    assert len(at.selectbox(key="rule_pick").options) == 11
    at.selectbox(key="rule_pick").set_value("Champions").run()
    at.button(key="rule_delete").click().run()
    counts = segment_counts(at)
    assert "Champions" not in counts and counts["Loyal Customers"] > 0


def test_move_rules_up_and_down(at: AppTest) -> None:
    go(at, "segment_rules")
    at.selectbox(key="rule_pick").set_value("Loyal Customers").run()
    at.button(key="rule_up").click().run()
    assert not at.exception
    assert at.selectbox(key="rule_pick").options[:2] == ["Loyal Customers", "Champions"]
    at.selectbox(key="rule_pick").set_value("Loyal Customers").run()
    at.button(key="rule_down").click().run()
    at.button(key="rule_down").click().run()
    assert at.selectbox(key="rule_pick").options[:3] == ["Champions", "Can't Lose Them", "Loyal Customers"]


def test_bad_file_shows_error_and_keeps_last_good_result(at: AppTest) -> None:
    good = segment_counts(at)
    upload(at, "random.csv", bytes(range(256)) * 40)
    assert not at.exception
    assert any("binary" in e.value for e in at.error)
    assert any("last good result" in i.value for i in at.info)
    assert segment_counts(at) == good  # the sample's result is still there
    upload(at, "broken.xlsx", b"PK\x03\x04" + b"\x00" * 64,
           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert not at.exception and any("damaged" in e.value for e in at.error)


def test_missing_columns_error_is_actionable(at: AppTest) -> None:
    upload(at, "nocust.csv", b"InvoiceNo,InvoiceDate,Quantity,UnitPrice\n1,2011-01-01,1,2\n")
    assert not at.exception
    msg = " ".join(e.value for e in at.error)
    assert "customer_id" in msg
    assert "Column mapping" in msg and "--map" not in msg  # what to do in the app, not a command-line flag


def test_cleaning_option_changes_the_ledger(at: AppTest) -> None:
    go(at, "settings")
    at.checkbox(key="drop_missing").uncheck().run()
    go(at, "data")
    ledger = table(at, "reason", "rows", "share")
    assert "no customer id" not in set(ledger["reason"])


def test_customer_lookup_and_export_page(at: AppTest) -> None:
    go(at, "customers")
    at.text_input(key="search").input("12").run()
    assert not at.exception
    found = table(at, "customer_id", "segment", "rfm_score")
    assert len(found) > 0
    assert found["customer_id"].astype(str).str.contains("12").all()
    assert len(table(at, "invoice_id", "invoice_date", "amount")) > 0
    go(at, "export")
    labels = [b.label for b in at.get("download_button")]
    assert any("CSV" in lbl for lbl in labels) and any("Excel" in lbl for lbl in labels)


def test_lifetime_value_page(at: AppTest) -> None:
    go(at, "clv")
    assert not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Customers modelled"] != "0"
    assert "Expected revenue lost to churn" in metrics and "Revenue at risk" not in metrics
    before = metrics["Expected purchases, next 12 months"]
    assert len(at.get("plotly_chart")) >= 2  # value by segment and the model comparison at least
    comparison = table(at, "label", "mae", "best")
    assert set(comparison["label"]) == {"BG/NBD", "MBG/NBD", "Pareto/NBD"}
    best = comparison.loc[comparison["best"] == "best", "label"].item()
    assert any(f"Model: {best}, the best of" in c.value for c in at.caption)
    assert any("by construction" in c.value for c in at.caption)
    at.slider(key="clv_horizon").set_value(24).run()
    assert not at.exception
    after = {m.label: m.value for m in at.metric}["Expected purchases, next 24 months"]
    assert float(after.replace(",", "")) > float(before.replace(",", ""))
    # 24 months are longer than the sample's year of history: the page says so
    assert any("longer than the history" in w.value for w in at.warning)


def test_lifetime_value_leaves_out_churn_columns_it_cannot_fill(at: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    """When churn is not estimable (the real Online Retail file: every model ties and P(alive) is not measured),
    the per-segment table showed "Mean P(alive)" and "Likely gone" empty in every row (acceptance run)."""
    from rfm_core.clv.value import ClvResult

    monkeypatch.setattr(ClvResult, "churn_estimable", property(lambda self: False))
    go(at, "clv")
    assert not at.exception
    frames = [f.value for f in at.dataframe if "segment" in f.value.columns]
    assert len(frames) == 1  # the per-segment table
    for frame in frames:
        blank = frame.isna() | frame.astype(str).apply(lambda col: col.str.strip().isin(["", "nan", "None", "<NA>"]))
        empty = [c for c in frame.columns if blank[c].all()]
        assert not empty, empty


def test_lifetime_value_model_table_leaves_out_an_empty_note_column(at: AppTest) -> None:
    """The holdout comparison's "Note" (why a model was not fitted) was shown empty in every row when every model
    fitted (the sample data)."""
    go(at, "clv")
    assert not at.exception
    frames = [f.value for f in at.dataframe if "label" in f.value.columns]
    assert len(frames) == 1  # the model comparison
    blank = frames[0].isna() | frames[0].astype(str).apply(lambda col: col.str.strip().isin(["", "nan", "None"]))
    assert not [c for c in frames[0].columns if blank[c].all()]


def test_lifetime_value_model_override(at: AppTest) -> None:
    """Choosing BG/NBD makes it the model behind the numbers, and its one-day customers are counted as holding
    P(alive) = 1 by construction (customers with one purchase day, counted here with plain pandas)."""
    go(at, "clv")
    at.selectbox(key="clv_model").set_value("bgnbd").run()
    assert not at.exception and not at.error
    assert any("Model: BG/NBD, chosen by the user" in c.value for c in at.caption)
    tx = analyze(SAMPLE, warn=False).cleaned.transactions
    days = tx[~tx["is_return"]].assign(day=tx["invoice_date"].dt.normalize()).groupby("customer_id", observed=True)
    count = int((days["day"].nunique() == 1).sum())
    assert any(f"by construction (not measured) for {count:,} customers" in c.value for c in at.caption)
    at.selectbox(key="clv_model").set_value("pareto_nbd").run()
    assert any("by construction (not measured) for 0 customers" in c.value for c in at.caption)


def test_lifetime_value_explains_when_data_cannot_support_it(at: AppTest) -> None:
    upload(at, "hand.csv", HAND_CSV.encode())
    go(at, "clv")
    assert not at.exception
    assert any("No lifetime value for this data" in e.value and "at least 30" in e.value for e in at.error)


def test_migration_and_cohort_pages(at: AppTest) -> None:
    go(at, "migration")
    assert not at.error
    assert len(at.get("plotly_chart")) == 1
    counts = {m.label: m.value for m in at.metric}
    assert sum(int(v.replace(",", "")) for v in counts.values()) == len(analyze(SAMPLE, warn=False).customers)
    at.radio(key="mig_thresholds").set_value("frozen").run()
    assert not at.exception
    again = {m.label: m.value for m in at.metric}
    assert again["New since then"] == counts["New since then"]  # the same customers, scored another way
    labels = [b.label for b in at.get("download_button")]
    assert any("moved down" in lbl for lbl in labels)
    go(at, "cohorts")
    assert not at.error
    assert len(at.get("plotly_chart")) == 2


def test_export_with_clv_columns(at: AppTest) -> None:
    go(at, "export")
    at.checkbox(key="export_clv").check().run()
    assert not at.exception and not at.warning


@pytest.fixture
def bars(monkeypatch: pytest.MonkeyPatch, progress_calls: list[str]) -> list[str]:
    """Any CSV counts as slow work, so _prepare wants a bar for every step it computes."""
    from pages import common

    monkeypatch.setitem(common._SECONDS_PER_MB, "csv", (1e6, 1e6, 1e6))
    return progress_calls


def test_progress_bar_is_gone_after_an_error_in_preparation(at: AppTest, bars: list[str]) -> None:
    """Regression: an RfmError raised inside _prepare left the progress bar on screen under the error."""
    upload(at, "nocust.csv", b"InvoiceNo,InvoiceDate,Quantity,UnitPrice\n1,2011-01-01,1,2\n")
    assert not at.exception
    assert bars == ["Reading nocust.csv…", "Mapping and cleaning…"]  # the second was up when mapping failed
    assert any("customer_id" in e.value for e in at.error)
    assert len(at.get("progress")) == 0


def test_progress_bar_only_for_steps_that_compute(at: AppTest, bars: list[str]) -> None:
    upload(at, "hand.csv", HAND_CSV.encode())
    first = ["Reading hand.csv…", "Mapping and cleaning…"]  # the Data page's read, then the preparation
    assert bars == first and len(at.get("progress")) == 0  # shown while working, then gone
    go(at, "overview")
    go(at, "settings")
    at.slider(key="bins_recency").set_value(3).run()  # scoring only: every prepared step is a cache hit
    assert not at.exception and bars == first
    at.checkbox(key="drop_missing").uncheck().run()  # cleaning changed: map + clean and aggregate compute again
    assert not at.exception and bars == [*first, "Mapping and cleaning…"]
    assert len(at.get("progress")) == 0


def test_no_progress_bar_for_small_files(at: AppTest, progress_calls: list[str]) -> None:
    upload(at, "hand.csv", HAND_CSV.encode())
    assert not at.exception and progress_calls == []


def test_backtest_page(at: AppTest) -> None:
    """The page shows the engine's backtest for its default date (90 days before the last purchase), a chart and a
    CSV download; with a model, the predicted purchase days appear beside the actual ones."""
    import datetime as dt

    from rfm_core.backtest import backtest

    go(at, "backtest")
    assert not at.error
    tx = analyze(SAMPLE, warn=False).cleaned.transactions
    at_date = tx["invoice_date"].max().date() - dt.timedelta(days=90)
    expected = backtest(tx, at_date, 90).table
    shown = table(at, "segment", "repeat_rate", "repeat_lift")
    assert shown["segment"].tolist() == expected["segment"].tolist()
    assert shown["bought_again"].tolist() == expected["bought_again"].tolist()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Customers segmented"] == f"{int(expected['customers'].iloc[-1]):,}"
    assert len(at.get("plotly_chart")) == 1
    assert any(b.label == "Download backtest (CSV)" for b in at.get("download_button"))
    at.selectbox(key="bt_model").set_value("bgnbd").run()
    assert not at.exception and not at.error
    assert "predicted_purchase_days_per_customer" in table(at, "segment", "repeat_rate").columns
    at.number_input(key="bt_window").set_value(400).run()
    assert any("days into the 400-day window" in w.value for w in at.warning)


def test_migration_on_a_history_too_short_says_so(at: AppTest) -> None:
    """HAND_CSV spans 2024-01-01 .. 2024-01-20 (analysis date 2024-01-21): the earliest earlier date, 30 days after
    the first purchase, is after the last possible one; the page used to fail inside st.date_input."""
    upload(at, "hand.csv", HAND_CSV.encode())
    go(at, "migration")
    assert any("too short" in i.value for i in at.info)
