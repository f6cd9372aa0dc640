"""The stages composed: ``analyze(source, settings)`` for the CLI, notebooks and tests.

The app calls the stages one by one instead, so it can cache the expensive part (read to customers) and re-run
only scoring and segmenting when a widget changes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from .aggregate import Aggregator, aggregate, default_as_of
from .clean import CleanResult, clean
from .columns import SEGMENT
from .insights import insights, kpis, segment_summary
from .mapping import MappedTable, apply_mapping
from .read import Progress, RawTable, Source, read_table
from .score import ScoreResult, score
from .segment import DEFAULT_RULES, LintReport, RuleSet, assign_segments, lint
from .settings import AnalysisSettings, ScoringSettings

__all__ = ["AnalysisResult", "Segmentation", "analyze", "result_provenance", "segment_customers", "segment_scored"]


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
    """Every stage's output, for exports with provenance."""

    raw: RawTable
    mapped: MappedTable
    cleaned: CleanResult
    as_of: dt.date
    customers: pd.DataFrame
    segmentation: Segmentation
    settings: AnalysisSettings


def analyze(
    source: Source | RawTable,
    settings: AnalysisSettings | None = None,
    rules: RuleSet = DEFAULT_RULES,
    *,
    name: str | None = None,
    engine: Aggregator | None = None,
    progress: Progress | None = None,
    warn: bool = True,
) -> AnalysisResult:
    """Read, map, clean, aggregate, score and segment in one call.

    Parameters
    ----------
    source : path, bytes or RawTable
    settings : AnalysisSettings
    rules : RuleSet
    name : str, optional
        Label for bytes input.
    engine : Aggregator, optional
        Aggregation engine for an already-loaded table (default pandas).
    progress : callable, optional
        Receives a short message before each stage.
    """
    settings = settings or AnalysisSettings()
    raw = source if isinstance(source, RawTable) else read_table(source, name, settings.read, progress)
    if progress:
        progress(f"Mapping {len(raw.frame):,} rows")
    mapped = apply_mapping(raw, dict(settings.mapping), settings.cleaning.dayfirst)
    if progress:
        progress("Cleaning")
    cleaned = clean(mapped, settings.cleaning)
    as_of = settings.as_of or default_as_of(cleaned.transactions)
    if progress:
        progress("Aggregating per customer")
    customers = aggregate(cleaned.transactions, as_of, engine)
    if progress:
        progress("Scoring and segmenting")
    seg = segment_customers(customers, settings.scoring, rules, warn=warn)
    return AnalysisResult(raw, mapped, cleaned, as_of, customers, seg, settings)


def result_provenance(result: AnalysisResult) -> dict[str, object]:
    """Provenance of a full analysis, for every export."""
    from .export import provenance

    return provenance(input_name=result.raw.name, input_sha256=result.raw.sha256,
                      input_rows=result.cleaned.input_rows, settings=result.settings.to_dict(),
                      rules=result.segmentation.rules, as_of=result.as_of,
                      customers=len(result.segmentation.customers),
                      scoring=result.segmentation.scored.provenance(), reading=result.mapped.reading)
