"""UI helpers shared by the pages: session-state keys, cached engine stages, the guard, error display, and the
workspace that keeps an analysis across reloads.

Workspace (DOCUMENTATION.md, "Workspace"): the session's file and settings are saved in the server-side store of
:mod:`rfm_app.workspace` under an unguessable id carried in the URL (``?w=<id>``). A session that starts with a live
id restores them; every run ends by saving what changed. The upload's bytes live in ONE place: the store on disk
(the session keeps only the name, size and SHA-256; a process-wide copy of at most two files, dropped when idle,
reads them back), or, when workspaces are off or full, the session itself. A visitor who changes nothing leaves
nothing on the server.

Caching: the expensive stages (read, map+clean, aggregate, the CLV fits, backtest, timeline) are cached by the
SHA-256 of the file's bytes plus the frozen settings that affect them, in the server's one
:class:`rfm_app.cache.StageCache`: bounded by the measured bytes of its entries and by a time-to-live since last
use (issue 15), shared by every session (two analysts on the same file share the work). Results are kept as
objects, not pickled copies; engine results are never mutated (a project convention), so sharing them is safe, and
only a session holding the same bytes can reach an entry. The uploaded bytes are neither part of a key nor of an
entry. Scoring and segmenting are milliseconds and run uncached on every widget change.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import inspect
import logging
import os
import re
import sqlite3
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, Generic, ParamSpec, TypeVar, cast

import pandas as pd
import streamlit as st

from rfm_app.cache import RecentBytes, StageCache, arrow_on_the_system_allocator, from_environment
from rfm_app.reaper import reap_disconnected_sessions
from rfm_app.workspace import (
    ClvSettings,
    StoreConfig,
    WorkspaceError,
    WorkspaceFullError,
    WorkspaceState,
    WorkspaceStore,
    open_store,
    state_documents,
)
from rfm_core import (
    DEFAULT_RULES,
    CleaningPolicy,
    ReadOptions,
    RfmError,
    RuleSet,
    ScoringSettings,
    Segmentation,
    aggregate,
    apply_mapping,
    clean,
    default_as_of,
    list_sheets,
    read_table,
    segment_customers,
)
from rfm_core.clean import CleanResult
from rfm_core.mapping import Detection, MappedTable, detect_columns
from rfm_core.read import RawTable, detect_format
from rfm_core.sample import SAMPLE_PATH
from rfm_core.settings import AnalysisSettings

# Session-state keys, in one place.
SOURCE = "source"  # Source | None
SHEET = "sheet_choice"
MAPPING = "mapping_overrides"  # dict[str, str | None]
CLEANING = "cleaning_policy"  # CleaningPolicy
SCORING = "scoring_settings"  # ScoringSettings
RULES = "segment_rules"  # RuleSet
AS_OF = "as_of_override"  # date | None
LAST_GOOD = "last_good"  # Prepared | None
ALL_SHEETS = "(all sheets stacked)"
AUDIENCES = "aud_saved"  # dict[str, Audience]: saved audiences (pages/audiences.py), kept in the workspace
WS_ID = "workspace_id"  # str | None: this session's workspace, also in the URL as ?w=<id>
INTRO_OPEN = "intro_expanded"  # bool: the first page's introduction starts open (a visit without a workspace)
QUERY_KEY = "w"
_WS_SAVED = "_workspace_saved"  # dict[str, str]: the documents as last saved (or restored), to write only changes
_WS_FILE = "_workspace_file"  # str | None: SHA-256 of the file the workspace holds
_WS_NOTES = "_workspace_notes"  # list[str]: messages about the workspace to show on the next run, once
_WS_NOTED = "_workspace_noted"  # set[str]: every message queued this session (each is said once)
_UPLOAD_BYTES = "_upload_bytes"  # (sha256, bytes) of an upload the workspace does not hold (store off or full)
UPLOAD_ID = "_upload_file_id"  # the Data page uploader's file_id last taken in (a file is taken in once)
_SHOWN = "_errors_shown"  # set[str]: errors already shown in this run (an error appears once)


@dataclass(frozen=True)
class Source:
    """The file being analysed: its name, SHA-256 and size. The bytes are not kept here (see the module notes):
    :attr:`data` fetches them from the sample, the workspace store, or the session."""

    name: str
    digest: str
    size: int
    is_sample: bool = False

    @property
    def data(self) -> bytes:
        return source_bytes(self)


@dataclass(frozen=True)
class Prepared:
    """The cached, expensive part of an analysis."""

    source_name: str
    digest: str
    raw: RawTable
    mapped: MappedTable
    cleaned: CleanResult
    as_of: dt.date
    customers: pd.DataFrame


def init_state() -> None:
    """Defaults for every key, and on a session's first run the workspace named in the URL; called by the entry
    script on each run."""
    ss = st.session_state
    ss[_SHOWN] = set()
    first_run = WS_ID not in ss
    if first_run:
        ss[WS_ID] = None
        ss[INTRO_OPEN] = True
    if SOURCE not in ss:
        ss[SOURCE] = sample_source()
    ss.setdefault(SHEET, None)
    ss.setdefault(MAPPING, {})
    ss.setdefault(CLEANING, CleaningPolicy())
    ss.setdefault(SCORING, ScoringSettings())
    ss.setdefault(RULES, DEFAULT_RULES)
    ss.setdefault(AS_OF, None)
    ss.setdefault(LAST_GOOD, None)
    ss.setdefault(AUDIENCES, {})
    if first_run:
        _open_workspace()
    ws = ss.get(WS_ID)
    if ws and st.query_params.get(QUERY_KEY) != ws:
        st.query_params[QUERY_KEY] = ws  # a page switch clears the URL's parameters: put the id back


P = ParamSpec("P")
R = TypeVar("R")


@st.cache_resource(show_spinner=False)
def stage_cache() -> StageCache:
    """The server's one cache of expensive stages, shared by every session (a new one after st.cache_resource.clear)."""
    secrets: dict[str, Any] = {}
    if st.secrets.load_if_toml_exists() and "cache" in st.secrets:  # st.secrets raises without a secrets.toml
        secrets = dict(st.secrets["cache"])
    try:
        cache = from_environment(secrets)
    except ValueError as exc:  # a mistyped setting must not take the app down: the operator reads the server log
        logging.getLogger(__name__).warning("stage cache: %s; using the defaults", exc)
        cache = StageCache()
    arrow_on_the_system_allocator()  # so that malloc_trim gives back what pyarrow freed too
    cache.add_sweep_hook(reap_disconnected_sessions)  # closed tabs' sessions and uploads (rfm_app/reaper.py)
    _BYTES.ttl_s = cache.settings.ttl_s
    cache.add_sweep_hook(_BYTES.drop_idle)  # stored files' bytes nobody has used for the TTL
    cache.start_sweeper()
    return cache


