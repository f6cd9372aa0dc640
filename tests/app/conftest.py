"""Fixtures shared by the AppTest modules: a fresh app on the bundled sample, and the progress bars it shows."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

APP = str(ROOT / "streamlit_app.py")


def fresh_app(timeout: float = 60) -> AppTest:
    """The app after its first run on the bundled sample, with every Streamlit cache emptied first."""
    st.cache_data.clear()
    st.cache_resource.clear()
    app = AppTest.from_file(APP, default_timeout=timeout)
    app.run()
    assert not app.exception
    return app


@pytest.fixture
def at() -> AppTest:
    return fresh_app()


@pytest.fixture
def progress_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The text of every progress bar the app creates (st.progress wrapped, then called for real)."""
    shown: list[str] = []
    real = st.progress

    def progress(value: float, text: str | None = None) -> object:
        shown.append(text or "")
        return real(value, text=text)

    monkeypatch.setattr(st, "progress", progress)
    return shown
