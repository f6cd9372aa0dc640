"""Workspaces: an analysis kept on the server under an unguessable id, so a reload or a link brings it back.

What is kept, per workspace (DOCUMENTATION.md, "Workspace"):

- the uploaded file, stored **once by its SHA-256** under ``<folder>/blobs/<sha256>`` (two workspaces with the same
  file share one copy; the bytes are deleted as soon as no workspace refers to them);
- the settings as text documents: the analysis settings (sheet, mapping, cleaning, scoring, analysis date) as the
  same TOML the command line reads (:func:`rfm_core.settings.settings_to_toml`), the segment rules as the rules
  TOML, the lifetime-value settings and the currency as JSON;
- saved audiences (:meth:`rfm_core.audience.Audience.to_toml`).

Where: an SQLite database ``workspaces.sqlite3`` (WAL mode; one short transaction per call, so threads and the
processes of one server can share it) and the ``blobs`` folder, in the folder named by ``RFM_WORKSPACE_DIR`` or the
``[workspace] dir`` secret, by default ``<user cache dir>/rfm-segments/workspaces``.

Access: only with the id (``secrets.token_urlsafe``, 192 bits). The database keeps the id's SHA-256, not the id,
and there is no call that lists workspaces. A workspace expires ``days`` after it was last opened (default 30):
it is purged when someone opens it after that and by a sweep at most once an hour. "Forget" deletes it at once.
Caps: a size per workspace and in total (the file plus the text); going over raises :class:`WorkspaceFullError`
with a message for the analyst. ``RFM_WORKSPACE=off`` (or ``enabled = false``) turns the store off: nothing is
written, not even the folder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rfm_core.audience import Audience
from rfm_core.errors import ConfigError, RfmError
from rfm_core.formatting import Currency
from rfm_core.segment import RuleSet
from rfm_core.settings import AnalysisSettings, settings_from_toml, settings_to_toml

__all__ = [
    "ID_BYTES",
    "ClvSettings",
    "StoreConfig",
    "StoredFile",
    "WorkspaceError",
    "WorkspaceFullError",
    "WorkspaceState",
    "WorkspaceStore",
    "default_folder",
    "is_workspace_id",
    "open_store",
    "state_documents",
]

#: Random bytes per id: 192 bits, written as 32 URL-safe characters.
ID_BYTES = 24
_ID = re.compile(r"^[A-Za-z0-9_-]{32}$")
_SETTING = re.compile(r"^[a-z][a-z0-9_.]{0,39}$")
MB = 1_000_000
DAY = 86_400.0
_DEFAULT_TOTAL = 5_000 * MB
_DEFAULT_WORKSPACE = 250 * MB


class WorkspaceError(RfmError):
    """A workspace cannot be used (it expired or was forgotten, or a stored file is damaged)."""


class WorkspaceFullError(WorkspaceError):
    """Saving would take a workspace, or the whole store, over its size limit."""


def default_folder() -> Path:
    """``<user cache dir>/rfm-segments/workspaces`` (e.g. ``~/.cache/rfm-segments/workspaces`` on Linux)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("rfm-segments")) / "workspaces"


def is_workspace_id(value: object) -> bool:
    """True for text shaped like an id this store makes (32 URL-safe characters); says nothing about existence."""
    return isinstance(value, str) and bool(_ID.match(value))


