"""Playbooks: a concrete default for every default segment, hold-out sizes by hand and by Decimal, TOML round trip."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rfm_core import DEFAULT_RULES, ConfigError
from rfm_core.playbooks import (
    DEFAULT_PLAYBOOKS,
    Playbook,
    assign_holdout,
    playbooks_from_toml,
    playbooks_to_toml,
    split_holdout,
)


def test_every_default_segment_has_a_concrete_playbook() -> None:
    assert set(DEFAULT_PLAYBOOKS) == {r.name for r in DEFAULT_RULES.rules} and len(DEFAULT_PLAYBOOKS) == 11
    for name, p in DEFAULT_PLAYBOOKS.items():
        assert p.segment == name
        for text in (p.goal, p.channel, p.offer, p.timing):
            assert len(text) > 10 and text.endswith("."), (name, text)
        assert 0 < p.control_share <= 0.2
    # Not one generic sentence: every segment's offer and goal are its own.
    assert len({p.offer for p in DEFAULT_PLAYBOOKS.values()}) == 11
    assert len({p.goal for p in DEFAULT_PLAYBOOKS.values()}) == 11


@pytest.mark.parametrize(("size", "share", "expected"), [
    (100, 0.1, (90, 10)),
    (15, 0.1, (13, 2)),  # 1.5 rounds up
    (25, 0.1, (22, 3)),  # 2.5 rounds up
    (10, 0.15, (8, 2)),  # 1.5 exactly as written (the binary 0.15 x 10 is 1.5000000000000002)
    (10, 0.25, (7, 3)),
    (70, 0.05, (66, 4)),  # 3.5 rounds up
    (5, 0.05, (4, 1)),  # 0.25 rounds to 0, but a control needs someone
    (3, 0.5, (2, 1)),  # 1.5 would round to 2: never more than half
    (2, 0.5, (1, 1)),
    (1, 0.2, (1, 0)),  # one customer cannot be split
    (0, 0.1, (0, 0)),
    (40, 0.0, (40, 0)),
    (4372, 0.2, (3498, 874)),  # 874.4
], ids=lambda v: str(v))
def test_split_holdout_by_hand(size: int, share: float, expected: tuple[int, int]) -> None:
    assert split_holdout(size, share) == expected


@given(st.integers(0, 100_000), st.integers(0, 50).map(lambda k: k / 100))
def test_split_holdout_matches_decimal_half_up(size: int, share: float) -> None:
    test, control = split_holdout(size, share)
    assert test + control == size and test >= control >= 0
    reference = int((Decimal(size) * Decimal(str(share))).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    reference = min(reference, size // 2)
    if size >= 2 and share > 0:
        reference = max(reference, 1)
    assert control == reference


@pytest.mark.parametrize(("size", "share"), [(-1, 0.1), (2.5, 0.1), (10, 0.6), (10, -0.1), (10, float("nan")),
                                             (10, True)])
def test_split_holdout_refuses_bad_input(size: float, share: float) -> None:
    with pytest.raises(ConfigError):
        split_holdout(size, share)  # type: ignore[arg-type]


def test_assign_holdout_is_repeatable_and_order_free() -> None:
    ids = [f"c{i}" for i in range(1000)]
    held = assign_holdout(ids, 0.1, salt="spring")
    assert int(held.sum()) == 100 and list(held.index) == ids
    again = assign_holdout(list(reversed(ids)), 0.1, salt="spring")
    assert held.equals(again.reindex(held.index))
    other = assign_holdout(ids, 0.1, salt="autumn")
    assert int(other.sum()) == 100 and not held.equals(other)
    assert assign_holdout([], 0.1).empty


def test_toml_round_trip_and_errors() -> None:
    assert playbooks_from_toml(playbooks_to_toml(DEFAULT_PLAYBOOKS)) == DEFAULT_PLAYBOOKS
    odd = {"Ünïcode \"quoted\"\n": Playbook("Ünïcode \"quoted\"\n", "g\u007f", "c", "o", "t", 0.5)}
    assert playbooks_from_toml(playbooks_to_toml(odd)) == odd
    with pytest.raises(ConfigError, match="Unknown keys in a playbook: budget"):
        playbooks_from_toml('[[playbook]]\nsegment = "A"\nbudget = 3\n')
    with pytest.raises(ConfigError, match="Two playbooks"):
        playbooks_from_toml('[[playbook]]\nsegment = "A"\n[[playbook]]\nsegment = "A"\n')
    with pytest.raises(ConfigError, match="control share"):
        playbooks_from_toml('[[playbook]]\nsegment = "A"\ncontrol_share = 0.9\n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        playbooks_from_toml("[[playbook")
    with pytest.raises(ConfigError, match="needs a segment"):
        playbooks_from_toml('[[playbook]]\ngoal = "x"\n')


# ---- playbooks on the rule table (issue 14 phase 2) ------------------------------------------------------------

def test_the_default_rules_carry_the_default_playbooks() -> None:
    from rfm_core.segment import DEFAULT_RULES

    assert {r.name: DEFAULT_RULES.playbook(r.name) for r in DEFAULT_RULES.rules} == DEFAULT_PLAYBOOKS
    assert DEFAULT_RULES.playbook(DEFAULT_RULES.fallback).control_share == 0.0  # no campaign on the fallback


def test_the_rule_table_edits_playbooks_and_old_tables_get_the_defaults() -> None:
    from rfm_core.segment import DEFAULT_RULES, PLAYBOOK_FIELDS, RuleSet

    frame = DEFAULT_RULES.to_frame()
    assert list(frame.columns[-5:]) == list(PLAYBOOK_FIELDS)
    frame.loc[frame["name"] == "Lost", ["offer", "control_share"]] = ["Nothing", 0.3]
    edited = RuleSet.from_frame(frame)
    assert edited.playbook("Lost").offer == "Nothing" and edited.playbook("Lost").control_share == 0.3
    # A blank share (a new row) takes the default of that segment name; a table without the columns, the defaults.
    frame.loc[frame["name"] == "Lost", "control_share"] = float("nan")
    assert RuleSet.from_frame(frame).playbook("Lost").control_share == 0.20
    assert RuleSet.from_frame(DEFAULT_RULES.to_frame().drop(columns=list(PLAYBOOK_FIELDS))) == DEFAULT_RULES
    frame.loc[frame["name"] == "Lost", "control_share"] = 0.9
    with pytest.raises(ConfigError, match="control share"):
        RuleSet.from_frame(frame)
