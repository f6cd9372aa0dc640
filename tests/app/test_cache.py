"""rfm_app.cache: the byte budget, the time-to-live, eviction order, measured sizes and thread safety (no Streamlit)."""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest

from rfm_app.cache import CacheSettings, StageCache, release_memory, settings_from, size_of


class FakeClock:
    """A timer the test moves by hand (cachetools uses the timer as a callable)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def by_len(value: Any) -> int:
    """Entries in these tests are bytes-like; their size is their length, known by construction."""
    return len(value)


def make(budget: int = 100, ttl: float = 60.0, clock: FakeClock | None = None,
         released: list[int] | None = None) -> StageCache:
    sink = released if released is not None else []
    return StageCache(CacheSettings(budget, ttl), timer=clock or FakeClock(), sizeof=by_len,
                      release=lambda: sink.append(1))


def test_budget_is_never_exceeded_and_least_recently_used_goes_first() -> None:
    released: list[int] = []
    cache = make(budget=100, released=released)
    cache.put("a", b"x" * 40)
    cache.put("b", b"x" * 40)
    assert cache.stats().bytes == 80
    assert cache.get("a") is not None  # a is now the most recently used
    cache.put("c", b"x" * 40)  # 120 > 100: one must go, and it is b (least recently used), not a
    assert "a" in cache and "c" in cache and "b" not in cache
    assert cache.stats().bytes == 80 and cache.stats().evictions == 1
    assert cache.was_evicted("b") and not cache.was_evicted("a")
    assert released == [1]  # memory released once, after the eviction
    cache.put("d", b"x" * 100)  # exactly the budget: everything else goes
    assert cache.stats().bytes == 100 and cache.stats().entries == 1
    assert cache.was_evicted("a") and cache.was_evicted("c")


def test_an_entry_larger_than_the_budget_is_returned_but_not_kept() -> None:
    cache = make(budget=100)
    cache.put("small", b"x" * 10)
    big = b"x" * 101
    assert cache.put("big", big) is big
    assert "big" not in cache and "small" in cache  # nothing was evicted to make room for it either
    assert cache.stats().too_large == 1 and cache.stats().bytes == 10


def test_ttl_counts_from_the_last_use_with_a_fake_clock() -> None:
    clock = FakeClock()
    released: list[int] = []
    cache = make(ttl=10.0, clock=clock, released=released)
    cache.put("used", b"u")
    cache.put("idle", b"i")
    clock.now = 9.0
    assert cache.get("used") == b"u"  # renews: now expires at 19
    clock.now = 12.0
    assert cache.expire() == 1  # idle expired at 10
    assert "idle" not in cache and cache.was_evicted("idle") and released == [1]
    assert cache.get("used") == b"u"  # renewed again at 12: expires at 22
    clock.now = 21.9
    assert cache.expire() == 0 and "used" in cache
    clock.now = 22.0
    assert cache.expire() == 1 and cache.stats().entries == 0 and cache.stats().bytes == 0
    assert released == [1, 1]


def test_get_or_compute_computes_on_a_miss_only_and_a_recompute_clears_the_evicted_mark() -> None:
    clock = FakeClock()
    cache = make(ttl=5.0, clock=clock)
    calls: list[str] = []

    def compute() -> bytes:
        calls.append("x")
        return b"value"

    assert cache.get_or_compute("k", compute) == b"value"
    assert cache.get_or_compute("k", compute) == b"value"
    assert calls == ["x"] and cache.stats().misses == 1 and cache.stats().hits == 1
    clock.now = 6.0
    cache.expire()
    assert cache.was_evicted("k")
    cache.get_or_compute("k", compute)
    assert calls == ["x", "x"] and not cache.was_evicted("k")


def test_concurrent_sessions_on_one_key_compute_it_once_and_share_the_object() -> None:
    cache = StageCache(CacheSettings(10**9, 60.0), release=None)
    calls = 0
    lock = threading.Lock()
    start = threading.Barrier(16)
    results: list[object] = []

    def compute() -> pd.DataFrame:
        nonlocal calls
        with lock:
            calls += 1
        time.sleep(0.2)  # long enough that every thread arrives while the first computes
        return pd.DataFrame({"x": range(1000)})

    def session() -> None:
        start.wait()
        value = cache.get_or_compute(("raw", "digest-1"), compute)
        with lock:
            results.append(value)

    threads = [threading.Thread(target=session) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == 1
    assert len(results) == 16 and all(r is results[0] for r in results)


def test_concurrent_sessions_on_different_keys_never_exceed_the_budget() -> None:
    budget = 10_000
    cache = StageCache(CacheSettings(budget, 60.0), sizeof=by_len, release=None)
    over: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            held = cache.stats().bytes
            if held > budget:
                over.append(held)

    def session(i: int) -> None:
        rng = np.random.default_rng(i)
        for j in range(300):
            size = int(rng.integers(100, 3_000))
            value = cache.get_or_compute((i, j % 40), lambda size=size: b"x" * size)
            assert len(value) >= 100

    watcher = threading.Thread(target=watch)
    watcher.start()
    threads = [threading.Thread(target=session, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    watcher.join()
    stats = cache.stats()
    assert over == []
    assert 0 < stats.bytes <= budget
    assert stats.bytes == sum(len(cache.get(k) or b"") for k in [(i, j) for i in range(12) for j in range(40)]
                              if k in cache)  # the byte count matches what is really held
    assert stats.evictions > 0 and stats.hits + stats.misses >= 12 * 300


def test_sweeper_expires_idle_entries_without_any_access() -> None:
    released: list[int] = []
    cache = StageCache(CacheSettings(1000, ttl_s=0.2, sweep_s=0.05), sizeof=by_len, release=lambda: released.append(1))
    cache.put("k", b"abc")
    cache.start_sweeper()
    try:
        deadline = time.monotonic() + 5
        # Only an expire() counts an eviction; the release follows it, outside the lock (slow on a loaded machine).
        while not (cache.stats().evictions and released) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert cache.stats().entries == 0 and released and cache.was_evicted("k")
    finally:
        cache.stop_sweeper()


@dataclass(frozen=True)
class Holder:
    frame: pd.DataFrame
    again: pd.DataFrame
    name: str


def test_size_of_measures_frames_arrays_bytes_and_counts_a_shared_object_once() -> None:
    frame = pd.DataFrame({"id": np.arange(10_000, dtype="int64"), "country": ["United Kingdom"] * 10_000})
    deep = int(frame.memory_usage(deep=True).sum())
    assert deep >= 10_000 * 8  # the int64 column alone
    assert size_of(frame) == deep
    assert size_of(np.zeros(1000)) == 8000
    assert size_of(b"x" * 1_000_000) == sys.getsizeof(b"x" * 1_000_000) >= 1_000_000
    holder = Holder(frame, frame, "n")
    assert deep < size_of(holder) < deep + 1_000  # the frame twice in the dataclass: counted once
    assert size_of((frame, {"k": frame})) < deep + 1_000
    assert size_of((frame, frame.copy())) >= 2 * deep


def test_settings_from_environment_then_secrets_then_defaults() -> None:
    assert settings_from({}) == CacheSettings()
    assert settings_from({}, {"budget_mb": 500}).budget_bytes == 500_000_000
    chosen = settings_from({"RFM_CACHE_BUDGET_MB": "250", "RFM_CACHE_TTL_S": "30"},
                           {"budget_mb": 500, "ttl_s": 900})
    assert chosen.budget_bytes == 250_000_000 and chosen.ttl_s == 30.0 and chosen.sweep_s == 7.5
    assert settings_from({"RFM_COMPUTE_SLOTS": "3"}).compute_slots == 3
    with pytest.raises(ValueError, match="RFM_CACHE_BUDGET_MB must be a number"):
        settings_from({"RFM_CACHE_BUDGET_MB": "1 GB"})
    with pytest.raises(ValueError, match="RFM_CACHE_TTL_S must be positive"):
        settings_from({"RFM_CACHE_TTL_S": "0"})
    with pytest.raises(ValueError, match=r"\[cache\] ttl_s must be positive"):
        settings_from({}, {"ttl_s": -5})


def test_release_memory_runs_here() -> None:
    """gc, pyarrow's pool and malloc_trim: on glibc the trim is found (the benchmark measures what it gives)."""
    from rfm_app import cache

    if sys.platform.startswith("linux"):
        assert cache._TRIM is not None
    release_memory()