@dataclass(frozen=True)
class StoreConfig:
    """Where workspaces live, how long, and how big.

    Parameters
    ----------
    enabled : bool
        False: no workspace is stored and nothing is written (deployments that must keep nothing).
    folder : Path
        The database and the stored files; created with owner-only permissions.
    expiry_days : float
        A workspace is deleted this many days after it was last opened.
    max_workspace_bytes, max_total_bytes : int
        Size caps (the stored file counts once per workspace that uses it, and once in the total).
    sweep_every_seconds : float
        How often, at most, opening the store purges every expired workspace.
    """

    enabled: bool = True
    folder: Path = field(default_factory=default_folder)
    expiry_days: float = 30.0
    max_workspace_bytes: int = _DEFAULT_WORKSPACE
    max_total_bytes: int = _DEFAULT_TOTAL
    sweep_every_seconds: float = 3600.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "folder", Path(self.folder).expanduser())
        if not self.expiry_days > 0:
            raise ConfigError(f"Workspaces must be kept a positive number of days, not {self.expiry_days!r}.")
        if not 0 < self.max_workspace_bytes <= self.max_total_bytes:
            raise ConfigError("The workspace size limit must be positive and no larger than the total limit.")

    @classmethod
    def from_settings(cls, environ: Mapping[str, str], secrets_section: Mapping[str, Any] | None = None
                      ) -> StoreConfig:
        """Read ``RFM_WORKSPACE`` (on/off), ``RFM_WORKSPACE_DIR``, ``RFM_WORKSPACE_DAYS``, ``RFM_WORKSPACE_MAX_MB``
        and ``RFM_WORKSPACE_TOTAL_MB`` from the environment, else ``enabled``, ``dir``, ``days``, ``max_mb`` and
        ``total_mb`` from the ``[workspace]`` section of Streamlit's secrets, else the defaults.

        Raises
        ------
        ConfigError
            Unknown keys in the secrets section or values that are not what they should be.
        """
        section = dict(secrets_section or {})
        known = {"enabled", "dir", "days", "max_mb", "total_mb"}
        unknown = set(section) - known
        if unknown:
            raise ConfigError(f"Unknown keys in the [workspace] secrets: {', '.join(sorted(unknown))}. Known: "
                              f"{', '.join(sorted(known))}.")
        pairs = {"enabled": "RFM_WORKSPACE", "dir": "RFM_WORKSPACE_DIR", "days": "RFM_WORKSPACE_DAYS",
                 "max_mb": "RFM_WORKSPACE_MAX_MB", "total_mb": "RFM_WORKSPACE_TOTAL_MB"}
        raw: dict[str, Any] = {k: environ[v] for k, v in pairs.items() if environ.get(v, "").strip()}
        for k, v in section.items():
            raw.setdefault(k, v)
        kwargs: dict[str, Any] = {}
        if "enabled" in raw:
            kwargs["enabled"] = _flag(raw["enabled"])
        if "dir" in raw:
            kwargs["folder"] = Path(str(raw["dir"]))
        if "days" in raw:
            kwargs["expiry_days"] = _positive(raw["days"], "days")
        if "max_mb" in raw:
            kwargs["max_workspace_bytes"] = int(_positive(raw["max_mb"], "max_mb") * MB)
        if "total_mb" in raw:
            kwargs["max_total_bytes"] = int(_positive(raw["total_mb"], "total_mb") * MB)
        if "max_workspace_bytes" in kwargs and "max_total_bytes" not in kwargs:
            # A larger per-workspace limit alone lifts the total with it, rather than failing validation.
            kwargs["max_total_bytes"] = max(_DEFAULT_TOTAL, kwargs["max_workspace_bytes"])
        if "max_total_bytes" in kwargs and "max_workspace_bytes" not in kwargs:
            kwargs["max_workspace_bytes"] = min(_DEFAULT_WORKSPACE, kwargs["max_total_bytes"])
        return cls(**kwargs)


def _size(n: int) -> str:
    """Bytes for a message: ``1.5 MB``, ``250 MB``, or ``900 bytes`` below a megabyte."""
    if n < MB:
        return f"{n:,} bytes"
    return f"{n / MB:,.1f}".removesuffix(".0") + " MB"


def _flag(value: object) -> bool:
    text = str(value).strip().lower()
    if text in ("1", "true", "on", "yes"):
        return True
    if text in ("0", "false", "off", "no"):
        return False
    raise ConfigError(f"The workspace switch is on or off, not {value!r}.")


def _positive(value: object, name: str) -> float:
    try:
        x = float(str(value))
    except ValueError:
        raise ConfigError(f"The workspace setting {name} needs a number, not {value!r}.") from None
    if not x > 0 or x != x or x == float("inf"):
        raise ConfigError(f"The workspace setting {name} must be above 0, not {value!r}.")
    return x


@dataclass(frozen=True)
class StoredFile:
    """The file a workspace keeps: its name as uploaded, its SHA-256 and its bytes."""

    name: str
    sha256: str
    data: bytes