class _Stage(Generic[P, R]):
    """``fn`` cached in :func:`stage_cache`, keyed by its name and its arguments whose names do not start with
    ``_`` (as with st.cache_resource, those determine the underscored ones, which are neither hashed nor kept)."""

    def __init__(self, fn: Callable[P, R]) -> None:
        self._fn = fn
        self._signature = inspect.signature(fn)
        functools.update_wrapper(self, fn)

    def key(self, *args: Any, **kwargs: Any) -> Hashable:
        bound = self._signature.bind(*args, **kwargs)
        return (self._fn.__name__, *(v for k, v in bound.arguments.items() if not k.startswith("_")))

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return stage_cache().get_or_compute(self.key(*args, **kwargs), lambda: self._fn(*args, **kwargs))


@st.cache_resource(show_spinner=False)
def _sample_bytes() -> bytes:
    return SAMPLE_PATH.read_bytes()


def sample_source() -> Source:
    data = _sample_bytes()
    return Source(SAMPLE_PATH.name, hashlib.sha256(data).hexdigest(), len(data), is_sample=True)


def source_from_upload(name: str, data: bytes) -> Source:
    """The Source for uploaded bytes, without keeping them (:func:`use_upload` keeps them)."""
    return Source(name, hashlib.sha256(data).hexdigest(), len(data))


def source_bytes(src: Source) -> bytes:
    """The bytes of ``src``: the bundled sample, the session's own copy (workspaces off or full), or the store's.

    Raises
    ------
    WorkspaceError
        The workspace no longer holds the file (forgotten in another tab, or expired).
    """
    if src.is_sample:
        return _sample_bytes()
    held = st.session_state.get(_UPLOAD_BYTES)
    if held is not None and held[0] == src.digest:
        return cast(bytes, held[1])
    ws = st.session_state.get(WS_ID)
    store = workspace_store()
    if store is None or not ws:
        raise WorkspaceError(f"{src.name} is no longer available; upload it again on the Data page.")
    return _stored_bytes(src.digest, ws, store)


# The stored files' bytes in this process, by SHA-256: read from disk (and checked) once and shared by every session
# that holds the same file, so memory holds one copy per file rather than one per session. At most two files, each
# dropped after the cache's TTL unused (the stage cache's sweeper calls drop_idle): a plain dict of the last two
# outlived every session (issue 15). Only a session whose workspace holds a file knows its SHA-256.
_BYTES = RecentBytes(keep=2)


def _remember_bytes(digest: str, data: bytes) -> None:
    _BYTES.put(digest, data)


def _stored_bytes(digest: str, ws: str, store: WorkspaceStore) -> bytes:
    held = _BYTES.get(digest)
    if held is not None:
        return held
    stored = store.load_file(ws)
    if stored is None or stored.sha256 != digest:
        raise WorkspaceError("This workspace no longer holds the file (it was forgotten or expired); upload it again "
                             "on the Data page.")
    _remember_bytes(digest, stored.data)
    return stored.data


# ---- the workspace ---------------------------------------------------------------------------------------------


def store_config() -> StoreConfig:
    """The workspace settings: environment variables, else ``[workspace]`` in ``.streamlit/secrets.toml``."""
    section: Any = None
    try:
        section = st.secrets.get("workspace")
    except Exception:  # no secrets file at all is the usual case; Streamlit raises its own error type then
        section = None
    return StoreConfig.from_settings(os.environ, dict(section) if section else None)


@st.cache_resource(show_spinner=False, max_entries=4)
def _store_for(config: StoreConfig) -> WorkspaceStore | None:
    # Opening the store purges expired workspaces (the sweep), so a server start purges them too.
    return open_store(config)


def workspace_store() -> WorkspaceStore | None:
    """The server's workspace store, or None when workspaces are off (or cannot be used: said once)."""
    try:
        return _store_for(store_config())
    except (RfmError, OSError, sqlite3.Error) as exc:
        _note_once(f"Workspaces are not available on this server, so your work will not survive a reload ({exc}).")
        return None


def _note_once(text: str) -> None:
    """Queue a message about the workspace for the top of the page, at most once per session."""
    noted: set[str] = st.session_state.setdefault(_WS_NOTED, set())
    if text not in noted:
        noted.add(text)
        st.session_state.setdefault(_WS_NOTES, []).append(text)


def workspace_notes() -> list[str]:
    """Messages about the workspace not yet shown (an expired link, a size limit reached); shown once."""
    notes: list[str] = st.session_state.get(_WS_NOTES) or []
    st.session_state[_WS_NOTES] = []
    return notes


def _sheet_to_read(sheet: str | None) -> ReadOptions:
    return ReadOptions(all_sheets=True) if sheet == ALL_SHEETS else ReadOptions(sheet=sheet)


def _documents() -> dict[str, str]:
    """This session's analysis as the workspace's settings documents (see :func:`state_documents`)."""
    ss = st.session_state
    settings = AnalysisSettings(read=_sheet_to_read(ss[SHEET]),
                                mapping=cast(Any, tuple(sorted(ss[MAPPING].items()))),
                                cleaning=ss[CLEANING], scoring=ss[SCORING], as_of=ss[AS_OF])
    holdout = ss.get(CLV_HOLDOUT)
    clv = ClvSettings(str(ss.get(CLV_UNIT, "W")), int(ss.get(CLV_HORIZON, 12)), float(ss.get(CLV_RATE, 0.10)),
                      str(ss.get(CLV_MODEL, "auto")), holdout.isoformat() if holdout else None)
    docs = state_documents(WorkspaceState(settings, ss[RULES], clv, ss.get(CURRENCY)))
    for name, audience in ss.get(AUDIENCES, {}).items():
        docs[f"audience:{name}"] = audience.to_toml()
    return docs


