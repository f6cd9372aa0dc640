"""Settings as data: frozen dataclasses with defaults, help text and validation.

They hash by content, so the app can pass them straight into ``st.cache_data``, and each field's ``help``
metadata doubles as the widget's tooltip (see :func:`help_for`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import ConfigError
from .formatting import Currency
from .workbook import DEFAULT_MAX_UNCOMPRESSED_BYTES

__all__ = [
    "CLV_MODELS",
    "METRICS",
    "MIGRATION_MODES",
    "SCORING_METHODS",
    "AnalysisSettings",
    "CleaningPolicy",
    "ClvSettings",
    "MetricScoring",
    "MigrationSettings",
    "ReadOptions",
    "ScoringMethod",
    "ScoringSettings",
    "help_for",
    "migration_dates",
    "settings_from_toml",
    "settings_to_toml",
]

ScoringMethod = Literal["auto", "quantile", "distinct", "rank", "thresholds"]
#: Every scoring method, in the order the CLI and the Settings page offer them.
SCORING_METHODS: tuple[str, ...] = ("auto", "quantile", "distinct", "rank", "thresholds")
METRICS: tuple[str, str, str] = ("recency", "frequency", "monetary")
MIN_BINS, MAX_BINS = 2, 10


def _help(text: str, default: Any) -> Any:
    return field(default=default, metadata={"help": text})


def help_for(cls: type, name: str) -> str:
    """The help text of one settings field, for CLI ``--help`` and widget tooltips."""
    for f in dataclasses.fields(cls):
        if f.name == name:
            return str(f.metadata.get("help", ""))
    raise KeyError(name)


@dataclass(frozen=True)
class ReadOptions:
    """How a file is read. Nothing here interprets values; that is the mapping step's job."""

    sheet: str | None = _help("Workbook sheet to read; default: the first sheet with transaction columns.", None)
    all_sheets: bool = _help("Read every sheet with transaction columns and stack them (Online Retail II).", False)
    max_rows: int = _help("Refuse files with more rows than this (protects memory).", 20_000_000)
    max_uncompressed_bytes: int = _help(
        "Refuse workbooks whose uncompressed content exceeds this many bytes (zip bombs).",
        DEFAULT_MAX_UNCOMPRESSED_BYTES,
    )

    def __post_init__(self) -> None:
        if self.sheet is not None and self.all_sheets:
            raise ConfigError("Choose either one sheet or all sheets, not both.")


@dataclass(frozen=True)
class CleaningPolicy:
    """Which rows are used. Every dropped row is counted in the ledger under the reason named here."""

    drop_missing_customer: bool = _help("Drop rows without a customer id (they cannot be attributed).", True)
    drop_duplicates: bool = _help("Drop exact duplicate lines (every column equal), keeping the first.", True)
    returns: Literal["exclude", "net"] = _help(
        "Cancellations and returns: 'exclude' leaves them out of frequency and monetary; 'net' subtracts their "
        "value from monetary (they never count as orders).",
        "exclude",
    )
    drop_nonpositive_price: bool = _help(
        "Drop lines with a unit price of zero or less (free items, adjustments).", True
    )
    start: dt.date | None = _help("Only use purchases on or after this date.", None)
    end: dt.date | None = _help("Only use purchases on or before this date.", None)
    countries: tuple[str, ...] = _help("Only use these countries (empty: all).", ())
    dayfirst: bool | None = _help(
        "How to read dates like 03/04/2011: True day-first, False month-first, None decide from the data.", None
    )
    drop_future: bool = _help(
        "Drop rows dated after today (typos such as 2031 would otherwise move the analysis date).", True
    )
    today: dt.date | None = _help(
        "The shop's date today, for 'dated after today' (reproducible runs). None: the clock, comparing instants "
        "where a timestamp states its offset and allowing for time zones up to UTC+14 where it does not.", None
    )

    def __post_init__(self) -> None:
        if self.returns not in ("exclude", "net"):
            raise ConfigError(f"returns must be 'exclude' or 'net', not {self.returns!r}.")
        if self.start and self.end and self.start > self.end:
            raise ConfigError(f"The date window starts ({self.start}) after it ends ({self.end}).")
        if not isinstance(self.countries, tuple):
            object.__setattr__(self, "countries", tuple(self.countries))


