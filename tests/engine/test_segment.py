"""Segment rules: order, coverage, scale mapping, linter, TOML, and the editable table form."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rfm_core import DEFAULT_RULES, ConfigError, RuleSet, SegmentRule, assign_segments, lint
from rfm_core.segment import ROLES, cell_table, default_role, role_rank, to_rule_scale


def _scores(cells: list[tuple[int, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(cells, columns=["r_score", "f_score", "m_score"])


def test_default_table_has_11_segments_covering_all_125_cells() -> None:
    report = lint(DEFAULT_RULES)
    assert len(DEFAULT_RULES.rules) == 11
    assert report.ok and sum(report.wins.values()) == 125
    assert all(n > 0 for n in report.wins.values())


@pytest.mark.parametrize(("cell", "segment"), [
    ((5, 5, 5), "Champions"), ((3, 3, 3), "Loyal Customers"), ((1, 5, 5), "Can't Lose Them"),
    ((2, 3, 1), "At Risk"), ((4, 2, 1), "Potential Loyalists"), ((5, 1, 5), "New Customers"),
    ((4, 1, 3), "Promising"), ((3, 2, 1), "Need Attention"), ((3, 1, 5), "About to Sleep"),
    ((2, 1, 1), "Hibernating"), ((1, 1, 1), "Lost"),
], ids=lambda x: str(x))
def test_default_cells(cell: tuple[int, int, int], segment: str) -> None:
    assert assign_segments(_scores([cell])).iloc[0] == segment


def test_first_match_wins_and_fallback() -> None:
    rules = RuleSet((SegmentRule("High R", r=(4, 5)), SegmentRule("High F", f=(4, 5))), fallback="Rest")
    got = assign_segments(_scores([(5, 5, 1), (1, 5, 1), (1, 1, 1)]), rules).tolist()
    assert got == ["High R", "High F", "Rest"]


def test_linter_reports_shadowed_rules_and_uncovered_cells() -> None:
    rules = RuleSet((SegmentRule("Any recent", r=(3, 5)), SegmentRule("Very recent", r=(5, 5))))
    report = lint(rules)
    assert report.never_win == ("Very recent",) and report.shadowed == ("Very recent",) and not report.no_cell
    assert len(report.uncovered) == 50  # R 1-2 x 25
    assert report.wins == {"Any recent": 75, "Very recent": 0}
    msgs = report.messages()
    assert msgs[0] == ("Very recent never wins: each of the 25 score cells it matches is taken by a rule above it "
                       "(Any recent). Move it above that rule or narrow the rules above.")
    assert msgs[1].startswith("50 of 125 score cells match no rule and fall to Other")


def test_bins_are_read_on_the_rule_scale_keeping_both_ends() -> None:
    # 2 bins read as 1 and 5: the bottom is the bottom (case 02: score 1 of 2 used to read as 3).
    assert assign_segments(_scores([(2, 2, 2), (1, 1, 1)]), bins=(2, 2, 2)).tolist() == ["Champions", "Lost"]
    # 10 bins: 9 and 10 read as 5, 1 and 2 as 1.
    assert assign_segments(_scores([(10, 9, 10), (2, 1, 2)]), bins=(10, 10, 10)).tolist() == ["Champions", "Lost"]
    # R, F, M with different bin counts: R 3 of 3 -> 5, F 4 of 7 -> 1 + round(3 * 4 / 6) = 3, M 1 of 4 -> 1.
    # Cell (5, 3, 1) on the scale: Potential Loyalists (R 4-5, F 2-5).
    assert assign_segments(_scores([(3, 4, 1)]), bins=(3, 7, 4)).iloc[0] == "Potential Loyalists"
    assert lint(DEFAULT_RULES, (10, 10, 10)).ok
    for n in range(2, 11):
        read = to_rule_scale(np.arange(1, n + 1), n, 5)
        assert read[0] == 1 and read[-1] == 5 and (np.diff(read) >= 0).all()


def test_one_table_for_assignment_and_linter() -> None:
    for bins in [(2, 2, 2), (3, 4, 5), (4, 4, 4), (10, 2, 7)]:
        table = cell_table(DEFAULT_RULES, bins)
        cells = lint(DEFAULT_RULES, bins).cells
        got = assign_segments(cells.rename(columns={"r": "r_score", "f": "f_score", "m": "m_score"}), bins=bins)
        assert got.astype(str).tolist() == cells["segment"].tolist()
        assert (table >= 0).all()  # the default rules cover every cell at every bin count


def test_linter_blames_the_bin_count_when_no_cell_exists() -> None:
    report = lint(DEFAULT_RULES, (4, 5, 5))
    # 4 recency bins read as 1, 2, 4, 5: nothing reads as R = 3.
    assert report.no_cell == ("Need Attention", "About to Sleep") and not report.shadowed
    assert report.messages()[1] == (
        "At 4 recency bins no score reads as R = 3 (scores 1–4 read as 1, 2, 4, 5), so About to Sleep can never be "
        "assigned; use 3 or 5–10 recency bins or widen its R range.")
    assert all("Move it" not in m for m in report.messages())
    # At 4 bins everywhere Loyal Customers' own cells (a 3 somewhere) are gone and the rest read as Champions.
    four = lint(DEFAULT_RULES, (4, 4, 4))
    assert "Loyal Customers" in four.no_cell
    loyal = next(m for m in four.messages() if m.startswith("Loyal Customers"))
    assert "needs R = 3, F = 3 or M = 3" in loyal and "go to Champions above it" in loyal and "Move it" not in loyal
    assert lint(DEFAULT_RULES, (3, 3, 3)).no_cell == ("Promising", "Hibernating")


@pytest.mark.parametrize(("bins", "lost"), [
    (2, ("Loyal Customers", "Promising", "Need Attention", "About to Sleep", "Hibernating")),
    (3, ("Promising", "Hibernating")), (4, ("Loyal Customers", "Need Attention", "About to Sleep")),
    *((n, ()) for n in range(5, 11)),
], ids=lambda x: str(x))
def test_default_rules_that_cannot_win_per_bin_count(bins: int, lost: tuple[str, ...]) -> None:
    report = lint(DEFAULT_RULES, (bins,) * 3)
    assert report.never_win == lost and report.no_cell == lost and not report.uncovered


def test_roles() -> None:
    assert [r.role for r in DEFAULT_RULES.rules] == [
        "best", "loyal", "cant_lose", "at_risk", "potential", "new", "promising", "needs_attention",
        "about_to_sleep", "hibernating", "lost"]
    assert DEFAULT_RULES.role("Other") == "other" and DEFAULT_RULES.role("Champions") == "best"
    assert default_role("  champions ") == "best" and default_role("VIP") == "other"
    assert role_rank("best") == 10 and role_rank("lost") == 0 and role_rank("other") is None
    assert sorted(role_rank(r) for r in ROLES if r != "other") == list(range(11))  # type: ignore[type-var]
    with pytest.raises(ConfigError, match="role 'vip' is not one of"):
        SegmentRule("VIP", role="vip")


def test_rules_saved_before_roles_still_load() -> None:
    old = ('scale = 5\nfallback = "Other"\n\n[[rule]]\nname = "Champions"\nr = [4, 5]\nf = [4, 5]\nm = [4, 5]\n\n'
           '[[rule]]\nname = "Our VIPs"\nr = [1, 5]\nf = [5, 5]\nm = [1, 5]\n')
    rules = RuleSet.from_toml(old)
    assert rules.roles == {"Champions": "best", "Our VIPs": "other", "Other": "other"}
    renamed = RuleSet((SegmentRule("VIP", (4, 5), (4, 5), (4, 5), role="best"),))
    assert RuleSet.from_toml(renamed.to_toml()) == renamed
    assert 'role = "best"' in renamed.to_toml()
    frame = DEFAULT_RULES.to_frame().drop(columns="role")  # a table from before roles
    assert RuleSet.from_frame(frame) == RuleSet(DEFAULT_RULES.rules)


def test_describe_in_words() -> None:
    assert DEFAULT_RULES.rules[0].describe() == "R ≥ 4 and F ≥ 4 and M ≥ 4"
    assert DEFAULT_RULES.rule("New Customers").describe() == "R = 5 and F = 1"  # type: ignore[union-attr]
    assert SegmentRule("x", r=(2, 3)).describe() == "R 2–3"
    assert SegmentRule("x").describe() == "any scores"


def test_toml_round_trip_and_errors() -> None:
    text = DEFAULT_RULES.to_toml()
    assert RuleSet.from_toml(text) == DEFAULT_RULES
    with pytest.raises(ConfigError, match="not valid TOML"):
        RuleSet.from_toml("[[rule]\nname=")
    with pytest.raises(ConfigError, match="Unknown keys"):
        RuleSet.from_toml('colour = "red"\n[[rule]]\nname = "x"\n')
    with pytest.raises(ConfigError, match="no \\[\\[rule\\]\\]"):
        RuleSet.from_toml('scale = 5\n')
    with pytest.raises(ConfigError, match="above the scale"):
        RuleSet.from_toml('[[rule]]\nname = "x"\nr = [1, 7]\n')


def test_frame_round_trip_and_validation() -> None:
    frame = DEFAULT_RULES.to_frame()
    assert RuleSet.from_frame(frame) == RuleSet(DEFAULT_RULES.rules)
    bad = frame.copy()
    bad.loc[0, "r_min"] = 4
    bad.loc[0, "r_max"] = 2
    with pytest.raises(ConfigError, match="min <= max"):
        RuleSet.from_frame(bad)
    dup = pd.concat([frame, frame.iloc[[0]]])
    with pytest.raises(ConfigError, match="unique"):
        RuleSet.from_frame(dup)
    blank = pd.concat([frame, pd.DataFrame([{"name": None}])])
    assert len(RuleSet.from_frame(blank).rules) == 11
