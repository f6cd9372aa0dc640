"""End the Streamlit sessions whose browser has gone: a workaround for streamlit/streamlit#12506.

Streamlit (1.67 here) keeps a disconnected session for ``server.disconnectedSessionTTL`` seconds (120 by default) so a
reconnecting browser finds its state, in a cachetools ``TTLCache``. That cache expires entries only when it is next
touched, and expiry never calls ``AppSession.shutdown()``: on an idle server the session's state, and its uploaded
files in the ``MemoryUploadedFileManager``, stay in memory for good (the 48 MB upload of every analyst who closed
the tab; the issue measured 2 GB still held 200 s after all sessions had closed). :func:`reap_disconnected_sessions`
expires that storage and shuts the expired sessions down, as Streamlit does for a session that cannot resume. The
stage cache's sweeper thread calls it (pages/common.py).

It reaches into Streamlit's private runtime objects; with another Streamlit whose internals differ it does nothing
and logs that once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import weakref
from typing import Any

log = logging.getLogger(__name__)
_warned = False
#: Sessions shut down here whose state is not cleared yet (their script was still stopping).
_shut: list[weakref.ref[Any]] = []
_shut_lock = threading.Lock()


def reap_disconnected_sessions() -> int:
    """Shut down the disconnected sessions whose reconnect time has passed and empty the state of those shut down
    (now or earlier) whose script has stopped; returns how many of each, summed (above 0: memory was freed)."""
    global _warned
    try:
        from streamlit import runtime

        if not runtime.exists():
            return 0
        manager: Any = runtime.get_instance()._session_mgr
        store: Any = manager._session_storage._cache
        lock: Any = getattr(manager, "_storage_lock", None) or contextlib.nullcontext()
        with lock:
            expired = list(store.expire())
    except (AttributeError, ImportError, TypeError) as exc:
        if not _warned:
            _warned = True
            log.warning("cannot reap disconnected Streamlit sessions with this Streamlit (%s): closed sessions keep "
                        "their memory until a new session connects", exc)
        return 0
    for _session_id, info in expired:
        try:
            info.session.shutdown()
        except Exception:  # one session's failure must not keep the others' memory
            log.exception("shutting down a disconnected session failed")
            continue
        with _shut_lock:
            _shut.append(weakref.ref(info.session))
    return len(expired) + clear_shut_down_sessions()


def clear_shut_down_sessions() -> int:
    """Empty the session state of the sessions shut down here whose script has stopped; returns how many.

    A shut-down ``AppSession`` can outlive its shutdown: Streamlit's runtime loop keeps the last session it flushed
    messages to in a loop variable (``active_session_info`` in ``Runtime._loop_coroutine``) until it flushes to
    another session, i.e. until a new browser connects. Measured in a 3-session load run: that one session kept 55 MB
    of results (its ``last_good`` analysis and its page's widgets) on an idle server, the memory that came back only
    "when the next wave connected". A shut-down session is never run again, so its state can go. A session whose
    script is still stopping is left for the next sweep (clearing its state under a running script would fail it).
    """
    with _shut_lock:
        pending = list(_shut)
        _shut.clear()
    cleared = 0
    keep: list[weakref.ref[Any]] = []
    for ref in pending:
        session = ref()
        if session is None:
            continue
        if getattr(session, "_scriptrunner", None) is not None:
            keep.append(ref)
            continue
        try:
            # A new, empty state rather than clear(): nothing the old one held (results, widgets' callbacks and
            # the page globals they reach) stays reachable through the session.
            session._session_state = type(session._session_state)()
            cleared += 1
        except AttributeError as exc:  # another Streamlit: nothing to clear in this way
            log.debug("cannot clear a shut-down session's state: %s", exc)
    with _shut_lock:
        _shut.extend(keep)
    return cleared
