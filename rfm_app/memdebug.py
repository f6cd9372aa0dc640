"""A debug-only memory report of the server process, written every few seconds while ``RFM_MEMDEBUG_FILE`` is set.

Used to find what a server keeps after its sessions have closed (issue 15): the process's RSS, glibc's heap (in use
and free, per arena), pyarrow's pool, Python's object allocator, the large objects the garbage collector can reach
and Streamlit's per-session stores. Off unless the environment variable names a file; nothing else calls it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import json
import os
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ENV = "RFM_MEMDEBUG_FILE"
INTERVAL_ENV = "RFM_MEMDEBUG_S"
_started = False
_lock = threading.Lock()


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def _libc() -> Any:
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name) if name else None


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _smaps_rollup() -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]:
            key, _, rest = line.partition(":")
            out[key.strip()] = int(rest.split()[0]) // 1024  # MB
    except OSError:
        pass
    return out


def _malloc() -> dict[str, Any]:
    libc = _libc()
    if libc is None:
        return {}
    out: dict[str, Any] = {}
    try:
        libc.mallinfo2.restype = _Mallinfo2
        mi = libc.mallinfo2()
        out["mallinfo2_mb"] = {f: getattr(mi, f) // 1_000_000 for f in ("arena", "hblkhd", "uordblks", "fordblks",
                                                                        "keepcost")}
        out["mallinfo2_counts"] = {"ordblks": mi.ordblks, "hblks": mi.hblks}
    except AttributeError:
        pass
    # malloc_info: per-arena XML; summarise each heap's in-use ("system current") and free totals.
    try:
        with tempfile.NamedTemporaryFile("w+", suffix=".xml", delete=False) as tmp:
            path = tmp.name
        libc.fopen.restype = ctypes.c_void_p
        libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        libc.fclose.argtypes = [ctypes.c_void_p]
        libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
        fp = libc.fopen(path.encode(), b"w")
        libc.malloc_info(0, fp)
        libc.fclose(fp)
        xml = Path(path).read_text()
        os.unlink(path)
        heaps = []
        for m in re.finditer(r'<heap nr="(\d+)">(.*?)</heap>', xml, re.S):
            body = m.group(2)
            cur = re.search(r'<system type="current" size="(\d+)"', body)
            free = sum(int(s) for s in re.findall(r'<total type="(?:fast|rest)" count="\d+" size="(\d+)"', body))
            heaps.append((int(m.group(1)), int(cur.group(1)) // 1_000_000 if cur else -1, free // 1_000_000))
        out["arenas"] = len(heaps)
        out["arena_current_mb_sum"] = sum(h[1] for h in heaps)
        out["arena_free_mb_sum"] = sum(h[2] for h in heaps)
        out["arenas_top"] = sorted(heaps, key=lambda h: -h[1])[:8]
        tail = xml[xml.rfind("</heap>"):]
        out["totals"] = re.findall(r'<(total|system) type="(\w+)" (?:count="(\d+)" )?size="(\d+)"', tail)
    except (AttributeError, OSError) as exc:
        out["malloc_info_error"] = str(exc)
    return out


def _obmalloc() -> dict[str, Any]:
    """Python's small-object allocator: arenas allocated now and their bytes (from sys._debugmallocstats)."""
    with tempfile.TemporaryFile("w+") as tmp:
        saved = os.dup(2)
        try:
            sys.stderr.flush()
            os.dup2(tmp.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        text = tmp.read()
    out: dict[str, Any] = {}
    for key in ("arenas allocated current", "bytes in allocated blocks", "bytes in available blocks",
                "Total"):
        m = re.search(rf"# {key}\s*=\s*([\d,]+)" if key != "Total" else r"Total\s*=\s*([\d,]+)", text)
        if m:
            out[key] = int(m.group(1).replace(",", ""))
    return out


def _objects() -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    from rfm_app.cache import size_of

    counts: Counter[str] = Counter()
    big: Counter[str] = Counter()
    big_n: Counter[str] = Counter()
    holders: list[list[list[str]]] = []
    for obj in gc.get_objects():
        t = type(obj)
        name = f"{t.__module__}.{t.__qualname__}"
        counts[name] += 1
        if isinstance(obj, pd.DataFrame | np.ndarray):
            n = size_of(obj)
            if n > 1_000_000:
                big[name] += n // 1_000_000
                big_n[name] += 1
                if isinstance(obj, pd.DataFrame) and len(holders) < 3:
                    holders.append(_chain(obj, 9))
    # bytes are not tracked by gc: find large ones among the referents of tracked containers
    seen: set[int] = set()
    nbytes = 0
    for obj in gc.get_objects():
        for ref in gc.get_referents(obj):
            if isinstance(ref, bytes | bytearray) and len(ref) > 1_000_000 and id(ref) not in seen:
                seen.add(id(ref))
                nbytes += len(ref)
    return {"big_mb": dict(big), "big_n": dict(big_n), "large_bytes_n": len(seen),
            "large_bytes_mb": nbytes // 1_000_000,
            "types_top": counts.most_common(12), "gc_objects": sum(counts.values()),
            "allocated_blocks": sys.getallocatedblocks(), "df_holders": holders}


def _describe(o: Any) -> str:
    t = type(o)
    name = f"{t.__module__}.{t.__qualname__}"
    if isinstance(o, dict):
        keys = [k for k in list(o)[:6] if isinstance(k, str)]
        return f"{name}{keys}"
    if isinstance(o, threading.Thread):
        return f"{name}({o.name})"
    return name


def _chain(obj: Any, depth: int = 4) -> list[list[str]]:
    """Who refers to ``obj``: up to ``depth`` levels of referrers (each level's first few), for finding leaks."""
    out: list[list[str]] = []
    level = [obj]
    ignore = {id(level)}
    for _ in range(depth):
        nxt: list[Any] = []
        for o in level:
            for r in gc.get_referrers(o):
                if id(r) in ignore or r is level or r is nxt or type(r).__name__ == "frame":
                    continue
                nxt.append(r)
        ignore.update(id(o) for o in nxt)
        nxt = nxt[:6]
        out.append([_describe(o) for o in nxt])
        level = nxt
    return out


def _streamlit() -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        from streamlit import runtime

        if not runtime.exists():
            return out
        rt: Any = runtime.get_instance()
        mgr = rt._session_mgr
        out["sessions_active"] = len(mgr.list_active_sessions())
        out["sessions_all"] = len(mgr.list_sessions())
        # Iterated, not len(): cachetools' len() expires entries, which would drop the disconnected sessions
        # silently (never shut down) before the reaper sees them: an earlier version of this report did so.
        out["storage"] = sum(1 for _ in mgr._session_storage._cache)
        ufm = rt._uploaded_file_mgr
        files = getattr(ufm, "file_storage", {})
        out["uploads"] = sum(len(v) for v in files.values()) if isinstance(files, dict) else str(type(files))
        mfm = rt._media_file_mgr
        out["media_files"] = len(getattr(mfm._storage, "_files_by_id", {}))
        out["df_sources"] = rt._dataframe_source_mgr.get_source_count()
        from streamlit.runtime.app_session import AppSession

        sessions = [o for o in gc.get_objects() if isinstance(o, AppSession)]
        out["appsession_objects"] = len(sessions)
        out["appsession_holders"] = [_chain(s) for s in sessions]
        out["appsession_detail"] = [{"runner": getattr(s, "_scriptrunner", "?") is not None,
                                     "state_keys": len(list(s._session_state._keys())),
                                     "widgets": len(s._session_state._new_widget_state.widget_metadata)}
                                    for s in sessions]
        from rfm_app.cache import StageCache

        out["stage_caches"] = [str(c.stats()) for c in gc.get_objects() if isinstance(c, StageCache)]
    except Exception as exc:  # debug only: report what failed rather than stop
        out["error"] = repr(exc)
    return out


def _arrow() -> dict[str, Any]:
    try:
        import pyarrow as pa

        return {"total_allocated_mb": pa.total_allocated_bytes() // 1_000_000,
                "pool": pa.default_memory_pool().backend_name,
                "pool_mb": pa.default_memory_pool().bytes_allocated() // 1_000_000}
    except Exception as exc:
        return {"error": repr(exc)}


def report(trim: bool = True) -> dict[str, Any]:
    """One report (a dict of plain values); with ``trim``, RSS again after :func:`rfm_app.cache.release_memory`."""
    rep: dict[str, Any] = {"t": time.time(), "rss_mb": _status_kb("VmRSS") // 1024,
                           "threads": threading.active_count(), "smaps": _smaps_rollup()}
    rep["malloc"] = _malloc()
    rep["obmalloc"] = _obmalloc()
    rep["arrow"] = _arrow()
    rep["streamlit"] = _streamlit()
    rep["objects"] = _objects()
    rep["thread_names"] = Counter(re.sub(r"\d+", "#", t.name) for t in threading.enumerate()).most_common(8)
    if trim:
        from rfm_app.cache import release_memory

        release_memory()
        rep["rss_after_release_mb"] = _status_kb("VmRSS") // 1024
    return rep


def _loop(path: Path, every: float) -> None:
    while True:
        time.sleep(every)
        try:
            rep = report()
        except Exception as exc:
            rep = {"t": time.time(), "error": repr(exc)}
        with path.open("a") as f:
            f.write(json.dumps(rep, default=str) + "\n")


def start_from_env() -> bool:
    """Start the reporting thread once if ``RFM_MEMDEBUG_FILE`` is set; returns whether it runs."""
    global _started
    target = os.environ.get(ENV)
    if not target:
        return False
    with _lock:
        if not _started:
            _started = True
            every = float(os.environ.get(INTERVAL_ENV, "20"))
            threading.Thread(target=_loop, args=(Path(target), every), name="rfm-memdebug", daemon=True).start()
    return True
