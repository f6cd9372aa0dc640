"""UI helpers shared by the pages: session-state keys, cached engine stages, the guard, and error display.

Caching: the expensive stages (read, map+clean, aggregate) are cached by the SHA-256 of the file's bytes plus the
frozen settings that affect them. They use ``st.cache_resource`` rather than ``st.cache_data`` so that a 541,909-row
table is not pickled and copied on every rerun; engine results are never mutated (a project convention), so
sharing them is safe, and only a session holding the same bytes can reach an entry. Scoring and segmenting are
milliseconds and run uncached on every widget change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

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


@st.cache_resource(show_spinner=False, max_entries=6)
def _load_raw(digest: str, name: str, options: ReadOptions, _data: bytes) -> RawTable:
    return read_table(_data, name, options)


def load_raw(digest: str, name: str, options: ReadOptions, data: bytes) -> RawTable:
    """The file as read (cached), under a progress bar when the read will compute and is expected to be slow."""
    key = (digest, name, options)
    slow = key != st.session_state.get(_LAST_READ) and _expected_seconds(data, (True, False, False)) > _BAR_AFTER_S
    with _progress(f"Reading {name}…" if slow else None):
        raw = _load_raw(digest, name, options, data)
    st.session_state[_LAST_READ] = key
    return raw


@st.cache_resource(show_spinner=False, max_entries=6)
def detection_of(digest: str, options: ReadOptions, _raw: RawTable) -> Detection:
    """Column detection for the Data page's dropdowns (the digest and read options determine ``_raw``)."""
    return detect_columns(_raw.frame)


@st.cache_resource(show_spinner=False, max_entries=6)
def map_and_clean(digest: str, options: ReadOptions, mapping: tuple[tuple[str, str | None], ...],
                  policy: CleaningPolicy, _raw: RawTable) -> tuple[MappedTable, CleanResult]:
    mapped = apply_mapping(_raw, dict(mapping), policy.dayfirst)
    return mapped, clean(mapped, policy)


@st.cache_resource(show_spinner=False, max_entries=6)
def customers_of(digest: str, options: ReadOptions, mapping: tuple[tuple[str, str | None], ...],
                 policy: CleaningPolicy, as_of: dt.date, _cleaned: CleanResult) -> pd.DataFrame:
    return aggregate(_cleaned.transactions, as_of)


# In the CLV wrappers below, digest, policy and mapping are only the cache key: together they determine the
# transactions passed as _transactions, which st.cache_resource does not hash. The fit (slow: seconds on a large
# file) is cached apart from the prediction, so moving the horizon or the discount rate does not refit.
@st.cache_resource(show_spinner=False, max_entries=8)
def comparison_of(digest: str, policy: CleaningPolicy, mapping: tuple[tuple[str, str | None], ...], unit: str,
                  calibration_end: dt.date | None, _transactions: pd.DataFrame) -> Any:
    from rfm_core.clv import compare_models

    return compare_models(_transactions, calibration_end, unit)  # type: ignore[arg-type]


@st.cache_resource(show_spinner=False, max_entries=8)
def clv_fit_of(digest: str, policy: CleaningPolicy, mapping: tuple[tuple[str, str | None], ...], unit: str,
               model: str, calibration_end: dt.date | None, _transactions: pd.DataFrame) -> Any:
    from rfm_core import ModelFitError
    from rfm_core.clv import fit_clv

    try:
        comparison = comparison_of(digest, policy, mapping, unit, calibration_end, _transactions)
    except ModelFitError:
        comparison = None  # no holdout possible: fit_clv says so and chooses by likelihood
    return fit_clv(_transactions, unit=unit, model=model, comparison=comparison, fit_all=False)  # type: ignore[arg-type]


@st.cache_resource(show_spinner=False, max_entries=16)
def clv_of(digest: str, policy: CleaningPolicy, mapping: tuple[tuple[str, str | None], ...], unit: str, model: str,
           calibration_end: dt.date | None, horizon: int, rate: float, _transactions: pd.DataFrame) -> Any:
    from rfm_core.clv import predict_clv

    fit = clv_fit_of(digest, policy, mapping, unit, model, calibration_end, _transactions)
    return predict_clv(fit, horizon, rate)


@st.cache_resource(show_spinner=False, max_entries=8)
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


def _prepare(src: Source) -> Prepared:
    options = read_options()
    mapping = tuple(sorted(st.session_state[MAPPING].items()))
    policy: CleaningPolicy = st.session_state[CLEANING]
    keys = ((src.digest, src.name, options), (mapping, policy), st.session_state[AS_OF])
    last = st.session_state.get(_LAST_PREPARED) or (None, None, None)
    todo = (keys[0] != st.session_state.get(_LAST_READ), keys[:2] != last[:2], keys != last)
    first = f"Reading {src.name}…" if todo[0] else "Mapping and cleaning…" if todo[1] else "Computing per customer…"
    # The bar goes whatever happens: an RfmError raised below is shown by the caller and must not sit under a bar.
    with _progress(first if _expected_seconds(src.data, todo) > _BAR_AFTER_S else None) as bar:
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
        elif kind == "text" and not (pd.api.types.is_numeric_dtype(view[col])
                                     and not pd.api.types.is_bool_dtype(view[col])):
            view[col] = view[col].astype(object).where(view[col].notna(), "").astype(str)
        config[name] = column_for(name, cur, view[col].dtype)
    return view, config


@st.cache_resource(show_spinner=False, max_entries=6)
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
