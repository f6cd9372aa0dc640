"""Widget groups the Settings, Segment rules and Audiences pages draw, kept out of the pages so each page reads as
inputs, guard, one engine call, render.

Only widgets and session state live here: what a widget's value means (a scoring method, a rule table, an audience
condition) is decided in ``rfm_core`` (``settings``, ``segment``, ``audience``, ``views``). Session-state keys are
the ones the pages always used, so a saved workspace and the tests that drive widgets by ``key=`` keep working.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd
import streamlit as st

from pages import common
from rfm_core import ConfigError, MetricScoring
from rfm_core.audience import FIELDS, OPERATORS, Audience, Condition, audience_name, operators_for
from rfm_core.columns import CANONICAL
from rfm_core.playbooks import MAX_CONTROL_SHARE
from rfm_core.read import RawTable
from rfm_core.segment import ROLE_LABELS, ROLES
from rfm_core.settings import SCORING_METHODS, help_for
from rfm_core.views import (
    audience_layout,
    category_options,
    condition_default,
    condition_input,
    field_number,
    first_upper,
    remove_condition,
    starting_edges,
)

# ---- Settings: one metric's scoring -----------------------------------------------------------------------------

# Short enough for a third of a 1400 px page ("Automatic (quantiles, or distinct values whe…" was cut); the "?"
# beside the box explains each method, and the caption under it says what "Automatic" chose.
METHOD_CHOICES = {"auto": "Automatic", "quantile": "Quantiles", "distinct": "Distinct values",
                  "rank": "Equal-size groups (splits ties)", "thresholds": "Custom thresholds"}


def metric_scoring_input(metric: str, spec: MetricScoring, customers: pd.DataFrame) -> MetricScoring:
    """Bins, method and (for custom thresholds) the edges of one metric; returns the scoring they ask for.

    Edges that do not make a valid scoring are shown as an error, and the metric keeps its custom edges when they
    still fit the bins, else falls back to the automatic method at those bins.
    """
    st.subheader(metric.capitalize())
    bins = st.slider("Bins", 2, 10, spec.bins, key=f"bins_{metric}", help=help_for(MetricScoring, "bins"))
    options = list(SCORING_METHODS)
    method = st.selectbox("Method", options, index=options.index(spec.method), format_func=lambda v: METHOD_CHOICES[v],
                          key=f"method_{metric}", help=help_for(MetricScoring, "method"))
    if method != "thresholds":
        return MetricScoring(bins, method)  # type: ignore[arg-type]
    st.caption("Upper edges, ascending" + (" (days; low recency scores high)" if metric == "recency" else ""))
    edges = [st.number_input(f"Edge {i + 1}", value=float(round(e, 2)), key=f"edge_{metric}_{i}", format="%.2f")
             for i, e in enumerate(starting_edges(spec, bins, customers, metric))]
    try:
        return MetricScoring(bins, "thresholds", tuple(edges))
    except ConfigError as exc:
        common.show_error(exc)
        return spec if spec.bins == bins and spec.method == "thresholds" else MetricScoring(bins)


# ---- Segment rules: the rule table's columns --------------------------------------------------------------------


def rule_editor_columns(scale: int) -> dict[str, Any]:
    """The ``column_config`` of the rule table: names, role, the six score ranges on the 1..``scale`` scale, and
    the playbook's text and hold-out share."""
    def score(text: str) -> Any:
        return st.column_config.NumberColumn(text, min_value=1, max_value=scale, step=1, required=True, width="small")

    text = st.column_config.TextColumn
    return {
        "name": text("Segment", required=True),
        "role": st.column_config.SelectboxColumn(
            "Role", options=list(ROLES), required=True, width="small",
            help="What kind of customer the segment holds. Insights, revenue at risk and migration's up/down follow "
                 "the role, so a renamed segment keeps them. " + "; ".join(f"{r}: {ROLE_LABELS[r]}" for r in ROLES)
                 + "."),
        **{f"{k}_{b}": score(f"{k.upper()} {b}") for k in "rfm" for b in ("min", "max")},
        "description": text("Description", width="medium"), "action": text("Recommended action", width="large"),
        "goal": text("Goal", width="medium"), "channel": text("Channel", width="medium"),
        "offer": text("Offer", width="medium"), "timing": text("Timing", width="medium"),
        "control_share": st.column_config.NumberColumn(
            "Hold-out share", min_value=0.0, max_value=MAX_CONTROL_SHARE, step=0.01, format="%.2f",
            help="Share of the segment held out as a control group (0.10 = 10%), 0 to 0.5; the Actions page shows "
                 "how many customers that leaves in each group."),
    }


# ---- Audiences: the condition form ------------------------------------------------------------------------------

