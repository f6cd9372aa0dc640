"""No download button may start a script run (CONTRIBUTING.md, "Download buttons"; issue 16).

A run revokes every deferred file a button registered in the run before, so a button that reruns the page breaks
the next deferred download clicked from the previous page state. Checked twice: in the source (every call, also
in branches the sample data does not reach) and in what every page actually sends to the browser.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

SOURCES = [*sorted((ROOT / "pages").glob("*.py")), ROOT / "streamlit_app.py"]
PAGES_WITH_DOWNLOADS = ["data", "segment_rules", "migration", "actions", "export", "audiences", "segments_over_time",
                        "backtest"]


def _download_calls(path: Path) -> list[ast.Call]:
    tree = ast.parse(path.read_text("utf-8"), str(path))
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "download_button"]


def test_every_download_button_in_the_source_ignores_the_click() -> None:
    calls = {path.name: _download_calls(path) for path in SOURCES}
    assert sum(len(c) for c in calls.values()) >= 12  # the pages' buttons are all found, not a vacuous pass
    offenders = []
    for name, found in calls.items():
        for call in found:
            on_click = next((k.value for k in call.keywords if k.arg == "on_click"), None)
            if not (isinstance(on_click, ast.Constant) and on_click.value == "ignore"):
                offenders.append(f"{name}:{call.lineno}")
    assert offenders == [], f"download_button without on_click='ignore': {offenders}"


@pytest.mark.parametrize("page", PAGES_WITH_DOWNLOADS)
def test_every_rendered_download_button_is_sent_as_no_rerun(page: str) -> None:
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception
    buttons = at.get("download_button")
    assert buttons, f"no download button rendered on {page}"
    assert all(b.proto.ignore_rerun for b in buttons), [b.proto.label for b in buttons if not b.proto.ignore_rerun]
