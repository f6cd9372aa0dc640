"""rfm_app.reaper against a stand-in of Streamlit's runtime: disconnected sessions whose reconnect time has passed
are shut down, and their session state is emptied once their script has stopped."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cachetools
import pytest
from streamlit.runtime.state.session_state import SessionState

from rfm_app import reaper


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass(eq=False)
class FakeSession:
    """The parts of AppSession the reaper touches: shutdown(), the script runner and the session state."""

    name: str
    running: bool = False
    shutdowns: int = 0
    _session_state: SessionState = field(default_factory=SessionState)

    @property
    def _scriptrunner(self) -> object | None:
        return object() if self.running else None

    def shutdown(self) -> None:
        self.shutdowns += 1


@dataclass
class Info:
    session: FakeSession


class FakeRuntime:
    def __init__(self, clock: Clock, ttl: float) -> None:
        storage = type("Storage", (), {})()
        storage._cache = cachetools.TTLCache(maxsize=100, ttl=ttl, timer=clock)
        self._session_mgr = type("Mgr", (), {})()
        self._session_mgr._session_storage = storage

    @property
    def store(self) -> Any:
        return self._session_mgr._session_storage._cache


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeRuntime, Clock]:
    from streamlit import runtime as st_runtime

    clock = Clock()
    fake = FakeRuntime(clock, ttl=120.0)
    monkeypatch.setattr(st_runtime, "exists", lambda: True)
    monkeypatch.setattr(st_runtime, "get_instance", lambda: fake)
    monkeypatch.setattr(reaper, "_shut", [])
    return fake, clock


def with_state(session: FakeSession) -> FakeSession:
    session._session_state["last_good"] = ["a result"]
    return session


def test_only_sessions_past_their_reconnect_time_are_shut_down_and_emptied(runtime: tuple[FakeRuntime, Clock]) -> None:
    fake, clock = runtime
    old, young = with_state(FakeSession("old")), with_state(FakeSession("young"))
    fake.store["old"] = Info(old)
    clock.now = 100.0
    fake.store["young"] = Info(young)
    clock.now = 121.0  # old disconnected 121 s ago (> 120), young 21 s ago
    assert reaper.reap_disconnected_sessions() == 2  # one shut down + its state cleared
    assert old.shutdowns == 1 and "last_good" not in old._session_state
    assert young.shutdowns == 0 and "last_good" in young._session_state
    assert "young" in fake.store and "old" not in fake.store


def test_a_session_whose_script_still_runs_is_emptied_on_a_later_sweep(runtime: tuple[FakeRuntime, Clock]) -> None:
    fake, clock = runtime
    busy = with_state(FakeSession("busy", running=True))
    fake.store["busy"] = Info(busy)
    clock.now = 200.0
    assert reaper.reap_disconnected_sessions() == 1  # shut down, state kept while its script stops
    assert busy.shutdowns == 1 and "last_good" in busy._session_state
    assert reaper.reap_disconnected_sessions() == 0  # still running: still kept, not shut down twice
    assert busy.shutdowns == 1 and "last_good" in busy._session_state
    busy.running = False
    assert reaper.reap_disconnected_sessions() == 1
    assert "last_good" not in busy._session_state
    assert reaper.reap_disconnected_sessions() == 0  # done once


def test_a_failing_shutdown_does_not_stop_the_others(runtime: tuple[FakeRuntime, Clock]) -> None:
    fake, clock = runtime

    class Broken(FakeSession):
        def shutdown(self) -> None:
            raise RuntimeError("boom")

    broken, fine = with_state(Broken("broken")), with_state(FakeSession("fine"))
    fake.store["broken"], fake.store["fine"] = Info(broken), Info(fine)
    clock.now = 500.0
    assert reaper.reap_disconnected_sessions() == 3  # two expired, one of them cleared
    assert fine.shutdowns == 1 and "last_good" not in fine._session_state
    assert "last_good" in broken._session_state  # not shut down, so not emptied


def test_another_streamlit_without_these_internals_reaps_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit import runtime as st_runtime

    monkeypatch.setattr(st_runtime, "exists", lambda: True)
    monkeypatch.setattr(st_runtime, "get_instance", lambda: object())
    monkeypatch.setattr(reaper, "_warned", False)
    assert reaper.reap_disconnected_sessions() == 0
    assert reaper._warned