def _open_workspace() -> None:
    """On a session's first run: restore the workspace the URL names, or say why it cannot be."""
    ss = st.session_state
    ws = st.query_params.get(QUERY_KEY)
    store = workspace_store()
    with suppress(RfmError):  # the defaults always make documents; a failure only means the first run saves them
        ss[_WS_SAVED] = _documents()  # the defaults: a session that changes nothing saves nothing
    if store is None:
        if ws:
            _note_once("Workspaces are turned off on this server, so this link cannot bring back an analysis; the "
                       "bundled sample is shown.")
        return
    try:
        store.maybe_sweep()
        if not ws:
            return
        if not store.exists(ws):
            del st.query_params[QUERY_KEY]
            _note_once("This workspace link has expired or was forgotten, so the bundled sample is shown. Upload "
                       "your file on the Data page to start a new workspace.")
            return
        ss[WS_ID], ss[INTRO_OPEN] = ws, False
        _restore(store, ws)
    except (RfmError, OSError, sqlite3.Error) as exc:
        _note_once(f"Part of this workspace could not be restored: {exc}")


def _restore(store: WorkspaceStore, ws: str) -> None:
    ss = st.session_state
    try:
        stored = store.load_file(ws)
    except WorkspaceError as exc:  # the file is damaged or gone: say so, and still bring the settings back
        _note_once(str(exc))
        stored = None
    if stored is not None:
        ss[SOURCE] = Source(stored.name, stored.sha256, len(stored.data))
        ss[_WS_FILE] = stored.sha256
        _remember_bytes(stored.sha256, stored.data)  # read and checked once: the first analysis needs them
    state = store.load_state(ws)
    if state.settings is not None:
        s = state.settings
        ss[SHEET] = ALL_SHEETS if s.read.all_sheets else s.read.sheet
        ss[MAPPING] = dict(s.mapping)
        ss[CLEANING], ss[SCORING], ss[AS_OF] = s.cleaning, s.scoring, s.as_of
    if state.rules is not None:
        ss[RULES] = state.rules
    if state.clv is not None:
        c = state.clv
        ss[CLV_UNIT], ss[CLV_HORIZON], ss[CLV_RATE], ss[CLV_MODEL] = (c.unit, c.horizon_months,
                                                                      c.annual_discount_rate, c.model)
        ss[CLV_HOLDOUT] = dt.date.fromisoformat(c.calibration_end) if c.calibration_end else None
    if state.currency is not None:
        ss[CURRENCY] = state.currency
    ss[AUDIENCES] = store.load_audience_objects(ws)
    ss[_WS_SAVED] = _documents()


def _ensure_workspace(store: WorkspaceStore) -> str:
    ss = st.session_state
    ws: str | None = ss.get(WS_ID)
    if ws is None or not store.exists(ws):
        if ws is not None:
            _note_once("This workspace expired or was forgotten in another tab; your work is kept in a new one (the "
                       "link has changed).")
        ws = store.create()
        ss[WS_ID], ss[_WS_SAVED], ss[_WS_FILE] = ws, {}, None
        st.query_params[QUERY_KEY] = ws
    return ws


def use_upload(name: str, data: bytes, digest: str | None = None) -> Source:
    """Make an upload the current file and keep its bytes in the workspace (or, if that cannot be, the session).

    ``digest``: the SHA-256 of ``data`` if the caller has it (hashing a 45 MB workbook takes ~0.15 s). A size limit
    reached is said on the page at once: the analysis goes on, but will not survive a reload.
    """
    ss = st.session_state
    src = Source(name, digest or hashlib.sha256(data).hexdigest(), len(data))
    ss[SOURCE] = src
    ss.pop(_UPLOAD_BYTES, None)
    store = workspace_store()
    if store is not None:
        try:
            ws = _ensure_workspace(store)
            store.save_file(ws, name, data, src.digest)
            ss[_WS_FILE] = src.digest
            _remember_bytes(src.digest, data)  # the first read need not come back from disk
            return src
        except WorkspaceFullError as exc:
            show_error(str(exc))
        except (WorkspaceError, OSError, sqlite3.Error) as exc:
            show_error(f"Your file could not be kept for a reload: {exc}")
    ss[_UPLOAD_BYTES] = (src.digest, data)
    return src


def use_sample() -> Source:
    """Go back to the bundled sample (the workspace drops its stored file: the sample needs no stored bytes)."""
    ss = st.session_state
    ss[SOURCE] = sample_source()
    ss.pop(_UPLOAD_BYTES, None)
    store, ws = workspace_store(), ss.get(WS_ID)
    if store is not None and ws and ss.get(_WS_FILE):
        # A workspace that is gone already has nothing of the file left to drop.
        with suppress(WorkspaceError, OSError, sqlite3.Error):
            store.drop_file(ws)
        ss[_WS_FILE] = None
    return ss[SOURCE]


def save_workspace() -> None:
    """Save what changed in this run (called by the entry script when every run ends, however it ends).

    Nothing is written for a session that only looks at the sample with the default settings.
    """
    ss = st.session_state
    if WS_ID not in ss:
        return
    store = workspace_store()
    if store is None:
        return
    try:
        docs = _documents()
        if docs == (ss.get(_WS_SAVED) or {}):
            return
        ws = _ensure_workspace(store)
        last = ss.get(_WS_SAVED) or {}
        for name, text in docs.items():
            if last.get(name) == text:
                continue
            if name.startswith("audience:"):
                store.save_audience(ws, name.removeprefix("audience:"), text)
            else:
                store.save_setting(ws, name, text)
        for name in set(last) - set(docs):
            if name.startswith("audience:"):
                store.delete_audience(ws, name.removeprefix("audience:"))
            else:
                store.delete_setting(ws, name)
        ss[_WS_SAVED] = docs
    except WorkspaceFullError as exc:
        _note_once(str(exc))
    except (RfmError, OSError, sqlite3.Error) as exc:
        _note_once(f"Your latest change could not be kept for a reload: {exc}")


