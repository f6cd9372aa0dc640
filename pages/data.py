"""Data: choose a file (or the sample), pick a sheet, map columns, and see exactly which rows are used."""

from __future__ import annotations

import streamlit as st

from pages import _widgets, common
from rfm_core import RfmError
from rfm_core.clean import dropped_rows
from rfm_core.export import safe_filename, table_csv
from rfm_core.formatting import count, file_size, label, percent
from rfm_core.read import RawTable
from rfm_core.views import data_quality, reading_notes

st.title("Data")
_widgets.rfm_intro()
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
        _widgets.fresh_mapping()
        st.session_state[common.SHEET] = None

_widgets.take_upload(upload)

src: common.Source = st.session_state[common.SOURCE]
st.markdown(f"**Current file:** {src.name} ({file_size(src.size)})" + (" — bundled sample" if src.is_sample
                                                                           else ""))

# Sheet picker for workbooks.
try:
    sheets = common.sheets_of(src.digest, src.data)
except RfmError:
    sheets = ()
if sheets:
    options = [_widgets.AUTO_SHEET, *sheets, common.ALL_SHEETS]
    chosen = st.session_state[common.SHEET]
    sheet = st.selectbox("Sheet", options, index=options.index(chosen) if chosen in options else 0, key="sheet",
                         help="Online Retail II has one sheet per year; stack them to analyse both years.")
    new_sheet = None if sheet == _widgets.AUTO_SHEET else sheet
    if new_sheet != st.session_state[common.SHEET]:
        st.session_state[common.SHEET] = new_sheet
        _widgets.fresh_mapping()

# Column mapping: detected choices pre-selected, every one editable.
raw: RawTable | None
try:
    raw = common.load_raw(src.digest, src.name, common.read_options(), src.data)
except RfmError as exc:
    raw = None
    common.show_error(exc, src.name)
if raw is not None:
    _widgets.mapping_editor(src, raw)

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
if quality.rows_used:
    # Plotly's frontend bundle (4.7 MB, 1-2 s to load and compile) loads with a tab's first chart: drawn here, it
    # loads while the analyst opens the app and picks a file, not on the Charts page after the upload.
    st.plotly_chart(common.lines_per_month_figure(prep), key="chart_lines_per_month")

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
    st.markdown("**How the file was read**")
    for warning in prep.mapped.warnings:
        st.warning(common.app_wording(warning), icon=":material/warning:")
    notes = reading_notes(prep.mapped)
    money_note = common.currency_of_file(prep.digest, common.read_options(), prep.raw)[1]
    if money_note:  # what the file says about its currency, and whether that is the one shown
        notes.append(money_note)
    st.markdown("\n".join(f"- {n}" for n in notes))
    st.caption("Each column's role and why it was chosen: in the mapping section above.")

# Full width and a static table: a few rows whose last column ("What to do") is a sentence to read, which a
# scrolling grid cut to "Rows witho…" at 1400 px.
problems = prep.mapped.problems
st.markdown("**Validation problems**")
if problems.empty:
    st.success("No unreadable values found.", icon=":material/check_circle:")
else:
    shown = problems.assign(rows=problems["rows"].map(count))
    st.table(shown.rename(columns=lambda c: label(str(c))), hide_index=True)
