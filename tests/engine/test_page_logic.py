"""What the pages used to compute, now in rfm_core: every expected value below is worked out by hand in the test.

The 11-line file HAND_CSV (tests/conftest.py) is worked through in tests/engine/test_hand_fixture.py: 5 rows
used, customers A (monetary 33), B (10), C (7); used lines dated 2024-01-01 .. 2024-01-20.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from rfm_core import ConfigError, analyze
from rfm_core.clv import MODEL_CHOICES
from rfm_core.rule_edits import add_rule, coverage_grid, delete_rule, move_rule, unique_rule_name
from rfm_core.segment import RuleSet, SegmentRule, lint
from rfm_core.settings import CLV_MODELS, ClvSettings, MigrationSettings, help_for, migration_dates
from rfm_core.timeline import cohorts
from rfm_core.views import (
    clv_with_segments,
    cohort_table,
    data_quality,
    filter_customers,
    find_customer,
    purchase_history,
)

A = SegmentRule("A", (4, 5), (1, 5), (1, 5), "recent", "thank", "best")
B = SegmentRule("B", (1, 5), (3, 5), (1, 5), "frequent", "reward", "loyal")
C = SegmentRule("C", (1, 2), (1, 2), (1, 5), "gone", "win back", "lost")
RULES = RuleSet((A, B, C), "Rest", 5, "No rule matched.", "Look again.")


# ------------------------------------------------------------------------------------------ rule table edits
def test_move_up_and_down_keep_everything_else() -> None:
    up = move_rule(RULES, "C", -1)
    assert [r.name for r in up.rules] == ["A", "C", "B"]
    down = move_rule(RULES, "A", +1)
    assert [r.name for r in down.rules] == ["B", "A", "C"]
    # the page used to rebuild RuleSet(rules, fallback, scale) and lost the fallback's description and action
    assert (down.fallback, down.scale, down.fallback_description, down.fallback_action) == (
        "Rest", 5, "No rule matched.", "Look again.")
    assert move_rule(RULES, "A", -1) == RULES  # already first
    assert move_rule(RULES, "C", +1) == RULES  # already last
    assert [r.name for r in move_rule(RULES, "A", +5).rules] == ["B", "C", "A"]  # stops at the end


def test_delete_and_unknown_names() -> None:
    assert [r.name for r in delete_rule(RULES, "B").rules] == ["A", "C"]
    assert delete_rule(RULES, "B").fallback_action == "Look again."
    with pytest.raises(ConfigError, match="no rule called 'Z'"):
        delete_rule(RULES, "Z")
    with pytest.raises(ConfigError, match="no rule called 'Z'"):
        move_rule(RULES, "Z", 1)


def test_add_puts_a_catch_all_on_top_under_a_free_name() -> None:
    once = add_rule(RULES)
    assert once.rules[0].name == "New segment 1" and once.rules[1:] == RULES.rules
    assert (once.rules[0].r, once.rules[0].f, once.rules[0].m) == ((1, 5), (1, 5), (1, 5))
    twice = add_rule(once)
    assert [r.name for r in twice.rules[:2]] == ["New segment 2", "New segment 1"]
    assert unique_rule_name(["New segment 1", "New segment 3"]) == "New segment 2"
    assert unique_rule_name([]) == "New segment 1"


def test_coverage_grid_by_hand() -> None:
    """Bins (3, 3, 2): scores 1, 2, 3 read as 1, 3, 5 on the 1-5 scale (both ends kept). At M = 1:
    R read 5 -> A everywhere; R read 1 or 3 with F read 3 or 5 -> B; R read 1 or 3 with F read 1 -> C (R <= 2
    holds for read 1 only: R2 reads 3) so (R1, F1) is C and (R2, F1) is the fallback Rest."""
    grid = coverage_grid(lint(RULES, (3, 3, 2)), 1)
    expected = pd.DataFrame([["B", "B", "A"], ["B", "B", "A"], ["C", "Rest", "A"]],
                            index=["F3 → 5", "F2 → 3", "F1 → 1"], columns=["R1 → 1", "R2 → 3", "R3 → 5"])
    assert_frame_equal(grid, expected, check_names=False, check_index_type=False, check_column_type=False)
    with pytest.raises(ConfigError, match="M score 3 does not exist with 2 monetary bins"):
        coverage_grid(lint(RULES, (3, 3, 2)), 3)


@settings(deadline=None, max_examples=40)  # a shared machine: lint of 1,000 cells can take 0.3 s
@given(st.integers(2, 10), st.integers(2, 10), st.integers(2, 10), st.data())
def test_coverage_grid_shape_at_every_bin_count(r: int, f: int, m: int, data: st.DataObject) -> None:
    pick = data.draw(st.integers(1, m))
    grid = coverage_grid(lint(RULES, (r, f, m)), pick)
    assert grid.shape == (f, r)
    assert grid.index[0] == f"F{f} → 5" and grid.index[-1] == "F1 → 1"  # highest F on top
    assert grid.columns[0] == "R1 → 1" and grid.columns[-1] == f"R{r} → 5"
    assert set(np.unique(grid.to_numpy())) <= {"A", "B", "C", "Rest"}


# ------------------------------------------------------------------------------------------ data page
def test_data_quality_by_hand(hand_csv: bytes) -> None:
    result = analyze(hand_csv, warn=False)
    assert result.cleaned is not None
    q = data_quality(result.cleaned, result.customers)
    assert (q.rows_read, q.rows_used, q.customers, q.revenue) == (11, 5, 3, 50.0)  # 33 + 10 + 7
    assert (q.first_day, q.last_day, q.days) == (dt.date(2024, 1, 1), dt.date(2024, 1, 20), 20)
    assert q.used_share == pytest.approx(5 / 11)


def test_data_quality_of_nothing_used() -> None:
    from rfm_core.clean import CleanResult

    empty = CleanResult(pd.DataFrame({"invoice_date": pd.to_datetime([])}),
                        pd.DataFrame({"reason": ["no customer id"], "rows": [4], "share": [1.0]}),
                        pd.Series([], dtype="category"), 4)
    q = data_quality(empty, pd.DataFrame({"monetary": []}))
    assert (q.rows_read, q.rows_used, q.customers, q.revenue, q.days, q.used_share) == (4, 0, 0, 0.0, None, 0.0)


# ------------------------------------------------------------------------------------------ customers page
CUSTOMERS = pd.DataFrame({"customer_id": ["12347", "ab-9", "AB-10", "5123"],
                          "segment": pd.Categorical(["Champions", "Lost", "Champions", "Lost"]),
                          "monetary": [1.0, 2.0, 3.0, 4.0]})


@pytest.mark.parametrize(("query", "segments", "ids"), [
    ("", (), ["12347", "ab-9", "AB-10", "5123"]),
    ("  ab ", (), ["ab-9", "AB-10"]),  # case-insensitive, spaces ignored
    ("23", (), ["12347", "5123"]),
    ("ab", ("Lost",), ["ab-9"]),
    ("", ("Champions",), ["12347", "AB-10"]),
    (".*", (), []),  # literal text, not a pattern
], ids=["all", "case", "substring", "both", "segment", "literal"])
def test_filter_customers(query: str, segments: tuple[str, ...], ids: list[str]) -> None:
    before = CUSTOMERS.copy()
    assert filter_customers(CUSTOMERS, query, segments)["customer_id"].tolist() == ids
    assert_frame_equal(CUSTOMERS, before)


def test_find_customer_and_history() -> None:
    row = find_customer(CUSTOMERS, " ab-9 ")
    assert row is not None and row["monetary"] == 2.0
    assert find_customer(CUSTOMERS, "AB-9") is None  # an id is matched exactly
    tx = pd.DataFrame({"customer_id": ["x", "y", "x", "x"], "invoice_id": ["3", "1", "1", "2"],
                       "invoice_date": pd.to_datetime(["2024-03-01", "2024-01-01", "2024-01-01", "2024-02-01"])})
    assert purchase_history(tx, "x")["invoice_id"].tolist() == ["1", "2", "3"]
    assert purchase_history(tx, "z").empty


# ------------------------------------------------------------------------------------------ cohorts page
def test_cohort_table_by_hand() -> None:
    """A buys in Jan and Mar, B in Jan, C twice in Feb; the data ends in March. Cohort 2024-01 (A, B): month 0
    2/2, month 1 (Feb) 0/2, month 2 (Mar) 1/2. Cohort 2024-02 (C): month 0 1/1, month 1 (Mar) 0/1, month 2 (Apr)
    after the end of the data: NaN."""
    tx = pd.DataFrame({"customer_id": pd.Categorical(["A", "A", "B", "C", "C"]),
                       "invoice_date": pd.to_datetime(["2024-01-05", "2024-03-02", "2024-01-20", "2024-02-01",
                                                       "2024-02-10"]),
                       "amount": [10.0, 5.0, 3.0, 4.0, 6.0], "is_return": [False] * 5})
    table = cohort_table(cohorts(tx))
    assert table.columns.tolist() == ["customers", "month 0", "month 1", "month 2"]
    assert [str(i) for i in table.index] == ["2024-01", "2024-02"]
    assert table["customers"].tolist() == [2, 1]
    np.testing.assert_array_equal(table[["month 0", "month 1", "month 2"]].to_numpy(),
                                  [[1.0, 0.0, 0.5], [1.0, 0.0, np.nan]])


# ------------------------------------------------------------------------------------------ CLV and migration
def test_clv_settings_defaults_help_and_checks() -> None:
    s = ClvSettings()
    assert (s.unit, s.horizon_months, s.annual_discount_rate, s.model, s.calibration_end) == (
        "W", 12, 0.10, "auto", None)
    assert CLV_MODELS == MODEL_CHOICES
    for f in dataclasses.fields(ClvSettings):
        assert help_for(ClvSettings, f.name)
    for bad in ({"unit": "Y"}, {"model": "pareto"}, {"horizon_months": 0}, {"horizon_months": 121},
                {"annual_discount_rate": 1.0}, {"annual_discount_rate": -0.01}):
        with pytest.raises(ConfigError):
            ClvSettings(**bad)  # type: ignore[arg-type]


def test_calibration_end_kept_only_inside_the_allowed_range() -> None:
    lo, hi, default = dt.date(2024, 3, 1), dt.date(2024, 9, 30), dt.date(2024, 7, 1)
    assert ClvSettings().calibration_end_within(lo, hi, default) == default
    assert ClvSettings(calibration_end=lo).calibration_end_within(lo, hi, default) == lo  # ends included
    assert ClvSettings(calibration_end=hi).calibration_end_within(lo, hi, default) == hi
    assert ClvSettings(calibration_end=dt.date(2024, 2, 29)).calibration_end_within(lo, hi, default) == default
    assert ClvSettings(calibration_end=dt.date(2024, 10, 1)).calibration_end_within(lo, hi, default) == default


def test_migration_dates_by_hand() -> None:
    # a year of history: earliest 30 days after 2024-01-01 = 2024-01-31; latest the day before 2024-12-31;
    # default 90 days before 2024-12-31 = 2024-10-02
    assert migration_dates(dt.date(2024, 1, 1), dt.date(2024, 12, 31)) == (
        dt.date(2024, 1, 31), dt.date(2024, 12, 30), dt.date(2024, 10, 2))
    # 60 days of history: 90 days back is before the earliest, so the default is the earliest (2024-01-31)
    assert migration_dates(dt.date(2024, 1, 1), dt.date(2024, 3, 1))[2] == dt.date(2024, 1, 31)
    # 31 days: earliest 2024-01-31 = latest (the day before 2024-02-01): one possible date
    assert migration_dates(dt.date(2024, 1, 1), dt.date(2024, 2, 1)) == (dt.date(2024, 1, 31),) * 3
    with pytest.raises(ConfigError, match="too short"):
        migration_dates(dt.date(2024, 1, 1), dt.date(2024, 1, 31))
    assert MigrationSettings().thresholds == "re-estimated" and help_for(MigrationSettings, "thresholds")
    with pytest.raises(ConfigError):
        MigrationSettings(thresholds="fixed")


def test_clv_with_segments_is_a_left_join() -> None:
    clv = pd.DataFrame({"customer_id": ["a", "b", "c"], "p_alive": [0.9, 0.5, 0.1]})
    seg = pd.DataFrame({"customer_id": ["c", "a"], "segment": ["Lost", "Champions"], "monetary": [1.0, 2.0]})
    out = clv_with_segments(clv, seg)
    assert out.columns.tolist() == ["customer_id", "p_alive", "segment"]
    assert out["segment"].tolist()[0::2] == ["Champions", "Lost"] and pd.isna(out["segment"].iloc[1])


# ------------------------------------------------------------------------------------------ settings page
TEN = pd.DataFrame({"customer_id": list("abcdefghij"), "frequency": list(range(1, 11)), "recency_days": [1] * 10,
                    "monetary": [1.0] * 10})


def test_starting_edges_by_hand() -> None:
    from rfm_core.settings import MetricScoring
    from rfm_core.views import starting_edges

    # current custom edges are kept when they fit the bins
    assert starting_edges(MetricScoring(3, "thresholds", (2.5, 7.0)), 3, TEN, "frequency") == (2.5, 7.0)
    # otherwise quantiles of 1..10: two halves split after 5; five groups of two: upper edges 2, 4, 6, 8
    assert starting_edges(MetricScoring(3, "thresholds", (2.5, 7.0)), 2, TEN, "frequency") == (5.0,)
    assert starting_edges(MetricScoring(5), 5, TEN, "frequency") == (2.0, 4.0, 6.0, 8.0)
    # one distinct recency (1 day): no data edge, so the editor starts at 2 and 3 (one above the last)
    assert starting_edges(MetricScoring(3), 3, TEN, "recency") == (2.0, 3.0)


def test_country_choices_and_rule_wins() -> None:
    from rfm_core.views import country_choices, rule_wins

    frame = pd.DataFrame({"country": ["France", None, "EIRE", "France"]})
    assert country_choices(frame) == ["EIRE", "France"]
    assert country_choices(pd.DataFrame({"customer_id": ["a"]})) == []
    # bins (3, 3, 2), worked out in test_coverage_grid_by_hand for M = 1 and the same at M = 2 (no rule uses M):
    # A wins the 3 cells of R3, B the 4 cells R1-2 x F2-3, C the one cell (R1, F1); twice over the two M scores.
    # The fallback is not a rule: its cell (R2, F1) at both M scores is reported as uncovered.
    report = lint(RULES, (3, 3, 2))
    wins = rule_wins(report)
    assert dict(zip(wins["segment"], wins["cells won"], strict=True)) == {"A": 6, "B": 8, "C": 2}
    assert sorted(report.uncovered) == [(2, 1, 1), (2, 1, 2)]


def test_reading_notes(hand_csv: bytes) -> None:
    from rfm_core.views import reading_notes

    result = analyze(hand_csv, name="hand.csv", warn=False)
    assert result.mapped is not None
    notes = reading_notes(result.mapped)
    # HAND_CSV is plain ASCII with commas; the mapping step's own notes follow the format line unchanged
    assert notes[0] == "Format: CSV, encoding utf8, delimiter ','"
    assert notes[1:] == list(result.mapped.notes)


# ------------------------------------------------------------------------------------------ audiences page
def test_audience_condition_defaults_by_hand() -> None:
    from rfm_core.views import condition_default

    table = pd.DataFrame({"monetary": [10.0, 30.4, 99.0, 1000.0], "clv_12m": [1.0, 2.0, 3.0, np.nan]})
    assert condition_default("recency_days", table) == 90 and isinstance(condition_default("recency_days", table), int)
    assert condition_default("frequency", table) == 2
    assert condition_default("r_score", table) == 4
    assert condition_default("p_alive", table) == 0.5
    assert condition_default("monetary", table) == 65.0  # median of 10, 30.4, 99, 1000 = (30.4 + 99) / 2 = 64.7
    assert condition_default("clv", table) == 2.0  # median of 1, 2, 3 (the missing one ignored)
    assert condition_default("monetary", pd.DataFrame({"monetary": [np.nan]})) == 0.0


def test_audience_options_and_columns() -> None:
    from rfm_core.views import audience_columns, category_options

    customers = pd.DataFrame({"customer_id": ["a", "b", "c"], "segment": ["Lost", "Champions", "Lost"],
                              "country": ["France", None, "EIRE"], "rfm_score": ["111", "555", "111"],
                              "clv_12m": [1.0, 2.0, 3.0], "r_score": [1, 5, 1], "monetary": [1.0, 2.0, 3.0]})
    order = ("Champions", "Loyal Customers", "Lost", "Other")
    assert category_options("segment", customers, order) == ["Champions", "Lost"]  # rule order, present only
    assert category_options("country", customers, order) == ["EIRE", "France"]
    assert audience_columns(customers) == ["customer_id", "segment", "monetary", "country", "clv_12m", "r_score"]


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 8), st.data())
def test_rule_edits_at_every_position(n: int, data: st.DataObject) -> None:
    """For any table of n rules: a move lands at the clamped position and keeps every rule once; a delete removes
    exactly that rule; adding and then deleting the new rule gives the table back."""
    rules = RuleSet(tuple(SegmentRule(f"R{i}", (1, 5), (i % 5 + 1, 5), (1, 5)) for i in range(n)), "Rest", 5,
                    "No rule matched.", "Look again.")
    i = data.draw(st.integers(0, n - 1))
    step = data.draw(st.integers(-10, 10))
    name = f"R{i}"
    moved = move_rule(rules, name, step)
    assert sorted(r.name for r in moved.rules) == sorted(r.name for r in rules.rules)
    assert [r.name for r in moved.rules].index(name) == min(max(i + step, 0), n - 1)
    others = [r.name for r in moved.rules if r.name != name]
    assert others == [r.name for r in rules.rules if r.name != name]  # the rest keep their order
    assert [r.name for r in delete_rule(rules, name).rules] == [f"R{k}" for k in range(n) if k != i]
    added = add_rule(rules)
    assert delete_rule(added, added.rules[0].name) == rules
    assert (moved.fallback_description, added.fallback_action) == ("No rule matched.", "Look again.")


# ------------------------------------------------------------------------------------------ audiences form and table
def test_build_audience_keeps_complete_rows_and_names_the_rest() -> None:
    from rfm_core.audience import Audience, Condition, build_audience

    # Group 1: one good row, one row without a value; group 2: between with its low end above its high end.
    rows = [[("frequency", "gte", 2), ("country", "in", None)], [("recency_days", "between", (9.0, 3.0))]]
    audience, problems = build_audience("  Lapsed  ", rows)
    assert audience == Audience("Lapsed", ((Condition("frequency", "gte", 2.0),), ()))
    assert problems[0] == "Group 1: choose a value for country."
    assert problems[1].startswith("Group 2: ") and "low end" in problems[1] and len(problems) == 2
    # All rows complete: no problems, the groups in form order, a blank name becomes "Audience".
    audience, problems = build_audience(" ", [[("segment", "in", ("Lost",))], [("monetary", "gt", 100)]])
    assert problems == [] and audience.name == "Audience"
    assert audience.groups == ((Condition("segment", "in", ("Lost",)),), (Condition("monetary", "gt", 100.0),))
    assert build_audience(None, []) == (Audience("Audience", ()), [])


def test_audience_name_and_operators_for_each_kind() -> None:
    from rfm_core.audience import audience_name, operators_for

    assert [audience_name(t) for t in (None, "", "   ", " VIP ")] == ["Audience", "Audience", "Audience", "VIP"]
    # Number fields: the six comparisons and between; text fields: is, is not, is one of, is none of.
    assert operators_for("recency_days") == ["gte", "gt", "lte", "lt", "eq", "ne", "between"]
    assert operators_for("p_alive") == ["gte", "gt", "lte", "lt", "eq", "ne", "between"]
    assert operators_for("segment") == ["eq", "ne", "in", "not_in"]
    with pytest.raises(ConfigError, match="Unknown audience field"):
        operators_for("postcode")


def test_average_spend_by_hand() -> None:
    from rfm_core.audience import Audience, Condition, audience_size

    customers = pd.DataFrame({"customer_id": ["a", "b", "c"], "frequency": [1, 3, 5], "monetary": [10.0, 20.0, 70.0]})
    size = audience_size(Audience("x", ((Condition("frequency", "gte", 3),),)), customers)
    assert (size.customers, size.revenue, size.average_spend) == (2, 90.0, 45.0)  # (20 + 70) / 2
    assert audience_size(Audience("x", ((Condition("frequency", "gt", 9),),)), customers).average_spend == 0.0


def test_condition_inputs_numbers_and_first_upper() -> None:
    from rfm_core.views import condition_input, field_number, first_upper

    assert condition_input("frequency") == (1, "%d") and condition_input("r_score") == (1, "%d")
    assert condition_input("p_alive") == (0.05, "%.2f") and condition_input("monetary") == (10.0, "%.2f")
    assert field_number("recency_days", 90.0) == 90 and isinstance(field_number("recency_days", 90.0), int)
    assert field_number("monetary", 5) == 5.0 and isinstance(field_number("monetary", 5), float)
    assert first_upper("days since the last order") == "Days since the last order"
    assert first_upper("R score") == "R score" and first_upper("") == ""
    assert first_upper("iPhone buyers") == "IPhone buyers"


def test_audience_layout_and_removing_conditions() -> None:
    from rfm_core.audience import Audience, Condition
    from rfm_core.views import audience_layout, remove_condition

    f2, r90 = Condition("frequency", "gte", 2), Condition("recency_days", "gt", 90)
    lost = Condition("segment", "eq", "Lost")
    groups, conditions = audience_layout(Audience("x", ((f2, r90), (lost,))), 7)
    assert groups == [[7, 8], [9]] and conditions == {7: f2, 8: r90, 9: lost}
    assert audience_layout(Audience("x", ()), 3) == ([[]], {})  # the form always has a group to add to
    before = [[7, 8], [9]]
    assert remove_condition(before, 0, 8) == [[7], [9]]
    assert remove_condition(before, 1, 9) == [[7, 8]]  # a group left empty goes
    assert remove_condition([[4]], 0, 4) == [[]]  # ... unless it is the only one
    assert remove_condition(before, 0, 9) == [[7, 8], [9]]  # an id the group does not hold: nothing changes
    assert before == [[7, 8], [9]]  # not changed in place


def test_saved_audiences_table_by_hand() -> None:
    from rfm_core.audience import Audience, Condition
    from rfm_core.views import saved_audiences_table

    customers = pd.DataFrame({"customer_id": [str(i) for i in range(1500)], "frequency": [1] * 300 + [4] * 1200,
                              "monetary": [1.0] * 1500})
    saved = {"Repeat": Audience("Repeat", ((Condition("frequency", "gte", 2),),)),
             "Alive": Audience("Alive", ((Condition("p_alive", "gt", 0.5),),))}
    table = saved_audiences_table(saved, customers)
    assert table.columns.tolist() == ["Audience", "Who", "Customers now"]
    assert table["Audience"].tolist() == ["Repeat", "Alive"]
    assert table["Customers now"].tolist() == ["1,200", "needs lifetime value"]  # 1,500 - 300 with one order
    assert table["Who"].tolist() == ["2 or more orders", saved["Alive"].describe()]
    assert saved_audiences_table({}, customers).columns.tolist() == ["Audience", "Who", "Customers now"]


def test_with_clv_and_date_span_by_hand() -> None:
    from rfm_core.views import date_span, with_clv

    customers = pd.DataFrame({"customer_id": ["a", "b"], "monetary": [1.0, 2.0]})
    clv = pd.DataFrame({"customer_id": ["b", "z"], "p_alive": [0.8, 0.1], "clv_12m": [5.0, 6.0]})
    joined = with_clv(customers, clv)
    assert joined["customer_id"].tolist() == ["a", "b"]  # every customer once, none added
    assert np.isnan(joined["p_alive"].iloc[0]) and joined["clv_12m"].iloc[1] == 5.0
    frame = pd.DataFrame({"invoice_date": pd.to_datetime(["2024-03-05 10:00", None, "2023-12-31 23:59"])})
    assert date_span(frame) == (dt.date(2023, 12, 31), dt.date(2024, 3, 5))
    assert date_span(pd.DataFrame({"invoice_date": pd.to_datetime([None, None])})) is None


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=4), st.data())
def test_remove_condition_at_every_position(sizes: list[int], data: st.DataObject) -> None:
    """For any form (group sizes drawn, ids numbered in order): removing one id of group g keeps every other id in
    its order, drops group g when it is emptied unless it is the only group, and keeps the other groups as they
    were; removing from an empty group drops that group (again unless it is the only one)."""
    from rfm_core.views import remove_condition

    ids = iter(range(100))
    groups = [[next(ids) for _ in range(n)] for n in sizes]
    g = data.draw(st.integers(0, len(groups) - 1))
    cid = data.draw(st.sampled_from(groups[g])) if groups[g] else 99
    left = [x for x in groups[g] if x != cid]
    kept = [left] if left or len(groups) == 1 else []
    expected = [*groups[:g], *kept, *groups[g + 1:]]
    assert remove_condition(groups, g, cid) == expected
