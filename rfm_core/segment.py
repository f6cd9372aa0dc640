"""Segment stage: an ordered rule table over R/F/M scores; the first matching rule wins; an explicit fallback.

Rules are data (:class:`SegmentRule`, :class:`RuleSet`), saved and loaded as TOML, and describe themselves in
words. A rule set is written for a score scale (5 by default). Scores from n bins are read on that scale as
``ceil(s * scale / n)``, the position of the bin's upper edge: with 10 bins, scores 9 and 10 both read as 5.
Assignment and the linter share one lookup table, so what the linter shows is exactly what customers get.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import ConfigError

__all__ = [
    "DEFAULT_RULES",
    "LintReport",
    "RuleSet",
    "SegmentRule",
    "assign_segments",
    "cell_table",
    "lint",
]

Range = tuple[int, int]


@dataclass(frozen=True)
class SegmentRule:
    """One segment: inclusive score ranges for R, F and M, with what it means and what to do about it."""

    name: str
    r: Range = (1, 5)
    f: Range = (1, 5)
    m: Range = (1, 5)
    description: str = ""
    action: str = ""

    def __post_init__(self) -> None:
        if not str(self.name).strip():
            raise ConfigError("Every segment rule needs a name.")
        for label in ("r", "f", "m"):
            rng = tuple(int(v) for v in getattr(self, label))
            if len(rng) != 2 or rng[0] > rng[1] or rng[0] < 1:
                raise ConfigError(
                    f"Rule {self.name!r}: {label.upper()} range {list(rng)} must be [min, max] with 1 <= min <= max."
                )
            object.__setattr__(self, label, rng)

    def describe(self, scale: int = 5) -> str:
        """The condition in words, e.g. ``R ≥ 4 and F ≥ 4 and M ≥ 4``; ``any scores`` when unconstrained."""
        parts = []
        for label, (lo, hi) in (("R", self.r), ("F", self.f), ("M", self.m)):
            if lo <= 1 and hi >= scale:
                continue
            if lo == hi:
                parts.append(f"{label} = {lo}")
            elif lo <= 1:
                parts.append(f"{label} ≤ {hi}")
            elif hi >= scale:
                parts.append(f"{label} ≥ {lo}")
            else:
                parts.append(f"{label} {lo}–{hi}")
        return " and ".join(parts) if parts else "any scores"


@dataclass(frozen=True)
class RuleSet:
    """Ordered rules (first match wins), the fallback segment name, and the score scale they are written for."""

    rules: tuple[SegmentRule, ...]
    fallback: str = "Other"
    scale: int = 5
    fallback_description: str = field(default="Customers no rule describes.")
    fallback_action: str = field(default="Review the segment rules: these customers fall through every rule.")

    def __post_init__(self) -> None:
        if not isinstance(self.rules, tuple):
            object.__setattr__(self, "rules", tuple(self.rules))
        if not 2 <= int(self.scale) <= 10:
            raise ConfigError(f"A rule set's scale must be 2..10, not {self.scale}.")
        names = [r.name for r in self.rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"Segment names must be unique; repeated: {', '.join(dupes)}.")
        if not str(self.fallback).strip():
            raise ConfigError("The fallback segment needs a name.")
        if self.fallback in names:
            raise ConfigError(f"The fallback {self.fallback!r} has the same name as a rule; rename one of them.")
        for rule in self.rules:
            for label in ("r", "f", "m"):
                if getattr(rule, label)[1] > self.scale:
                    raise ConfigError(
                        f"Rule {rule.name!r}: {label.upper()} max {getattr(rule, label)[1]} is above the scale "
                        f"of {self.scale}."
                    )

    @property
    def names(self) -> tuple[str, ...]:
        """Every segment a customer can get, rules first, fallback last."""
        return (*(r.name for r in self.rules), self.fallback)

    def rule(self, name: str) -> SegmentRule | None:
        return next((r for r in self.rules if r.name == name), None)

    def to_frame(self) -> pd.DataFrame:
        """The rules as an editable table (``name, r_min, r_max, f_min, ..., description, action``)."""
        return pd.DataFrame([
            {"name": r.name, "r_min": r.r[0], "r_max": r.r[1], "f_min": r.f[0], "f_max": r.f[1],
             "m_min": r.m[0], "m_max": r.m[1], "description": r.description, "action": r.action}
            for r in self.rules
        ], columns=["name", "r_min", "r_max", "f_min", "f_max", "m_min", "m_max", "description", "action"])

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, fallback: str = "Other", scale: int = 5) -> RuleSet:
        """Rules from an edited table; blank rows are skipped, bad cells raise :class:`ConfigError`."""
        rules = []
        for i, row in enumerate(frame.to_dict("records"), start=1):
            name = row.get("name")
            if name is None or (isinstance(name, float) and math.isnan(name)) or not str(name).strip():
                continue
            try:
                ranges = {k: (int(row[f"{k}_min"]), int(row[f"{k}_max"])) for k in ("r", "f", "m")}
            except (TypeError, ValueError, KeyError):
                raise ConfigError(f"Row {i} ({name}): every min and max must be a whole number from 1 to {scale}.")\
                    from None
            rules.append(SegmentRule(str(name).strip(), ranges["r"], ranges["f"], ranges["m"],
                                     _text(row.get("description")), _text(row.get("action"))))
        return cls(tuple(rules), fallback, scale)

    def to_toml(self) -> str:
        """TOML text (tomli-w) that :meth:`from_toml` reads back to an equal rule set.

        The rule set's fields at the top, then one ``[[rule]]`` table per rule with every :class:`SegmentRule`
        field, in order (first match wins), written generically so that new fields are saved too.
        """
        from . import tomlio

        table = tomlio.to_table(self, skip=frozenset({"rules"}))
        table["rule"] = [tomlio.to_table(r) for r in self.rules]
        return tomlio.dumps(table, "RFM segment rules (rfm_core): evaluated in order, the first match wins")

    @classmethod
    def from_toml(cls, text: str) -> RuleSet:
        """Read rules saved by :meth:`to_toml` (or written by hand in the same shape).

        A rule without an ``r``, ``f`` or ``m`` range accepts any score on the rule set's scale. Raises
        :class:`ConfigError` for invalid TOML, unknown keys (listing the known ones), no ``[[rule]]`` tables,
        values of the wrong type and invalid rules.
        """
        from . import tomlio

        data = tomlio.loads(text, "rules file")
        kwargs = tomlio.from_table(cls, data, "rules file", special={"rules": _no_rules_key},
                                   extra_keys=frozenset({"rule"}))
        scale = kwargs.get("scale", 5)
        raw_rules = data.get("rule", [])
        if not isinstance(raw_rules, list) or not raw_rules:
            raise ConfigError("The rules file has no [[rule]] tables.")
        rules = []
        for i, raw in enumerate(raw_rules, start=1):
            where = f"rule {i}" + (f" ({raw['name']})" if isinstance(raw, dict) and "name" in raw else "")
            if isinstance(raw, dict) and "name" not in raw:
                raise ConfigError(f"Rule {i} has no name.")
            rule_kwargs = tomlio.from_table(SegmentRule, raw, where)
            for label in ("r", "f", "m"):
                rule_kwargs.setdefault(label, (1, scale))  # no range: any score
            rules.append(SegmentRule(**rule_kwargs))
        return cls(tuple(rules), **kwargs)

    def description(self, name: str) -> str:
        rule = self.rule(name)
        return rule.description if rule else self.fallback_description

    def action(self, name: str) -> str:
        rule = self.rule(name)
        return rule.action if rule else self.fallback_action

    def condition(self, name: str) -> str:
        rule = self.rule(name)
        return rule.describe(self.scale) if rule else "no rule matched"


def _no_rules_key(value: object, where: str) -> None:
    raise ConfigError("Write each rule as a [[rule]] table, not as a 'rules' key.")


def _text(v: object) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(v)


DEFAULT_RULES = RuleSet((
    SegmentRule("Champions", (4, 5), (4, 5), (4, 5),
                "Bought recently, buy often and spend the most.",
                "Reward them: early access, loyalty perks, ask for reviews and referrals. No discounts needed."),
    SegmentRule("Loyal Customers", (3, 5), (3, 5), (3, 5),
                "Buy regularly and spend well; responsive to promotions.",
                "Upsell higher-value products, invite to the loyalty programme, ask for reviews."),
    SegmentRule("Can't Lose Them", (1, 2), (4, 5), (4, 5),
                "Used to buy often and spend the most, but have not come back for a long time.",
                "Win them back personally: call or write, offer renewals or new products, do not lose them to "
                "a competitor."),
    SegmentRule("At Risk", (1, 2), (3, 5), (1, 5),
                "Bought fairly often, but a long time ago.",
                "Send personalised reactivation emails with relevant offers and helpful resources."),
    SegmentRule("Potential Loyalists", (4, 5), (2, 5), (1, 5),
                "Recent customers who have bought more than once.",
                "Offer membership or loyalty programme, recommend related products."),
    SegmentRule("New Customers", (5, 5), (1, 1), (1, 5),
                "Bought very recently, for the first time.",
                "Onboard them: welcome series, first-order follow-up, build the relationship early."),
    SegmentRule("Promising", (4, 4), (1, 1), (1, 5),
                "Recent first-time buyers.",
                "Create brand awareness; offer a free trial or a small incentive for a second order."),
    SegmentRule("Need Attention", (3, 3), (2, 5), (1, 5),
                "Average recency; bought more than once but are cooling off.",
                "Make limited-time offers based on their purchase history; reactivate before they slip."),
    SegmentRule("About to Sleep", (3, 3), (1, 1), (1, 5),
                "Bought once, a while ago.",
                "Share popular products and discounts; reconnect before they are lost."),
    SegmentRule("Hibernating", (2, 2), (1, 2), (1, 5),
                "Last purchase long ago, few orders.",
                "Offer other relevant products and special discounts; recreate brand value."),
    SegmentRule("Lost", (1, 1), (1, 2), (1, 5),
                "Lowest recency and few orders.",
                "Revive interest with a reach-out campaign; otherwise ignore and stop spending on them."),
), fallback="Other")


def _to_scale(scores: np.ndarray, bins: int, scale: int) -> np.ndarray:
    if bins == scale:
        return scores
    return np.ceil(scores * scale / bins).astype(np.int64)


def cell_table(rules: RuleSet, bins: tuple[int, int, int] = (5, 5, 5)) -> np.ndarray:
    """Array of shape ``bins`` whose ``[r-1, f-1, m-1]`` is the index of the winning rule, or -1 (fallback)."""
    nr, nf, nm = bins
    r, f, m = np.meshgrid(np.arange(1, nr + 1), np.arange(1, nf + 1), np.arange(1, nm + 1), indexing="ij")
    rs, fs, ms = _to_scale(r, nr, rules.scale), _to_scale(f, nf, rules.scale), _to_scale(m, nm, rules.scale)
    table = np.full(bins, -1, dtype=np.int64)
    for i, rule in enumerate(rules.rules):
        hit = ((rs >= rule.r[0]) & (rs <= rule.r[1]) & (fs >= rule.f[0]) & (fs <= rule.f[1])
               & (ms >= rule.m[0]) & (ms <= rule.m[1]) & (table == -1))
        table[hit] = i
    return table


def assign_segments(scored: pd.DataFrame, rules: RuleSet = DEFAULT_RULES,
                    bins: tuple[int, int, int] = (5, 5, 5)) -> pd.Series:
    """The segment of each customer (a categorical over ``rules.names``), from ``r_score, f_score, m_score``."""
    table = cell_table(rules, bins)
    r = scored["r_score"].to_numpy(dtype=np.int64) - 1
    f = scored["f_score"].to_numpy(dtype=np.int64) - 1
    m = scored["m_score"].to_numpy(dtype=np.int64) - 1
    if len(r) and (r.min() < 0 or f.min() < 0 or m.min() < 0 or r.max() >= bins[0] or f.max() >= bins[1]
                   or m.max() >= bins[2]):
        raise ConfigError(f"Scores fall outside the bins {bins}; score and segment with the same settings.")
    idx = table[r, f, m]
    codes = np.where(idx < 0, len(rules.rules), idx)
    return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(list(rules.names))), index=scored.index,
                     name="segment")


@dataclass(frozen=True)
class LintReport:
    """What a rule set does on a score grid: the winner of each cell, rules that never win, uncovered cells."""

    cells: pd.DataFrame
    wins: dict[str, int]
    never_win: tuple[str, ...]
    uncovered: tuple[tuple[int, int, int], ...]
    bins: tuple[int, int, int]

    @property
    def ok(self) -> bool:
        return not self.never_win and not self.uncovered

    def messages(self) -> list[str]:
        out = []
        for name in self.never_win:
            out.append(f"Rule {name!r} never wins: rules above it take all of its cells. Move it up or narrow "
                       "the rules above.")
        if self.uncovered:
            sample = ", ".join(f"R{r}F{f}M{m}" for r, f, m in self.uncovered[:6])
            out.append(f"{len(self.uncovered)} of {int(np.prod(self.bins))} score cells match no rule and fall "
                       f"to the fallback (e.g. {sample}).")
        return out


def lint(rules: RuleSet, bins: tuple[int, int, int] = (5, 5, 5)) -> LintReport:
    """Check a rule set against every score cell for the given bins (``bins`` per R, F, M)."""
    table = cell_table(rules, bins)
    r, f, m = np.meshgrid(*(np.arange(1, b + 1) for b in bins), indexing="ij")
    names = np.array([*(x.name for x in rules.rules), rules.fallback], dtype=object)
    winner = names[np.where(table < 0, len(rules.rules), table)]
    cells = pd.DataFrame({"r": r.ravel(), "f": f.ravel(), "m": m.ravel(), "segment": winner.ravel()})
    counts = np.bincount(table[table >= 0].ravel(), minlength=len(rules.rules))
    wins = {rule.name: int(c) for rule, c in zip(rules.rules, counts, strict=True)}
    never = tuple(name for name, c in wins.items() if c == 0)
    uncovered = tuple((int(a), int(b), int(c)) for a, b, c in zip(r[table < 0], f[table < 0], m[table < 0],
                                                                  strict=True))
    return LintReport(cells, wins, never, uncovered, bins)