def test_a_sweep_expires_runs_the_hooks_and_releases_once_when_anything_was_freed() -> None:
    clock = FakeClock()
    released: list[int] = []
    cache = make(ttl=10.0, clock=clock, released=released)
    reaped = [0]
    cache.add_sweep_hook(lambda: reaped[0])
    cache.put("k", b"v")
    cache.sweep()
    assert released == [] and "k" in cache  # nothing expired, nothing reaped: no release (it costs a gc)
    reaped[0] = 2  # e.g. two closed sessions ended
    cache.sweep()
    assert released == [1]
    reaped[0] = 0
    clock.now = 11.0
    cache.sweep()
    assert released == [1, 1] and "k" not in cache

    def broken() -> int:
        raise RuntimeError("hook failed")

    cache.add_sweep_hook(broken)
    cache.put("j", b"w")
    clock.now = 30.0
    cache.sweep()  # the failing hook is logged; the expiry still happens
    assert "j" not in cache and released == [1, 1, 1]


def test_no_more_computations_at_once_than_slots_and_a_nested_one_does_not_deadlock() -> None:
    cache = StageCache(CacheSettings(10**9, 60.0, compute_slots=2), release=None)
    lock = threading.Lock()
    running = [0]
    most = [0]

    def compute(i: int) -> bytes:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        inner = cache.get_or_compute(("inner", i), lambda: b"inner")  # a fit that needs a comparison first
        with lock:
            running[0] -= 1
        return inner + b"-outer"

    threads = [threading.Thread(target=lambda i=i: cache.get_or_compute(("outer", i), lambda: compute(i)))
               for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)  # no deadlock
    assert most[0] == 2  # the slots were used, and never more
    assert all(cache.get(("outer", i)) == b"inner-outer" for i in range(8))

    single = StageCache(CacheSettings(10**9, 60.0, compute_slots=1), release=None)
    assert single.get_or_compute("a", lambda: single.get_or_compute("b", lambda: b"b") + b"a") == b"ba"