#: Set by :func:`forget_workspace` for the entry script: the next run opens the Data page.
FORGOTTEN = "_workspace_forgotten"


def forget_workspace() -> None:
    """Delete this session's workspace now (file bytes included) and start afresh with the sample."""
    ss = st.session_state
    store, ws = workspace_store(), ss.get(WS_ID)
    if store is not None and ws:
        store.forget(ws)
        src: Source | None = ss.get(SOURCE)
        if src is not None and ss.get(_WS_FILE) == src.digest:
            _BYTES.discard(src.digest)  # no copy stays in this process's memory either
    if QUERY_KEY in st.query_params:
        del st.query_params[QUERY_KEY]
    # The uploader may still offer the file it took in: remember its id, or the next click would store it again.
    taken = ss.get(UPLOAD_ID)
    for key in list(ss.keys()):
        del ss[key]
    if taken is not None:
        ss[UPLOAD_ID] = taken
    init_state()
    ss[INTRO_OPEN] = False  # the analyst has seen the app; a fresh start need not explain it again
    ss[FORGOTTEN] = True  # the entry script then opens the Data page (see streamlit_app.py)
    _note_once("The workspace was forgotten: its file and settings are deleted from the server. You are back on "
               "the bundled sample.")


def workspace_days() -> float | None:
    """How many days an unused workspace is kept, or None when workspaces are off."""
    store = workspace_store()
    return store.config.expiry_days if store is not None else None


# ---- errors in the app's words ----------------------------------------------------------------------------------

# The engine's messages serve the command line too; in the app, a hint about a command-line option is replaced by
# what to do in the app (or dropped when the message already says it).
_APP_WORDING: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\s*\((?:command line|CLI)[^)]*\)"), ""),
    (re.compile(r"use --[a-z-]+ \(app: ([^)]*)\)"), r"change \1"),
    (re.compile(r"Use the CLI with --engine duckdb for files this large\."),
     "Upload a shorter date range (export fewer months at a time)."),
    (re.compile(r"\s*\(--[a-z-]+[^)]*\)"), ""),
    # When every row is dropped the app has no result to show the ledger with: say where the cause is set.
    (re.compile(r"Check the ledger: every row was dropped\."),
     "Every row was dropped: check the column mapping on the Data page and which rows count on Settings."),
    (re.compile(r"Check the ledger\."), "Check the column mapping on the Data page and which rows count on Settings."),
)


def app_wording(text: str) -> str:
    """An engine message in the app's words: no command-line options, what to do in the app instead."""
    for pattern, repl in _APP_WORDING:
        text = pattern.sub(repl, text)
    return text


def show_error(message: str | BaseException, file_name: str | None = None, **kwargs: Any) -> None:
    """``st.error`` in the app's words, naming ``file_name`` once (only if the message does not already), and at
    most once per run however many places meet the same error."""
    text = app_wording(str(message))
    if file_name and file_name not in text:
        text = f"**{file_name}:** {text}"
    _once(st.error, text, icon=kwargs.pop("icon", ":material/error:"), **kwargs)


def _once(show: Any, text: str, **kwargs: Any) -> None:
    """``show(text)`` unless this run has shown the same text already (pages may meet one error twice)."""
    shown: set[str] = st.session_state.setdefault(_SHOWN, set())
    if text in shown:
        return
    shown.add(text)
    show(text, **kwargs)


@st.cache_resource(show_spinner=False, max_entries=8)
def sheets_of(digest: str, _data: bytes) -> tuple[str, ...]:
    return list_sheets(_data)


@_Stage
def _load_raw(digest: str, name: str, options: ReadOptions, _data: bytes) -> RawTable:
    return read_table(_data, name, options)


def load_raw(digest: str, name: str, options: ReadOptions, data: bytes) -> RawTable:
    """The file as read (cached), under a progress bar when the read will compute and is expected to be slow."""
    key = (digest, name, options)
    cache = _readopt(stage_cache())
    stage = _load_raw.key(digest, name, options, data)
    evicted = cache.was_evicted(stage)
    slow = stage not in cache and (evicted or _expected_seconds(data, (True, False, False)) > _BAR_AFTER_S)
    _evicted_note(cache.eviction_reason(stage) == "budget")
    with _progress(f"Reading {name}…" if slow else None):
        raw = _load_raw(digest, name, options, data)
    st.session_state[_LAST_READ] = key
    return raw


@_Stage
def detection_of(digest: str, options: ReadOptions, _raw: RawTable) -> Detection:
    """Column detection for the Data page's dropdowns (the digest and read options determine ``_raw``)."""
    return detect_columns(_raw.frame)


@_Stage
def map_and_clean(digest: str, options: ReadOptions, mapping: tuple[tuple[str, str | None], ...],
                  policy: CleaningPolicy, _raw: RawTable) -> tuple[MappedTable, CleanResult]:
    mapped = apply_mapping(_raw, dict(mapping), policy.dayfirst)
    return mapped, clean(mapped, policy)


@_Stage
def customers_of(digest: str, options: ReadOptions, mapping: tuple[tuple[str, str | None], ...],
                 policy: CleaningPolicy, as_of: dt.date, _cleaned: CleanResult) -> pd.DataFrame:
    return aggregate(_cleaned.transactions, as_of)


# In the CLV wrappers below, digest, policy and mapping are only the cache key: together they determine the
# transactions passed as _transactions, which st.cache_resource does not hash. The fit (slow: seconds on a large
# file) is cached apart from the prediction, so moving the horizon or the discount rate does not refit.
@_Stage
def comparison_of(digest: str, options: ReadOptions, policy: CleaningPolicy,
                  mapping: tuple[tuple[str, str | None], ...], unit: str, calibration_end: dt.date | None,
                  _transactions: pd.DataFrame) -> Any:
    from rfm_core.clv import compare_models

    return compare_models(_transactions, calibration_end, unit)  # type: ignore[arg-type]


