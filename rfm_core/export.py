"""Export stage: segmented customers and summaries as CSV, an Excel workbook, and a self-contained HTML report.

Safety: text that came from the input and starts with ``= + - @``, tab or carriage return is prefixed with
``'`` in CSV and Excel (OWASP CSV injection), so a spreadsheet never evaluates it. In the HTML report all text
is escaped, and chart data is embedded as JSON with ``<`` written as ``\\u003c`` so it cannot close the script.

Provenance: the Excel workbook (sheet *About*) and the HTML report record the tool version, the input's name,
size and SHA-256, the settings and the rules. CSV files stay plain tables (header on the first line) so they
import into CRM and mailing tools; their provenance travels in :func:`provenance_json`, which the CLI writes
beside them and the app offers on the Export page.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import re
from typing import Any

import numpy as np
import pandas as pd

from . import __version__
from .segment import RuleSet

__all__ = [
    "CUSTOMER_EXPORT_COLUMNS",
    "excel_workbook",
    "html_report",
    "neutralise",
    "neutralise_text",
    "provenance",
    "provenance_json",
    "safe_filename",
    "segments_csv",
    "table_csv",
]

CUSTOMER_EXPORT_COLUMNS = [
    "customer_id", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "rfm_score",
    "segment", "first_purchase", "last_purchase", "tenure_days", "avg_order_value", "country",
]
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
# Spreadsheets skip leading spaces (and some full-width forms) before deciding that a cell is a formula.
_LEADING = re.compile(r"^[ \u00a0\u3000]*[=+\-@\uff1d\uff0b\uff0d\uff20]|^[\t\r]")


def neutralise_text(value: object) -> object:
    """One string as :func:`neutralise` writes it: ``'`` in front when a spreadsheet would run it as a formula."""
    if isinstance(value, str) and _LEADING.match(value):
        return "'" + value
    return value


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy in which every text cell and every header that a spreadsheet would run as a formula starts with ``'``.

    The one neutraliser for everything that reaches a CSV or a workbook (OWASP CSV injection): cells that start
    with ``= + - @`` (also after spaces, and their full-width forms), tab or carriage return. Numbers are untouched.
    """
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(s.dtype) or s.dtype == object:
            text = s.astype("string")
            mask = text.str.match(_LEADING).fillna(False)
            if mask.any():
                out[col] = text.where(~mask, "'" + text)
    out.columns = [neutralise_text(c) for c in out.columns]
    return out


def safe_filename(name: str, default: str = "export") -> str:
    """A file name without paths, control characters or shell-special characters."""
    base = re.split(r"[\\/]", str(name))[-1]
    base = re.sub(r"[^A-Za-z0-9._ -]+", "_", base).strip(" ._")
    return base[:100] or default


def provenance(*, input_name: str, input_sha256: str, input_rows: int, settings: dict[str, Any],
               rules: RuleSet, as_of: dt.date, customers: int, reading: dict[str, Any] | None = None
               ) -> dict[str, Any]:
    """What an analysis needs to be reproduced, and how the file was read.

    ``reading`` (:attr:`rfm_core.mapping.MappedTable.reading`) records the format, encoding, delimiter, lines
    decoded as cp1252, the decimal mark per number column, the date format and order with its evidence, time-zone
    offsets, and the mapping with the reason for each column.
    """
    out = {
        "tool": f"rfm_core {__version__}",
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "input_name": input_name,
        "input_sha256": input_sha256,
        "input_rows": input_rows,
        "as_of": as_of.isoformat(),
        "customers": customers,
        "settings": settings,
        "rules_toml": rules.to_toml(),
    }
    if reading is not None:
        out["reading"] = reading
    return out


def provenance_json(prov: dict[str, Any]) -> str:
    return json.dumps(prov, indent=2, ensure_ascii=False, default=str)


def _customer_table(customers: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in CUSTOMER_EXPORT_COLUMNS if c in customers.columns]
    extra = [c for c in customers.columns if c not in cols]
    out = customers[cols + extra].copy()
    for c in ("first_purchase", "last_purchase"):
        if c in out.columns:
            out[c] = out[c].dt.strftime("%Y-%m-%d %H:%M:%S")
    out["segment"] = out["segment"].astype(str)
    return out


def segments_csv(customers: pd.DataFrame, segments: list[str] | None = None) -> bytes:
    """Segmented customers as UTF-8 CSV (optionally only some segments)."""
    data = customers if not segments else customers[customers["segment"].astype(str).isin(segments)]
    return table_csv(_customer_table(data))


def table_csv(frame: pd.DataFrame) -> bytes:
    """Any table as UTF-8 CSV with injection-neutralised text."""
    return neutralise(frame).to_csv(index=False, float_format="%.10g").encode("utf-8")


def excel_workbook(customers: pd.DataFrame, summary: pd.DataFrame, ledger: pd.DataFrame,
                   prov: dict[str, Any], rules: RuleSet) -> bytes:
    """An .xlsx with sheets Summary, Customers, Rules, Ledger and About (provenance)."""
    buf = io.BytesIO()
    about = pd.DataFrame(
        [(k, json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else str(v))
         for k, v in prov.items() if k != "rules_toml"], columns=["key", "value"])
    rules_frame = rules.to_frame()
    rules_frame["condition"] = [r.describe(rules.scale) for r in rules.rules]
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        neutralise(summary).to_excel(xl, sheet_name="Summary", index=False)
        neutralise(_customer_table(customers)).to_excel(xl, sheet_name="Customers", index=False)
        neutralise(rules_frame).to_excel(xl, sheet_name="Rules", index=False)
        neutralise(ledger).to_excel(xl, sheet_name="Ledger", index=False)
        neutralise(about).to_excel(xl, sheet_name="About", index=False)
        for ws in xl.book.worksheets:
            for col in ws.columns:
                width = max(len(str(c.value)) if c.value is not None else 0 for c in list(col)[:200])
                ws.column_dimensions[col[0].column_letter].width = min(max(10, width + 2), 60)
    return buf.getvalue()


def _table_html(frame: pd.DataFrame, formats: dict[str, str] | None = None) -> str:
    formats = formats or {}
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for rec in frame.itertuples(index=False):
        cells = []
        for col, v in zip(frame.columns, rec, strict=True):
            if isinstance(v, float | np.floating) and col in formats:
                text = format(v, formats[col]) if not np.isnan(v) else ""
            else:
                text = str(v)
            cells.append(f"<td>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _figure_div(fig: Any, i: int) -> str:
    spec = fig.to_json().replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return (f'<div id="chart{i}" class="chart"></div><script>(function(){{var f={spec};'
            f'Plotly.newPlot("chart{i}",f.data,f.layout,{{responsive:true}});}})();</script>')


def html_report(*, title: str, kpis: dict[str, float], summary: pd.DataFrame, insights: list[str] | tuple[str, ...],
                rules: RuleSet, ledger: pd.DataFrame, prov: dict[str, Any], figures: list[Any] | None = None,
                include_plotlyjs: bool = True) -> str:
    """A single self-contained HTML page: KPIs, insights, segment table with actions, charts, ledger, provenance."""
    esc = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title>",
             "<style>body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}"
             "table{border-collapse:collapse;margin:1em 0;font-size:14px}td,th{border:1px solid #ddd;padding:4px 8px}"
             "th{background:#f3f5f8}.kpi{display:inline-block;margin:0 2em 1em 0}.kpi b{display:block;font-size:1.6em}"
             "pre{background:#f7f7f7;padding:1em;overflow:auto}</style>"]
    if figures and include_plotlyjs:
        from plotly.offline import get_plotlyjs

        parts.append(f"<script>{get_plotlyjs()}</script>")
    parts.append(f"</head><body><h1>{esc(title)}</h1>")
    parts.append(f"<p>Input <code>{esc(str(prov.get('input_name')))}</code>, "
                 f"analysis date {esc(str(prov.get('as_of')))}, created {esc(str(prov.get('created')))} "
                 f"by {esc(str(prov.get('tool')))}.</p>")
    labels = {"customers": "Customers", "revenue": "Revenue", "orders": "Orders", "avg_order_value": "Avg order value"}
    parts.append("<div>" + "".join(
        f"<span class='kpi'>{esc(lbl)}<b>{kpis.get(k, 0):,.0f}</b></span>" for k, lbl in labels.items()) + "</div>")
    parts.append("<h2>Insights</h2><ul>" + "".join(f"<li>{esc(s)}</li>" for s in insights) + "</ul>")
    parts.append("<h2>Segments and recommended actions</h2>")
    table = summary[["segment", "customers", "customer_share", "revenue", "revenue_share", "avg_order_value"]].copy()
    table["rule"] = [rules.condition(s) for s in table["segment"]]
    table["recommended action"] = [rules.action(s) for s in table["segment"]]
    parts.append(_table_html(table, {"customer_share": ".1%", "revenue_share": ".1%", "revenue": ",.0f",
                                     "avg_order_value": ",.2f"}))
    for i, fig in enumerate(figures or []):
        parts.append(_figure_div(fig, i))
    parts.append("<h2>Data used</h2>")
    parts.append(_table_html(ledger, {"share": ".2%"}))
    parts.append("<h2>Provenance</h2><pre>" + esc(provenance_json(prov)) + "</pre></body></html>")
    return "\n".join(parts)
