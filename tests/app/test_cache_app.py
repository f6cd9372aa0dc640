"""The app on the stage cache: a live session never waits for its own dropped result; a dropped result it must
recompute comes with a note and a progress bar; the uploaded bytes are in no key and no entry."""

from __future__ import annotations

import hashlib

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from pages import common
from rfm_app.cache import CacheSettings, StageCache
from tests.app.test_cache import FakeClock
from tests.conftest import HAND_CSV, ROOT

APP = str(ROOT / "streamlit_app.py")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> StageCache:
    """A fresh stage cache with a fake clock in place of the server's (the stages look it up on every call)."""
    st.cache_data.clear()
    st.cache_resource.clear()
    fresh = StageCache(CacheSettings(budget_bytes=10**9, ttl_s=60.0), timer=clock)
    monkeypatch.setattr(common, "stage_cache", lambda: fresh)
    return fresh


@pytest.fixture
def bars(progress_calls: list[str]) -> list[str]:
    return progress_calls


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def notes(at: AppTest) -> list[str]:
    return [i.value for i in at.info if i.value == common.EVICTED_NOTE]


def test_a_live_session_gets_its_dropped_result_back_without_recomputing(cache: StageCache,
                                                                          clock: FakeClock) -> None:
    at = run(AppTest.from_file(APP, default_timeout=60))
    at.file_uploader(key="upload").upload("hand.csv", HAND_CSV.encode(), "text/csv")
    run(at)
    customers = next(m.value for m in at.metric if m.label == "Customers")
    misses = cache.stats().misses
    assert misses >= 3  # read, detection, map + clean, aggregate (the sample's too, from the first run)
    clock.now += 61
    assert cache.expire() >= 3 and cache.stats().entries == 0  # the sweeper's work: everything idle has gone
    at.switch_page("pages/overview.py")
    run(at)
    assert cache.stats().misses == misses  # nothing computed again: the session's own result was handed back
    assert notes(at) == []
    assert next(m.value for m in at.metric if m.label == "Customers") == customers
    assert cache.stats().entries == 3  # read, map + clean, aggregate


def test_a_result_dropped_after_the_ttl_is_recomputed_under_a_bar_without_the_memory_note(
        cache: StageCache, clock: FakeClock, bars: list[str]) -> None:
    at = run(AppTest.from_file(APP, default_timeout=60))
    at.file_uploader(key="upload").upload("hand.csv", HAND_CSV.encode(), "text/csv")
    run(at)
    before = next(m.value for m in at.metric if m.label == "Customers")
    at.switch_page("pages/settings.py")
    run(at)
    at.checkbox(key="drop_missing").uncheck()
    run(at)  # another cleaning: its own entries; the first cleaning's stay in the cache, unused
    assert notes(at) == [] and bars == []  # a small file computes without a bar
    clock.now += 30
    at.switch_page("pages/overview.py")
    run(at)  # uses (renews) only the current cleaning's entries
    clock.now += 40  # the first cleaning's entries are now 70 s idle, the current one's 40 s
    assert cache.expire() >= 1
    at.switch_page("pages/settings.py")
    run(at)
    at.checkbox(key="drop_missing").check()
    run(at)  # back to the first cleaning: dropped, and not what the session holds
    # Dropped because unused for the TTL, not for memory: no "to save memory" note (issue 14 leftovers, item 7),
    # but the recomputation still shows its bar.
    assert notes(at) == []
    assert bars == ["Mapping and cleaning…"]  # the read was the session's own (handed back): only map + clean
    assert len(at.get("progress")) == 0  # the bar is gone once the work is done
    at.switch_page("pages/data.py")
    run(at)
    assert next(m.value for m in at.metric if m.label == "Customers") == before
    assert notes(at) == []  # a note only on the run that recomputes


def test_a_result_dropped_for_memory_is_recomputed_with_the_memory_note(
        monkeypatch: pytest.MonkeyPatch, clock: FakeClock, bars: list[str]) -> None:
    st.cache_data.clear()
    st.cache_resource.clear()
    budget = 5 * 10**6
    small = StageCache(CacheSettings(budget_bytes=budget, ttl_s=60.0), timer=clock, sizeof=_size)
    monkeypatch.setattr(common, "stage_cache", lambda: small)
    at = run(AppTest.from_file(APP, default_timeout=60))
    at.file_uploader(key="upload").upload("hand.csv", HAND_CSV.encode(), "text/csv")
    run(at)
    at.switch_page("pages/settings.py")
    run(at)
    at.checkbox(key="drop_missing").uncheck()
    run(at)  # the first cleaning's entries stay in the cache, unused
    evictions = small.stats().evictions
    small.put("filler", budget)  # an entry as large as the whole budget: every other entry goes, for memory
    assert small.stats().evictions > evictions
    at.checkbox(key="drop_missing").check()
    run(at)  # back to the first cleaning: dropped for memory, and not what the session holds
    assert notes(at) == [common.EVICTED_NOTE]
    assert "Mapping and cleaning…" in bars


def _size(value: object) -> int:
    """Entries measure 1 kB, except the filler, which says its own size."""
    return value if isinstance(value, int) else 1000


def test_the_uploaded_bytes_are_in_no_cache_key_and_no_entry(cache: StageCache) -> None:
    data = HAND_CSV.encode()
    at = run(AppTest.from_file(APP, default_timeout=60))
    at.file_uploader(key="upload").upload("hand.csv", data, "text/csv")
    run(at)
    assert at.session_state[common.SOURCE].digest == hashlib.sha256(data).hexdigest()  # this file is the one read
    assert cache.stats().entries >= 3
    for key, entry in cache._store.items():
        assert not any(isinstance(part, bytes | bytearray | memoryview) for part in key)  # type: ignore[union-attr]
        assert data not in _bytes_inside(entry.value)


def _bytes_inside(value: object, depth: int = 0) -> list[bytes]:
    """Every bytes object reachable from an entry through dataclass fields, tuples and dicts."""
    import dataclasses

    if depth > 6:
        return []
    if isinstance(value, bytes | bytearray):
        return [bytes(value)]
    if isinstance(value, tuple | list):
        return [b for v in value for b in _bytes_inside(v, depth + 1)]
    if isinstance(value, dict):
        return [b for v in value.values() for b in _bytes_inside(v, depth + 1)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [b for f in dataclasses.fields(value) for b in _bytes_inside(getattr(value, f.name), depth + 1)]
    return []
