"""rfm_core: RFM customer segmentation, from a raw transaction export to segments, insights and exports.

The pipeline is one module per stage: :mod:`read`, :mod:`mapping`, :mod:`clean`, :mod:`aggregate`,
:mod:`score`, :mod:`segment`, :mod:`insights`, :mod:`export`; :func:`analyze` composes them.
This package never imports Streamlit.
"""

from __future__ import annotations

__version__ = "0.1.0"

import sys as _sys

if _sys.argv[:1] == ["-m"]:
    # ``python -m rfm_core ...``: Python imports this package (argv[0] is "-m" meanwhile) before the CLI runs, and
    # the imports below take about half a second. A workbook named on the command line is parsed on a thread in
    # the meantime (the parse releases the GIL); the reader takes that parse if the bytes match (rfm_core.workbook).
    from .workbook import start_early as _start_early

    _start_early(_sys.argv[1:])

from .aggregate import CUSTOMER_COLUMNS, Aggregator, PandasAggregator, aggregate, default_as_of
from .clean import REASONS, CleanResult, clean, dropped_rows
from .errors import ConfigError, InputFileError, MappingError, ModelFitError, RfmError, RfmWarning
from .insights import insights, kpis, segment_summary
from .mapping import MappedTable, apply_mapping, detect_mapping, parse_dates, parse_numbers
from .pipeline import AnalysisResult, Segmentation, analyze, segment_customers
from .read import RawTable, list_sheets, read_table
from .score import MetricBins, ScoreResult, score
from .segment import DEFAULT_RULES, LintReport, RuleSet, SegmentRule, assign_segments, lint
from .settings import AnalysisSettings, CleaningPolicy, MetricScoring, ReadOptions, ScoringSettings

__all__ = [
    "CUSTOMER_COLUMNS",
    "DEFAULT_RULES",
    "REASONS",
    "Aggregator",
    "AnalysisResult",
    "AnalysisSettings",
    "CleanResult",
    "CleaningPolicy",
    "ConfigError",
    "InputFileError",
    "LintReport",
    "MappedTable",
    "MappingError",
    "MetricBins",
    "MetricScoring",
    "ModelFitError",
    "PandasAggregator",
    "RawTable",
    "ReadOptions",
    "RfmError",
    "RfmWarning",
    "RuleSet",
    "ScoreResult",
    "ScoringSettings",
    "SegmentRule",
    "Segmentation",
    "__version__",
    "aggregate",
    "analyze",
    "apply_mapping",
    "assign_segments",
    "clean",
    "default_as_of",
    "detect_mapping",
    "dropped_rows",
    "insights",
    "kpis",
    "lint",
    "list_sheets",
    "parse_dates",
    "parse_numbers",
    "read_table",
    "score",
    "segment_customers",
    "segment_summary",
]
