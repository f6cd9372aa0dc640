"""Command line: ``python -m rfm_core segment INPUT ...`` and friends.

Exit codes: 0 success (one-line summary on stderr), 2 bad input or settings (one ``error:`` line, no traceback),
3 an unexpected internal error (one line; set ``RFM_DEBUG=1`` for the traceback).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from .columns import INVOICE_ID
from .errors import ConfigError, RfmError, RfmWarning
from .formatting import NO_CURRENCY, Currency, counted, detect_currency, effective_currency
from .settings import (
    CLV_UNITS,
    METRICS,
    SCORING_METHODS,
    AnalysisSettings,
    CleaningPolicy,
    ClvSettings,
    MetricScoring,
    ReadOptions,
    ScoringSettings,
    help_for,
)

if TYPE_CHECKING:
    from .pipeline import AnalysisResult

__all__ = ["main"]


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


class _Parser(argparse.ArgumentParser):
    """argparse with the CLI's promise for argument errors too: one ``error:`` line, exit code 2 (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message}. {self.prog} --help lists the options.\n")


def _build_parser() -> argparse.ArgumentParser:
    # subparsers are made with the parent's class, so their errors are one line too
    p = _Parser(prog="python -m rfm_core", description="RFM customer segmentation.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("segment", help="Segment the customers in a transaction file.")
    s.add_argument("input", help="CSV, XLSX/XLSM or Parquet file (duckdb/spark engines: also a folder or a glob).")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--sheet", help=help_for(ReadOptions, "sheet"))
    g.add_argument("--all-sheets", action="store_true", help=help_for(ReadOptions, "all_sheets"))
    # One value per flag: main() splits "--map a=X b=Y" into repeated flags first (nargs="+" would take INPUT too).
    s.add_argument("--map", action="append", default=[], metavar="CANONICAL=COLUMN",
                   help="Use COLUMN as CANONICAL (customer_id, invoice_id, invoice_date, quantity, unit_price, "
                        "amount, country, stock_code, description); several pairs after one --map, or repeat it.")
    s.add_argument("--as-of", type=_date, help=help_for(AnalysisSettings, "as_of"))
    s.add_argument("--today", type=_date, help=help_for(CleaningPolicy, "today"))
    s.add_argument("--bins", type=int, default=5, help="Scores per metric, 2-10 (default 5).")
    s.add_argument("--method", choices=list(SCORING_METHODS), default="auto",
                   help=help_for(MetricScoring, "method"))
    s.add_argument("--edges", action="append", default=[], metavar="METRIC=E1,E2,...",
                   help="Custom thresholds for one metric (recency, frequency, monetary); bins = edges + 1.")
    s.add_argument("--rules", type=Path, help="Segment rules as TOML (default: the 11 standard segments).")
    s.add_argument("--returns", choices=["exclude", "net"], default="exclude",
                   help=help_for(CleaningPolicy, "returns"))
    s.add_argument("--keep-missing-customers", action="store_true",
                   help="Keep rows without a customer id as one '(unknown)' customer.")
    s.add_argument("--keep-duplicates", action="store_true", help="Do not drop exact duplicate lines.")
    s.add_argument("--keep-nonpositive-prices", action="store_true", help="Keep lines with unit price <= 0.")
    s.add_argument("--start", type=_date, help=help_for(CleaningPolicy, "start"))
    s.add_argument("--end", type=_date, help=help_for(CleaningPolicy, "end"))
    s.add_argument("--country", action="append", default=[], help="Only this country; repeatable.")
    d = s.add_mutually_exclusive_group()
    d.add_argument("--dayfirst", action="store_const", const=True, dest="dayfirst", help="Dates are DD/MM/YYYY.")
    d.add_argument("--monthfirst", action="store_const", const=False, dest="dayfirst", help="Dates are MM/DD/YYYY.")
    s.add_argument("--out", type=Path, help="Segmented customers CSV (default: print a summary only).")
    s.add_argument("--summary", type=Path, help="Per-segment summary CSV.")
    s.add_argument("--xlsx", type=Path, help="Excel workbook with summary, customers, rules, ledger, provenance.")
    s.add_argument("--report", type=Path, help="Self-contained HTML report.")
    s.add_argument("--currency", metavar="CODE",
                   help="ISO 4217 code (GBP, USD, EUR, ...) money is shown in, in --xlsx (number formats) and "
                        "--report. Default: the currency a platform export states in a currency column, else none. "
                        "CSV files keep plain numbers.")
    s.add_argument("--currency-after", action="store_true",
                   help="Put the currency symbol after the number (1,234.50 €) in --xlsx and --report.")
    s.add_argument("--ledger", type=Path, help="Row ledger CSV (reason, rows).")
    s.add_argument("--dropped", type=Path, help="CSV of every dropped input row with its reason.")
    s.add_argument("--engine", choices=["pandas", "duckdb", "spark", "auto"], default="pandas",
                   help="pandas (default; any format, messy files); duckdb (CSV/Parquet files or globs, out of core); "
                        "spark (CSV/Parquet on Spark); auto (duckdb when the input is too large for memory).")
    s.add_argument("--spark-master", default="local[*]", help="Spark master URL for --engine spark.")

    c = sub.add_parser("clv", help="Customer lifetime value: BG/NBD, MBG/NBD or Pareto/NBD (best on a holdout) and "
                                   "Gamma-Gamma, with a holdout check.")
    c.add_argument("input", help="CSV, XLSX/XLSM or Parquet file.")
    c.add_argument("--map", action="append", default=[], metavar="CANONICAL=COLUMN",
                   help="Use COLUMN as CANONICAL; several pairs after one --map, or repeat it.")
    c.add_argument("--today", type=_date, help=help_for(CleaningPolicy, "today"))
    c.add_argument("--sheet")
    c.add_argument("--keep-duplicates", action="store_true",
                   help="Keep exact duplicate lines: in a file without an order id they can be separate purchases "
                        "(the CDNOW sample needs it to reproduce the published Gamma-Gamma estimates).")
    c.add_argument("--calibration-end", type=_date,
                   help="Fit on purchases up to this date and compare predictions with what happened after it "
                        "(default for the model choice: hold out the last quarter of the history).")
    c.add_argument("--model", choices=["auto", "bgnbd", "mbgnbd", "pareto"], default="auto",
                   help="Purchase model; auto (default) takes the one with the lowest error per customer on the "
                        "holdout.")
    clv_defaults = ClvSettings()
    c.add_argument("--time-unit", choices=list(CLV_UNITS), default=clv_defaults.unit,
                   help=help_for(ClvSettings, "unit") + f" Default {clv_defaults.unit}.")
    c.add_argument("--horizon-months", type=int, default=clv_defaults.horizon_months,
                   help=help_for(ClvSettings, "horizon_months") + f" Default {clv_defaults.horizon_months}.")
    c.add_argument("--discount-rate", type=float, default=clv_defaults.annual_discount_rate,
                   help=help_for(ClvSettings, "annual_discount_rate")
                   + f" Default {clv_defaults.annual_discount_rate}.")
    c.add_argument("--out", type=Path, help="Per-customer CLV CSV.")
    c.add_argument("--params-out", type=Path, help="Fitted parameters as JSON.")
    c.add_argument("--holdout-out", type=Path, help="Holdout comparison per frequency as CSV.")

    b = sub.add_parser("backtest", help="Segment the customers as of a past date and measure what each segment "
                                        "bought in the following window.")
    b.add_argument("input", help="CSV, XLSX/XLSM or Parquet file.")
    b.add_argument("--at", type=_date, required=True, help="The backtest date: segments use purchases before it.")
    b.add_argument("--window", type=int, default=90, help="Days measured from the backtest date (default 90).")
    b.add_argument("--map", action="append", default=[], metavar="CANONICAL=COLUMN")
    b.add_argument("--sheet")
    b.add_argument("--bins", type=int, default=5, help="Scores per metric, 2-10 (default 5).")
    # The same methods and default as segment: a backtest scores as the segmentation it tests does.
    b.add_argument("--method", choices=list(SCORING_METHODS), default="auto", help=help_for(MetricScoring, "method"))
    b.add_argument("--edges", action="append", default=[], metavar="METRIC=E1,E2,...",
                   help="Custom thresholds for one metric (recency, frequency, monetary); bins = edges + 1.")
    b.add_argument("--rules", type=Path, help="Segment rules as TOML (default: the 11 standard segments).")
    b.add_argument("--model", choices=["bgnbd", "mbgnbd", "pareto"],
                   help="Also predict each segment's purchase days in the window with this model.")
    b.add_argument("--out", type=Path, help="Per-segment backtest CSV.")

    f = sub.add_parser("fetch-uci", help="Download the original Online Retail workbook from UCI into a cache.")
    f.add_argument("--cache", type=Path, help="Cache folder (default ~/.cache/rfm_core).")
    f.add_argument("--url", default=None, help="Where to download from (default: the UCI repository).")
    f.add_argument("--sha256", help="Expected SHA-256 of the archive (or set RFM_UCI_SHA256).")

    sm = sub.add_parser("sample", help="Write a generated Online-Retail-like CSV.")
    sm.add_argument("out", type=Path)
    sm.add_argument("--customers", type=int, default=1500)
    sm.add_argument("--seed", type=int, default=7)

    r = sub.add_parser("rules", help="Write the default segment rules as TOML, or lint a rules file.")
    r.add_argument("--out", type=Path, help="Where to write the default rules (default: stdout).")
    r.add_argument("--lint", type=Path, help="A rules file to check.")
    r.add_argument("--bins", type=int, default=5, help="Bins of R, F and M to check the rules at (2-10).")
    r.add_argument("--r-bins", type=int, help="Recency bins, if different from --bins.")
    r.add_argument("--f-bins", type=int, help="Frequency bins, if different from --bins.")
    r.add_argument("--m-bins", type=int, help="Monetary bins, if different from --bins.")
    return p


def _scoring(args: argparse.Namespace) -> ScoringSettings:
    scoring = ScoringSettings.uniform(args.bins, "auto" if args.method == "thresholds" else args.method)
    if args.method == "thresholds" and not args.edges:
        raise ConfigError("--method thresholds needs --edges METRIC=E1,E2,... for at least one metric.")
    for spec in args.edges:
        metric, _, values = spec.partition("=")
        if metric not in METRICS:
            raise ConfigError(f"--edges {spec}: the metric must be one of {', '.join(METRICS)}.")
        try:
            edges = tuple(float(v) for v in values.split(",") if v.strip())
        except ValueError:
            raise ConfigError(f"--edges {spec}: edges must be numbers separated by commas.") from None
        scoring = scoring.replace(metric, MetricScoring(len(edges) + 1, "thresholds", edges))
    return scoring


_PAIR = re.compile(r"^\w+=")


def _group_map_pairs(argv: Sequence[str]) -> list[str]:
    """``--map a=X b=Y INPUT`` -> ``--map a=X --map b=Y INPUT``: argparse would take INPUT as one more pair.

    After ``--map``, a word continues the list only when it looks like ``role=column`` and is not a path or
    glob that exists or matches (``year=2024/*.parquet``); anything else ends the list.
    """
    out: list[str] = []
    in_map = first = False
    for arg in argv:
        if arg == "--map":
            in_map, first = True, True
            continue
        if in_map and not arg.startswith("-") and (first or (_PAIR.match(arg) and not _is_path(arg))):
            out += ["--map", arg]
            first = False
            continue
        in_map = False
        out.append(arg)
    return out


def _is_path(arg: str) -> bool:
    return os.path.exists(arg) or any(ch in arg for ch in "*?[") or "/" in arg.split("=", 1)[0]


def _mapping(items: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--map {item!r}: write it as CANONICAL=COLUMN, e.g. --map customer_id=Client.")
        out[key.strip()] = value.strip()
    return out


class _Progress:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.t0 = time.perf_counter()

    def __call__(self, message: str) -> None:
        if self.enabled:
            print(f"[{time.perf_counter() - self.t0:5.1f}s] {message}...", file=sys.stderr, flush=True)


def _segment(args: argparse.Namespace) -> str:
    from .pipeline import analyze, resolve_engine
    from .segment import DEFAULT_RULES, RuleSet

    rules = DEFAULT_RULES
    if args.rules:
        try:
            rules = RuleSet.from_toml(args.rules.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"Cannot read the rules file {args.rules}: {exc.strerror}.") from None
    settings = AnalysisSettings(
        read=ReadOptions(sheet=args.sheet, all_sheets=args.all_sheets),
        mapping=tuple(sorted(_mapping(args.map).items())),
        cleaning=CleaningPolicy(
            drop_missing_customer=not args.keep_missing_customers, drop_duplicates=not args.keep_duplicates,
            returns=args.returns, drop_nonpositive_price=not args.keep_nonpositive_prices, start=args.start,
            end=args.end, countries=tuple(args.country), dayfirst=args.dayfirst, today=args.today),
        scoring=_scoring(args),
        as_of=args.as_of,
        currency=Currency(args.currency, "after" if args.currency_after else "before"),
    )
    progress = _Progress(sys.stderr.isatty())
    if args.engine == "auto" and "://" not in str(args.input):
        from .engines import engine_choice
        from .engines.files import expand_paths

        choice = engine_choice(expand_paths(str(args.input)), dict(settings.mapping), settings.cleaning.dayfirst,
                               pandas_only="--dropped" if args.dropped else None)
        engine = choice.engine
        print(choice.note(), file=sys.stderr)
    else:
        engine = resolve_engine(args.engine, str(args.input))
    if args.dropped and engine != "pandas":  # refused before the work, not after it
        raise ConfigError(f"--dropped is not available with --engine {engine} (it would copy every dropped "
                          "row out of the data set); the ledger still counts them by reason.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RfmWarning)
        if args.engine == "auto":
            progress(f"Engine: {engine}")
        # auto: a file DuckDB turns out not to read as pandas would is analysed by pandas (a `read:` line says so)
        result = analyze(str(args.input), settings, rules, engine=engine, spark_master=args.spark_master,
                         progress=progress, fallback_to_pandas=args.engine == "auto")
    reading = _reading_lines(result.mapping, result.guessed, result.warnings, result.guesses)
    for line in reading:
        print(line, file=sys.stderr)
    for w in caught:
        if issubclass(w.category, RfmWarning):
            print(f"warning: {w.message}", file=sys.stderr)
    for info in result.segmentation.scored.bins.values():  # effective edges and customers per score, per metric
        print(info.summary_line(), file=sys.stderr)
    for message in result.segmentation.lint.messages():  # rules that can never win at these bins, uncovered cells
        print(f"warning: {message}", file=sys.stderr)
    return _write_outputs(args, result, progress)


def _reading_lines(mapping: dict[str, str], guessed: bool, warnings_: Sequence[str],
                   guesses: Sequence[str] = ()) -> list[str]:
    """The ``mapped:`` line (when any column was detected rather than given by --map), a ``read:`` line per guess
    the reader made from the data (platform, encoding, date format and order, decimal mark, time zones: marked by
    :func:`rfm_core.mapping.apply_mapping`), and ``warning:`` lines for reading decisions the data could not prove."""
    from .mapping import describe_mapping

    lines = [f"mapped: {describe_mapping(mapping)}"] if guessed else []
    lines += [f"read: {n}" for n in guesses]
    return lines + [f"warning: {w}" for w in warnings_]


def _write_outputs(args: argparse.Namespace, result: AnalysisResult, progress: _Progress) -> str:
    from .export import excel_workbook, html_report, provenance_json, segments_csv, table_csv

    seg = result.segmentation
    prov = result.provenance()
    written = []
    money_in = _currency_of(result) if args.xlsx or args.report else NO_CURRENCY
    if args.out:
        progress("Writing segments CSV")
        _write(args.out, segments_csv(seg.customers))
        _write(args.out.with_name(args.out.name + ".provenance.json"), provenance_json(prov).encode())
        written.append(str(args.out))
    if args.summary:
        _write(args.summary, table_csv(seg.summary))
        written.append(str(args.summary))
    if args.ledger:
        _write(args.ledger, table_csv(result.ledger))
        written.append(str(args.ledger))
    if args.dropped:
        _write(args.dropped, table_csv(result.dropped_rows()))
        written.append(str(args.dropped))
    if args.xlsx:
        progress("Writing Excel workbook")
        _write(args.xlsx, excel_workbook(seg.customers, seg.summary, result.ledger, prov, seg.rules, money_in))
        written.append(str(args.xlsx))
    if args.report:
        progress("Writing HTML report")
        from .charts import report_figures

        figs = report_figures(seg, result.transactions, money_in)
        page = html_report(title=f"RFM segments: {result.input_name}", kpis=seg.kpis, summary=seg.summary,
                           insights=seg.insights, rules=seg.rules, ledger=result.ledger, prov=prov, figures=figs,
                           currency=money_in)
        _write(args.report, page.encode("utf-8"))
        written.append(str(args.report))
    segments = int((seg.summary["customers"] > 0).sum())
    line = (f"{counted(len(seg.customers), 'customer', 'customers')} in {counted(segments, 'segment', 'segments')} "
            f"from {counted(result.input_rows, 'row', 'rows')} "
            f"({result.rows_used:,} used), as of {result.as_of}")
    return line + (f"; wrote {', '.join(written)}" if written else "")


def _currency_of(result: AnalysisResult) -> Currency:
    """The currency of the workbook and the report: ``--currency``, else the one the file states (pandas engine:
    the rows as read are at hand), else none; said on stderr when taken from the file."""
    chosen = result.settings.currency
    detected = detect_currency(result.raw.frame) if result.raw is not None and not chosen.code else None
    if detected:
        print(f"money: {detected}, as the file's currency column states (--currency to choose another)",
              file=sys.stderr)
    return effective_currency(chosen, detected)


def _write(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as exc:
        raise RfmError(f"Cannot write {path}: {exc.strerror or exc}. Choose a writable location.") from None


_UNIT_NAMES = {"D": "day", "W": "week", "M": "month"}
_MODEL_ARG = {"auto": "auto", "bgnbd": "bgnbd", "mbgnbd": "mbgnbd", "pareto": "pareto_nbd"}


def _clv(args: argparse.Namespace) -> str:
    import json

    from .clv import BY_CONSTRUCTION, MODEL_LABELS, clv_table
    from .export import table_csv
    from .pipeline import analyze
    from .views import clv_with_segments

    # checked before the file is read: a wrong horizon or rate is one error line, not a wait and then an error
    clv_settings = ClvSettings(args.time_unit, args.horizon_months, args.discount_rate, _MODEL_ARG[args.model],
                               args.calibration_end)
    settings = AnalysisSettings(read=ReadOptions(sheet=args.sheet), mapping=tuple(sorted(_mapping(args.map).items())),
                                cleaning=CleaningPolicy(drop_duplicates=not args.keep_duplicates, today=args.today))
    result = analyze(Path(args.input), settings, warn=False)
    _warn_duplicates(result)
    tx = result.require_transactions("Lifetime value")
    clv = clv_table(tx, calibration_end=clv_settings.calibration_end, unit=clv_settings.unit,  # type: ignore[arg-type]
                    model=clv_settings.model,  # type: ignore[arg-type]
                    horizon_months=clv_settings.horizon_months, annual_discount_rate=clv_settings.annual_discount_rate)
    if clv.comparison is not None:
        cmp = clv.comparison
        print(f"holdout {cmp.calibration_end} .. {cmp.holdout_end}: repeat purchase days predicted vs actual, mean "
              "absolute error per customer", file=sys.stderr)
        from .clv.holdout import MAE_DECIMALS

        tied = cmp.tied
        for row in cmp.table.to_dict("records"):
            text = (f"{row['predicted']:,.0f} vs {row['actual']:,.0f} ({row['total_error']:+.1%}), error "
                    f"{row['mae']:.{MAE_DECIMALS}f}" if not row["note"] else f"not fitted: {row['note']}")
            mark = ("  <- best (tie, chosen)" if row["model"] in tied else "  <- best") if row["best"] else (
                "  <- tie" if row["model"] in tied else "")
            print(f"  {row['label']:<11} {text}{mark}", file=sys.stderr)
        if cmp.tie_note():
            print(f"note: {cmp.tie_note()}", file=sys.stderr)
        print(cmp.by_frequency.to_string(index=False, float_format=lambda v: f"{v:.3f}"), file=sys.stderr)
        if args.holdout_out:
            _write(args.holdout_out, table_csv(cmp.by_frequency))
    for note in (clv.horizon_note, clv.churn_note):
        if note:
            print(f"warning: {note}", file=sys.stderr)
    if clv.spend_note:
        print(f"warning: no CLV in money: {clv.spend_note}", file=sys.stderr)
    table = clv_with_segments(clv.table, result.segmentation.customers)
    messages = []
    if args.out:
        _write(args.out, table_csv(table))
        messages.append(f"wrote {args.out}")
    if args.params_out:
        _write(args.params_out, json.dumps(clv.params_json(), indent=2).encode())
        messages.append(f"wrote {args.params_out}")
    for reading_line in _reading_lines(result.mapping, result.guessed, result.warnings, result.guesses):
        print(reading_line, file=sys.stderr)  # after the steps that can fail: an error stays one line
    fits = "; ".join(f"{MODEL_LABELS[n]} " + " ".join(f"{k}={v:.4g}" for k, v in m.params().items())
                     for n, m in clv.models.items())
    line = (f"{len(table):,} customers; model {clv.choice_note}; {fits} (per {_UNIT_NAMES[args.time_unit]})")
    if clv.gamma_gamma is not None:
        gg = clv.gamma_gamma
        line += (f"; Gamma-Gamma p={gg.p:.4g} q={gg.q:.4g} v={gg.v:.4g}; {args.horizon_months}-month CLV total "
                 f"{table[f'clv_{args.horizon_months}m'].sum():,.0f}")
    gone = clv.likely_gone
    line += (f"; {gone:,} customers more likely gone than active" if gone is not None
             else "; churn not estimable (no measurable dropout)")
    line += f"; P(alive) = 1 by construction for {int(table[BY_CONSTRUCTION].sum()):,} customers"
    return line + ("; " + ", ".join(messages) if messages else "")


def _warn_duplicates(result: AnalysisResult) -> None:
    """Without an order id, identical lines may be two purchases on one day; say how many were dropped."""
    ledger = result.ledger
    dropped = int(ledger.loc[ledger["reason"] == "exact duplicate line", "rows"].sum())
    if dropped and INVOICE_ID not in result.mapping:
        print(f"warning: {dropped:,} exact duplicate lines were dropped; the file has no order id, so they may be "
              "separate purchases on the same day (--keep-duplicates keeps them).", file=sys.stderr)


def _backtest(args: argparse.Namespace) -> str:
    from .backtest import backtest
    from .export import table_csv
    from .pipeline import analyze
    from .segment import DEFAULT_RULES, RuleSet

    rules = DEFAULT_RULES
    if args.rules:
        try:
            rules = RuleSet.from_toml(args.rules.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"Cannot read the rules file {args.rules}: {exc.strerror}.") from None
    scoring = _scoring(args)
    settings = AnalysisSettings(read=ReadOptions(sheet=args.sheet), mapping=tuple(sorted(_mapping(args.map).items())),
                                scoring=scoring)
    result = analyze(Path(args.input), settings, rules, warn=False)
    model = _MODEL_ARG[args.model] if args.model else None
    bt = backtest(result.require_transactions("The backtest"), args.at, args.window, scoring, rules, model=model)
    if bt.note:
        print(f"warning: {bt.note}", file=sys.stderr)
    print(bt.table.to_string(index=False, float_format=lambda v: f"{v:,.3f}"), file=sys.stderr)
    if args.out:
        _write(args.out, table_csv(bt.table))
    overall = bt.table.iloc[-1]
    segments = bt.table.iloc[:-1]
    best = segments.iloc[int(segments["repeat_rate"].to_numpy().argmax())]
    worst = segments.iloc[int(segments["repeat_rate"].to_numpy().argmin())]
    line = (f"backtest at {bt.at}, {bt.window_days}-day window: {int(overall['customers']):,} customers in "
            f"{len(segments)} segments, {overall['repeat_rate']:.1%} bought again (highest {best['segment']} "
            f"{best['repeat_rate']:.1%}, lowest {worst['segment']} {worst['repeat_rate']:.1%}); "
            f"{bt.new_customers:,} new customers in the window not segmented")
    return line + (f"; wrote {args.out}" if args.out else "")


def _rules(args: argparse.Namespace) -> str:
    from .segment import DEFAULT_RULES, RuleSet, lint

    if args.lint:
        try:
            text = args.lint.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"Cannot read the rules file {args.lint}: {exc.strerror}.") from None
        rules = RuleSet.from_toml(text)
        bins = tuple(MetricScoring(b).bins for b in (args.r_bins or args.bins, args.f_bins or args.bins,
                                                       args.m_bins or args.bins))
        report = lint(rules, (bins[0], bins[1], bins[2]))
        for msg in report.messages():
            print(msg)
        return f"{len(rules.rules)} rules: " + ("no problems" if report.ok else f"{len(report.messages())} problem(s)")
    text = DEFAULT_RULES.to_toml()
    if args.out:
        _write(args.out, text.encode("utf-8"))
        return f"wrote {args.out}"
    sys.stdout.write(text)
    return "default rules written to stdout"


def _check_csv_out(out: Path | None, workbook_flag: str | None) -> None:
    """Refuse an ``--out`` (always CSV) named like a workbook or a Parquet file: it would be CSV text under a name
    Excel or a Parquet reader cannot open (an acceptance run wrote ``--out y.xlsx`` and got CSV bytes, silently)."""
    if out is None or not out.name.lower().endswith((".xlsx", ".xlsm", ".xls", ".parquet")):
        return
    workbook = out.name.lower().endswith((".xlsx", ".xlsm", ".xls"))
    # the workbook the CLI writes is a plain .xlsx (no macros: Excel refuses one named .xlsm)
    instead = (f", or use {workbook_flag} {out.with_suffix('.xlsx').name} for the Excel workbook"
               if workbook_flag and workbook else "")
    raise ConfigError(f"--out writes a CSV file, but {out.name} is named like another format. Name it "
                      f"{out.with_suffix('.csv').name}{instead}.")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command (``argv`` without the program name; default ``sys.argv[1:]``) and return the exit code:
    0 success (the summary line on stderr), 2 bad input or settings (one ``error:`` line), 3 an internal error (one
    line; ``RFM_DEBUG=1`` re-raises it), 130 interrupted. Never raises except under ``RFM_DEBUG``."""
    parser = _build_parser()
    args = parser.parse_args(_group_map_pairs(sys.argv[1:] if argv is None else argv))
    # A one-shot process: the system allocator returns Arrow's freed read buffers to the OS instead of pooling
    # them (measured on the 541,909-line CSV: peak RSS 318 MB instead of 354 MB, and no slower).
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())
    try:
        if args.command in ("segment", "clv", "backtest"):
            _check_csv_out(args.out, "--xlsx" if args.command == "segment" else None)
        if args.command == "segment":
            message = _segment(args)
        elif args.command == "clv":
            message = _clv(args)
        elif args.command == "backtest":
            message = _backtest(args)
        elif args.command == "fetch-uci":
            from .fetch import UCI_URL, fetch_uci

            path = fetch_uci(args.cache, args.url or UCI_URL, args.sha256, progress=_Progress(sys.stderr.isatty()))
            print(path)
            message = f"Online Retail workbook at {path} (verified)"
        elif args.command == "sample":
            from .sample import write_sample

            write_sample(args.out, args.customers, args.seed)
            message = f"wrote {args.out}"
        else:
            message = _rules(args)
    except RfmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the promise is "no traceback": report it in one line, unless debugging
        if os.environ.get("RFM_DEBUG"):
            raise
        print(f"error: internal error ({type(exc).__name__}: {exc}). Please report it; RFM_DEBUG=1 shows details.",
              file=sys.stderr)
        return 3
    print(message, file=sys.stderr)
    return 0
