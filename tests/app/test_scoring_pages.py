"""AppTest: segments keep their meaning when the user moves the bins or renames a segment; the pages say why a
segment cannot occur; Migration's later column is what Overview shows."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from pages import common
from tests.app.test_pages import go, segment_counts, table


def test_recency_bins_at_4_keep_lost_and_explain_what_cannot_occur(at: AppTest) -> None:
    go(at, "settings")
    at.slider(key="bins_recency").set_value(4).run()
    assert not at.exception
    # Settings says why: at 4 recency bins nothing reads as R = 3 (not "move it up").
    settings_text = " ".join(w.value for w in at.warning)
    assert "At 4 recency bins no score reads as R = 3" in settings_text and "About to Sleep" in settings_text
    assert "Move it" not in settings_text
    bins_table = table(at, "score", "range", "customers")  # the recency bins table shows 4 scores
    assert bins_table["score"].tolist() == [1, 2, 3, 4]
    counts = segment_counts(at)
    assert counts["Lost"] > 0 and counts["Champions"] > 0
    assert counts["About to Sleep"] == 0 and counts["Need Attention"] == 0
    overview_text = " ".join(w.value for w in at.warning)  # Overview says the same words
    assert "At 4 recency bins no score reads as R = 3" in overview_text
    # Segment rules reads the bins chosen on Settings: 4 x 5 x 5 = 100 cells, the grid's columns R1..R4, and the
    # same sentence about R = 3.
    go(at, "segment_rules")
    assert any(h.value == "Coverage of the 100 score cells" for h in at.subheader)
    assert "At 4 recency bins no score reads as R = 3" in " ".join(w.value for w in at.warning)
    grid = next(df.value for df in at.dataframe if any(str(c).startswith("R1 ") for c in df.value.columns))
    assert [str(c).split(" ")[0] for c in grid.columns] == ["R1", "R2", "R3", "R4"] and len(grid) == 5


def test_renaming_champions_keeps_its_insight(at: AppTest) -> None:
    go(at, "overview")
    assert any("Champions (your best customers)" in m.value for m in at.markdown)
    go(at, "segment_rules")
    before = at.session_state[common.RULES]
    at.session_state["rules_editor_0"] = {"edited_rows": {0: {"name": "VIP"}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception and not at.error
    rules = at.session_state[common.RULES]
    assert rules.rules[0].name == "VIP" and rules.rules[0].role == "best" and rules != before
    go(at, "overview")
    insight = next(m.value for m in at.markdown if "your best customers" in m.value)
    assert "VIP (your best customers)" in insight and "Champions" not in insight
    counts = segment_counts(at)
    assert "Champions" not in counts and counts["VIP"] > 0


def test_migration_later_column_is_overview(at: AppTest) -> None:
    shown = segment_counts(at)
    go(at, "migration")
    assert not at.error
    assert at.radio(key="mig_thresholds").value == "re-estimated"
    matrix = next(df.value for df in at.dataframe if "Champions" in df.value.columns)
    later = matrix.sum(axis=0)
    assert {k: int(v) for k, v in later.items()} == {k: v for k, v in shown.items() if v > 0}
    at.radio(key="mig_thresholds").set_value("frozen").run()
    assert not at.exception
    assert any("frozen edges" in c.value.lower() for c in at.caption)
    assert any("passage of time" in i.value for i in at.info)