@_Stage
def clv_fit_of(digest: str, options: ReadOptions, policy: CleaningPolicy,
               mapping: tuple[tuple[str, str | None], ...], unit: str, model: str, calibration_end: dt.date | None,
               _transactions: pd.DataFrame) -> Any:
    from rfm_core import ModelFitError
    from rfm_core.clv import fit_clv

    try:
        comparison = comparison_of(digest, options, policy, mapping, unit, calibration_end, _transactions)
    except ModelFitError:
        comparison = None  # no holdout possible: fit_clv says so and chooses by likelihood
    return fit_clv(_transactions, unit=unit, model=model, comparison=comparison, fit_all=False)  # type: ignore[arg-type]


@_Stage
def clv_of(digest: str, options: ReadOptions, policy: CleaningPolicy, mapping: tuple[tuple[str, str | None], ...],
           unit: str, model: str, calibration_end: dt.date | None, horizon: int, rate: float,
           _transactions: pd.DataFrame) -> Any:
    from rfm_core.clv import predict_clv

    fit = clv_fit_of(digest, options, policy, mapping, unit, model, calibration_end, _transactions)
    return predict_clv(fit, horizon, rate)


@_Stage
def backtest_of(digest: str, options: ReadOptions, policy: CleaningPolicy,
                mapping: tuple[tuple[str, str | None], ...], at: dt.date, window: int, scoring: ScoringSettings,
                rules: RuleSet, model: str | None,
                _transactions: pd.DataFrame) -> Any:
    from rfm_core.backtest import backtest

    return backtest(_transactions, at, window, scoring, rules, model=model)


CLV_UNIT = "clv_unit_value"
CLV_HORIZON = "clv_horizon_value"
CLV_RATE = "clv_rate_value"
CLV_MODEL = "clv_model_value"  # auto | bgnbd | mbgnbd | pareto_nbd
CLV_HOLDOUT = "clv_holdout_value"  # calibration end of the model comparison; None: the default


def clv_settings() -> tuple[str, int, float, str, dt.date | None]:
    """Unit, horizon (months), annual discount rate, model choice and the comparison's calibration end."""
    ss = st.session_state
    return (ss.get(CLV_UNIT, "W"), int(ss.get(CLV_HORIZON, 12)), float(ss.get(CLV_RATE, 0.10)),
            ss.get(CLV_MODEL, "auto"), ss.get(CLV_HOLDOUT))


def clv_for(prep: Prepared) -> Any:
    """The CLV result for the current data and CLV settings (raises ModelFitError with an explanation)."""
    unit, horizon, rate, model, holdout = clv_settings()
    mapping = tuple(sorted(st.session_state[MAPPING].items()))
    return clv_of(prep.digest, read_options(), st.session_state[CLEANING], mapping, unit, model, holdout, horizon, rate,
                  prep.cleaned.transactions)


def read_options() -> ReadOptions:
    sheet = st.session_state.get(SHEET)
    if sheet == ALL_SHEETS:
        return ReadOptions(all_sheets=True)
    return ReadOptions(sheet=sheet)


# What preparing a file costs, in seconds per MB of file, by format: (read, map + clean, aggregate). Measured on
# the 2-core reference machine on the real Online Retail (benchmarks/RESULTS.md, steps inside one process, 1x).
# Only used to decide whether a step deserves a progress bar, so a rough figure is enough.
_SECONDS_PER_MB: dict[str, tuple[float, float, float]] = {
    "xlsx": (0.075, 0.008, 0.0013),
    "csv": (0.005, 0.0055, 0.0008),
    "parquet": (0.02, 0.065, 0.010),
}
# A bar for work expected to take over a quarter of a second on a quiet machine: the target is a bar on any step
# over 1 s, and a shared server is slower (the benchmark machine, loaded by other users, ran these steps 2-4x slower).
_BAR_AFTER_S = 0.25
# This session's cache keys of its last read and of its last preparation (read, map + clean, aggregate): a step
# whose key has not changed is a cache hit (milliseconds), so a page switch or a scoring change never flashes a bar.
_LAST_READ = "_last_read_key"
_LAST_PREPARED = "_last_prepared_keys"


def _expected_seconds(data: bytes, todo: tuple[bool, bool, bool]) -> float:
    """Rough seconds for the steps still to compute (read, map + clean, aggregate), from the file's size."""
    rates = _SECONDS_PER_MB.get(detect_format(data[:64]), (0.0, 0.0, 0.0))
    return len(data) / 1e6 * sum(rate for rate, run in zip(rates, todo, strict=True) if run)


@contextmanager
def _progress(text: str | None) -> Iterator[Any]:
    """A progress bar with this first text (none for None), removed on the way out, an exception included."""
    bar = st.progress(0.0, text=text) if text else None
    try:
        yield bar
    finally:
        if bar is not None:
            bar.empty()


_HELD = "_held_stages"  # ((cache key, value), ...) of this session's current result
EVICTED_NOTE = ("Recomputing: the server dropped this file's cached results to save memory. This takes as long as "
                "the first time the file was read.")


def _readopt(cache: StageCache) -> StageCache:
    """Hand this session's current result back to the cache where the cache dropped it (budget or TTL).

    The session holds these objects anyway (its last good result), so putting them back costs no memory, while
    recomputing them would cost seconds and a second copy. What the session does not hold (another setting's
    result) is recomputed, with :data:`EVICTED_NOTE` when it was dropped for memory.
    """
    for key, value in st.session_state.get(_HELD, ()):
        if key not in cache:
            cache.put(key, value)
    return cache


def _evicted_note(for_memory: bool) -> None:
    """The note, only when the server dropped a result for memory (its byte budget). A result let go because nobody
    used it for the cache's time-to-live is recomputed under the progress bar without a note: saying "to save
    memory" there would be untrue, and the analyst merely came back."""
    if for_memory:
        st.info(EVICTED_NOTE, icon=":material/hourglass_top:")


