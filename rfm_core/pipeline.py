"""The stages composed: ``analyze(source, settings, engine=...)``, the one pipeline for the CLI, notebooks and tests.

Every engine (pandas, duckdb, spark, auto) returns one :class:`AnalysisResult`; its provenance is built by one
function (:func:`rfm_core.export.provenance`, through :meth:`AnalysisResult.provenance`).

The app calls the stages one by one instead, so it can cache the expensive part (read to customers) and re-run
only scoring and segmenting when a widget changes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .aggregate import Aggregator, aggregate, default_as_of
from .clean import CleanResult, clean, dropped_rows, rows_used
from .columns import SEGMENT
from .errors import ConfigError
from .insights import insights, kpis, segment_summary
from .mapping import MappedTable, apply_mapping
from .read import Progress, RawTable, Source, read_table
from .score import ScoreResult, score
from .segment import DEFAULT_RULES, LintReport, RuleSet, assign_segments, lint
from .settings import AnalysisSettings, ScoringSettings

__all__ = [
    "ENGINES",
    "AnalysisResult",
    "Segmentation",
    "analysis_provenance",
    "analyze",
    "file_reading",
    "resolve_engine",
    "result_provenance",
    "segment_customers",
    "segment_scored",
]


@dataclass(frozen=True)
class Segmentation:
    """The cheap part: scores, segments, summary and insights for one per-customer table."""

    scored: ScoreResult
    rules: RuleSet
    summary: pd.DataFrame
    insights: tuple[str, ...]

    @property
    def customers(self) -> pd.DataFrame:
        """The per-customer table with scores and ``segment``."""
        return self.scored.table

    @property
    def kpis(self) -> dict[str, float]:
        return kpis(self.customers)

    @property
    def lint(self) -> LintReport:
        """The rule linter at these bins: rules that can never win, and why (the CLI, Settings and Overview)."""
        return lint(self.rules, self.scored.bin_counts)


def segment_scored(scored: ScoreResult, rules: RuleSet = DEFAULT_RULES) -> Segmentation:
    """Segment an already scored table (its bins per metric decide how scores are read on the rules' scale)."""
    scored.table[SEGMENT] = assign_segments(scored.table, rules, scored.bin_counts)
    summary = segment_summary(scored.table, rules)
    return Segmentation(scored, rules, summary, tuple(insights(scored.table, summary)))


def segment_customers(customers: pd.DataFrame, scoring: ScoringSettings | None = None,
                      rules: RuleSet = DEFAULT_RULES, *, warn: bool = True) -> Segmentation:
    """Score and segment a per-customer table (milliseconds: the app re-runs this on every widget change)."""
    return segment_scored(score(customers, scoring or ScoringSettings(), warn=warn), rules)


@dataclass(frozen=True)
class AnalysisResult:
    """One analysis, the same type for every engine.

    Always filled: ``engine`` (the one that ran: ``pandas``, ``duckdb`` or ``spark``), the input's name, SHA-256
    and row count, the row ``ledger`` (``reason, rows, share``; every input row under one reason), the analysis date
    ``as_of``, the per-customer table ``customers`` (one row per customer, the columns of
    :mod:`rfm_core.aggregate`), the ``segmentation``, the ``settings``, the column ``mapping`` (canonical role ->
    file column), the ``reading`` block of the provenance and the reading ``warnings`` and ``notes``.

    Only the pandas engine fills ``raw``, ``mapped`` and ``cleaned``: DuckDB and Spark clean and aggregate inside
    the database, so the rows as read, the mapped table and the used transactions never come back to Python
    (that is what lets them handle data larger than memory). There these fields are ``None``; the properties
    :attr:`transactions` and :meth:`dropped_rows` say so with a :class:`~rfm_core.errors.ConfigError`.
    """

    engine: str
    input_name: str
    input_sha256: str
    input_rows: int
    ledger: pd.DataFrame
    as_of: dt.date
    customers: pd.DataFrame
    segmentation: Segmentation
    settings: AnalysisSettings
    mapping: dict[str, str]
    reading: dict[str, Any]
    guessed: bool = False
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    #: The notes that state a guess the reader made (:attr:`rfm_core.mapping.MappedTable.guesses`; the file
    #: engines': :attr:`rfm_core.engines.sqlplan.FileResult.guesses`).
    guesses: tuple[str, ...] = ()
    #: The table as read (pandas engine only; None for duckdb/spark, whose rows stay in the files).
    raw: RawTable | None = None
    #: Canonical columns and validation problems (pandas engine only).
    mapped: MappedTable | None = None
    #: Used transactions, ledger and per-row reasons (pandas engine only).
    cleaned: CleanResult | None = None

    @property
    def rows_used(self) -> int:
        """Input rows used (:func:`rfm_core.clean.rows_used`: the one definition, returns netted included)."""
        return rows_used(self.ledger)

    @property
    def transactions(self) -> pd.DataFrame | None:
        """The used transaction lines (one row per line, canonical columns plus ``is_return``); None for the file
        engines, which never load them."""
        return None if self.cleaned is None else self.cleaned.transactions

    def require_transactions(self, purpose: str) -> pd.DataFrame:
        """The used transactions, or a :class:`ConfigError` naming ``purpose`` when the engine did not load them."""
        if self.cleaned is None:
            raise ConfigError(f"{purpose} needs the transactions in memory, which only the pandas engine loads; "
                              f"run it with the pandas engine (this analysis used {self.engine}).")
        return self.cleaned.transactions

    def dropped_rows(self) -> pd.DataFrame:
        """Every input row not used, as it was in the file, with its line number and reason (pandas engine only).

        Raises
        ------
        ConfigError
            For the duckdb and spark engines: copying every dropped row out of the data set would defeat them;
            their ledger still counts the rows by reason.
        """
        if self.mapped is None or self.cleaned is None:
            raise ConfigError(f"Dropped rows are not available with the {self.engine} engine (it would copy every "
                              "dropped row out of the data set); the ledger still counts them by reason.")
        return dropped_rows(self.mapped, self.cleaned)

    def provenance(self) -> dict[str, Any]:
        """The export provenance of this analysis (:func:`analysis_provenance`)."""
        return analysis_provenance(input_name=self.input_name, input_sha256=self.input_sha256,
                                   input_rows=self.input_rows, settings=self.settings, segmentation=self.segmentation,
                                   as_of=self.as_of, reading=self.reading, engine=self.engine)


def analysis_provenance(*, input_name: str, input_sha256: str, input_rows: int, settings: AnalysisSettings,
                        segmentation: Segmentation, as_of: dt.date, reading: dict[str, Any],
                        engine: str = "pandas") -> dict[str, Any]:
    """The provenance of one analysis, for every export: the CLI and notebooks (through
    :meth:`AnalysisResult.provenance`) and the app's Export page call this, so all three record the same fields.

    Returns :func:`rfm_core.export.provenance`'s JSON-friendly dict: tool version, input name, SHA-256 and rows,
    analysis date, engine, customers, the settings, the rules as TOML, the scoring block (edges and customers per
    score, :meth:`ScoreResult.provenance`) and the reading block (``reading``: how the file was read and mapped).
    """
    from .export import provenance

    return provenance(input_name=input_name, input_sha256=input_sha256, input_rows=input_rows,
                      settings=settings.to_dict(), rules=segmentation.rules, as_of=as_of,
                      customers=len(segmentation.customers), scoring=segmentation.scored.provenance(),
                      reading=reading, engine=engine)


#: The engines :func:`analyze` accepts. ``auto`` picks pandas or duckdb by the input's size
#: (:func:`rfm_core.engines.choose_engine`).
ENGINES: tuple[str, ...] = ("pandas", "duckdb", "spark", "auto")
FILE_ENGINES = ("duckdb", "spark")


def _is_path_like(source: Source | RawTable) -> bool:
    return isinstance(source, str | Path)


def resolve_engine(engine: str, source: Source | RawTable) -> str:
    """The engine that will run: ``engine`` itself, or for ``auto`` the choice of
    :func:`rfm_core.engines.choose_engine` (bytes and already-read tables: pandas, they are in memory already).

    Raises
    ------
    ConfigError
        ``engine`` is not one of :data:`ENGINES`.
    InputFileError
        ``auto`` and no file matches the path or glob.
    """
    if engine not in ENGINES:
        raise ConfigError(f"Unknown engine {engine!r}; choose one of {', '.join(ENGINES)}.")
    if engine != "auto":
        return engine
    if not _is_path_like(source) or "://" in str(source):
        return "pandas"
    from .engines import choose_engine
    from .engines.files import expand_paths

    return choose_engine(expand_paths(str(source)))


def _one_file(source: str | Path) -> Path:
    """The pandas engine reads one file: a folder or glob must match exactly one."""
    text = str(source)
    if Path(text).is_file() or not (Path(text).is_dir() or any(ch in text for ch in "*?[")):
        return Path(text)
    from .engines.files import expand_paths

    paths = expand_paths(text)
    if len(paths) > 1:
        raise ConfigError(f"{text} matches {len(paths)} files; the pandas engine reads one file. Use the duckdb "
                          "or spark engine for a folder or glob of CSV or Parquet files.")
    return Path(paths[0])


def file_reading(engine: str, mapping: dict[str, str], given: set[str], notes: tuple[str, ...],
                 customer_ids: dict[str, int] | None = None) -> dict[str, Any]:
    """The provenance ``reading`` block of a file engine: the engine, each role's column and who chose it (the
    user, or detection from the headers only: the file engines do not look at values), the engine's notes, and
    what it counted of the customer ids (``customer_ids``, the pandas reader's keys; only when given)."""
    out: dict[str, Any] = {"engine": engine,
                           "mapping": {role: {"column": col, "chosen_by": "user" if role in given
                                              else "detection (headers only)"} for role, col in mapping.items()},
                           "notes": list(notes)}
    if customer_ids:
        out["customer_ids"] = dict(customer_ids)
    return out


def analyze(
    source: Source | RawTable,
    settings: AnalysisSettings | None = None,
    rules: RuleSet = DEFAULT_RULES,
    *,
    name: str | None = None,
    engine: str | Aggregator = "pandas",
    spark_master: str = "local[*]",
    progress: Progress | None = None,
    warn: bool = True,
    fallback_to_pandas: bool | None = None,
) -> AnalysisResult:
    """Read, map, clean, aggregate, score and segment in one call, with any engine.

    Parameters
    ----------
    source : path, glob, folder, bytes or RawTable
        The input. pandas reads one CSV, XLSX/XLSM or Parquet file (a glob or folder must match one file);
        duckdb and spark read CSV or Parquet files, one or many (a folder, a glob; spark also URIs such as
        ``s3a://...``). Bytes given to duckdb or spark are written to a temporary file first.
    settings : AnalysisSettings
        Reading, mapping, cleaning, scoring and the analysis date.
    rules : RuleSet
        Segment rules, first match wins.
    name : str, optional
        Label for bytes input (its extension tells the format).
    engine : {"pandas", "duckdb", "spark", "auto"} or Aggregator
        ``auto`` resolves with :func:`resolve_engine`. An :class:`~rfm_core.aggregate.Aggregator` object runs the
        pandas path with that aggregation (e.g. DuckDB SQL on the loaded table).
    spark_master : str
        Spark master URL for ``engine="spark"``.
    progress : callable, optional
        Receives a short message before each stage.
    warn : bool
        Emit the scoring warnings (:class:`~rfm_core.errors.RfmWarning`).
    fallback_to_pandas : bool, optional
        When DuckDB runs and the file turns out to need the pandas reader (bytes that are not UTF-8; in a single
        CSV, dates or numbers past the sampled start in a format only pandas reads:
        :func:`rfm_core.engines.run_auto`), analyse it with pandas instead and say so in the first note and guess.
        Default: True for ``engine="auto"``, False otherwise (an engine the user named runs as named).

    Returns
    -------
    AnalysisResult
        The same type for every engine; see its docstring for the fields only pandas fills.

    Raises
    ------
    ConfigError
        Unknown engine; sheet options or a RawTable with a file engine; a glob of several files for pandas.
    InputFileError, MappingError, RfmError
        From the stages: unreadable input, required columns missing, nothing left after cleaning.
    """
    settings = settings or AnalysisSettings()
    if not isinstance(engine, str):
        return _analyze_pandas(source, settings, rules, name, engine, progress, warn)
    chosen = resolve_engine(engine, source)
    fallback = engine == "auto" if fallback_to_pandas is None else fallback_to_pandas
    if progress and engine == "auto":
        progress(f"Engine: {chosen}")
    if chosen == "pandas":
        return _analyze_pandas(source, settings, rules, name, None, progress, warn)
    if isinstance(source, RawTable):
        raise ConfigError(f"The {chosen} engine reads files; an already-read table goes to the pandas engine.")
    if settings.read.sheet or settings.read.all_sheets:
        raise ConfigError("--sheet and --all-sheets apply to workbooks, which only the pandas engine reads.")
    if isinstance(source, bytes | bytearray | memoryview):
        suffix = Path(name or "upload.csv").suffix or ".csv"
        with tempfile.TemporaryDirectory(prefix="rfm-bytes-") as tmp:
            path = Path(tmp) / f"input{suffix}"
            path.write_bytes(bytes(source))
            result = _analyze_files(str(path), settings, rules, chosen, spark_master, progress, warn, fallback)
        return dataclasses.replace(result, input_name=name or "upload")
    return _analyze_files(str(source), settings, rules, chosen, spark_master, progress, warn, fallback)


def _analyze_pandas(source: Source | RawTable, settings: AnalysisSettings, rules: RuleSet, name: str | None,
                    aggregator: Aggregator | None, progress: Progress | None, warn: bool) -> AnalysisResult:
    if isinstance(source, RawTable):
        raw = source
    elif isinstance(source, str | Path):
        raw = read_table(_one_file(source), name, settings.read, progress)
    else:
        raw = read_table(source, name, settings.read, progress)
    if progress:
        progress(f"Mapping {len(raw.frame):,} rows")
    mapped = apply_mapping(raw, dict(settings.mapping), settings.cleaning.dayfirst)
    if progress:
        progress("Cleaning")
    cleaned = clean(mapped, settings.cleaning)
    as_of = settings.as_of or default_as_of(cleaned.transactions)
    if progress:
        progress("Aggregating per customer")
    customers = aggregate(cleaned.transactions, as_of, aggregator)
    if progress:
        progress("Scoring and segmenting")
    seg = segment_customers(customers, settings.scoring, rules, warn=warn)
    return AnalysisResult("pandas", raw.name, raw.sha256, cleaned.input_rows, cleaned.ledger, as_of, customers, seg,
                          settings, dict(mapped.mapping), mapped.reading, mapped.guessed, mapped.warnings,
                          mapped.notes, mapped.guesses, raw, mapped, cleaned)


def _analyze_files(spec: str, settings: AnalysisSettings, rules: RuleSet, engine: str, spark_master: str,
                   progress: Progress | None, warn: bool, fallback: bool = False) -> AnalysisResult:
    from .engines.files import expand_paths
    from .read import file_sha256

    if progress:
        progress(f"Cleaning and aggregating with {engine}")
    # The provenance's SHA-256 reads every byte again (0.3 s for a 0.5 GB CSV): it runs beside the engine, whose
    # threads leave gaps (sniffing, planning, fetching results), not after it. hashlib releases the GIL.
    with ThreadPoolExecutor(1, thread_name_prefix="rfm-sha256") as pool:
        digest = pool.submit(lambda: "(remote: not hashed)" if "://" in spec else
                             file_sha256(*(Path(p) for p in expand_paths(spec))))
        return _analyze_engine(spec, settings, rules, engine, spark_master, progress, warn, fallback, digest)


def _analyze_engine(spec: str, settings: AnalysisSettings, rules: RuleSet, engine: str, spark_master: str,
                    progress: Progress | None, warn: bool, fallback: bool, digest: Future[str]) -> AnalysisResult:
    mapping = dict(settings.mapping)
    if engine == "duckdb" and fallback:
        from .engines import EngineChoice, run_auto

        found, choice = run_auto(spec, EngineChoice("duckdb", ""), mapping, settings.cleaning, settings.as_of)
        if found is None:
            if progress:
                progress(f"Engine: pandas ({choice.reason})")
            result = _analyze_pandas(spec, settings, rules, None, None, progress, warn)
            said = f"Read with pandas, not DuckDB: {choice.reason}."
            return dataclasses.replace(result, notes=(said, *result.notes), guesses=(said, *result.guesses))
        fres = found
    elif engine == "duckdb":
        from .engines.duckdb_engine import duckdb_customers_from_files

        fres = duckdb_customers_from_files(spec, mapping, settings.cleaning, settings.as_of)
    else:
        from .engines.spark_engine import spark_customers_from_files

        fres = spark_customers_from_files(spec, mapping, settings.cleaning, settings.as_of, master=spark_master)
    if progress:
        progress("Scoring and segmenting")
    seg = segment_customers(fres.customers, settings.scoring, rules, warn=warn)
    given = {role for role, col in mapping.items() if col}
    reading = file_reading(engine, fres.mapping, given, fres.notes, fres.customer_ids)
    return AnalysisResult(engine, spec, digest.result(), fres.input_rows, fres.ledger, fres.as_of, fres.customers, seg,
                          settings, dict(fres.mapping), reading, not set(fres.mapping) <= given, fres.warnings,
                          fres.notes, fres.guesses)


def result_provenance(result: AnalysisResult) -> dict[str, Any]:
    """Provenance of a full analysis, for every export (same as :meth:`AnalysisResult.provenance`)."""
    return result.provenance()
