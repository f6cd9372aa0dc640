"""A process-wide cache of the app's expensive stages, bounded by measured bytes and by idle time.

Streamlit's ``st.cache_resource(max_entries=6)`` bounds a stage by its number of entries whatever their size, so a
server's memory grows with the size of the files its analysts happen to upload (issue 15). :class:`StageCache`
bounds instead the sum of the entries' measured sizes (a byte budget) and drops an entry nobody has used for a
time-to-live (TTL). It is pure Python, so it is tested without Streamlit; ``pages/common.py`` holds one per
server process and keys it by the file's SHA-256 and the frozen settings of the stage, so two sessions on the same
file share every cached stage.

Memory is returned as well as forgotten: after entries leave, :func:`release_memory` runs the garbage collector,
asks pyarrow's allocator to release unused memory and calls glibc's ``malloc_trim(0)`` (freed blocks otherwise
stay mapped in the process's heap, which is what kept a server at 2 GB long after its sessions had closed).

The eviction policy is cachetools' ``TTLCache``: least recently used first when a new entry would exceed the
budget, and every entry expires ``ttl`` seconds after its last use (a hit renews it).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import gc
import logging
import os
import sys
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import cachetools
import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

T = TypeVar("T")

MB = 1_000_000
#: Default byte budget: a quarter of a 4 GB server. The rest is the interpreter and its libraries (about 350 MB),
#: each live session's own working set (its upload and its current result, about 110 MB for the 48 MB Online
#: Retail CSV) and the transient peak of a read (several times the file's size while parsing).
DEFAULT_BUDGET_MB = 1_000
#: Default time-to-live of an entry nobody uses, in seconds. A live session never waits on it: its own current
#: result is handed back to the cache when it was dropped (pages/common.py); the TTL only decides how long a
#: closed session's work stays shared.
DEFAULT_TTL_S = 120.0
#: How often the sweeper thread drops expired entries, in seconds (cachetools only expires on access otherwise).
DEFAULT_SWEEP_S = 15.0
#: Default number of stage computations that run at once, server-wide: the cores. The others wait (under their
#: progress bar) rather than all parse at once: a read needs several times its file's size while it runs, so 20
#: reads at once set the server's peak memory, and on 2 cores they would not finish sooner together.
DEFAULT_COMPUTE_SLOTS = max(2, os.cpu_count() or 2)
BUDGET_ENV = "RFM_CACHE_BUDGET_MB"
TTL_ENV = "RFM_CACHE_TTL_S"
SLOTS_ENV = "RFM_COMPUTE_SLOTS"


@dataclass(frozen=True)
class CacheSettings:
    """The cache's limits: ``budget_bytes`` (sum of measured entry sizes) and ``ttl_s`` (idle seconds)."""

    budget_bytes: int = DEFAULT_BUDGET_MB * MB
    ttl_s: float = DEFAULT_TTL_S
    sweep_s: float = DEFAULT_SWEEP_S
    compute_slots: int = DEFAULT_COMPUTE_SLOTS


def settings_from(env: Mapping[str, str], secrets: Mapping[str, Any] | None = None) -> CacheSettings:
    """The settings from environment variables, else from Streamlit secrets, else the defaults.

    ``RFM_CACHE_BUDGET_MB`` (megabytes, 10^6 bytes), ``RFM_CACHE_TTL_S`` (seconds) and ``RFM_COMPUTE_SLOTS``
    (computations at once), or ``budget_mb``, ``ttl_s`` and ``compute_slots`` under ``[cache]`` in
    ``.streamlit/secrets.toml`` (``secrets`` is that table). The environment wins,
    so an operator can override a checked-in secrets file.

    Raises
    ------
    ValueError
        If a value is not a positive number (naming the setting and the value).
    """
    def pick(name: str, secret: str, default: float) -> float:
        raw: Any = env.get(name)
        if raw is None and secrets is not None:
            raw = secrets.get(secret)
            name = f"[cache] {secret}" if raw is not None else name
        if raw is None:
            return default
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a number, not {raw!r}") from None
        if not value > 0:
            raise ValueError(f"{name} must be positive, not {raw!r}")
        return value

    budget = pick(BUDGET_ENV, "budget_mb", DEFAULT_BUDGET_MB)
    ttl = pick(TTL_ENV, "ttl_s", DEFAULT_TTL_S)
    slots = pick(SLOTS_ENV, "compute_slots", DEFAULT_COMPUTE_SLOTS)
    return CacheSettings(int(budget * MB), ttl, min(DEFAULT_SWEEP_S, max(ttl / 4, 0.05)), max(1, int(slots)))