def _prepare(src: Source) -> Prepared:
    options = read_options()
    mapping = tuple(sorted(st.session_state[MAPPING].items()))
    policy: CleaningPolicy = st.session_state[CLEANING]
    keys = ((src.digest, src.name, options), (mapping, policy), st.session_state[AS_OF])
    last = st.session_state.get(_LAST_PREPARED) or (None, None, None)
    cache = _readopt(stage_cache())
    data = src.data  # once: with a workspace, each access may fetch the bytes
    read_key = _load_raw.key(src.digest, src.name, options, b"")  # the bytes are not part of the key
    clean_key = map_and_clean.key(src.digest, options, mapping, policy, None)
    # A step computes exactly when its key is not in the shared cache (another session may have done the work).
    todo = (read_key not in cache, clean_key not in cache, clean_key not in cache or keys != last)
    recompute = [k for k, run in ((read_key, todo[0]), (clean_key, todo[1])) if run]
    evicted = any(cache.was_evicted(k) for k in recompute)
    first = f"Reading {src.name}…" if todo[0] else "Mapping and cleaning…" if todo[1] else "Computing per customer…"
    _evicted_note(any(cache.eviction_reason(k) == "budget" for k in recompute))
    # The bar goes whatever happens: an RfmError raised below is shown by the caller and must not sit under a bar.
    with _progress(first if evicted or _expected_seconds(data, todo) > _BAR_AFTER_S else None) as bar:
        raw = _load_raw(src.digest, src.name, options, data)
        st.session_state[_LAST_READ] = keys[0]
        if bar:
            bar.progress(0.4, text=f"Mapping and cleaning {len(raw.frame):,} rows…")
        mapped, cleaned = map_and_clean(src.digest, options, mapping, policy, raw)
        as_of = st.session_state[AS_OF] or default_as_of(cleaned.transactions)
        if bar:
            bar.progress(0.8, text="Computing recency, frequency and monetary value per customer…")
        customers = customers_of(src.digest, options, mapping, policy, as_of, cleaned)
    st.session_state[_LAST_PREPARED] = keys
    # References to the objects this session now shows (no copies), so _readopt can hand them back to the cache.
    st.session_state[_HELD] = ((read_key, raw), (clean_key, (mapped, cleaned)),
                               (customers_of.key(src.digest, options, mapping, policy, as_of, None), customers))
    return Prepared(src.name, src.digest, raw, mapped, cleaned, as_of, customers)


def prepared() -> Prepared | None:
    """The current file's prepared data; on an engine error, show it and fall back to the last good result."""
    src: Source | None = st.session_state.get(SOURCE)
    if src is None:
        return None
    try:
        prep = _prepare(src)
    except RfmError as exc:
        show_error(exc, src.name)
        last: Prepared | None = st.session_state.get(LAST_GOOD)
        if last is not None:
            # The error above names the file already: name it again only when the result is from another file.
            where = "before this change" if last.source_name == src.name else f"from **{last.source_name}**"
            _once(st.info, f"Still showing the last good result, {where}.")
        return last
    st.session_state[LAST_GOOD] = prep
    return prep


def segmentation(prep: Prepared) -> Segmentation:
    """Scores and segments for the current settings (uncached: milliseconds)."""
    scoring: ScoringSettings = st.session_state[SCORING]
    rules: RuleSet = st.session_state[RULES]
    return segment_customers(prep.customers, scoring, rules, warn=False)


def require_data() -> tuple[Prepared, Segmentation]:
    """The guard every analysis page starts with."""
    prep = prepared()
    if prep is None:
        st.info("No data yet. Open **Data** to upload a file or use the bundled sample.", icon=":material/upload_file:")
        st.stop()
    try:
        seg = segmentation(prep)
    except RfmError as exc:
        show_error(f"Scoring failed: {exc}")
        st.stop()
    return prep, seg


def note_metric(container: Any, label: str, value: str, note: str) -> None:
    """A metric with a grey note under it (a share or a range, not a change, so no arrow and no colour)."""
    container.metric(label, value, note, delta_color="off", delta_arrow="off")


def money(x: float) -> str:
    """Money for a headline metric: the currency, no decimals (``£1,179,488``)."""
    from rfm_core.formatting import headline_money

    return headline_money(x, currency())


# ---- Issue 14, phase 1: the currency, readable tables, segments over time and lifetime-value columns ----------

# The chosen currency, an rfm_core.formatting.Currency (AnalysisSettings.currency). Its code None, the default,
# means "as the file says": a platform export's currency column, else none.
CURRENCY = "currency_setting"


@st.cache_resource(show_spinner=False, max_entries=8)
def currency_of_file(digest: str, options: ReadOptions, _raw: RawTable) -> tuple[str | None, str | None]:
    """The currency the file states (ISO code or None) and the reading note about it (None without a column)."""
    from rfm_core.formatting import currency_note, detect_currency

    return detect_currency(_raw.frame), currency_note(_raw.frame)


def chosen_currency() -> Any:
    """The Currency setting as chosen (code None: as the file says)."""
    from rfm_core.formatting import NO_CURRENCY

    return st.session_state.get(CURRENCY) or NO_CURRENCY


def currency() -> Any:
    """The currency money is shown in: the one chosen, else the one the current file states, else none."""
    from rfm_core.formatting import effective_currency

    prep: Prepared | None = st.session_state.get(LAST_GOOD)
    detected = currency_of_file(prep.digest, read_options(), prep.raw)[0] if prep is not None else None
    return effective_currency(chosen_currency(), detected)


def currency_picker(container: Any = None) -> None:
    """The currency widgets (Settings): a code, or "as the file says", and where the symbol goes."""
    from rfm_core.formatting import SYMBOLS, Currency

    where = container or st
    chosen = chosen_currency()
    auto = "(as the file says)"
    codes = [auto, *sorted(SYMBOLS)]
    if chosen.code and chosen.code not in codes:
        codes.append(chosen.code)
    c1, c2 = where.columns(2)
    code = c1.selectbox("Currency", codes, index=codes.index(chosen.code or auto), key="currency_code",
                        help="Shown with every amount on every page, in chart hovers, the workbook and the report. "
                             "'As the file says': the currency column of a Shopify, WooCommerce or Stripe export, "
                             "else none.")
    after = c2.radio("Symbol", ["before", "after"], index=["before", "after"].index(chosen.placement),
                     key="currency_placement", horizontal=True,
                     format_func={"before": "Before (£1,234.50)", "after": "After (1,234.50 €)"}.get)
    new = Currency(None if code == auto else code, "after" if after == "after" else "before")
    if new != chosen:
        st.session_state[CURRENCY] = new


