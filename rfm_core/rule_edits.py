"""Edits of a segment rule table, and the coverage grid of one M score: what the Settings page offers, as data.

Every edit returns a new :class:`~rfm_core.segment.RuleSet` (rule sets are frozen) and keeps everything it does
not edit: the fallback segment, its description and action, and the scale.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from .columns import SEGMENT
from .errors import ConfigError
from .segment import LintReport, RuleSet, SegmentRule

__all__ = ["NEW_RULE_PREFIX", "add_rule", "coverage_grid", "delete_rule", "move_rule", "unique_rule_name"]

#: New rules are called "New segment 1", "New segment 2", ...: the first number not taken.
NEW_RULE_PREFIX = "New segment"


def _index(rules: RuleSet, name: str) -> int:
    for i, rule in enumerate(rules.rules):
        if rule.name == name:
            return i
    raise ConfigError(f"There is no rule called {name!r}; the rules are {', '.join(rules.names)}.")


def move_rule(rules: RuleSet, name: str, step: int) -> RuleSet:
    """The rule ``name`` moved ``step`` places (negative: up, towards the first match; positive: down).

    A move past either end stops at that end, so "up" on the first rule returns the same rules.

    Raises
    ------
    ConfigError
        No rule has that name.
    """
    order = list(rules.rules)
    i = _index(rules, name)
    j = min(max(i + step, 0), len(order) - 1)
    order.insert(j, order.pop(i))
    return dataclasses.replace(rules, rules=tuple(order))


def delete_rule(rules: RuleSet, name: str) -> RuleSet:
    """The rules without ``name`` (its customers then fall to the next matching rule, or to the fallback).

    Raises
    ------
    ConfigError
        No rule has that name.
    """
    i = _index(rules, name)
    return dataclasses.replace(rules, rules=rules.rules[:i] + rules.rules[i + 1:])


def unique_rule_name(taken: tuple[str, ...] | list[str], prefix: str = NEW_RULE_PREFIX) -> str:
    """``"<prefix> n"`` with the smallest n >= 1 not in ``taken`` (the fallback's name counts as taken too)."""
    n = 1
    while f"{prefix} {n}" in taken:
        n += 1
    return f"{prefix} {n}"


def add_rule(rules: RuleSet) -> RuleSet:
    """A new catch-all rule (every range the whole scale, role ``other``) at the top, under a unique name.

    At the top it wins every cell until its ranges are narrowed, so its effect is visible at once in the coverage
    grid; the existing rules keep their order below it.
    """
    full = (1, rules.scale)
    new = SegmentRule(unique_rule_name([*rules.names, rules.fallback]), full, full, full, "Describe who they are.",
                      "Say what to do.", "other")
    return dataclasses.replace(rules, rules=(new, *rules.rules))


def coverage_grid(report: LintReport, m: int) -> pd.DataFrame:
    """The winning segment of every (R, F) cell at M score ``m``: the table the Settings page colours.

    Parameters
    ----------
    report : LintReport
        From :func:`rfm_core.segment.lint` at the scoring's bins; ``report.cells`` has one row per score cell with
        ``r, f, m, r_scale, f_scale, m_scale, segment``.
    m : int
        The M score, 1 .. the monetary bins.

    Returns
    -------
    DataFrame
        F bins rows (highest F first) x R bins columns of segment names. Row labels read ``"F<score> → <scale>"``
        and column labels ``"R<score> → <scale>"``: the score and, after the arrow, how the rules read it on
        their scale.

    Raises
    ------
    ConfigError
        ``m`` is not a score at these bins.
    """
    if not 1 <= m <= report.bins[2]:
        raise ConfigError(f"M score {m} does not exist with {report.bins[2]} monetary bins; choose 1 to "
                          f"{report.bins[2]}.")
    cells = report.cells[report.cells["m"] == m]
    grid = cells.pivot(index="f", columns="r", values=SEGMENT).sort_index(ascending=False)
    read_r = cells.drop_duplicates("r").set_index("r")["r_scale"]
    read_f = cells.drop_duplicates("f").set_index("f")["f_scale"]
    grid.index = pd.Index([f"F{i} → {read_f[i]}" for i in grid.index])
    grid.columns = pd.Index([f"R{c} → {read_r[c]}" for c in grid.columns])
    return grid