def test_after_a_drop_the_sweeps_of_the_next_two_minutes_release_again_then_stop() -> None:
    clock = FakeClock()
    released: list[int] = []
    cache = StageCache(CacheSettings(100, ttl_s=10.0, sweep_s=30.0), timer=clock, sizeof=by_len,
                       release=lambda: released.append(1))
    cache.put("k", b"v")
    clock.now = 11.0
    cache.sweep()
    assert len(released) == 1  # the drop
    for _ in range(6):
        cache.sweep()
    assert len(released) == 1 + 4  # 120 s / 30 s: four trailing releases, then none


def test_the_cache_says_why_an_entry_went_budget_or_ttl() -> None:
    clock = FakeClock()
    cache = make(budget=100, ttl=60.0, clock=clock)
    cache.put("old", b"x" * 60)
    cache.put("new", b"x" * 60)  # 120 > 100: "old" goes for memory
    assert cache.eviction_reason("old") == "budget" and cache.eviction_reason("new") is None
    clock.now += 61
    assert cache.expire() == 1  # "new" idle past the TTL
    assert cache.eviction_reason("new") == "ttl" and cache.was_evicted("new")
    cache.put("old", b"x" * 10)  # computed again: no longer "dropped"
    assert cache.eviction_reason("old") is None and cache.eviction_reason("never") is None
