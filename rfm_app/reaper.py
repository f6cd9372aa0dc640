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
from typing import Any

log = logging.getLogger(__name__)
_warned = False


def reap_disconnected_sessions() -> int:
    """Shut down the disconnected sessions whose reconnect time has passed; returns how many."""
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
    return len(expired)
