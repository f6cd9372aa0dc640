"""Settings as data: frozen dataclasses with defaults, help text and validation.

They hash by content, so the app can pass them straight into ``st.cache_data``, and each field's ``help``
metadata doubles as the widget's tooltip (see :func:`help_for`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import ConfigError

__all__ = [
    "METRICS",
    "AnalysisSettings",
    "CleaningPolicy",
    "MetricScoring",
    "ReadOptions",
    "ScoringMethod",
    "ScoringSettings",
    "help_for",
    "settings_from_toml",
    "settings_to_toml",
]

ScoringMethod = Literal["quantile", "rank", "thresholds"]
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
        "Refuse workbooks whose uncompressed content exceeds this many bytes (zip bombs).", 2_000_000_000
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
        "quantile: equal values always share a score; rank: exact quantile sizes, ties split by customer id; "
        "thresholds: your own edges.",
        "quantile",
    )
    edges: tuple[float, ...] = _help(
        "With method 'thresholds': bins-1 ascending upper edges; a value v scores 1 + the number of edges below v.",
        (),
    )

    def __post_init__(self) -> None:
        if not isinstance(self.bins, int) or not MIN_BINS <= self.bins <= MAX_BINS:
            raise ConfigError(f"Bins must be a whole number from {MIN_BINS} to {MAX_BINS}, not {self.bins!r}.")
        if self.method not in ("quantile", "rank", "thresholds"):
            raise ConfigError(f"Scoring method must be quantile, rank or thresholds, not {self.method!r}.")
        edges = tuple(float(e) for e in self.edges)
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
    def uniform(cls, bins: int = 5, method: ScoringMethod = "quantile") -> ScoringSettings:
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


def settings_to_toml(settings: AnalysisSettings) -> str:
    """The settings as TOML that :func:`settings_from_toml` reads back to equal settings."""
    import json

    def val(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, tuple | list):
            return "[" + ", ".join(val(x) for x in v) + "]"
        return json.dumps(str(v), ensure_ascii=False)

    lines = ["# RFM analysis settings (rfm_core)"]
    if settings.as_of:
        lines.append(f"as_of = {val(settings.as_of)}")
    lines += ["", "[read]"]
    if settings.read.sheet is not None:
        lines.append(f"sheet = {val(settings.read.sheet)}")
    lines.append(f"all_sheets = {val(settings.read.all_sheets)}")
    lines += ["", "[mapping]"] + [f"{k} = {val(v)}" for k, v in settings.mapping if v]
    c = settings.cleaning
    lines += ["", "[cleaning]", f"drop_missing_customer = {val(c.drop_missing_customer)}",
              f"drop_duplicates = {val(c.drop_duplicates)}", f"returns = {val(c.returns)}",
              f"drop_nonpositive_price = {val(c.drop_nonpositive_price)}", f"countries = {val(c.countries)}"]
    lines += [f"{k} = {val(getattr(c, k))}" for k in ("start", "end", "dayfirst", "today") if getattr(c, k) is not None]
    for metric in METRICS:
        spec = settings.scoring.for_metric(metric)
        lines += ["", f"[scoring.{metric}]", f"bins = {spec.bins}", f"method = {val(spec.method)}"]
        if spec.edges:
            lines.append(f"edges = {val(spec.edges)}")
    return "\n".join(lines) + "\n"


def settings_from_toml(text: str) -> AnalysisSettings:
    """Read settings written by :func:`settings_to_toml`; unknown keys fail with the list of known ones."""
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"The settings file is not valid TOML: {exc}.") from None

    def check(section: dict[str, Any], known: set[str], where: str) -> None:
        unknown = set(section) - known
        if unknown:
            raise ConfigError(f"Unknown keys in [{where}]: {', '.join(sorted(unknown))}. Known: "
                              f"{', '.join(sorted(known))}.")

    check(data, {"as_of", "read", "mapping", "cleaning", "scoring"}, "top level")
    read = data.get("read", {})
    check(read, {"sheet", "all_sheets"}, "read")
    cleaning = dict(data.get("cleaning", {}))
    check(cleaning, {f.name for f in dataclasses.fields(CleaningPolicy)}, "cleaning")
    if "countries" in cleaning:
        cleaning["countries"] = tuple(cleaning["countries"])
    scoring = data.get("scoring", {})
    check(scoring, set(METRICS), "scoring")
    specs = {}
    for metric in METRICS:
        raw = dict(scoring.get(metric, {}))
        check(raw, {"bins", "method", "edges"}, f"scoring.{metric}")
        specs[metric] = MetricScoring(raw.get("bins", 5), raw.get("method", "quantile"), tuple(raw.get("edges", ())))
    return AnalysisSettings(
        read=ReadOptions(sheet=read.get("sheet"), all_sheets=bool(read.get("all_sheets", False))),
        mapping=tuple(sorted((str(k), str(v)) for k, v in data.get("mapping", {}).items())),
        cleaning=CleaningPolicy(**cleaning),
        scoring=ScoringSettings(**specs),
        as_of=data.get("as_of"),
    )