def size_of(obj: Any, _seen: set[int] | None = None, _depth: int = 0) -> int:
    """Bytes held by ``obj``, measured: DataFrames by ``memory_usage(deep=True)``, arrays by ``nbytes``, bytes by
    length, and dataclasses, containers and plain objects as the sum of their parts (each object counted once).

    Buffers shared between two DataFrames (pandas copy-on-write) are counted in each, so the figure errs high.
    """
    seen = set() if _seen is None else _seen
    if id(obj) in seen or _depth > 8:
        return 0
    seen.add(id(obj))
    if isinstance(obj, pd.DataFrame):
        return int(obj.memory_usage(deep=True, index=True).sum())
    if isinstance(obj, pd.Series | pd.Index):
        return int(obj.memory_usage(deep=True))
    if isinstance(obj, np.ndarray):
        return int(obj.nbytes)
    if isinstance(obj, bytes | bytearray | str):
        return sys.getsizeof(obj)
    if isinstance(obj, memoryview):
        return obj.nbytes
    nbytes = getattr(obj, "nbytes", None)  # pyarrow tables and arrays
    if isinstance(nbytes, int) and type(obj).__module__.startswith("pyarrow"):
        return nbytes
    size = sys.getsizeof(obj)
    if isinstance(obj, dict):
        return size + sum(size_of(k, seen, _depth + 1) + size_of(v, seen, _depth + 1) for k, v in obj.items())
    if isinstance(obj, list | tuple | set | frozenset):
        return size + sum(size_of(v, seen, _depth + 1) for v in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return size + sum(size_of(getattr(obj, f.name), seen, _depth + 1) for f in dataclasses.fields(obj))
    if hasattr(obj, "__dict__") and not isinstance(obj, type):
        return size + size_of(vars(obj), seen, _depth + 1)
    return size


def _libc_trim() -> Callable[[], int] | None:
    """glibc's ``malloc_trim(0)`` (returns freed heap pages to the system), or None on another C library."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: int(trim(0))


_TRIM = _libc_trim()


def arrow_on_the_system_allocator() -> None:
    """Let pyarrow allocate with malloc (its default here is mimalloc), so that ``malloc_trim`` returns its freed
    memory too. On the real file's stages in one process, after freeing and releasing: 193 MB with the system
    allocator, 234 MB with mimalloc (from 123 MB before loading). Buffers already allocated keep their own pool."""
    try:
        import pyarrow as pa

        pa.set_memory_pool(pa.system_memory_pool())
    except (ImportError, AttributeError):
        pass


def release_memory() -> None:
    """Give freed memory back to the operating system: collect cycles, release pyarrow's pool, trim the C heap."""
    gc.collect()
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except (ImportError, AttributeError):
        pass
    if _TRIM is not None:
        _TRIM()


@dataclass
class _Entry:
    value: Any
    nbytes: int


class _Store(cachetools.TTLCache[Hashable, _Entry]):
    """cachetools' TTL + LRU cache that reports what leaves it (for the eviction count and the evicted notes)."""

    def __init__(self, maxsize: int, ttl: float, timer: Callable[[], float],
                 on_evict: Callable[[Hashable, _Entry, str], None]) -> None:
        super().__init__(maxsize, ttl, timer=timer, getsizeof=lambda e: e.nbytes)
        self._on_evict = on_evict

    def popitem(self) -> tuple[Hashable, _Entry]:
        key, entry = super().popitem()
        self._on_evict(key, entry, "budget")
        return key, entry

    def expire(self, time: float | None = None) -> list[tuple[Hashable, _Entry]]:
        expired = list(super().expire(time))
        for key, entry in expired:
            self._on_evict(key, entry, "ttl")
        return expired


@dataclass(frozen=True)
class CacheStats:
    """A snapshot: entries, bytes held, the budget, and counts since start."""

    entries: int
    bytes: int
    budget_bytes: int
    hits: int
    misses: int
    evictions: int
    too_large: int


class StageCache:
    """A thread-safe cache of computed stages, bounded by a byte budget and a time-to-live.

    Parameters
    ----------
    settings
        The budget (bytes) and the TTL (seconds since an entry's last use).
    timer
        The clock (seconds, monotonic); tests pass a fake one.
    sizeof
        How an entry's bytes are measured (default :func:`size_of`).
    release
        Called, outside the lock, after entries have left the cache (default :func:`release_memory`).

    Notes
    -----
    Streamlit runs each session's script in its own thread. One lock guards the store; a computation runs outside
    it under a per-key lock, so two sessions asking for the same key compute it once and share the result, and a
    slow computation never blocks another session's hits. An entry larger than the whole budget is returned but not
    kept (counted in ``too_large``).
    """

    def __init__(self, settings: CacheSettings | None = None, timer: Callable[[], float] = time.monotonic,
                 sizeof: Callable[[Any], int] = size_of, release: Callable[[], None] | None = release_memory) -> None:
        self.settings = settings or CacheSettings()
        self._lock = threading.RLock()
        self._key_locks: dict[Hashable, threading.Lock] = {}
        self._sizeof = sizeof
        self._release = release
        self._dropped = 0  # entries that left since the last release
        #: Keys that were held and have been dropped (bounded: the last 4,096), for "recomputing" notes.
        self._evicted: cachetools.LRUCache[Hashable, str] = cachetools.LRUCache(4096)  # key -> "budget" | "ttl"
        self._store = _Store(self.settings.budget_bytes, self.settings.ttl_s, timer, self._note_evicted)
        self._hits = self._misses = self._evictions = self._too_large = 0
        self._sweeper: threading.Thread | None = None
        self._stop = threading.Event()
        self._sweep_hooks: list[Callable[[], int]] = []
        self._trailing = 0  # sweeps that still release memory after the last drop
        self._slots = threading.BoundedSemaphore(self.settings.compute_slots)
        self._local = threading.local()  # how deep this thread is in nested computations (a fit inside a fit)

    def _note_evicted(self, key: Hashable, entry: _Entry, reason: str) -> None:
        self._evictions += 1
        self._dropped += 1
        self._evicted[key] = reason

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._store

    def was_evicted(self, key: Hashable) -> bool:
        """Whether ``key`` was held and has since been dropped (budget or TTL) and not computed again."""
        with self._lock:
            return key in self._evicted and key not in self._store

    def eviction_reason(self, key: Hashable) -> str | None:
        """Why ``key`` was dropped, if it was and has not been computed again: ``budget`` (memory) or ``ttl``."""
        with self._lock:
            return self._evicted.get(key) if key not in self._store else None

    def get(self, key: Hashable) -> Any | None:
        """The value held for ``key`` (renewing its TTL and LRU place), or None."""
        entry = self._lookup(key)
        return None if entry is None else entry.value

    def _lookup(self, key: Hashable) -> _Entry | None:
        with self._lock:
            entry = self._store.get(key)
            if entry is None:
                return None
            self._store[key] = entry  # renews the TTL: an entry expires after its last use, not its first
            self._hits += 1
            return entry

    def put(self, key: Hashable, value: Any) -> Any:
        """Hold ``value`` for ``key`` (measured now) and return it; entries over the budget are only returned."""
        entry = _Entry(value, max(int(self._sizeof(value)), 1))
        with self._lock:
            if entry.nbytes > self._store.maxsize:
                self._too_large += 1
                log.warning("cache: an entry of %.0f MB exceeds the whole budget of %.0f MB; not kept",
                            entry.nbytes / MB, self._store.maxsize / MB)
            else:
                self._store[key] = entry
                self._evicted.pop(key, None)
        self._maybe_release()
        return value

    def discard(self, key: Hashable) -> bool:
        """Drop ``key`` now (not counted as an eviction) and release memory; returns whether it was held."""
        with self._lock:
            held = self._store.pop(key, None) is not None
            self._evicted.pop(key, None)
        if held and self._release is not None:
            self._release()
        return held

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The value for ``key``: held, or computed once (concurrent callers of the same key wait and share)."""
        entry = self._lookup(key)
        if entry is not None:
            return entry.value  # type: ignore[no-any-return]
        # A compute slot before the key's lock, and none for a computation nested in one this thread runs: whoever
        # holds a key's lock then always holds a slot, so a nested call never waits for a slot it blocks.
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            self._slots.acquire()
        self._local.depth = depth + 1
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        try:
            with key_lock:
                entry = self._lookup(key)  # another session may have computed it while we waited
                if entry is not None:
                    return entry.value  # type: ignore[no-any-return]
                with self._lock:
                    self._misses += 1
                return self.put(key, compute())  # type: ignore[no-any-return]
        finally:
            self._local.depth = depth
            if depth == 0:
                self._slots.release()
            with self._lock:
                if self._key_locks.get(key) is key_lock and not key_lock.locked():
                    del self._key_locks[key]

    def expire(self) -> int:
        """Drop the entries whose TTL has passed (and release memory if any left); returns how many."""
        with self._lock:
            n = len(self._store.expire())
        self._maybe_release()
        return n

    def add_sweep_hook(self, hook: Callable[[], int]) -> None:
        """Also call ``hook`` on every sweep; when it returns more than 0 (it freed something), memory is released.

        pages/common.py uses it to end the Streamlit sessions whose browser has gone (rfm_app/reaper.py).
        """
        with self._lock:
            self._sweep_hooks.append(hook)

    def sweep(self) -> None:
        """One sweep: expire idle entries, run the hooks, and release memory once if anything was freed."""
        with self._lock:
            expired = self._store.expire()
            hooks = list(self._sweep_hooks)
        freed = 0
        for hook in hooks:
            try:
                freed += hook()
            except Exception:  # a hook's failure must not stop the expiry
                log.exception("cache sweep hook failed")
        with self._lock:
            if freed:
                self._dropped += 1
            if self._dropped:
                # Memory also comes free a little after a drop (a closed session's script thread ending, Streamlit
                # clearing the session's media files): release again on the sweeps of the next two minutes.
                self._trailing = max(1, int(120 / max(self.settings.sweep_s, 0.05)))
            elif self._trailing > 0:
                self._trailing -= 1
                self._dropped += 1  # not an eviction: only asks _maybe_release for one more release
        # Always: cachetools also expires entries when its size or length is read (stats()), which notes them as
        # dropped without releasing; this sweep releases for them.
        self._maybe_release()
        del expired

    def clear(self) -> None:
        """Drop everything (not counted as evictions) and release memory."""
        with self._lock:
            self._store.clear()
            self._evicted.clear()
        if self._release is not None:
            self._release()

    def stats(self) -> CacheStats:
        """Counts and bytes now (reading them expires idle entries, as cachetools does)."""
        with self._lock:
            stats = CacheStats(len(self._store), int(self._store.currsize), int(self._store.maxsize), self._hits,
                               self._misses, self._evictions, self._too_large)
        self._maybe_release()
        return stats

    def _maybe_release(self) -> None:
        with self._lock:
            dropped, self._dropped = self._dropped, 0
        if dropped and self._release is not None:
            self._release()

    def start_sweeper(self) -> None:
        """Start (once) a daemon thread that expires idle entries every ``sweep_s`` seconds, so memory comes back
        when nobody touches the cache any more (cachetools itself only expires entries on access)."""
        with self._lock:
            if self._sweeper is not None and self._sweeper.is_alive():
                return
            self._stop.clear()
            # The thread holds the cache weakly, so a dropped cache (st.cache_resource.clear) ends its sweeper.
            self._sweeper = threading.Thread(target=_sweep, args=(weakref.ref(self), self._stop, self.settings.sweep_s),
                                             name="rfm-cache-sweeper", daemon=True)
            self._sweeper.start()

    def stop_sweeper(self) -> None:
        self._stop.set()
        if self._sweeper is not None:
            self._sweeper.join(timeout=5)



def _sweep(ref: weakref.ref[StageCache], stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        cache = ref()
        if cache is None:
            return
        try:
            cache.sweep()
        except Exception:  # the sweeper must outlive any one failure; the next sweep tries again
            log.exception("cache sweep failed")
        del cache


class RecentBytes:
    """The bytes of the files sessions use now, by SHA-256: at most ``keep`` files, each dropped after ``ttl_s``
    seconds unused (by :meth:`drop_idle`, which the stage cache's sweeper calls).

    pages/common.py reads a stored file from disk once and shares the bytes between the sessions on that file. A
    plain module-level dict of the last two files outlived every session: in a 3-session load run the server idled
    with 97 MB of them held. The bytes are not put in :class:`StageCache`: every session's file would then take
    budget from the cached stages, whereas a file not held here is read back from disk (50 ms for 48 MB).
    """

    def __init__(self, keep: int = 2, ttl_s: float = DEFAULT_TTL_S,
                 timer: Callable[[], float] = time.monotonic) -> None:
        self.keep = keep
        self.ttl_s = ttl_s
        self._timer = timer
        self._lock = threading.Lock()
        self._held: OrderedDict[str, tuple[bytes, float]] = OrderedDict()

    def get(self, digest: str) -> bytes | None:
        """The bytes held for ``digest`` (renewing their last use), or None."""
        with self._lock:
            held = self._held.get(digest)
            if held is None:
                return None
            self._held[digest] = (held[0], self._timer())
            self._held.move_to_end(digest)
            return held[0]

    def put(self, digest: str, data: bytes) -> None:
        """Hold ``data``; the least recently used file goes when more than ``keep`` are held."""
        with self._lock:
            self._held[digest] = (data, self._timer())
            self._held.move_to_end(digest)
            while len(self._held) > self.keep:
                self._held.popitem(last=False)

    def discard(self, digest: str) -> bool:
        """Drop ``digest`` now; returns whether it was held."""
        with self._lock:
            return self._held.pop(digest, None) is not None

    def drop_idle(self) -> int:
        """Drop the files unused for ``ttl_s`` seconds; returns how many (a sweep hook of :class:`StageCache`)."""
        now = self._timer()
        with self._lock:
            idle = [d for d, (_, used) in self._held.items() if now - used >= self.ttl_s]
            for digest in idle:
                del self._held[digest]
        return len(idle)

    def __len__(self) -> int:
        with self._lock:
            return len(self._held)


def from_environment(secrets: Mapping[str, Any] | None = None) -> StageCache:
    """A cache with the settings of this process's environment (and Streamlit secrets, if given)."""
    return StageCache(settings_from(os.environ, secrets))


#: glibc's mallopt parameter numbers (malloc.h).
_M_MMAP_THRESHOLD = -3
#: Allocations of at least this many bytes get their own mapping, returned to the system when freed.
MMAP_THRESHOLD = 1 << 20
TUNE_ENV = "RFM_MALLOC_TUNE"
_tuned: dict[str, int] | None = None


def tune_allocator(env: Mapping[str, str] | None = None) -> dict[str, int]:
    """Set glibc's allocator so freed memory goes back to the system (once per process; returns what was set).

    glibc maps an allocation of at least ``M_MMAP_THRESHOLD`` bytes on its own (unmapped, i.e. given back, when
    freed) and puts smaller ones in its heaps, whose pages go back only when whole pages are free. By default the
    threshold moves: each free of a mapped block raises it to that block's size (up to 32 MiB), so after the first
    analysis pandas' column buffers (4 MB for 540,000 rows) land in the heaps, where the buffers of 20 analyses,
    freed in any order, leave them fragmented. Fixed at 1 MiB (:data:`MMAP_THRESHOLD`), every buffer of 1 MiB or more
    is its own mapping. Measured (3-session load run, benchmarks/load.py): glibc's heaps grew to 157 MB instead of
    517 MB, with 427 MB in mappings that went back when freed.

    It can be set at any time; ``streamlit_app.py`` does it first. ``RFM_MALLOC_TUNE=0`` in the environment turns
    it off (glibc's own ``MALLOC_MMAP_THRESHOLD_`` environment variable does the same as this, before start). Does
    nothing on a C library without ``mallopt``.
    """
    global _tuned
    env = os.environ if env is None else env
    if _tuned is not None:
        return _tuned
    _tuned = {}
    if env.get(TUNE_ENV, "1").strip() in {"0", "false", "no", "off"}:
        return _tuned
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None:
        return _tuned
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    if mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1:  # mallopt returns 1 on success
        _tuned["mmap_threshold"] = MMAP_THRESHOLD
    return _tuned
