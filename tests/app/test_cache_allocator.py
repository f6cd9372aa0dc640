"""The allocator settings (tune_allocator), discard, and the debug memory report (rfm_app.memdebug)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rfm_app import cache, memdebug
from rfm_app.cache import CacheSettings, StageCache

glibc = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt and mallinfo2 are glibc's")

# A fresh interpreter: free a 4 MiB block (mapped, since it is over glibc's initial 128 KiB threshold), then take
# 2 MiB and read glibc's own count of mapped bytes (mallinfo2().hblkhd). glibc raises its threshold to 4 MiB after
# that free, so untuned the 2 MiB block comes from the heap (hblkhd stays ~0); tuned (threshold fixed at 1 MiB) it is
# mapped (hblkhd >= 2 MiB), i.e. returned to the system the moment it is freed.
PROBE = textwrap.dedent("""
    import ctypes, ctypes.util, json, sys
    from rfm_app.cache import tune_allocator
    tuned = tune_allocator({"RFM_MALLOC_TUNE": sys.argv[1]})
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    class MI(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                   "fsmblks", "uordblks", "fordblks", "keepcost")]
    libc.mallinfo2.restype = MI
    libc.free(libc.malloc(4 << 20))
    before = libc.mallinfo2().hblkhd
    block = libc.malloc(2 << 20)
    print(json.dumps({"tuned": tuned, "mapped_growth": libc.mallinfo2().hblkhd - before}))
""")


def probe(setting: str) -> dict[str, object]:
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", PROBE, setting], cwd=root, capture_output=True, text=True,
                         check=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@glibc
def test_tuned_a_freed_large_block_does_not_move_glibcs_threshold_so_the_next_one_is_mapped() -> None:
    tuned, untuned = probe("1"), probe("0")
    assert tuned["tuned"] == {"mmap_threshold": 1 << 20}
    assert tuned["mapped_growth"] >= 2 << 20  # its own mapping: unmapped (given back) when freed
    assert untuned["tuned"] == {}
    assert untuned["mapped_growth"] < 1 << 20  # the control: glibc's moving threshold put it in the heap


def test_tune_allocator_runs_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "_tuned", None)
    first = cache.tune_allocator({"RFM_MALLOC_TUNE": "off"})
    assert first == {}
    assert cache.tune_allocator({}) is first  # a second call (every rerun of streamlit_app.py) changes nothing


def test_discard_drops_one_entry_now_releases_and_is_not_an_eviction() -> None:
    released: list[int] = []
    c = StageCache(CacheSettings(100, 60.0), sizeof=len, release=lambda: released.append(1))
    c.put("a", b"x" * 10)
    c.put("b", b"y" * 20)
    assert c.discard("a") is True
    assert "a" not in c and c.get("b") == b"y" * 20
    assert released == [1]
    stats = c.stats()
    assert (stats.entries, stats.bytes, stats.evictions) == (1, 20, 0)
    assert not c.was_evicted("a")  # forgotten on purpose: no "recomputing" note
    assert c.discard("a") is False and released == [1]  # nothing held: nothing to release


def test_memdebug_is_off_without_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(memdebug.ENV, raising=False)
    assert memdebug.start_from_env() is False


@glibc
def test_memdebug_report_sees_a_large_frame_and_bytes_held_here() -> None:
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame({"x": np.zeros(500_000)})  # 4,000,000 bytes of float64 (+ a RangeIndex)
    blob = [b"z" * 3_000_000]  # bytes are reached through the list that holds them
    rep = memdebug.report(trim=False)
    assert rep["objects"]["big_n"].get("pandas.DataFrame", 0) >= 1
    assert rep["objects"]["big_mb"]["pandas.DataFrame"] >= 4
    assert rep["objects"]["large_bytes_mb"] >= 3
    assert rep["rss_mb"] > 0 and rep["malloc"]["arenas"] >= 1
    del frame, blob
