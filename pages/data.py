"""Data: choose a file (or the sample), pick a sheet, map columns, and see exactly which rows are used."""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from pages import common
from rfm_core import RfmError
from rfm_core.clean import dropped_rows
from rfm_core.columns import CANONICAL
from rfm_core.export import safe_filename, table_csv
from rfm_core.formatting import count, label, percent
from rfm_core.read import RawTable
from rfm_core.views import data_quality, mapping_table, reading_notes

NOT_MAPPED = "(not in file)"
MAPPING_GENERATION = "mapping_generation"
AUTO_SHEET = "(first sheet with transactions)"
UPLOAD_ID = common.UPLOAD_ID


def fresh_mapping() -> None:
    """Forget every mapping choice: a new file (or sheet) gets fresh detection, not the last file's dropdowns.

    The dropdowns are keyed by a generation number, so a new file gets new widgets: with the same keys, the browser
    would keep showing (and send back) the previous file's choices.
    """
    st.session_state[common.MAPPING] = {}
    st.session_state[MAPPING_GENERATION] = st.session_state.get(MAPPING_GENERATION, 0) + 1


st.title("Data")
with st.expander("What is RFM and how to read this app", expanded=bool(st.session_state.get(common.INTRO_OPEN))):
    st.markdown(
        "**RFM** sorts customers by three facts from their purchase history: **Recency** (days since the last "
        "order; fewer is better), **Frequency** (how many orders) and **Monetary** value (what they spent in "
        "total). Each becomes a score from 1 to 5 (by default five groups of about equal size; customers with "
        "the same value share a score), "
        "and the three scores place every customer in one **segment**, such as *Champions* (bought recently, often, "
        "a lot) or *At risk* (used to buy often, not lately).\n\n"
        "**How to use this app**, top to bottom in the menu:\n"
        "1. **Data**: upload your shop's order export (one row per order line) or try the bundled sample. Check the "
        "row ledger: every row is either used or dropped for a named reason.\n"
        "2. **Settings**: the analysis date, which rows count, how scores are cut, and the segment rules.\n"
        "3. **Understand**: segment sizes and revenue (Overview, Charts), and any customer's scores (Customers).\n"
        "4. **Predict**: lifetime value and the chance a customer is still active, and how segments change.\n"
        "5. **Act**: what to do per segment, audiences you can build and download, and the exports.\n\n"
        + ("Your file and settings are kept on this server under this page's address, so a reload brings them "
           "back; **Forget this workspace** in the sidebar deletes them." if common.workspace_days() is not None
           else "This server keeps nothing: a reload starts again with the sample."))
st.caption("Upload a transaction export (CSV, Excel or Parquet), or explore the bundled sample.")

left, right = st.columns([3, 1])
with left:
    upload = st.file_uploader("Transaction file", type=["csv", "txt", "tsv", "xlsx", "xlsm", "parquet"],
                              key="upload", help="One row per invoice line. Needs a customer id, a date, and an "
                                                 "amount or quantity and unit price.")
with right:
    st.write("")
    if st.button("Use the bundled sample", key="use_sample"):
        common.use_sample()
        fresh_mapping()
        st.session_state[common.SHEET] = None

# An upload is taken in once (hashed, and saved to the workspace): the widget keeps offering the same file on every
# run, and hashing a 45 MB workbook each time would cost a tenth of a second per click.
if upload is not None and st.session_state.get(UPLOAD_ID) != upload.file_id:
    st.session_state[UPLOAD_ID] = upload.file_id
    data = upload.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    current: common.Source | None = st.session_state[common.SOURCE]
    if current is None or current.digest != digest:
        common.use_upload(upload.name, data, digest)
        fresh_mapping()
        st.session_state[common.SHEET] = None

src: common.Source = st.session_state[common.SOURCE]
st.markdown(f"**Current file:** {src.name} ({src.size / 1e6:.1f} MB)" + (" — bundled sample" if src.is_sample
                                                                           else ""))

# Sheet picker for workbooks.
try:
    sheets = common.sheets_of(src.digest, src.data)
except RfmError:
    sheets = ()
if sheets:
    options = [AUTO_SHEET, *sheets, common.ALL_SHEETS]
    chosen = st.session_state[common.SHEET]
    sheet = st.selectbox("Sheet", options, index=options.index(chosen) if chosen in options else 0, key="sheet",
                         help="Online Retail II has one sheet per year; stack them to analyse both years.")
    new_sheet = None if sheet == AUTO_SHEET else sheet
    if new_sheet != st.session_state[common.SHEET]:
        st.session_state[common.SHEET] = new_sheet
        fresh_mapping()