@dataclass(frozen=True)
class ClvSettings:
    """The lifetime-value page's choices: time unit, horizon in months, annual discount rate, the purchase model
    (``auto`` or a model key) and the start of the holdout (ISO date text; ``None``: the page's default)."""

    unit: str = "W"
    horizon_months: int = 12
    annual_discount_rate: float = 0.10
    model: str = "auto"
    calibration_end: str | None = None


@dataclass(frozen=True)
class WorkspaceState:
    """Everything a workspace restores besides the file; ``None`` means "not saved: use the default"."""

    settings: AnalysisSettings | None = None
    rules: RuleSet | None = None
    clv: ClvSettings | None = None
    currency: Currency | None = None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS workspace (
    key TEXT PRIMARY KEY,          -- SHA-256 of the id: the id itself is never stored
    created REAL NOT NULL,
    accessed REAL NOT NULL,
    file_sha TEXT,
    file_name TEXT
);
CREATE INDEX IF NOT EXISTS workspace_accessed ON workspace (accessed);
CREATE INDEX IF NOT EXISTS workspace_file ON workspace (file_sha);
CREATE TABLE IF NOT EXISTS blob (sha TEXT PRIMARY KEY, size INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS setting (
    key TEXT NOT NULL REFERENCES workspace (key) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (key, name)
);
CREATE TABLE IF NOT EXISTS audience (
    key TEXT NOT NULL REFERENCES workspace (key) ON DELETE CASCADE,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    PRIMARY KEY (key, name)
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value REAL NOT NULL);
"""


def state_documents(state: WorkspaceState) -> dict[str, str]:
    """The settings documents :meth:`WorkspaceStore.save_state` writes for ``state``, by name (parts that are
    ``None`` are left out): ``settings.toml`` and ``rules.toml`` as the CLI reads them, ``clv.json``,
    ``currency.json``. Callers compare these to what they saved last, to write only what changed."""
    docs: dict[str, str] = {}
    if state.settings is not None:
        docs["settings.toml"] = settings_to_toml(state.settings)
    if state.rules is not None:
        docs["rules.toml"] = state.rules.to_toml()
    if state.clv is not None:
        docs["clv.json"] = json.dumps(dataclasses.asdict(state.clv))
    if state.currency is not None:
        docs["currency.json"] = json.dumps(dataclasses.asdict(state.currency))
    return docs


def open_store(config: StoreConfig, clock: Callable[[], float] = time.time) -> WorkspaceStore | None:
    """The store for ``config``, or ``None`` when the store is off (then nothing at all is written)."""
    if not config.enabled:
        return None
    return WorkspaceStore(config, clock)


class WorkspaceStore:
    """Workspaces in an SQLite database and a folder of files named by their SHA-256.

    Every public method takes a workspace id and does one short transaction; there is deliberately no method that
    lists workspaces. Reading a workspace counts as opening it (its expiry moves to ``expiry_days`` from now).
    An id that does not exist, or has expired, reads as ``None``; writing to one raises :class:`WorkspaceError`.
    """

    def __init__(self, config: StoreConfig, clock: Callable[[], float] = time.time) -> None:
        if not config.enabled:
            raise WorkspaceError("The workspace store is turned off; use open_store(), which returns None then.")
        self.config = config
        self._clock = clock
        self._blobs = config.folder / "blobs"
        self._db = config.folder / "workspaces.sqlite3"
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._purged = False  # set when a transaction deleted a workspace: the log is emptied after it commits
        self._pid = os.getpid()
        self._blobs.mkdir(parents=True, exist_ok=True)
        for path in (config.folder, self._blobs):
            os.chmod(path, 0o700)  # analysts' customer data: owner only
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
        os.chmod(self._db, 0o600)
        self.maybe_sweep()

    # ---- plumbing -------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """The store's connection, one caller at a time in this process (SQLite's locks order the processes).

        Kept open rather than opened per call: closing the last connection to a WAL database checkpoints and
        syncs it, which made every call take ~30 ms here instead of ~1 ms.
        """
        with self._lock:
            if self._conn is None or self._pid != os.getpid():  # a forked child needs its own connection
                self._conn = sqlite3.connect(self._db, timeout=30, isolation_level=None, check_same_thread=False)
                self._conn.execute("PRAGMA foreign_keys=ON")
                self._conn.execute("PRAGMA synchronous=NORMAL")
                # Deleted rows are overwritten with zeros, so a forgotten workspace's text (file name, column
                # names, rules) does not linger in free pages of the database file.
                self._conn.execute("PRAGMA secure_delete=ON")
                self._pid = os.getpid()
            yield self._conn

    def close(self) -> None:
        """Close the database connection (it reopens on the next call)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction holding SQLite's write lock from the start, so check-then-write is atomic across
        threads and processes (file deletions happen inside it too)."""
        with self._connect() as db:
            self._purged = False
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            if self._purged:
                # The write-ahead log still holds page images from before the delete: copy the zeroed pages into
                # the database and empty the log, so nothing of a forgotten workspace stays on disk.
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self._purged = False

    @staticmethod
    def _key(ws: str) -> str:
        if not is_workspace_id(ws):
            raise WorkspaceError("This is not a workspace link: the id should be 32 letters, digits, - or _.")
        return hashlib.sha256(ws.encode("ascii")).hexdigest()

    def _expired_before(self) -> float:
        return self._clock() - self.config.expiry_days * DAY

    def _open(self, db: sqlite3.Connection, ws: str) -> str | None:
        """The key of a live workspace, its expiry moved on; an expired one is purged and reads as missing, and so
        does text that is not an id at all (ids arrive from URLs)."""
        if not is_workspace_id(ws):
            return None
        key = self._key(ws)
        row = db.execute("SELECT accessed FROM workspace WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        if row[0] < self._expired_before():
            self._purge(db, [key])
            return None
        db.execute("UPDATE workspace SET accessed = ? WHERE key = ?", (self._clock(), key))
        return key

    def _require(self, db: sqlite3.Connection, ws: str) -> str:
        key = self._open(db, ws)
        if key is None:
            raise WorkspaceError("This workspace no longer exists: it expired or was forgotten. Your work from "
                                 "now on is kept in a new one.")
        return key

    def _blob_path(self, sha: str) -> Path:
        return self._blobs / sha

    def _drop_unreferenced(self, db: sqlite3.Connection, shas: list[str]) -> None:
        for sha in set(shas):
            if sha is None:
                continue
            used = db.execute("SELECT 1 FROM workspace WHERE file_sha = ? LIMIT 1", (sha,)).fetchone()
            if used is None:
                db.execute("DELETE FROM blob WHERE sha = ?", (sha,))
                self._blob_path(sha).unlink(missing_ok=True)

    def _purge(self, db: sqlite3.Connection, keys: list[str]) -> None:
        shas = [r[0] for k in keys for r in db.execute("SELECT file_sha FROM workspace WHERE key = ?", (k,))]
        self._purged = self._purged or bool(keys)
        db.executemany("DELETE FROM workspace WHERE key = ?", [(k,) for k in keys])
        self._drop_unreferenced(db, shas)

    @staticmethod
    def _text_bytes(db: sqlite3.Connection, key: str | None = None) -> int:
        where, args = ("WHERE key = ?", (key,)) if key else ("", ())
        a = db.execute(f"SELECT COALESCE(SUM(LENGTH(CAST(value AS BLOB))), 0) FROM setting {where}", args)
        b = db.execute(f"SELECT COALESCE(SUM(LENGTH(CAST(definition AS BLOB))), 0) FROM audience {where}", args)
        return int(a.fetchone()[0]) + int(b.fetchone()[0])

    def _usage(self, db: sqlite3.Connection, key: str) -> int:
        row = db.execute("SELECT COALESCE(b.size, 0) FROM workspace w LEFT JOIN blob b ON b.sha = w.file_sha "
                         "WHERE w.key = ?", (key,)).fetchone()
        return (int(row[0]) if row else 0) + self._text_bytes(db, key)

    def _total(self, db: sqlite3.Connection) -> int:
        return int(db.execute("SELECT COALESCE(SUM(size), 0) FROM blob").fetchone()[0]) + self._text_bytes(db)

    def _check_caps(self, db: sqlite3.Connection, key: str, workspace_after: int, total_after: int,
                    what: str) -> None:
        cfg = self.config
        if workspace_after > cfg.max_workspace_bytes:
            raise WorkspaceFullError(
                f"{what} would make this workspace {_size(workspace_after)}, above the "
                f"{_size(cfg.max_workspace_bytes)} a workspace can keep, so it is not saved and will not "
                "survive a reload. Use a smaller file or fewer saved audiences, or ask whoever runs this app to "
                "raise the limit.")
        if total_after > cfg.max_total_bytes:
            raise WorkspaceFullError(
                f"The server's space for workspaces ({_size(cfg.max_total_bytes)}) is full, so "
                f"{what[:1].lower()}{what[1:]} is not saved and will not survive a reload. Forget workspaces you no "
                "longer need, or ask whoever runs this app to raise the limit or keep workspaces for fewer days.")

    # ---- workspaces -----------------------------------------------------------------------------------------

    def create(self) -> str:
        """A new, empty workspace; returns its id (keep it: it is the only way back in)."""
        ws = secrets.token_urlsafe(ID_BYTES)
        now = self._clock()
        with self._write() as db:
            db.execute("INSERT INTO workspace (key, created, accessed) VALUES (?, ?, ?)", (self._key(ws), now, now))
        return ws

    def exists(self, ws: str) -> bool:
        """True when the workspace is live (opening it moves its expiry on); False for unknown or expired ids."""
        if not is_workspace_id(ws):
            return False
        with self._write() as db:
            return self._open(db, ws) is not None

    def forget(self, ws: str) -> bool:
        """Delete the workspace now, and its file's bytes when no other workspace uses them. False if unknown."""
        if not is_workspace_id(ws):
            return False
        key = self._key(ws)
        with self._write() as db:
            found = db.execute("SELECT 1 FROM workspace WHERE key = ?", (key,)).fetchone() is not None
            if found:
                self._purge(db, [key])
        return found

    def usage(self, ws: str) -> int:
        """Bytes the workspace holds (its file plus its text); 0 for an unknown id."""
        with self._write() as db:
            key = self._open(db, ws)
            return self._usage(db, key) if key else 0

    # ---- the file -------------------------------------------------------------------------------------------

    def save_file(self, ws: str, name: str, data: bytes, sha256: str | None = None) -> str:
        """Keep ``data`` (uploaded as ``name``) as the workspace's file; returns its SHA-256.

        The bytes are written once per content: a second workspace with the same file refers to the same copy.
        The workspace's previous file is deleted when no workspace uses it any more. ``sha256``, when the caller
        has computed it already, saves hashing a large file again; it must be the SHA-256 of ``data`` (a wrong one
        is caught when the file is read back: :meth:`load_file` checks every byte).

        Raises
        ------
        WorkspaceError
            The workspace does not exist (expired or forgotten).
        WorkspaceFullError
            The file would take the workspace or the store over its limit (nothing is changed).
        """
        sha = sha256 if sha256 is not None and re.fullmatch(r"[0-9a-f]{64}", sha256) else \
            hashlib.sha256(data).hexdigest()
        size = len(data)
        path = self._blob_path(sha)
        tmp: Path | None = None
        try:
            if not path.exists():
                # Written before the transaction (keeping it short), renamed into place inside it: a reader never
                # sees half a file, and a file is never in place without its row.
                tmp = self._blobs / f".tmp-{secrets.token_hex(8)}"
                with open(tmp, "wb") as fh:
                    fh.write(data)
                os.chmod(tmp, 0o600)
            with self._write() as db:
                key = self._require(db, ws)
                old = db.execute("SELECT file_sha FROM workspace WHERE key = ?", (key,)).fetchone()[0]
                stored = db.execute("SELECT 1 FROM blob WHERE sha = ?", (sha,)).fetchone() is not None
                freed = 0
                if old and old != sha:
                    others = db.execute("SELECT COUNT(*) FROM workspace WHERE file_sha = ? AND key != ?",
                                        (old, key)).fetchone()[0]
                    if others == 0:
                        freed = int(db.execute("SELECT size FROM blob WHERE sha = ?", (old,)).fetchone()[0])
                text = self._text_bytes(db, key)
                self._check_caps(db, key, text + size, self._total(db) - freed + (0 if stored else size),
                                 f"The file {name} ({_size(size)})")
                if not stored or not path.exists():
                    if tmp is None:  # another writer's copy appeared and went again since the check above
                        tmp = self._blobs / f".tmp-{secrets.token_hex(8)}"
                        tmp.write_bytes(data)
                        os.chmod(tmp, 0o600)
                    os.replace(tmp, path)
                    tmp = None
                    db.execute("INSERT OR REPLACE INTO blob (sha, size) VALUES (?, ?)", (sha, size))
                db.execute("UPDATE workspace SET file_sha = ?, file_name = ? WHERE key = ?", (sha, name, key))
                if old and old != sha:
                    self._drop_unreferenced(db, [old])
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
        return sha

    def load_file(self, ws: str) -> StoredFile | None:
        """The workspace's file, or ``None`` (no such workspace, or no file saved in it).

        Raises
        ------
        WorkspaceError
            The stored bytes are missing or do not match their SHA-256 (the file is dropped from the workspace).
        """
        with self._write() as db:
            key = self._open(db, ws)
            if key is None:
                return None
            sha, name = db.execute("SELECT file_sha, file_name FROM workspace WHERE key = ?", (key,)).fetchone()
        if sha is None:
            return None
        try:
            data = self._blob_path(sha).read_bytes()
        except FileNotFoundError:
            data = None
        if data is None or hashlib.sha256(data).hexdigest() != sha:
            with self._write() as db:
                db.execute("UPDATE workspace SET file_sha = NULL, file_name = NULL WHERE key = ?", (key,))
                self._drop_unreferenced(db, [sha])
            raise WorkspaceError(f"The stored copy of {name} is damaged or missing; upload the file again.")
        return StoredFile(name, sha, data)

    # ---- settings and audiences ----------------------------------------------------------------------------

    def save_setting(self, ws: str, name: str, value: str) -> None:
        """Keep one settings document (TOML or JSON text) under ``name`` (e.g. ``settings.toml``)."""
        if not _SETTING.match(name):
            raise ConfigError(f"A setting name is lower-case letters, digits, '_' or '.', not {name!r}.")
        self._save_text(ws, "setting", "value", name, value, f"The setting {name}")

    def delete_setting(self, ws: str, name: str) -> None:
        with self._write() as db:
            key = self._require(db, ws)
            db.execute("DELETE FROM setting WHERE key = ? AND name = ?", (key, name))

    def load_settings(self, ws: str) -> dict[str, str]:
        """Every settings document of the workspace by name; empty for an unknown id."""
        return self._load_texts(ws, "setting", "value")

    def save_audience(self, ws: str, name: str, definition: str) -> None:
        """Keep an audience definition (e.g. :meth:`Audience.to_toml`) under its name, replacing one of that name."""
        if not name.strip():
            raise ConfigError("A saved audience needs a name.")
        self._save_text(ws, "audience", "definition", name, definition, f"The audience {name!r}")

    def delete_audience(self, ws: str, name: str) -> None:
        with self._write() as db:
            key = self._require(db, ws)
            db.execute("DELETE FROM audience WHERE key = ? AND name = ?", (key, name))

    def load_audiences(self, ws: str) -> dict[str, str]:
        """Saved audience definitions by name (in name order); empty for an unknown id."""
        return self._load_texts(ws, "audience", "definition")

    def _save_text(self, ws: str, table: str, column: str, name: str, text: str, what: str) -> None:
        size = len(text.encode("utf-8"))
        with self._write() as db:
            key = self._require(db, ws)
            row = db.execute(f"SELECT LENGTH(CAST({column} AS BLOB)) FROM {table} WHERE key = ? AND name = ?",
                             (key, name)).fetchone()
            old = int(row[0]) if row else 0
            self._check_caps(db, key, self._usage(db, key) - old + size, self._total(db) - old + size, what)
            db.execute(f"INSERT OR REPLACE INTO {table} (key, name, {column}) VALUES (?, ?, ?)", (key, name, text))

    def _load_texts(self, ws: str, table: str, column: str) -> dict[str, str]:
        with self._write() as db:
            key = self._open(db, ws)
            if key is None:
                return {}
            rows = db.execute(f"SELECT name, {column} FROM {table} WHERE key = ? ORDER BY name", (key,)).fetchall()
        return {str(n): str(v) for n, v in rows}

    # ---- the analysis state -------------------------------------------------------------------------------

    def save_state(self, ws: str, state: WorkspaceState) -> None:
        """Save every part of ``state`` that is not ``None`` (as the CLI's TOML where one exists, else JSON)."""
        for name, text in state_documents(state).items():
            self.save_setting(ws, name, text)

    def drop_file(self, ws: str) -> None:
        """The workspace keeps no file any more (the analyst went back to the sample); unused bytes are deleted."""
        with self._write() as db:
            key = self._require(db, ws)
            old = db.execute("SELECT file_sha FROM workspace WHERE key = ?", (key,)).fetchone()[0]
            db.execute("UPDATE workspace SET file_sha = NULL, file_name = NULL WHERE key = ?", (key,))
            if old:
                self._drop_unreferenced(db, [old])

    def load_state(self, ws: str) -> WorkspaceState:
        """The saved state (parts never saved are ``None``).

        Raises
        ------
        ConfigError
            A saved document no longer reads (its message names which one).
        """
        docs = self.load_settings(ws)
        try:
            settings = settings_from_toml(docs["settings.toml"]) if "settings.toml" in docs else None
            rules = RuleSet.from_toml(docs["rules.toml"]) if "rules.toml" in docs else None
            clv = ClvSettings(**json.loads(docs["clv.json"])) if "clv.json" in docs else None
            currency = Currency(**json.loads(docs["currency.json"])) if "currency.json" in docs else None
        except (ConfigError, TypeError, ValueError) as exc:
            raise ConfigError(f"The saved settings of this workspace cannot be read ({exc}); they are reset to "
                              "the defaults when you change one.") from None
        return WorkspaceState(settings, rules, clv, currency)

    def save_audience_object(self, ws: str, audience: Audience) -> None:
        """Save an :class:`~rfm_core.audience.Audience` under its name, as TOML."""
        self.save_audience(ws, audience.name, audience.to_toml())

    def load_audience_objects(self, ws: str) -> dict[str, Audience]:
        """Saved audiences read back; one that no longer reads raises :class:`ConfigError` naming it."""
        out = {}
        for name, text in self.load_audiences(ws).items():
            try:
                out[name] = Audience.from_toml(text)
            except ConfigError as exc:
                raise ConfigError(f"The saved audience {name!r} cannot be read: {exc}") from None
        return out

    # ---- expiry -------------------------------------------------------------------------------------------

    def sweep(self) -> int:
        """Purge every expired workspace and leftovers of interrupted writes; returns the workspaces purged."""
        with self._write() as db:
            keys = [r[0] for r in db.execute("SELECT key FROM workspace WHERE accessed < ?",
                                             (self._expired_before(),))]
            self._purge(db, keys)
            known = {r[0] for r in db.execute("SELECT sha FROM blob")}
            for path in self._blobs.iterdir():
                stale_tmp = path.name.startswith(".tmp-") and path.stat().st_mtime < time.time() - 3600
                orphan = not path.name.startswith(".") and path.name not in known
                if stale_tmp or orphan:
                    path.unlink(missing_ok=True)
            db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('last_sweep', ?)", (self._clock(),))
        return len(keys)

    def maybe_sweep(self) -> int:
        """:meth:`sweep` when the last one was more than ``sweep_every_seconds`` ago; else 0."""
        with self._connect() as db:
            row = db.execute("SELECT value FROM meta WHERE name = 'last_sweep'").fetchone()
        if row is not None and self._clock() - float(row[0]) < self.config.sweep_every_seconds:
            return 0
        return self.sweep()