GROUPS = "aud_groups"  # list[list[int]]: condition ids per group
NEXT_ID = "aud_next_id"
NAME = "aud_name"
CURRENT = "aud_current"  # the Audience built on the last run
SAVED = common.AUDIENCES  # dict[str, Audience]; saved in the workspace when each run ends

Row = tuple[str, str, Any]  # (field, operator, value or None): one form row, for rfm_core.audience.build_audience


def _key(cid: int, part: str) -> str:
    return f"aud_{cid}_{part}"


def _value_key(cid: int, field: str, op: str, end: str = "v") -> str:
    # The field and operator are part of the key: a different widget type under one key would clash.
    return f"aud_{cid}_{field}_{op}_{end}"


def _set_condition(cid: int, condition: Condition) -> None:
    ss = st.session_state
    ss[_key(cid, "field")], ss[_key(cid, "op")] = condition.field, condition.op
    field, op, v = condition.field, condition.op, condition.value
    if OPERATORS[op].shape == "two" and isinstance(v, tuple):
        ss[_value_key(cid, field, op, "lo")] = field_number(field, v[0])
        ss[_value_key(cid, field, op, "hi")] = field_number(field, v[1])
    elif OPERATORS[op].shape == "many":
        ss[_value_key(cid, field, op)] = list(v)  # type: ignore[arg-type]
    else:
        ss[_value_key(cid, field, op)] = v if FIELDS[field].kind == "category" else field_number(field, v)


def load_audience(audience: Audience) -> None:
    """Put ``audience`` in the form (its conditions under new ids, so no old widget state is reused)."""
    first = int(st.session_state.get(NEXT_ID, 0))
    groups, conditions = audience_layout(audience, first)
    for cid, condition in conditions.items():
        _set_condition(cid, condition)
    st.session_state[GROUPS], st.session_state[NEXT_ID] = groups, first + len(conditions)
    st.session_state[NAME] = audience.name


def start_form(example: Audience) -> None:
    """On the page's first run in a session: the example audience in the form."""
    if GROUPS not in st.session_state:
        st.session_state[NEXT_ID] = 0
        st.session_state.setdefault(SAVED, {})  # restored from the workspace by common.init_state
        load_audience(example)


def _add_condition(g: int) -> None:
    st.session_state[GROUPS][g].append(st.session_state[NEXT_ID])
    st.session_state[NEXT_ID] += 1


def _add_group() -> None:
    st.session_state[GROUPS].append([st.session_state[NEXT_ID]])
    st.session_state[NEXT_ID] += 1


def _remove(g: int, cid: int) -> None:
    st.session_state[GROUPS] = remove_condition(st.session_state[GROUPS], g, cid)


def save_current() -> None:
    """Keep the audience built on the last run under the name typed (read at click time: it may have been typed in
    the same interaction as the click)."""
    name = audience_name(st.session_state.get(NAME))
    current: Audience = st.session_state[CURRENT]
    st.session_state[SAVED] = {**st.session_state[SAVED], name: Audience(name, current.groups)}


def delete_saved(name: str) -> None:
    # A new dict rather than a change in place: the workspace compares what it saved with what is here now.
    st.session_state[SAVED] = {k: v for k, v in st.session_state[SAVED].items() if k != name}


def _value_widget(col: Any, cid: int, field: str, op: str, customers: pd.DataFrame, segment_names: list[str]) -> Any:
    """The value input of one condition; returns the value as the engine wants it (None when none is chosen)."""
    ss = st.session_state
    if FIELDS[field].kind == "category":
        options = category_options(field, customers, segment_names)
        key = _value_key(cid, field, op)
        if OPERATORS[op].shape == "many":
            if key in ss:
                ss[key] = [v for v in ss[key] if v in options]
            picked = col.multiselect("Values", options, key=key, placeholder="Choose one or more")
            return tuple(picked) if picked else None
        if ss.get(key) not in options:
            ss.pop(key, None)
        return col.selectbox("Value", options, key=key) if options else None
    step, fmt = condition_input(field)
    default = condition_default(field, customers)

    def number(label: str, key: str, where: Any) -> int | float:
        kwargs: dict[str, Any] = {} if key in ss else {"value": default}
        return where.number_input(label, step=step, format=fmt, key=key, **kwargs)  # type: ignore[no-any-return]

    if OPERATORS[op].shape == "two":
        lo_col, hi_col = col.columns(2)
        return (number("From", _value_key(cid, field, op, "lo"), lo_col),
                number("To", _value_key(cid, field, op, "hi"), hi_col))
    return number("Value", _value_key(cid, field, op), col)


