"""UI helpers shared by the pages: session-state keys, cached engine stages, the guard, and error display.

Caching: the expensive stages (read, map+clean, aggregate, the CLV fits, backtest, timeline) are cached by the
SHA-256 of the file's bytes plus the frozen settings that affect them, in the server's one
:class:`rfm_app.cache.StageCache`: bounded by the measured bytes of its entries and by a time-to-live since last
use (issue 15), shared by every session (two analysts on the same file share the work). Results are kept as
objects, not pickled copies; engine results are never mutated (a project convention), so sharing them is safe, and
only a session holding the same bytes can reach an entry. The uploaded bytes are neither part of a key nor of an
entry: the session's ``Source.data`` is the very bytes object Streamlit's uploader holds (``getvalue()`` of its
BytesIO returns it without a copy). Scoring and segmenting are milliseconds and run uncached on every widget change.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import inspect
import logging
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, ParamSpec, TypeVar

import pandas as pd
import streamlit as st

from rfm_app.cache import StageCache, arrow_on_the_system_allocator, from_environment
from rfm_app.reaper import reap_disconnected_sessions
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


@dataclass(frozen=True)
class Source:
    name: str
    digest: str
    data: bytes
    is_sample: bool = False


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
    """Defaults for every key; called by the entry script on each run."""
    ss = st.session_state
    if SOURCE not in ss:
        ss[SOURCE] = sample_source()
    ss.setdefault(SHEET, None)
    ss.setdefault(MAPPING, {})
    ss.setdefault(CLEANING, CleaningPolicy())
    ss.setdefault(SCORING, ScoringSettings())
    ss.setdefault(RULES, DEFAULT_RULES)
    ss.setdefault(AS_OF, None)
    ss.setdefault(LAST_GOOD, None)


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
    return Source(SAMPLE_PATH.name, hashlib.sha256(data).hexdigest(), data, is_sample=True)


def source_from_upload(name: str, data: bytes) -> Source:
    return Source(name, hashlib.sha256(data).hexdigest(), data)


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
    _evicted_note(evicted)
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
def comparison_of(digest: str, policy: CleaningPolicy, mapping: tuple[tuple[str, str | None], ...], unit: str,
                  calibration_end: dt.date | None, _transactions: pd.DataFrame) -> Any:
    from rfm_core.clv import compare_models

    return compare_models(_transactions, calibration_end, unit)  # type: ignore[arg-type]


@_Stage
def clv_fit_of(digest: str, policy: CleaningPolicy, mapping: tuple[tuple[str, str | None], ...], unit: str,
               model: str, calibration_end: dt.date | None, _transactions: pd.DataFrame) -> Any:
    from rfm_core import ModelFitError
    from rfm_core.clv import fit_clv

    try:
        comparison = comparison_of(digest, policy, mapping, unit, calibration_end, _transactions)
    except ModelFitError:
        comparison = None  # no holdout possible: fit_clv says so and chooses by likelihood
    return fit_clv(_transactions, unit=unit, model=model, comparison=comparison, fit_all=False)  # type: ignore[arg-type]


@_Stage
def clv_of(digest: str, policy: CleaningPolicy, mapping: tuple[tuple[str, str | None], ...], unit: str, model: str,
           calibration_end: dt.date | None, horizon: int, rate: float, _transactions: pd.DataFrame) -> Any:
    from rfm_core.clv import predict_clv

    fit = clv_fit_of(digest, policy, mapping, unit, model, calibration_end, _transactions)
    return predict_clv(fit, horizon, rate)


@_Stage
def backtest_of(digest: str, policy: CleaningPolicy, mapping: tuple[tuple[str, str | None], ...], at: dt.date,
                window: int, scoring: ScoringSettings, rules: RuleSet, model: str | None,
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
    return clv_of(prep.digest, st.session_state[CLEANING], mapping, unit, model, holdout, horizon, rate,
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
    result) is recomputed, with :data:`EVICTED_NOTE`.
    """
    for key, value in st.session_state.get(_HELD, ()):
        if key not in cache:
            cache.put(key, value)
    return cache


def _evicted_note(evicted: bool) -> None:
    if evicted:
        st.info(EVICTED_NOTE, icon=":material/hourglass_top:")


