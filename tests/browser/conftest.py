"""A real `streamlit run` server and Debian's chromium driven by Playwright (see TESTING.md in the team guides).

Without chromium the browser tests skip with install advice, except under CI, where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI, ROOT, SharedData
from tests.data.analyst_file import AnalystFile, analyst_csv

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session", autouse=True)
def _need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail("chromium is not installed; CI must install it (apt-get install -y chromium)")
        pytest.skip("browser tests need Debian's chromium: apt-get update && apt-get install -y chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    return {"executable_path": CHROMIUM, "args": LAUNCH_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "accept_downloads": True, "viewport": {"width": 1400, "height": 2000}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Server:
    url: str
    pid: int


@pytest.fixture(scope="session")
def app_url(app_server: Server) -> str:
    return app_server.url


@pytest.fixture(scope="session")
def app_server() -> Iterator[Server]:
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    with open(ROOT / "test-artifacts" / "streamlit-server.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        else:
            proc.terminate()
            pytest.fail("the streamlit server did not become healthy within 60 s")
        yield Server(url, proc.pid)
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def analyst_file(tmp_path_factory: pytest.TempPathFactory, shared_data: SharedData) -> AnalystFile:
    """The real Online Retail as the analyst's CSV; without ../shared a generated file of the same size."""
    return analyst_csv(tmp_path_factory.mktemp("analyst"), shared_data)


# ---- No server traceback during normal use (issue 16). Self-contained: the fixtures above are another's to edit.
SERVER_LOG = ROOT / "test-artifacts" / "streamlit-server.log"
TRACEBACK = "Traceback (most recent call last)"


@dataclass
class _LogCursor:
    """How far into the server log the traceback check has read."""

    offset: int = 0

    def new_text(self) -> str:
        with open(SERVER_LOG, "rb") as log:
            log.seek(self.offset)
            data = log.read()
        self.offset += len(data)
        return data.decode("utf-8", errors="replace")


def _fail_on_traceback(text: str, where: str) -> None:
    if TRACEBACK in text:
        start = text.index(TRACEBACK)
        excerpt = text[max(0, text.rfind("\n", 0, start - 1) - 300):start + 3000]
        pytest.fail(f"the streamlit server logged a traceback {where} (test-artifacts/streamlit-server.log):\n"
                    f"{excerpt}", pytrace=False)


@pytest.fixture(scope="session")
def _server_log(app_server: Server) -> Iterator[_LogCursor]:
    cursor = _LogCursor(SERVER_LOG.stat().st_size)  # the server's own start-up lines are not a test's doing
    yield cursor
    time.sleep(1.0)  # a request handled after the last test ends (a late download) logs here
    _fail_on_traceback(cursor.new_text(), "after the last browser test")


@pytest.fixture(autouse=True)
def _no_server_traceback(_server_log: _LogCursor) -> Iterator[None]:
    """Fail the test during which the server logged a traceback (an error a user would have met)."""
    _server_log.new_text()  # skip what an earlier, already failed test left
    yield
    time.sleep(0.2)  # the server writes the log from other threads; give the last lines time to land
    _fail_on_traceback(_server_log.new_text(), "during this test")