# Column mapping: detected choices pre-selected, every one editable.
raw: RawTable | None
try:
    raw = common.load_raw(src.digest, src.name, common.read_options(), src.data)
except RfmError as exc:
    raw = None
    common.show_error(exc, src.name)
if raw is not None:
    columns = [str(c) for c in raw.frame.columns]
    detection = common.detection_of(src.digest, common.read_options(), raw)
    detected = detection.mapping
    overrides: dict[str, str | None] = dict(st.session_state[common.MAPPING])
    with st.expander("Column mapping", expanded=False):
        st.caption("Detected from the headers and the values; change any choice. Required: customer id, invoice "
                   "date, and amount or quantity with unit price.")
        cols = st.columns(3)
        new_overrides: dict[str, str | None] = {}
        for i, canonical in enumerate(CANONICAL):
            options = [NOT_MAPPED, *columns]
            current_col = overrides.get(canonical, detected.get(canonical))
            index = options.index(current_col) if current_col in options else 0
            with cols[i % 3]:
                generation = st.session_state.get(MAPPING_GENERATION, 0)
                picked = st.selectbox(canonical.replace("_", " "), options, index=index,
                                      key=f"map_{canonical}_{generation}")
                value = None if picked == NOT_MAPPED else picked
                if value is None and detected.get(canonical) is None:
                    st.caption("Not found in this file.")
                elif value == detected.get(canonical):
                    st.caption(f"Detected: {detection.reasons.get(canonical, '')}.")
                else:
                    st.caption("Chosen by you." if value else "Left out by you.")
            if value != detected.get(canonical):
                new_overrides[canonical] = value
        for note in detection.notes:
            st.caption(common.app_wording(note))
        if new_overrides != overrides:
            st.session_state[common.MAPPING] = new_overrides
        st.caption("Preview of the first rows as read:")
        st.dataframe(raw.frame.head(5), hide_index=True)

maybe_prep = common.prepared()
if maybe_prep is None:
    st.stop()
prep: common.Prepared = maybe_prep

st.subheader("Data quality")
ledger = prep.cleaned.ledger
quality = data_quality(prep.cleaned, prep.customers)
c1, c2, c3, c4, c5 = st.columns(5)
c1.metric("Rows read", count(quality.rows_read))
common.note_metric(c2, "Rows used", count(quality.rows_used), f"{percent(quality.used_share)} of rows")
c3.metric("Customers", count(quality.customers))
c4.metric("Revenue", common.money(quality.revenue))
if quality.days is not None:
    common.note_metric(c5, "Days of data", count(quality.days), f"{quality.first_day} to {quality.last_day}")

lc, rc = st.columns([1, 1])
with lc:
    st.markdown("**Row ledger**: every input row is used or dropped for one named reason.")
    view, config = common.readable_table(ledger)
    st.dataframe(view, hide_index=True, key="ledger_table", column_config=config)
    st.caption(f"Total: {int(ledger['rows'].sum()):,} rows = rows read.")
    base = safe_filename(src.name.rsplit(".", 1)[0])
    st.download_button("Download ledger (CSV)", table_csv(ledger), f"{base}-ledger.csv", "text/csv",
                       key="dl_ledger", on_click="ignore")
    # Deferred: ~0.5 s and 16 MB on the 541,909-row file; valid because no download button starts a run.
    st.download_button("Download dropped rows with reasons (CSV)",
                       lambda: table_csv(dropped_rows(prep.mapped, prep.cleaned)), f"{base}-dropped-rows.csv",
                       "text/csv", key="dl_dropped", on_click="ignore")
with rc:
    problems = prep.mapped.problems
    st.markdown("**Validation problems**")
    if problems.empty:
        st.success("No unreadable values found.", icon=":material/check_circle:")
    else:
        view, config = common.readable_table(problems)
        st.dataframe(view, hide_index=True, key="problems_table", column_config=config)
    st.markdown("**How the file was read**")
    for warning in prep.mapped.warnings:
        st.warning(common.app_wording(warning), icon=":material/warning:")
    notes = reading_notes(prep.mapped)
    money_note = common.currency_of_file(prep.digest, common.read_options(), prep.raw)[1]
    if money_note:  # what the file says about its currency, and whether that is the one shown
        notes.append(money_note)
    st.markdown("\n".join(f"- {n}" for n in notes))
    mapping = mapping_table(prep.mapped)
    mapping["column"] = mapping["column"].map(label)
    mapping.columns = pd.Index(["Role", "File column", "Why"])
    st.dataframe(mapping, hide_index=True)