def _printf(text: str) -> str:
    return text.replace("%", "%%")  # a literal % in a printf-style format


def column_for(column: str, cur: Any = None, dtype: Any = None) -> Any:
    """The Streamlit column for one engine column: its label in words and its number format.

    Money: two decimals, thousands separators, the currency symbol placed as set; shares and probabilities: one
    decimal and % (on values x 100, see :func:`readable_table`); counts: thousands separators; scores: whole.
    """
    from rfm_core.formatting import kind_of, label

    cur = cur or currency()
    kind, text = kind_of(column), label(column)
    before, after = cur.affixes()
    if kind == "money":
        return st.column_config.NumberColumn(text, format=f"{_printf(before)}%,.2f{_printf(after)}")
    if kind in ("percent", "probability"):
        return st.column_config.NumberColumn(text, format="%.1f%%")
    if kind == "count":
        return st.column_config.NumberColumn(text, format="%,d")
    if kind == "score":
        return st.column_config.NumberColumn(text, format="%d")
    if kind == "decimal":
        return st.column_config.NumberColumn(text, format="%,.2f" if column.startswith("predicted") else "%,.1f")
    if kind == "date":
        return st.column_config.DatetimeColumn(text, format="YYYY-MM-DD")
    if dtype is not None and pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        # A number column without a known kind: never a raw float.
        return st.column_config.NumberColumn(text, format="%,d" if pd.api.types.is_integer_dtype(dtype) else "%,.2f")
    return st.column_config.TextColumn(text)