@dataclass(frozen=True)
class MetricScoring:
    """How one metric is turned into scores 1..bins."""

    bins: int = _help("Number of scores (2-10); for recency the most recent customers get the highest score.", 5)
    method: ScoringMethod = _help(
        "auto (default): quantiles, unless ties make quantile edges coincide, then distinct values. "
        "quantile: k/n quantile cut points. distinct: edges on distinct values, as many scores as the data allows. "
        "All three: equal values share a score, a better value never scores lower, the best value scores n and the "
        "worst 1. rank: equal-size groups; equal values may get different scores (ties inside the range are split "
        "by customer id), only the best and worst values are kept whole at n and 1. thresholds: your own edges.",
        "auto",
    )
    edges: tuple[float, ...] = _help(
        "With method 'thresholds': bins-1 ascending upper edges; a value v scores 1 + the number of edges below v.",
        (),
    )

    def __post_init__(self) -> None:
        if not isinstance(self.bins, int) or not MIN_BINS <= self.bins <= MAX_BINS:
            raise ConfigError(f"Bins must be a whole number from {MIN_BINS} to {MAX_BINS}, not {self.bins!r}.")
        if self.method not in SCORING_METHODS:
            raise ConfigError(f"Scoring method must be one of {', '.join(SCORING_METHODS)}, not {self.method!r}.")
        edges = tuple(float(e) for e in self.edges)
        if not all(math.isfinite(e) for e in edges):  # NaN compares false with everything: it would pass the order test
            raise ConfigError(f"Threshold edges must be finite numbers, not {list(edges)}.")
        object.__setattr__(self, "edges", edges)
        if self.method == "thresholds":
            if len(edges) != self.bins - 1:
                raise ConfigError(
                    f"Custom thresholds for {self.bins} bins need {self.bins - 1} edges; {len(edges)} were given."
                )
            if any(b <= a for a, b in itertools.pairwise(edges)):
                raise ConfigError(f"Threshold edges must increase strictly: {list(edges)}.")


@dataclass(frozen=True)
class ScoringSettings:
    """Scoring for the three metrics."""

    recency: MetricScoring = MetricScoring()
    frequency: MetricScoring = MetricScoring()
    monetary: MetricScoring = MetricScoring()

    @classmethod
    def uniform(cls, bins: int = 5, method: ScoringMethod = "auto") -> ScoringSettings:
        """The same bins and method for R, F and M."""
        spec = MetricScoring(bins=bins, method=method)
        return cls(spec, spec, spec)

    def for_metric(self, metric: str) -> MetricScoring:
        if metric not in METRICS:
            raise ConfigError(f"Unknown metric {metric!r}; use one of {', '.join(METRICS)}.")
        spec: MetricScoring = getattr(self, metric)
        return spec

    def replace(self, metric: str, spec: MetricScoring) -> ScoringSettings:
        self.for_metric(metric)
        return dataclasses.replace(self, **{metric: spec})


