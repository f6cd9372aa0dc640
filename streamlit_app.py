"""Entry point: page config, navigation, and the shared sidebar. Run with ``streamlit run streamlit_app.py``."""

from __future__ import annotations

import streamlit as st

from rfm_app import memdebug
from rfm_app.cache import tune_allocator

# First: buffers of 1 MiB or more get their own mappings, given back when freed (issue 15; rfm_app.cache).
tune_allocator()
from pages import common  # noqa: E402  (after the allocator is set, so that its imports allocate under it)

memdebug.start_from_env()  # debug only: a memory report every few seconds when RFM_MEMDEBUG_FILE is set

# An emoji favicon is drawn by the browser; a Material icon name would be fetched from fonts.gstatic.com.
st.set_page_config(page_title="RFM Segments", page_icon="📊", layout="wide")
common.init_state()

nav = st.navigation({
    "Prepare": [
        st.Page("pages/data.py", title="Data", icon=":material/upload_file:", default=True),
        st.Page("pages/settings.py", title="Settings", icon=":material/tune:"),
        st.Page("pages/segment_rules.py", title="Segment rules", icon=":material/rule:"),
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

if st.session_state.pop(common.FORGOTTEN, False):
    # After "Forget this workspace" start on Data with the sample: the page the button was pressed on would keep
    # showing its widgets' old values (the browser keeps them) beside results that no longer use them.
    st.switch_page("pages/data.py")
for note in common.workspace_notes():  # an expired link, a size limit reached: said once, above the page
    st.warning(note, icon=":material/inventory_2:")

status = st.sidebar.container()
workspace_box = st.sidebar.container()


def workspace_sidebar() -> None:
    """Where the analysis is kept, and the button that deletes it."""
    days = common.workspace_days()
    if days is None:
        st.caption("Workspaces are off on this server: a reload starts over with the sample.")
    elif st.session_state.get(common.WS_ID):
        st.caption(f"**Workspace:** your file and settings are kept on this server for {days:g} days after your last "
                   "visit. This page's address (it ends in `?w=…`) brings them back: bookmark it; anyone with the "
                   "address can open it.")
        st.button("Forget this workspace", key="ws_forget", icon=":material/delete_forever:",
                  on_click=common.forget_workspace,
                  help="Deletes the stored file and settings from the server now and starts again with the sample.")
    else:
        st.caption("Upload a file or change a setting and this analysis is kept on the server, so a reload or the "
                   "page's address brings it back.")


try:
    nav.run()
finally:
    # However the run ends (normally, st.stop() in a page's guard, st.rerun()), what changed is saved, so a reload
    # right after moving a slider brings the slider back; the sidebar then says where it is kept.
    common.save_workspace()
    with workspace_box:
        workspace_sidebar()

last: common.Prepared | None = st.session_state.get(common.LAST_GOOD)
with status:
    if last is not None:
        st.markdown(f"**File:** {last.source_name}")
        st.caption(f"{last.cleaned.input_rows:,} rows · {len(last.customers):,} customers · "
                   f"analysis date {last.as_of:%d %b %Y}")
    else:
        st.caption("No data loaded.")