def condition_form(fields: list[str], customers: pd.DataFrame, segment_names: list[str]) -> list[list[Row]]:
    """The groups of conditions, with their add and remove buttons; returns each group's rows as typed."""
    rows: list[list[Row]] = []
    for g, ids in enumerate(st.session_state[GROUPS]):
        if g:
            st.markdown("**— or —**")
        box = st.container(border=True)
        box.markdown(f"**Group {g + 1}**: customers who meet all of")
        group: list[Row] = []
        for cid in ids:
            c1, c2, c3, c4 = box.columns([3, 2, 4, 1], vertical_alignment="bottom")
            fkey, okey = _key(cid, "field"), _key(cid, "op")
            if st.session_state.get(fkey) not in fields:
                st.session_state[fkey] = fields[0]
            field = c1.selectbox("Field", fields, key=fkey, format_func=lambda k: first_upper(FIELDS[k].label))
            ops = operators_for(field)
            if st.session_state.get(okey) not in ops:
                st.session_state[okey] = ops[0]
            op = c2.selectbox("Operator", ops, key=okey, format_func=lambda k: OPERATORS[k].words)
            group.append((field, op, _value_widget(c3, cid, field, op, customers, segment_names)))
            c4.button(":material/close:", key=_key(cid, "remove"), help="Remove this condition", on_click=_remove,
                      args=(g, cid))
        box.button("Add a condition (and)", key=f"aud_add_{g}", icon=":material/add:", on_click=_add_condition,
                   args=(g,))
        rows.append(group)
    st.button("Add a group (or)", key="aud_add_group", icon=":material/add:", on_click=_add_group)
    return rows

# ---- Data page ------------------------------------------------------------------------------------------------

NOT_MAPPED = "(not in file)"
MAPPING_GENERATION = "mapping_generation"
AUTO_SHEET = "(first sheet with transactions)"


def fresh_mapping() -> None:
    """Forget every mapping choice: a new file (or sheet) gets fresh detection, not the last file's dropdowns.

    The dropdowns are keyed by a generation number, so a new file gets new widgets: with the same keys, the browser
    would keep showing (and send back) the previous file's choices.
    """
    st.session_state[common.MAPPING] = {}
    st.session_state[MAPPING_GENERATION] = st.session_state.get(MAPPING_GENERATION, 0) + 1


def rfm_intro() -> None:
    """"What is RFM and how to read this app": open on a workspace's first visit, closed after."""
    with st.expander("What is RFM and how to read this app", expanded=bool(st.session_state.get(common.INTRO_OPEN))):
        st.markdown(
            "**RFM** sorts customers by three facts from their purchase history: **Recency** (days since the last "
            "order; fewer is better), **Frequency** (how many orders) and **Monetary** value (what they spent in "
            "total). Each becomes a score from 1 to 5 (customers with the same value share a score), and the three "
            "scores place every customer in one **segment**, such as *Champions* (bought recently, often, a lot) or "
            "*At risk* (used to buy often, not lately).\n\n"
            "**How to use this app**, top to bottom in the menu:\n"
            "1. **Data**: upload your shop's order export (one row per order line) or try the bundled sample. "
            "Check the row ledger: every row is either used or dropped for a named reason.\n"
            "2. **Settings** and **Segment rules**: the analysis date, which rows count, how scores are cut, and "
            "the rules that turn scores into segments.\n"
            "3. **Understand**: segment sizes and revenue (Overview, Charts), and any customer's scores "
            "(Customers).\n"
            "4. **Predict**: lifetime value and the chance a customer is still active, and how segments change.\n"
            "5. **Act**: what to do per segment, audiences you can build and download, and the exports.\n\n"
            + ("Your file and settings are kept on this server under this page's address, so a reload brings "
               "them back; **Forget this workspace** in the sidebar deletes them."
               if common.workspace_days() is not None
               else "This server keeps nothing: a reload starts again with the sample."))


def take_upload(upload: Any) -> None:
    """Make a new upload the current file (once per upload: the widget offers the same file on every run)."""
    # An upload is taken in once (hashed, and saved to the workspace): the widget keeps offering the same file on every
    # run, and hashing a 45 MB workbook each time would cost a tenth of a second per click.
    if upload is None or st.session_state.get(common.UPLOAD_ID) == upload.file_id:
        return
    st.session_state[common.UPLOAD_ID] = upload.file_id
    data = upload.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    current: common.Source | None = st.session_state[common.SOURCE]
    if current is None or current.digest != digest:
        common.use_upload(upload.name, data, digest)
        fresh_mapping()
        st.session_state[common.SHEET] = None


def mapping_editor(src: common.Source, raw: RawTable) -> None:
    """The Column mapping expander: detected choices pre-selected, each with its reason, every one editable."""
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
        head = raw.frame.head(5)
        # Blank cells read blank, not "None"/"nan": the preview is text, as the file holds it.
        st.dataframe(head.astype(object).where(head.notna(), "").astype(str), hide_index=True, key="preview_table")
