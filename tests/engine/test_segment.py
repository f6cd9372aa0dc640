"""Segment rules: order, coverage, scale mapping, linter, TOML, and the editable table form."""

from __future__ import annotations

import pandas as pd
import pytest

from rfm_core import DEFAULT_RULES, ConfigError, RuleSet, SegmentRule, assign_segments, lint


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
    assert report.never_win == ("Very recent",)
    assert len(report.uncovered) == 50  # R 1-2 x 25
    assert report.wins == {"Any recent": 75, "Very recent": 0}
    msgs = " ".join(report.messages())
    assert "never wins" in msgs and "50 of 125" in msgs


def test_other_bin_counts_are_read_on_the_rule_scale() -> None:
    # 10 bins: 9 and 10 read as 5 on the default scale; 2 bins: 1 reads as 3, 2 as 5.
    assert assign_segments(_scores([(10, 9, 10)]), bins=(10, 10, 10)).iloc[0] == "Champions"
    assert assign_segments(_scores([(2, 2, 2)]), bins=(2, 2, 2)).iloc[0] == "Champions"
    assert lint(DEFAULT_RULES, (10, 10, 10)).ok


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
