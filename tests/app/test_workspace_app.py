"""The workspace in the app (AppTest): a link restores the analysis, an upload is kept in the store and only there,
an expired link says so, the size cap and the off switch keep the analysis working, errors read as the app's.

AppTest runs the entry script on a session's first run only (later runs execute the current page), so saving at the
end of a run is proven in a real browser (tests/browser/test_workspace.py); here the first run restores, and the
upload path saves.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import sqlite3
from pathlib import Path

import openpyxl
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from pages import common
from rfm_app.workspace import ClvSettings, StoreConfig, WorkspaceState, WorkspaceStore, open_store
from rfm_core import CleaningPolicy, MetricScoring, ScoringSettings
from rfm_core.audience import Audience, Condition
from rfm_core.segment import DEFAULT_RULES, RuleSet
from rfm_core.settings import AnalysisSettings, ReadOptions
from tests.conftest import HAND_CSV, ROOT

APP = str(ROOT / "streamlit_app.py")


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace folder of this test's own (the app reads the setting on every run)."""
    path = tmp_path / "workspaces"
    monkeypatch.setenv("RFM_WORKSPACE_DIR", str(path))
    monkeypatch.delenv("RFM_WORKSPACE", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    return path


def _store(folder: Path) -> WorkspaceStore:
    store = open_store(StoreConfig(folder=folder))
    assert store is not None
    return store


def _app(ws: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if ws is not None:
        at.query_params["w"] = ws
    at.run()
    assert not at.exception
    return at


def _current_file(at: AppTest) -> str:
    found = [m.value for m in at.markdown if m.value.startswith("**Current file:**")]
    assert len(found) == 1
    return found[0].removeprefix("**Current file:**").strip()


def _query_id(at: AppTest) -> str | None:
    value = at.query_params.get("w")
    return value[0] if isinstance(value, list) else value


def _intro(at: AppTest) -> bool:
    boxes = [e for e in at.expander if e.label == "What is RFM and how to read this app"]
    assert len(boxes) == 1
    return bool(boxes[0].proto.expanded)


LAPSED = Audience("Lapsed repeat buyers", ((Condition("frequency", "gte", 2), Condition("recency_days", "gt", 9)),))


def test_a_link_restores_file_settings_rules_clv_and_audiences(folder: Path) -> None:
    store = _store(folder)
    ws = store.create()
    store.save_file(ws, "hand.csv", HAND_CSV.encode())
    rules = RuleSet(DEFAULT_RULES.rules[:3], DEFAULT_RULES.fallback, DEFAULT_RULES.scale)
    settings = AnalysisSettings(mapping=(("country", None),), cleaning=CleaningPolicy(returns="net"),
                                scoring=ScoringSettings(recency=MetricScoring(4)), as_of=dt.date(2024, 2, 1))
    store.save_state(ws, WorkspaceState(settings, rules, ClvSettings("M", 24, 0.2, "pareto_nbd", "2024-01-10")))
    store.save_audience_object(ws, LAPSED)

    at = _app(ws)
    assert _current_file(at).startswith("hand.csv")
    assert _query_id(at) == ws
    assert _intro(at) is False  # a returning analyst has seen the introduction
    ss = at.session_state
    assert ss[common.SCORING].recency == MetricScoring(4)
    assert ss[common.CLEANING].returns == "net" and ss[common.AS_OF] == dt.date(2024, 2, 1)
    assert ss[common.MAPPING] == {"country": None}
    assert ss[common.RULES] == rules
    assert (ss[common.CLV_UNIT], ss[common.CLV_HORIZON], ss[common.CLV_RATE], ss[common.CLV_MODEL],
            ss[common.CLV_HOLDOUT]) == ("M", 24, 0.2, "pareto_nbd", dt.date(2024, 1, 10))
    assert ss[common.AUDIENCES] == {LAPSED.name: LAPSED}
    # The restored settings drive the analysis: hand-worked (tests/engine/test_hand_fixture.py), with the country
    # column left out and returns netted, 3 customers A, B and C are read from the 11 rows.
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows read"] == "11" and metrics["Customers"] == "3"
    at.switch_page("pages/settings.py").run()
    assert not at.exception
    assert at.slider(key="bins_recency").value == 4
    # The session holds the file's name, size and SHA-256, not its bytes: the store holds those.
    src = ss[common.SOURCE]
    assert src.digest == hashlib.sha256(HAND_CSV.encode()).hexdigest() and src.size == len(HAND_CSV.encode())
    assert "_upload_bytes" not in ss
    assert not any(isinstance(ss[k], bytes | bytearray) for k in ss)


def test_an_upload_is_kept_in_the_store_and_a_new_session_gets_it_back(folder: Path) -> None:
    at = _app()
    assert "bundled sample" in _current_file(at)
    assert _intro(at) is True  # a first visit opens the introduction
    assert _query_id(at) is None
    assert not (folder / "workspaces.sqlite3").exists() or _count_workspaces(folder) == 0  # looking stores nothing
    at.file_uploader(key="upload").upload("hand.csv", HAND_CSV.encode(), "text/csv")
    at.run()
    assert not at.exception and not at.error
    ws = _query_id(at)
    assert ws is not None
    blob = folder / "blobs" / hashlib.sha256(HAND_CSV.encode()).hexdigest()
    assert blob.read_bytes() == HAND_CSV.encode()
    assert "_upload_bytes" not in at.session_state  # ONE copy: the store's

    again = _app(ws)
    assert _current_file(again).startswith("hand.csv")
    assert {m.label: m.value for m in again.metric}["Customers"] == "3"
    stranger = _app()
    assert "bundled sample" in _current_file(stranger)


def _count_workspaces(folder: Path) -> int:
    with sqlite3.connect(folder / "workspaces.sqlite3") as db:
        return int(db.execute("SELECT COUNT(*) FROM workspace").fetchone()[0])


def test_an_unknown_or_expired_link_says_so_and_shows_the_sample(folder: Path) -> None:
    at = _app("A" * 32)
    assert "bundled sample" in _current_file(at)
    warnings = [w.value for w in at.warning if "expired or was forgotten" in w.value]
    assert len(warnings) == 1
    assert _query_id(at) is None  # the dead id is taken out of the address
    assert _intro(at) is True


def test_over_the_size_cap_the_analysis_goes_on_and_says_it_will_not_survive(folder: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RFM_WORKSPACE_MAX_MB", "0.0001")  # 100 bytes; the hand file is 500
    at = _app()
    at.file_uploader(key="upload").upload("hand.csv", HAND_CSV.encode(), "text/csv")
    at.run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "will not survive a reload" in errors[0] and "hand.csv" in errors[0]
    assert {m.label: m.value for m in at.metric}["Customers"] == "3"
    assert not list((folder / "blobs").iterdir())
    assert at.session_state["_upload_bytes"][1] == HAND_CSV.encode()  # the session's copy is the only one


def test_workspaces_off_write_nothing_and_the_app_works(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RFM_WORKSPACE", "off")
    at = _app()
    assert any("Workspaces are off" in c.value for c in at.sidebar.caption)
    at.file_uploader(key="upload").upload("hand.csv", HAND_CSV.encode(), "text/csv")
    at.run()
    assert not at.exception and not at.error
    assert {m.label: m.value for m in at.metric}["Customers"] == "3"
    assert _query_id(at) is None
    assert not folder.exists()


def test_a_file_error_names_the_file_once_appears_once_and_gives_no_command_line_hint(folder: Path) -> None:
    at = _app()
    at.file_uploader(key="upload").upload("orders.csv", b"Name,Colour\nfoo,red\nbar,blue\n", "text/csv")
    at.run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1, errors  # the Data page and the guard meet the same error: shown once
    assert errors[0].count("orders.csv") == 1
    texts = [*errors, *(w.value for w in at.warning), *(c.value for c in at.caption)]
    assert not [t for t in texts if re.search(r"(?<![\w-])--[a-z]", t)]
    assert "Column mapping" in errors[0]


@pytest.mark.parametrize(("engine", "app"), [
    ("'Ref' could also be the customer id; 'Client' was chosen (better match). Change it under Column mapping "
     "(command line: --map) if that is wrong.",
     "'Ref' could also be the customer id; 'Client' was chosen (better match). Change it under Column mapping if "
     "that is wrong."),
    ("Missing required columns: customer id. Choose them under Column mapping on the Data page (command line: "
     "--map customer_id=Client).",
     "Missing required columns: customer id. Choose them under Column mapping on the Data page."),
    ("they were read month-first. If that is wrong, use --dayfirst (app: Settings, Date order).",
     "they were read month-first. If that is wrong, change Settings, Date order."),
    ("big.csv has 30,000,000 rows, more than the limit of 20,000,000. Use the CLI with --engine duckdb for files "
     "this large.",
     "big.csv has 30,000,000 rows, more than the limit of 20,000,000. Upload a shorter date range (export fewer "
     "months at a time)."),
    ("No rows are left after cleaning, so there is nothing to analyse. Check the ledger.",
     "No rows are left after cleaning, so there is nothing to analyse. Check the column mapping on the Data page and "
     "which rows count on Settings."),
    ("There are no customers to score. Check the ledger: every row was dropped.",
     "There are no customers to score. Every row was dropped: check the column mapping on the Data page and which "
     "rows count on Settings."),
    ("No change needed here.", "No change needed here."),
])
def test_engine_messages_in_the_apps_words(engine: str, app: str) -> None:
    assert common.app_wording(engine) == app



def _workbook() -> bytes:
    """Sheet "First": the hand file (customers A, B, C); sheet "Second": customers X and Y, one order each."""
    wb = openpyxl.Workbook()
    first = wb.active
    first.title = "First"
    rows = [line.split(",") for line in HAND_CSV.strip().splitlines()]
    for row in rows:
        first.append(row)
    second = wb.create_sheet("Second")
    second.append(rows[0])
    second.append(["2001", "X", "2024-02-01 10:00:00", "1", "4.00", "France"])
    second.append(["2002", "Y", "2024-02-02 10:00:00", "2", "3.00", "France"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize(("sheet", "options", "shown", "customers"), [
    ("Second", ReadOptions(sheet="Second"), "Second", "2"),
    ("all", ReadOptions(all_sheets=True), common.ALL_SHEETS, "5"),  # 3 + 2 customers, no id in both sheets
])
def test_a_link_restores_the_sheet(folder: Path, sheet: str, options: ReadOptions, shown: str,
                                   customers: str) -> None:
    store = _store(folder)
    ws = store.create()
    store.save_file(ws, "book.xlsx", _workbook())
    store.save_state(ws, WorkspaceState(AnalysisSettings(read=options)))
    at = _app(ws)
    assert not at.error
    assert at.selectbox(key="sheet").value == shown
    assert {m.label: m.value for m in at.metric}["Customers"] == customers


def test_saved_audiences_are_listed_after_a_reload(folder: Path) -> None:
    store = _store(folder)
    ws = store.create()
    store.save_audience_object(ws, LAPSED)
    at = _app(ws)
    at.switch_page("pages/audiences.py").run()
    assert not at.exception
    saved = [df.value for df in at.dataframe if "Audience" in df.value.columns]
    assert len(saved) == 1 and saved[0]["Audience"].tolist() == ["Lapsed repeat buyers"]
    assert any("kept with this workspace" in c.value for c in at.caption)


def test_an_error_after_a_change_names_the_file_once_and_says_what_is_still_shown(folder: Path) -> None:
    at = _app()
    at.file_uploader(key="upload").upload("hand.csv", HAND_CSV.encode(), "text/csv")
    at.run()
    box = next(s for s in at.selectbox if str(s.key).startswith("map_customer_id_"))
    box.set_value("(not in file)").run()
    assert not at.exception
    errors, infos = [e.value for e in at.error], [i.value for i in at.info]
    assert len(errors) == 1 and "Missing required columns" in errors[0]
    assert infos == ["Still showing the last good result, before this change."]
    assert " ".join(errors + infos).count("hand.csv") == 1


def test_a_damaged_stored_file_is_reported_and_the_settings_still_come_back(folder: Path) -> None:
    store = _store(folder)
    ws = store.create()
    sha = store.save_file(ws, "hand.csv", HAND_CSV.encode())
    store.save_state(ws, WorkspaceState(AnalysisSettings(scoring=ScoringSettings(recency=MetricScoring(3)))))
    (folder / "blobs" / sha).write_bytes(b"tampered")
    at = _app(ws)
    assert "bundled sample" in _current_file(at)
    assert [w.value for w in at.warning if "damaged or missing" in w.value] == [
        "The stored copy of hand.csv is damaged or missing; upload the file again."]
    assert at.session_state[common.SCORING].recency == MetricScoring(3)
    assert not (folder / "blobs" / sha).exists()  # never served, and dropped
