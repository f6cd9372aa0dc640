"""Entry point: page config, navigation, and the shared sidebar. Run with ``streamlit run streamlit_app.py``."""

from __future__ import annotations

import streamlit as st

from pages import common

# An emoji favicon is drawn by the browser; a Material icon name would be fetched from fonts.gstatic.com.
st.set_page_config(page_title="RFM Segments", page_icon="📊", layout="wide")
common.init_state()

nav = st.navigation({
    "Prepare": [
        st.Page("pages/data.py", title="Data", icon=":material/upload_file:", default=True),
        st.Page("pages/settings.py", title="Settings", icon=":material/tune:"),
    ],
    "Understand": [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:"),
        st.Page("pages/charts.py", title="Charts", icon=":material/bar_chart:"),
        st.Page("pages/customers.py", title="Customers", icon=":material/person_search:"),
    ],
    "Predict": [
        st.Page("pages/clv.py", title="Lifetime value", icon=":material/savings:"),
        st.Page("pages/backtest.py", title="Segment backtest", icon=":material/history:"),
        st.Page("pages/migration.py", title="Migration", icon=":material/swap_horiz:"),
        st.Page("pages/segments_over_time.py", title="Segments over time", icon=":material/stacked_line_chart:"),
        st.Page("pages/cohorts.py", title="Cohorts", icon=":material/grid_on:"),
    ],
    "Act": [
        st.Page("pages/actions.py", title="Actions", icon=":material/campaign:"),
        st.Page("pages/audiences.py", title="Audiences", icon=":material/group_add:"),
        st.Page("pages/export.py", title="Export", icon=":material/download:"),
    ],
})

status = st.sidebar.container()
nav.run()

last: common.Prepared | None = st.session_state.get(common.LAST_GOOD)
with status:
    if last is not None:
        st.markdown(f"**File:** {last.source_name}")
        st.caption(f"{last.cleaned.input_rows:,} rows · {len(last.customers):,} customers · "
                   f"analysis date {last.as_of:%d %b %Y}")
    else:
        st.caption("No data loaded.")