def _prepare(src: Source) -> Prepared:
    options = read_options()
    mapping = tuple(sorted(st.session_state[MAPPING].items()))
    policy: CleaningPolicy = st.session_state[CLEANING]
    keys = ((src.digest, src.name, options), (mapping, policy), st.session_state[AS_OF])
    last = st.session_state.get(_LAST_PREPARED) or (None, None, None)
    cache = _readopt(stage_cache())
    read_key = _load_raw.key(src.digest, src.name, options, src.data)
    clean_key = map_and_clean.key(src.digest, options, mapping, policy, None)
    # A step computes exactly when its key is not in the shared cache (another session may have done the work).
    todo = (read_key not in cache, clean_key not in cache, clean_key not in cache or keys != last)
    evicted = any(cache.was_evicted(k) for k, run in ((read_key, todo[0]), (clean_key, todo[1])) if run)
    first = f"Reading {src.name}…" if todo[0] else "Mapping and cleaning…" if todo[1] else "Computing per customer…"
    _evicted_note(evicted)
    # The bar goes whatever happens: an RfmError raised below is shown by the caller and must not sit under a bar.
    with _progress(first if evicted or _expected_seconds(src.data, todo) > _BAR_AFTER_S else None) as bar:
        raw = _load_raw(src.digest, src.name, options, src.data)
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
        st.error(f"**{src.name}:** {exc}", icon=":material/error:")
        last: Prepared | None = st.session_state.get(LAST_GOOD)
        if last is not None:
            st.info(f"Still showing the last good result, from **{last.source_name}**.")
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
        st.error(f"Scoring failed: {exc}", icon=":material/error:")
        st.stop()
    return prep, seg


def note_metric(container: Any, label: str, value: str, note: str) -> None:
    """A metric with a grey note under it (a share or a range, not a change, so no arrow and no colour)."""
    container.metric(label, value, note, delta_color="off", delta_arrow="off")


def money(x: float) -> str:
    return f"{x:,.0f}"


def summary_view(summary: pd.DataFrame) -> pd.DataFrame:
    """The per-segment summary with readable column names (numbers stay numbers for sorting)."""
    return summary.rename(columns={
        "segment": "Segment", "role": "Role", "customers": "Customers", "customer_share": "% customers",
        "revenue": "Revenue",
        "revenue_share": "% revenue", "orders": "Orders", "avg_order_value": "Avg order value",
        "recency_mean": "Recency mean (days)", "recency_median": "Recency median", "frequency_mean": "Frequency mean",
        "frequency_median": "Frequency median", "monetary_mean": "Monetary mean", "monetary_median": "Monetary median",
    })


SUMMARY_FORMAT: dict[str, Any] = {
    "% customers": st.column_config.NumberColumn(format="percent"),
    "% revenue": st.column_config.NumberColumn(format="percent"),
    "Revenue": st.column_config.NumberColumn(format="localized"),
    "Avg order value": st.column_config.NumberColumn(format="%.2f"),
    "Recency mean (days)": st.column_config.NumberColumn(format="%.1f"),
    "Frequency mean": st.column_config.NumberColumn(format="%.2f"),
    "Monetary mean": st.column_config.NumberColumn(format="%.2f"),
    "Monetary median": st.column_config.NumberColumn(format="%.2f"),
}


# ---- Issue 14, phase 1: the currency, readable tables, segments over time and lifetime-value columns ----------

CURRENCY = "currency_setting"  # rfm_core.formatting.Currency; chosen or detected in phase 2, none by default


def currency() -> Any:
    """The currency money is shown in (no currency until one is chosen)."""
    from rfm_core.formatting import NO_CURRENCY

    return st.session_state.get(CURRENCY) or NO_CURRENCY


def _printf(text: str) -> str:
    return text.replace("%", "%%")  # a literal % in a printf-style format


def column_for(column: str, cur: Any = None) -> Any:
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
    return st.column_config.TextColumn(text)


def readable_table(frame: pd.DataFrame, cur: Any = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A copy of ``frame`` and the column_config that show it in the analyst's format.

    Shares and probabilities are multiplied by 100 (Streamlit's printf formats cannot scale), missing counts
    become 0 and missing text blank, so an empty segment reads 0 rather than None. Machine names stay the
    DataFrame's columns (downloads keep them); only the displayed labels change.
    """
    from rfm_core.formatting import kind_of

    view = frame.copy()
    config: dict[str, Any] = {}
    for col in view.columns:
        name = str(col)
        kind = kind_of(name)
        if kind in ("percent", "probability"):
            view[col] = pd.to_numeric(view[col], errors="coerce") * 100
        elif kind == "count":
            view[col] = pd.to_numeric(view[col], errors="coerce").fillna(0)
        elif kind == "date" and not pd.api.types.is_datetime64_any_dtype(view[col]):
            view[col] = pd.to_datetime(view[col])
        elif kind == "text":
            view[col] = view[col].astype(object).where(view[col].notna(), "").astype(str)
        config[name] = column_for(name, cur)
    return view, config


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
