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