def readable_table(frame: pd.DataFrame, cur: Any = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A copy of ``frame`` and the column_config that show it in the analyst's format.

    Shares and probabilities are multiplied by 100 (Streamlit's printf formats cannot scale), missing counts
    become 0 and missing text blank, so an empty segment reads 0 rather than None. Machine names stay the
    DataFrame's columns (downloads keep them); only the displayed labels change.
    """
    from rfm_core.formatting import kind_of, label, percent

    cur = cur or currency()
    view = frame.copy()
    config: dict[str, Any] = {}
    for col in view.columns:
        name = str(col)
        kind = kind_of(name)
        numbers = (pd.to_numeric(view[col], errors="coerce") if kind in ("percent", "probability", "count")
                   else None)
        if numbers is not None and int(numbers.notna().sum()) < int(view[col].notna().sum()):
            # Text among the numbers ("7+", a pooled frequency row): coercing would show it as 0.
            view[col] = view[col].astype(object).where(view[col].notna(), "").astype(str)
            config[name] = st.column_config.TextColumn(label(name))
            continue
        if kind == "count" and numbers is not None and len(numbers) and numbers.isna().all():
            # A count nobody could compute (customers likely gone when churn is not estimable): blank, not 0.
            view[col] = ""
            config[name] = st.column_config.TextColumn(label(name))
            continue
        shares = numbers if kind in ("percent", "probability") else None
        if shares is not None and (shares.isna().any() or bool((((shares > 0) & (shares < 0.0005))
                                                                 | ((shares >= 0.9995) & (shares < 1))).any())):
            # Missing shares read blank, and shares that round to 0 or 100 read "<0.1%" / ">99.9%" (percent()),
            # not "0.0%" beside 19 rows: such a column is shown as text, formatted here.
            view[col] = shares.map(percent)
            config[name] = st.column_config.TextColumn(label(name), alignment="right")  # numbers, as text
            continue
        numeric = pd.api.types.is_numeric_dtype(view[col]) and not pd.api.types.is_bool_dtype(view[col])
        if kind in ("money", "decimal", "score", "text") and numeric and bool(view[col].isna().any()):
            # A mean, median or amount nobody could compute (a segment with no customers, no repeat buyers): the
            # grid draws a missing number as a grey "None". Such a column is shown as text, formatted here as the
            # grid would, with the missing cells blank, and aligned right as the grid aligns numbers.
            view[col] = [_cell_text(name, kind, value, cur, view[col].dtype) for value in view[col]]
            config[name] = st.column_config.TextColumn(label(name), alignment="right")
            continue
        if kind in ("percent", "probability") and numbers is not None:
            view[col] = numbers * 100
        elif kind == "count" and numbers is not None:
            view[col] = numbers.fillna(0)
        elif kind == "date" and not pd.api.types.is_datetime64_any_dtype(view[col]):
            view[col] = pd.to_datetime(view[col])
        elif kind == "text" and not (pd.api.types.is_numeric_dtype(view[col])
                                     and not pd.api.types.is_bool_dtype(view[col])):
            view[col] = view[col].astype(object).where(view[col].notna(), "").astype(str)
        config[name] = column_for(name, cur, view[col].dtype)
    for col in view.columns:  # after every branch above: each column gets the width its header and values need
        name = str(col)
        if isinstance(config.get(name), dict):
            config[name]["width"] = column_width(label(name), _widest_text(name, frame[col], cur))
    return view, config


def _cell_text(name: str, kind: str, value: object, cur: Any, dtype: Any) -> str:
    """One cell of a number column shown as text (see :func:`readable_table`): the format :func:`column_for` gives
    the grid, blank when missing."""
    from rfm_core.formatting import decimal, format_value

    if kind == "text":  # a number column without a known kind: as column_for formats it
        return decimal(value, 0 if pd.api.types.is_integer_dtype(dtype) else 2)
    if kind == "score":
        return "" if pd.isna(value) else format_value(name, value, cur)  # type: ignore[call-overload]
    return format_value(name, value, cur)


#: Pixels per character of the table font (Source Sans at 14 px: "Customers" is ~62 px, so ~7 px a character) and
#: the cell's padding (8 px a side, and a little to spare). Read off screenshots at 1400 px (docs/screenshots).
_PX_PER_CHAR, _PX_PADDING, _PX_MIN, _PX_MAX = 7, 20, 50, 420


def column_width(header: str, widest: int) -> int:
    """Pixels for a column whose header is ``header`` and whose widest value has ``widest`` characters, so neither
    is cut ("Cu…", "Loyal Cu…"); at most :data:`_PX_MAX` (longer text wraps to "…" and shows in full on hover)."""
    chars = max(len(header) + 1, widest)  # +1: headers are semi-bold
    return int(min(max(chars * _PX_PER_CHAR + _PX_PADDING, _PX_MIN), _PX_MAX))


def _widest_text(column: str, values: pd.Series, cur: Any) -> int:
    """Characters of the widest value of ``values`` as shown (numbers: the extremes formatted by their kind)."""
    from rfm_core.formatting import format_value

    present = values.dropna()
    if not len(present):
        return 0
    if pd.api.types.is_numeric_dtype(present.dtype) and not pd.api.types.is_bool_dtype(present.dtype):
        return max(len(format_value(column, v, cur)) for v in (present.max(), present.min()))
    return int(present.astype(str).str.len().max())


@_Stage
def segments_by_month_of(digest: str, options: ReadOptions, mapping: tuple[tuple[str, str | None], ...],
                         policy: CleaningPolicy, as_of: dt.date, scoring: ScoringSettings, rules: RuleSet,
                         _transactions: pd.DataFrame) -> pd.DataFrame:
    # digest, options, mapping, policy and as_of are the cache key of the transactions passed as _transactions.
    from rfm_core.timeline import segments_by_month

    return segments_by_month(_transactions, scoring, rules, as_of)


def timeline_for(prep: Prepared) -> pd.DataFrame:
    """Segment sizes at each month end for the current data and settings (cached: about 0.5 s on 400,000 rows)."""
    ss = st.session_state
    mapping = tuple(sorted(ss[MAPPING].items()))
    return segments_by_month_of(prep.digest, read_options(), mapping, ss[CLEANING], prep.as_of, ss[SCORING], ss[RULES],
                                prep.cleaned.transactions)


def clv_columns(prep: Prepared) -> pd.DataFrame:
    """``customer_id, p_alive, clv_<h>m`` from the lifetime-value model with the Lifetime value page's settings.

    Raises ModelFitError (an RfmError) when the data cannot support the model.
    """
    result = clv_for(prep)
    h = result.horizon_months
    cols = [c for c in ("p_alive", f"clv_{h}m") if c in result.table.columns]
    return result.table[["customer_id", *cols]]


# ---- Page speed (issue 13): what a page computes from the analysis, cached per file and settings -------------------
# The key of each helper below is the file's digest, the read, mapping and cleaning settings and the analysis date
# (which determine the transactions and customers passed as the unhashed _ arguments), plus whatever else the
# result depends on. A second visit to a page, or a return to earlier settings, then costs no recomputation.


def _analysis_key(prep: Prepared) -> tuple[Any, ...]:
    ss = st.session_state
    return prep.digest, read_options(), tuple(sorted(ss[MAPPING].items())), ss[CLEANING], prep.as_of


@st.cache_resource(show_spinner=False, max_entries=24)  # 6 analyses x the page's 4 groups of figures
def chart_figures_of(key: tuple[Any, ...], scoring: ScoringSettings, rules: RuleSet, cur: Any,
                     names: tuple[str, ...], _seg: Segmentation, _transactions: pd.DataFrame) -> dict[str, Any]:
    from rfm_core.charts import page_figures

    return page_figures(_seg, _transactions, cur, names)


def chart_figures(prep: Prepared, seg: Segmentation, names: tuple[str, ...]) -> dict[str, Any]:
    """Those of the Charts page's figures (:func:`rfm_core.charts.page_figures`) named in ``names``, for the current
    data, settings and currency.

    Streamlit copies a figure to send it and never changes it, so one cached figure serves every session."""
    ss = st.session_state
    return chart_figures_of(_analysis_key(prep), ss[SCORING], ss[RULES], currency(), names, seg,
                            prep.cleaned.transactions)


@st.cache_resource(show_spinner=False, max_entries=6)
def lines_per_month_figure_of(key: tuple[Any, ...], _transactions: pd.DataFrame) -> Any:
    from rfm_core.charts import lines_per_month_chart
    from rfm_core.views import lines_per_month

    return lines_per_month_chart(lines_per_month(_transactions))


def lines_per_month_figure(prep: Prepared) -> Any:
    """The Data page's used lines per month (:func:`rfm_core.views.lines_per_month`) for the current file and
    cleaning; it does not depend on scoring, rules or currency."""
    return lines_per_month_figure_of(_analysis_key(prep), prep.cleaned.transactions)


@st.cache_resource(show_spinner=False, max_entries=6)
def top_products_of(key: tuple[Any, ...], scoring: ScoringSettings, rules: RuleSet,
                    _transactions: pd.DataFrame, _customers: pd.DataFrame) -> pd.DataFrame:
    from rfm_core.columns import CUSTOMER_ID, SEGMENT
    from rfm_core.insights import top_products

    return top_products(_transactions, _customers.set_index(_customers[CUSTOMER_ID].astype(str))[SEGMENT])


def top_products_for(prep: Prepared, seg: Segmentation) -> pd.DataFrame:
    """Top products per segment for the Actions page (:func:`rfm_core.insights.top_products`)."""
    ss = st.session_state
    return top_products_of(_analysis_key(prep), ss[SCORING], ss[RULES], prep.cleaned.transactions, seg.customers)


@st.cache_resource(show_spinner=False, max_entries=6)
def calibration_choices_of(key: tuple[Any, ...], _transactions: pd.DataFrame) -> Any:
    from rfm_core.clv import calibration_choices

    return calibration_choices(_transactions)


def calibration_choices_for(prep: Prepared) -> Any:
    """The holdout dates the Lifetime value page offers (raises ModelFitError when no holdout is possible; an
    exception is not cached, so that case recomputes: it is the fast one)."""
    return calibration_choices_of(_analysis_key(prep), prep.cleaned.transactions)