@dataclass(frozen=True)
class AnalysisSettings:
    """Everything that defines one analysis, for :func:`rfm_core.analyze` and export provenance."""

    read: ReadOptions = ReadOptions()
    mapping: tuple[tuple[str, str], ...] = ()
    cleaning: CleaningPolicy = CleaningPolicy()
    scoring: ScoringSettings = ScoringSettings()
    as_of: dt.date | None = _help(
        "Analysis date; recency is counted in days up to it. Default: the day after the last purchase used.", None
    )
    currency: Currency = _help(
        "The currency money is shown in (code such as GBP, where the symbol goes). Without a code: the currency a "
        "platform export states in a currency column, else none.", Currency()
    )

    def __post_init__(self) -> None:
        if isinstance(self.mapping, dict):
            object.__setattr__(self, "mapping", tuple(sorted(self.mapping.items())))

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-friendly form, recorded in every export."""

        def conv(value: Any) -> Any:
            if isinstance(value, dt.date):
                return value.isoformat()
            if isinstance(value, tuple):
                return [conv(v) for v in value]
            if isinstance(value, dict):
                return {k: conv(v) for k, v in value.items()}
            return value

        raw = dataclasses.asdict(self)
        raw["mapping"] = dict(self.mapping)
        return {k: conv(v) for k, v in raw.items()}


#: Purchase models the CLV step offers (:data:`rfm_core.clv.MODEL_CHOICES`); ``auto``: best on the holdout.
CLV_MODELS: tuple[str, ...] = ("auto", "bgnbd", "mbgnbd", "pareto_nbd")
CLV_UNITS: tuple[str, ...] = ("D", "W", "M")
MIN_HORIZON_MONTHS, MAX_HORIZON_MONTHS = 1, 120  # as rfm_core.clv.clv_table accepts


@dataclass(frozen=True)
class ClvSettings:
    """Lifetime-value settings (the Lifetime value page, the Export page's CLV columns, ``python -m rfm_core clv``).

    Raises :class:`ConfigError` from ``__post_init__`` for a unit, model, horizon or rate out of range.
    """

    unit: str = _help("Time unit the purchase model counts in: D (days), W (weeks) or M (months of 365.25/12 days). "
                      "Predictions do not depend on it beyond rounding; weeks fit fastest on daily data.", "W")
    horizon_months: int = _help("How many months ahead purchases and value are predicted (1-120).", 12)
    annual_discount_rate: float = _help(
        "Yearly rate at which future revenue is discounted to today's money (0.10: 100 next year is worth about 91 "
        "today); 0 to 0.99.", 0.10)
    model: str = _help("Purchase model: auto takes the one with the lowest error per customer on the holdout; or "
                       "BG/NBD, MBG/NBD, Pareto/NBD.", "auto")
    calibration_end: dt.date | None = _help(
        "The models are fitted on purchases up to this day and compared on what happened after it. Default: hold "
        "out the last quarter of the history.", None)

    def __post_init__(self) -> None:
        if self.unit not in CLV_UNITS:
            raise ConfigError(f"CLV time unit {self.unit!r}: choose D, W or M.")
        if self.model not in CLV_MODELS:
            raise ConfigError(f"CLV model {self.model!r}: choose one of {', '.join(CLV_MODELS)}.")
        if not MIN_HORIZON_MONTHS <= self.horizon_months <= MAX_HORIZON_MONTHS:
            raise ConfigError(f"CLV horizon {self.horizon_months} months: choose {MIN_HORIZON_MONTHS} to "
                              f"{MAX_HORIZON_MONTHS}.")
        if not 0.0 <= self.annual_discount_rate < 1.0:
            raise ConfigError(f"Annual discount rate {self.annual_discount_rate}: choose 0 to 0.99 (0.10 is 10%).")

    def calibration_end_within(self, earliest: dt.date, latest: dt.date, default: dt.date) -> dt.date:
        """The calibration end to use for a history whose allowed ends are ``earliest .. latest``
        (:func:`rfm_core.clv.calibration_choices`): the chosen one when it lies in that range (both ends included),
        else ``default`` (a choice kept from another file, or none)."""
        end = self.calibration_end
        return end if end is not None and earliest <= end <= latest else default


MIGRATION_MODES: tuple[str, ...] = ("re-estimated", "frozen")
#: The earlier date is at least this many days after the first purchase, so it has customers to segment.
MIGRATION_MIN_HISTORY_DAYS = 30
#: Default gap between the two dates of a migration (about a quarter).
MIGRATION_DEFAULT_GAP_DAYS = 90


@dataclass(frozen=True)
class MigrationSettings:
    """Segment migration: the earlier date compared with the analysis date, and how the later date is scored."""

    earlier: dt.date | None = _help(
        f"The earlier date; default {MIGRATION_DEFAULT_GAP_DAYS} days before the analysis date, but at least "
        f"{MIGRATION_MIN_HISTORY_DAYS} days after the first purchase.", None)
    thresholds: str = _help(
        "Score edges at the later date: re-estimated (each date scored against its own customers, as Overview "
        "shows it) or frozen at the earlier date (a move means the customer's own values crossed a fixed edge).",
        "re-estimated")

    def __post_init__(self) -> None:
        if self.thresholds not in MIGRATION_MODES:
            raise ConfigError(f"Migration thresholds {self.thresholds!r}: choose re-estimated or frozen.")


def migration_dates(first_purchase: dt.date, as_of: dt.date) -> tuple[dt.date, dt.date, dt.date]:
    """The earliest, latest and default earlier date of a migration for a history from ``first_purchase`` to the
    analysis date ``as_of``.

    Earliest: ``first_purchase`` + :data:`MIGRATION_MIN_HISTORY_DAYS` days; latest: the day before ``as_of``;
    default: :data:`MIGRATION_DEFAULT_GAP_DAYS` days before ``as_of``, moved up to the earliest when earlier.

    Raises
    ------
    ConfigError
        The history is too short (the earliest date would not be before the analysis date).
    """
    earliest = first_purchase + dt.timedelta(days=MIGRATION_MIN_HISTORY_DAYS)
    latest = as_of - dt.timedelta(days=1)
    if earliest > latest:
        raise ConfigError(f"Migration compares two dates at least {MIGRATION_MIN_HISTORY_DAYS} days after the first "
                          f"purchase ({first_purchase}) and before the analysis date ({as_of}); this history is too "
                          "short. Choose a later analysis date or a file with a longer history.")
    default = max(earliest, as_of - dt.timedelta(days=MIGRATION_DEFAULT_GAP_DAYS))
    return earliest, latest, default


def settings_to_toml(settings: AnalysisSettings) -> str:
    """The settings as TOML (written by tomli-w) that :func:`settings_from_toml` reads back to equal settings.

    Every field of every settings dataclass is written (generically, see :mod:`rfm_core.tomlio`), except fields
    holding None, which read back as their default None. The mapping is a table ``canonical = "column"``; a role
    explicitly left unmapped (None) is written ``false``.
    """
    from . import tomlio

    table = tomlio.to_table(settings, skip=frozenset({"mapping"}))
    mapping = {canonical: (False if column is None else column) for canonical, column in settings.mapping}
    ordered = {k: v for k, v in table.items() if not isinstance(v, dict)}  # top-level keys before the tables
    ordered |= {"mapping": mapping} | {k: v for k, v in table.items() if isinstance(v, dict)}
    return tomlio.dumps(ordered, "RFM analysis settings (rfm_core); load them with settings_from_toml")


def _mapping_from_toml(value: Any, where: str) -> tuple[tuple[str, str | None], ...]:
    if not isinstance(value, dict):
        raise ConfigError(f"[{where}] must be a table of canonical = \"column\" lines.")
    pairs: list[tuple[str, str | None]] = []
    for canonical, column in value.items():
        if column is False:
            pairs.append((canonical, None))
        elif isinstance(column, str):
            pairs.append((canonical, column))
        else:
            raise ConfigError(f"{where}.{canonical} must be a column name in quotes (or false: not mapped), "
                              f"not {column!r}.")
    return tuple(sorted(pairs, key=lambda kv: kv[0]))


def settings_from_toml(text: str) -> AnalysisSettings:
    """Read settings written by :func:`settings_to_toml` (or by hand in the same shape).

    Absent keys take their defaults. Raises :class:`ConfigError` for invalid TOML, unknown keys (the message lists
    the known ones), values of the wrong type, and invalid combinations (the dataclasses' own checks).
    """
    from . import tomlio

    data = tomlio.loads(text, "settings file")
    kwargs = tomlio.from_table(AnalysisSettings, data, "top level", special={"mapping": _mapping_from_toml})
    return AnalysisSettings(**kwargs)
