"""rfm_app.cache.RecentBytes: the shared copy of stored files' bytes is bounded by count and by idle time."""

from __future__ import annotations

from rfm_app.cache import RecentBytes


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_at_most_keep_files_least_recently_used_goes_first() -> None:
    held = RecentBytes(keep=2, ttl_s=60.0, timer=Clock())
    held.put("a", b"A")
    held.put("b", b"B")
    assert held.get("a") == b"A"  # a is now the most recently used
    held.put("c", b"C")
    assert held.get("b") is None and held.get("a") == b"A" and held.get("c") == b"C"
    assert len(held) == 2


def test_files_unused_for_the_ttl_are_dropped_by_a_sweep_and_a_use_renews_them() -> None:
    clock = Clock()
    held = RecentBytes(keep=4, ttl_s=120.0, timer=clock)
    held.put("a", b"A")
    held.put("b", b"B")
    clock.now = 100.0
    assert held.get("b") == b"B"  # b used at 100 s, a last at 0 s
    clock.now = 119.0
    assert held.drop_idle() == 0
    clock.now = 120.0  # a idle 120 s: gone; b idle 20 s: kept
    assert held.drop_idle() == 1
    assert held.get("a") is None and held.get("b") == b"B"  # this get renews b at 120 s
    clock.now = 239.0
    assert held.drop_idle() == 0
    clock.now = 240.0
    assert held.drop_idle() == 1 and len(held) == 0


def test_discard_drops_one_file_now() -> None:
    held = RecentBytes(keep=2, ttl_s=60.0, timer=Clock())
    held.put("a", b"A")
    assert held.discard("a") is True and held.get("a") is None
    assert held.discard("a") is False
