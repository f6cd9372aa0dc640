"""AppTest: every page shows numbers in the analyst's format (issue 14 phase 2).

What a page renders is checked, not the formatter: headline metrics are the strings the analyst reads; a table's
cells are formatted in the browser from the column_config the page sends, so for every number column of every
table the test requires a format of ours (thousands separators, at most two decimals, percentages scaled, never
Streamlit's "localized" or two-decimal "percent"), a label in words, and no "None" or "nan" text cells.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from rfm_core.formatting import Currency
from tests.app.test_pages import go, upload
from tests.conftest import ROOT

PAGES = ["data", "settings", "segment_rules", "overview", "charts", "actions", "customers", "export", "migration",
         "cohorts", "clv", "backtest", "audiences", "segments_over_time"]
# A number as Python prints a float (1179488.021), or a long number without thousands separators (723926).
RAW_NUMBER = re.compile(r"\d\.\d{3,}|(?<![\d,.])\d{4,}(?![\d,])")
# Our printf formats: optional prefix, %d / %,d / %.Nf / %,.Nf with N <= 2 (3 for an error per customer), suffix.
OUR_FORMAT = re.compile(r"^[^%]*(%%)?[^%]*%,?(d|\.[0-3]f)[^%]*(%%)?[^%]*$")


def _problems(at: AppTest, page: str) -> list[str]:
    found: list[str] = []
    for metric in at.metric:
        if RAW_NUMBER.search(metric.value) or re.search(r"\b(None|nan)\b", metric.value):
            found.append(f"{page}: metric {metric.label!r} = {metric.value!r}")
    for element in at.dataframe:
        frame = element.value
        config: dict[str, Any] = json.loads(element.proto.columns or "{}")
        for column in frame.columns:
            if str(column).startswith("_"):
                continue
            series = frame[column]
            cfg = config.get(str(column), {})
            shown = cfg.get("label") or str(column)
            if "_" in shown:
                found.append(f"{page}: column {column!r} has no label in words")
            if series.dtype.kind == "f":
                fmt = (cfg.get("type_config") or {}).get("format")
                if not fmt or not OUR_FORMAT.match(str(fmt)):
                    found.append(f"{page}: number column {shown!r} has format {fmt!r}")
            elif series.dtype == object or str(series.dtype).startswith(("string", "category")):
                text = series.astype(str)
                bad = text[text.isin(["None", "nan", "NaN", "<NA>"]) | text.str.fullmatch(r"-?\d+\.\d{3,}")]
                if len(bad):
                    found.append(f"{page}: column {shown!r} shows {bad.iloc[0]!r}")
    return found


def test_every_page_shows_formatted_numbers_and_labels_in_words(at: AppTest) -> None:
    found: list[str] = []
    for page in PAGES:
        go(at, page)
        assert not at.error, (page, [e.value for e in at.error])
        found += _problems(at, page)
    assert not found, "\n".join(found)


def test_the_chosen_currency_reaches_metrics_and_tables(at: AppTest) -> None:
    go(at, "settings")
    at.selectbox(key="currency_code").select("GBP").run()
    go(at, "overview")
    metrics = {m.label: m.value for m in at.metric}
    # The sample's revenue by hand is checked in tests/engine; here: currency and no decimals in a headline.
    assert re.fullmatch(r"£\d{1,3}(,\d{3})+", metrics["Revenue"]), metrics
    assert re.fullmatch(r"£\d{1,3}(,\d{3})*", metrics["Average order value"]), metrics
    summary = next(d for d in at.dataframe if "revenue" in d.value.columns)
    config = json.loads(summary.proto.columns)
    assert config["revenue"]["type_config"]["format"] == "£%,.2f" and config["revenue"]["label"] == "Revenue"
    assert config["customer_share"]["type_config"]["format"] == "%.1f%%"
    # The Other segment is empty on the sample: 0 customers and 0 revenue, never None.
    other = summary.value[summary.value["segment"] == "Other"].iloc[0]
    assert other["customers"] == 0 and other["revenue"] == 0
    go(at, "settings")
    at.radio(key="currency_placement").set_value("after").run()
    go(at, "actions")
    assert any(m.value.endswith(" £") for m in at.metric if m.label == "Revenue")


def test_a_platform_exports_currency_is_detected_and_noted(at: AppTest) -> None:
    data = (ROOT / "tests" / "platforms" / "shopify_orders_export.csv").read_bytes()
    upload(at, "orders_export.csv", data)
    assert not at.exception and not at.error
    assert any("Currency EUR, from the column 'Currency'." in m.value for m in at.markdown)
    go(at, "overview")
    assert {m.label: m.value for m in at.metric}["Revenue"].startswith("€")
    # A currency chosen in Settings wins over the file's.
    go(at, "settings")
    assert at.selectbox(key="currency_code").value == "(as the file says)"
    at.selectbox(key="currency_code").select("USD").run()
    go(at, "overview")
    assert {m.label: m.value for m in at.metric}["Revenue"].startswith("$")


def test_actions_show_each_segments_test_and_control_groups(at: AppTest) -> None:
    from rfm_core import analyze
    from rfm_core.playbooks import DEFAULT_PLAYBOOKS
    from tests.conftest import SAMPLE

    go(at, "actions")
    table = next(d for d in at.dataframe if "control" in d.value.columns).value.set_index("segment")
    sizes = analyze(SAMPLE.read_bytes(), warn=False).segmentation.summary.set_index("segment")["customers"]
    for name, size in sizes.items():
        row = table.loc[name]
        assert row["customers"] == size and row["test"] + row["control"] == size
        share = DEFAULT_PLAYBOOKS[name].control_share if name in DEFAULT_PLAYBOOKS else 0.0
        # by hand: round half up of size x share (exact decimal), at least 1 when 2+ customers and a share > 0
        expected = int(size * round(share * 100) + 50) // 100 if size else 0
        expected = max(expected, 1) if size >= 2 and share > 0 else expected
        assert row["control"] == min(expected, size // 2), name
        assert row["control_share"] == pytest.approx(share * 100)  # shown as % by "%.1f%%"


def test_rule_table_has_the_playbook_columns(at: AppTest) -> None:
    go(at, "segment_rules")
    base = at.session_state["rules_base"]  # the table the rule editor edits
    assert list(base.columns[-5:]) == ["goal", "channel", "offer", "timing", "control_share"]
    assert base.set_index("name").loc["Lost", "control_share"] == 0.2


def test_currency_is_part_of_the_saved_settings(at: AppTest) -> None:
    go(at, "settings")
    at.selectbox(key="currency_code").select("EUR").run()
    at.radio(key="currency_placement").set_value("after").run()
    assert at.session_state["currency_setting"] == Currency("EUR", "after")
    go(at, "export")
    assert not at.exception
