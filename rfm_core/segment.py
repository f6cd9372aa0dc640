"""Segment stage: an ordered rule table over R/F/M scores; the first matching rule wins; an explicit fallback.

Rules are data (:class:`SegmentRule`, :class:`RuleSet`), saved and loaded as TOML, and describe themselves in
words. Each rule carries a *role* (:data:`ROLES`: best, loyal, ..., lost), which insights, revenue at risk and
migration's up/down follow, so renaming a segment changes nothing but its name.

A rule set is written for a score scale S (5 by default). A score s from n bins is read on that scale with
:func:`to_rule_scale`, the linear map that keeps both ends (1 → 1, n → S; see :func:`rfm_core.score.stretch`):
the bottom score always means the bottom and the top score the top, at every n = 2..10 and for R, F and M
independently. Assignment, the linter and the Settings coverage grid share one lookup table
(:func:`cell_table`), so what the linter shows is exactly what customers get.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field
from typing import Literal, cast, get_args

import numpy as np
import pandas as pd

from .columns import F_SCORE, M_SCORE, R_SCORE, SEGMENT
from .errors import ConfigError
from .playbooks import DEFAULT_PLAYBOOKS, MAX_CONTROL_SHARE, Playbook
from .score import stretch

__all__ = [
    "AT_RISK_ROLES",
    "DEFAULT_RULES",
    "PLAYBOOK_FIELDS",
    "ROLES",
    "ROLE_LABELS",
    "LintProblem",
    "LintReport",
    "Role",
    "RuleSet",
    "SegmentRule",
    "assign_segments",
    "cell_table",
    "default_role",
    "lint",
    "role_rank",
    "to_rule_scale",
]

#: A segment's role: what kind of customer it holds, from the best state of the relationship to the worst.
Role = Literal["best", "loyal", "potential", "new", "promising", "needs_attention", "about_to_sleep", "cant_lose",
               "at_risk", "hibernating", "lost", "other"]
#: Every role, in that order (best first); ``other`` has no rank.
ROLES: tuple[str, ...] = get_args(Role)
#: Each role in plain words, for the Settings editor and the documentation.
ROLE_LABELS: dict[str, str] = {
    "best": "best customers", "loyal": "loyal", "potential": "potential loyalists", "new": "new customers",
    "promising": "promising", "needs_attention": "needs attention", "about_to_sleep": "about to sleep",
    "cant_lose": "can't lose (high value, lapsing)", "at_risk": "at risk", "hibernating": "hibernating",
    "lost": "lost", "other": "other (no role)",
}
#: The roles whose customers' revenue is Overview's "revenue at risk".
AT_RISK_ROLES: tuple[str, ...] = ("cant_lose", "at_risk")

Range = tuple[int, int]
#: The playbook fields a rule carries (see :class:`rfm_core.playbooks.Playbook`), saved with the rules.
PLAYBOOK_FIELDS: tuple[str, ...] = ("goal", "channel", "offer", "timing", "control_share")


@dataclass(frozen=True)
class SegmentRule:
    """One segment: inclusive score ranges for R, F and M, with what it means and what to do about it.

    ``goal``, ``channel``, ``offer``, ``timing`` and ``control_share`` are the segment's playbook
    (:class:`rfm_core.playbooks.Playbook`): kept on the rule so that they are edited in the rule table and saved
    with it. ``control_share`` is the suggested hold-out share, 0 to 0.5.
    """

    name: str
    r: Range = (1, 5)
    f: Range = (1, 5)
    m: Range = (1, 5)
    description: str = ""
    action: str = ""
    role: Role = "other"
    goal: str = ""
    channel: str = ""
    offer: str = ""
    timing: str = ""
    control_share: float = 0.1

    def __post_init__(self) -> None:
        if not str(self.name).strip():
            raise ConfigError("Every segment rule needs a name.")
        # Playbook validates the share (0..0.5, finite) and gives the message.
        object.__setattr__(self, "control_share", Playbook(str(self.name), control_share=self.control_share)
                           .control_share)
        if self.role not in ROLES:
            raise ConfigError(f"Rule {self.name!r}: role {self.role!r} is not one of {', '.join(ROLES)}.")
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

    def role(self, name: str) -> Role:
        """The role of a segment (the fallback's is ``other``)."""
        rule = self.rule(name)
        return rule.role if rule else "other"

    @property
    def roles(self) -> dict[str, Role]:
        """Segment name → role, rules in order, fallback last."""
        return {name: self.role(name) for name in self.names}

    def to_frame(self) -> pd.DataFrame:
        """The rules as an editable table (``name, role, r_min, r_max, f_min, ..., description, action``, then the
        playbook: ``goal, channel, offer, timing, control_share``)."""
        columns = ["name", "role", "r_min", "r_max", "f_min", "f_max", "m_min", "m_max", "description", "action",
                   *PLAYBOOK_FIELDS]
        return pd.DataFrame([
            {"name": r.name, "role": r.role, "r_min": r.r[0], "r_max": r.r[1], "f_min": r.f[0], "f_max": r.f[1],
             "m_min": r.m[0], "m_max": r.m[1], "description": r.description, "action": r.action,
             **{k: getattr(r, k) for k in PLAYBOOK_FIELDS}}
            for r in self.rules
        ], columns=columns)

    def playbook(self, name: str) -> Playbook:
        """The segment's playbook; the fallback has none (empty texts, no hold-out)."""
        rule = self.rule(name)
        if rule is None:
            return Playbook(name, control_share=0.0)
        return Playbook(rule.name, rule.goal, rule.channel, rule.offer, rule.timing, rule.control_share)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, fallback: str = "Other", scale: int = 5) -> RuleSet:
        """Rules from an edited table; blank rows are skipped, bad cells raise :class:`ConfigError`.

        A missing or blank ``role`` is taken from the default rule of the same name, else ``other``. A table without
        the playbook columns (from before playbooks) takes the default playbook of the same name; a blank control
        share takes the default one too.
        """
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
            role = cast(Role, _text(row.get("role")).strip() or default_role(str(name)))  # checked by SegmentRule
            book = default_playbook(str(name))
            texts = {k: (_text(row[k]) if k in row else getattr(book, k)) for k in PLAYBOOK_FIELDS[:-1]}
            share = row.get("control_share")
            if share is None or (isinstance(share, float) and math.isnan(share)) or share == "":
                share = book.control_share
            try:
                share = float(share)
            except (TypeError, ValueError):
                raise ConfigError(f"Row {i} ({name}): the control share must be a number from 0 to "
                                  f"{MAX_CONTROL_SHARE} (e.g. 0.1 for 10%).") from None
            rules.append(SegmentRule(str(name).strip(), ranges["r"], ranges["f"], ranges["m"],
                                     _text(row.get("description")), _text(row.get("action")), role,
                                     control_share=share, **texts))
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
        values of the wrong type and invalid rules. Files from before roles existed still load: a rule without
        ``role`` takes the role of the default rule of the same name (``Champions`` → ``best``), else ``other``;
        a rule without any playbook key takes the default playbook of the same name.
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
            if "role" not in rule_kwargs:  # saved before roles existed
                rule_kwargs["role"] = default_role(str(rule_kwargs.get("name", "")))
            if not set(PLAYBOOK_FIELDS) & set(rule_kwargs):  # saved before playbooks existed
                book = default_playbook(str(rule_kwargs.get("name", "")))
                rule_kwargs |= {k: getattr(book, k) for k in PLAYBOOK_FIELDS}
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
                "Reward them: early access, loyalty perks, ask for reviews and referrals. No discounts needed.",
                role="best"),
    SegmentRule("Loyal Customers", (3, 5), (3, 5), (3, 5),
                "Buy regularly and spend well; responsive to promotions.",
                "Upsell higher-value products, invite to the loyalty programme, ask for reviews.",
                role="loyal"),
    SegmentRule("Can't Lose Them", (1, 2), (4, 5), (4, 5),
                "Used to buy often and spend the most, but have not come back for a long time.",
                "Win them back personally: call or write, offer renewals or new products, do not lose them to "
                "a competitor.",
                role="cant_lose"),
    SegmentRule("At Risk", (1, 2), (3, 5), (1, 5),
                "Bought fairly often, but a long time ago.",
                "Send personalised reactivation emails with relevant offers and helpful resources.",
                role="at_risk"),
    SegmentRule("Potential Loyalists", (4, 5), (2, 5), (1, 5),
                "Recent customers who have bought more than once.",
                "Offer membership or loyalty programme, recommend related products.",
                role="potential"),
    SegmentRule("New Customers", (5, 5), (1, 1), (1, 5),
                "Bought very recently, for the first time.",
                "Onboard them: welcome series, first-order follow-up, build the relationship early.",
                role="new"),
    SegmentRule("Promising", (4, 4), (1, 1), (1, 5),
                "Recent first-time buyers.",
                "Create brand awareness; offer a free trial or a small incentive for a second order.",
                role="promising"),
    SegmentRule("Need Attention", (3, 3), (2, 5), (1, 5),
                "Average recency; bought more than once but are cooling off.",
                "Make limited-time offers based on their purchase history; reactivate before they slip.",
                role="needs_attention"),
    SegmentRule("About to Sleep", (3, 3), (1, 1), (1, 5),
                "Bought once, a while ago.",
                "Share popular products and discounts; reconnect before they are lost.",
                role="about_to_sleep"),
    SegmentRule("Hibernating", (2, 2), (1, 2), (1, 5),
                "Last purchase long ago, few orders.",
                "Offer other relevant products and special discounts; recreate brand value.",
                role="hibernating"),
    SegmentRule("Lost", (1, 1), (1, 2), (1, 5),
                "Lowest recency and few orders.",
                "Revive interest with a reach-out campaign; otherwise ignore and stop spending on them.",
                role="lost"),
), fallback="Other")
# The default playbooks ride on the default rules (rfm_core.playbooks keeps them as data).
DEFAULT_RULES = RuleSet(tuple(dataclasses.replace(r, **{k: getattr(DEFAULT_PLAYBOOKS[r.name], k)
                                                          for k in PLAYBOOK_FIELDS})
                              for r in DEFAULT_RULES.rules), fallback=DEFAULT_RULES.fallback)


def default_playbook(name: str) -> Playbook:
    """The default playbook of the segment with this name (letter case and spaces ignored); else an empty one
    with the usual 10% hold-out."""
    key = " ".join(str(name).split()).casefold()
    hit = next((p for n, p in DEFAULT_PLAYBOOKS.items() if n.casefold() == key), None)
    return hit if hit is not None else Playbook(str(name).strip() or "?", control_share=0.1)


def default_role(name: str) -> Role:
    """The role of the default rule with this name (letter case and spaces ignored), else ``other``.

    This is how rules saved before roles existed get theirs.
    """
    key = " ".join(str(name).split()).casefold()
    return next((r.role for r in DEFAULT_RULES.rules if r.name.casefold() == key), "other")


def role_rank(role: str) -> int | None:
    """Position of a role from the worst (``lost`` = 0) to the best (``best`` = 10); None for ``other``.

    Migration calls a move *up* when the new segment's role ranks higher. The order follows the default rules:
    recency first (recent → lapsing → gone), then frequency and spend within the same recency.
    """
    if role == "other" or role not in ROLES:
        return None
    return len(ROLES) - 2 - ROLES.index(role)


def to_rule_scale(scores: np.ndarray, bins: int, scale: int) -> np.ndarray:
    """Read scores from ``bins`` bins on a rule set's ``scale``: the linear map keeping both ends.

    ``t = 1 + round((s − 1)·(scale − 1)/(bins − 1))`` with exact halves rounded toward the nearer end
    (:func:`rfm_core.score.stretch`). On the default scale 5: 2 bins read as 1, 5; 3 bins as 1, 3, 5; 4 bins as
    1, 2, 4, 5; 10 bins as 1, 1, 2, 2, 3, 3, 4, 4, 5, 5. So score 1 is always the bottom and score n the top; with
    fewer bins than the scale some scale values have no score, and rules needing only those can never win (the
    linter says which).
    """
    return stretch(scores, bins, scale)


def reachable(bins: int, scale: int) -> tuple[int, ...]:
    """The scale values that some score of ``bins`` bins reads as."""
    return tuple(int(v) for v in np.unique(to_rule_scale(np.arange(1, bins + 1), bins, scale)))


def cell_table(rules: RuleSet, bins: tuple[int, int, int] = (5, 5, 5)) -> np.ndarray:
    """Array of shape ``bins`` whose ``[r-1, f-1, m-1]`` is the index of the winning rule, or -1 (fallback).

    The one place where scores meet rules: :func:`assign_segments`, :func:`lint` and the Settings coverage grid all
    read it. The result is cached per (rules, bins) and read-only.
    """
    return _cell_table(rules, (int(bins[0]), int(bins[1]), int(bins[2])))


@functools.lru_cache(maxsize=512)
def _cell_table(rules: RuleSet, bins: tuple[int, int, int]) -> np.ndarray:
    nr, nf, nm = bins
    r, f, m = np.meshgrid(np.arange(1, nr + 1), np.arange(1, nf + 1), np.arange(1, nm + 1), indexing="ij")
    rs, fs, ms = (to_rule_scale(r, nr, rules.scale), to_rule_scale(f, nf, rules.scale),
                  to_rule_scale(m, nm, rules.scale))
    table = np.full(bins, -1, dtype=np.int64)
    for i, rule in enumerate(rules.rules):
        table[_matches(rule, rs, fs, ms) & (table == -1)] = i
    table.flags.writeable = False  # shared by every caller through the cache
    return table


def _matches(rule: SegmentRule, rs: np.ndarray, fs: np.ndarray, ms: np.ndarray) -> np.ndarray:
    return ((rs >= rule.r[0]) & (rs <= rule.r[1]) & (fs >= rule.f[0]) & (fs <= rule.f[1])
            & (ms >= rule.m[0]) & (ms <= rule.m[1]))


def assign_segments(scored: pd.DataFrame, rules: RuleSet = DEFAULT_RULES,
                    bins: tuple[int, int, int] = (5, 5, 5)) -> pd.Series:
    """The segment of each customer (a categorical over ``rules.names``), from ``r_score, f_score, m_score``.

    Parameters
    ----------
    scored : DataFrame
        One row per customer with integer scores ``r_score``, ``f_score``, ``m_score`` in ``1..bins``.
    rules : RuleSet
    bins : (int, int, int)
        Bins of R, F and M; each score is read on ``rules.scale`` with :func:`to_rule_scale`.

    Returns
    -------
    Series named ``segment``, same index, categories in rule order with the fallback last.

    Raises
    ------
    ConfigError
        A score outside its bins (scored and segmented with different settings).
    """
    table = cell_table(rules, bins)
    r = scored[R_SCORE].to_numpy(dtype=np.int64) - 1
    f = scored[F_SCORE].to_numpy(dtype=np.int64) - 1
    m = scored[M_SCORE].to_numpy(dtype=np.int64) - 1
    if len(r) and (r.min() < 0 or f.min() < 0 or m.min() < 0 or r.max() >= bins[0] or f.max() >= bins[1]
                   or m.max() >= bins[2]):
        raise ConfigError(f"Scores fall outside the bins {bins}; score and segment with the same settings.")
    idx = table[r, f, m]
    codes = np.where(idx < 0, len(rules.rules), idx)
    return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(list(rules.names))), index=scored.index,
                     name=SEGMENT)


@dataclass(frozen=True)
class LintProblem:
    """One finding: ``kind`` is ``no_cell`` (no score cell exists for the rule at these bins), ``shadowed`` (its
    cells exist but rules above take them all) or ``uncovered`` (cells no rule matches)."""

    kind: str
    rule: str | None
    message: str


@dataclass(frozen=True)
class LintReport:
    """What a rule set does on a score grid: the winner of each cell, rules that never win and why, uncovered cells.

    ``cells`` has one row per score cell: ``r, f, m`` (scores), ``r_scale, f_scale, m_scale`` (as the rules read
    them) and ``segment``.
    """

    cells: pd.DataFrame
    wins: dict[str, int]
    never_win: tuple[str, ...]
    uncovered: tuple[tuple[int, int, int], ...]
    bins: tuple[int, int, int]
    problems: tuple[LintProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.never_win and not self.uncovered

    @property
    def no_cell(self) -> tuple[str, ...]:
        """Rules for which no score cell exists at these bins (the bin count is the cause, not the order)."""
        return tuple(p.rule for p in self.problems if p.kind == "no_cell" and p.rule)

    @property
    def shadowed(self) -> tuple[str, ...]:
        """Rules whose cells exist but are all taken by rules above them (the order is the cause)."""
        return tuple(p.rule for p in self.problems if p.kind == "shadowed" and p.rule)

    def messages(self) -> list[str]:
        """One sentence per problem, naming its real cause and what to do."""
        return [p.message for p in self.problems]


_METRIC_WORDS = (("R", "recency"), ("F", "frequency"), ("M", "monetary"))


def _range_words(label: str, lo: int, hi: int) -> str:
    return f"{label} = {lo}" if lo == hi else f"{label} {lo}–{hi}"


def _or_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def _bins_words(ks: list[int]) -> str:
    """``[3, 5, 6, 7, 8, 9, 10]`` → ``3 or 5–10``."""
    runs: list[list[int]] = []
    for k in ks:
        if runs and k == runs[-1][-1] + 1:
            runs[-1].append(k)
        else:
            runs.append([k])
    parts = [f"{r[0]}–{r[-1]}" if len(r) >= 3 else ", ".join(str(k) for k in r) for r in runs]
    return _or_list(parts)


def _reads(n: int, scale: int) -> str:
    return ", ".join(str(v) for v in to_rule_scale(np.arange(1, n + 1), n, scale))


def _no_cell_message(rule: SegmentRule, bins: tuple[int, int, int], scale: int) -> str:
    """No score cell reads into the rule's ranges: name the metric(s) and the bin counts that would have one."""
    causes, fixes = [], []
    for (label, word), n, (lo, hi) in zip(_METRIC_WORDS, bins, (rule.r, rule.f, rule.m), strict=True):
        if any(lo <= v <= hi for v in reachable(n, scale)):
            continue
        causes.append(f"at {n} {word} bins no score reads as {_range_words(label, lo, hi)} (scores 1–{n} read as "
                      f"{_reads(n, scale)})")
        good = [k for k in range(2, 11) if any(lo <= v <= hi for v in reachable(k, scale))]
        fixes.append(f"use {_bins_words(good)} {word} bins or widen its {label} range")
    text = " and ".join(causes)
    return f"{text[0].upper()}{text[1:]}, so {rule.name} can never be assigned; {'; '.join(fixes)}."


def _lost_cells_message(rules: RuleSet, i: int, bins: tuple[int, int, int], above: list[str]) -> str:
    """The rule wins cells at the scale's own bins, but none of those cells exists at these bins."""
    rule, scale = rules.rules[i], rules.scale
    native = cell_table(rules, (scale, scale, scale))
    won = np.argwhere(native == i) + 1  # scale values (r, f, m) of the cells it wins at its own bins
    needs, causes, fixes = [], [], []
    for d, ((label, word), n) in enumerate(zip(_METRIC_WORDS, bins, strict=True)):
        missing = sorted(set(won[:, d].tolist()) - set(reachable(n, scale)))
        if not missing:
            continue
        needs.append(f"{label} = {' or '.join(str(v) for v in missing)}")
        causes.append(f"{n} {word} bins (scores 1–{n} read as {_reads(n, scale)})")
        good = []
        for k in range(2, 11):
            trial = list(bins)
            trial[d] = k
            if (cell_table(rules, (trial[0], trial[1], trial[2])) == i).any():
                good.append(k)
        if good:
            fixes.append(f"{_bins_words(good)} {word} bins")
    fix = f"Use {_or_list(fixes)}, or change the rules." if fixes else "Change the rules."
    return (f"{rule.name} can never be assigned at these bins: every cell it wins at {scale} bins needs "
            f"{_or_list(needs)}, and no score reads as that at {_or_list(causes)}; the cells that do exist go to "
            f"{', '.join(above)} above it. {fix}")


def lint(rules: RuleSet, bins: tuple[int, int, int] = (5, 5, 5)) -> LintReport:
    """Check a rule set against every score cell for the given bins (``bins`` per R, F, M).

    A rule that never wins is reported with its cause. ``no_cell``: the bin count is the cause, and changing the
    order cannot help: no score cell reads into its ranges at these bins, or the cells it wins at the scale's own
    bins do not exist at these bins (the message names the bin counts that would work). ``shadowed``: the order is
    the cause: it never wins even at the scale's own bins because rules above take its cells (the message names
    them). Cells no rule matches are reported as ``uncovered``.
    """
    bins = (int(bins[0]), int(bins[1]), int(bins[2]))
    table = cell_table(rules, bins)
    r, f, m = np.meshgrid(*(np.arange(1, b + 1) for b in bins), indexing="ij")
    rs, fs, ms = (to_rule_scale(r, bins[0], rules.scale), to_rule_scale(f, bins[1], rules.scale),
                  to_rule_scale(m, bins[2], rules.scale))
    names = np.array([*(x.name for x in rules.rules), rules.fallback], dtype=object)
    winner = names[np.where(table < 0, len(rules.rules), table)]
    cells = pd.DataFrame({"r": r.ravel(), "f": f.ravel(), "m": m.ravel(), "r_scale": rs.ravel(),
                          "f_scale": fs.ravel(), "m_scale": ms.ravel(), SEGMENT: winner.ravel()})
    counts = np.bincount(table[table >= 0].ravel(), minlength=len(rules.rules))
    wins = {rule.name: int(c) for rule, c in zip(rules.rules, counts, strict=True)}
    problems: list[LintProblem] = []
    native = cell_table(rules, (rules.scale,) * 3)
    for i, rule in enumerate(rules.rules):
        if wins[rule.name]:
            continue
        own = _matches(rule, rs, fs, ms)
        if not own.any():
            problems.append(LintProblem("no_cell", rule.name, _no_cell_message(rule, bins, rules.scale)))
            continue
        above = [rules.rules[j].name for j in sorted(set(table[own].tolist())) if 0 <= j < i]
        if (native == i).any():  # it wins at its own scale: the bin count removed the cells it would win
            problems.append(LintProblem("no_cell", rule.name, _lost_cells_message(rules, i, bins, above)))
            continue
        problems.append(LintProblem(  # shadowed at its own scale too: the order is the cause
            "shadowed", rule.name,
            f"{rule.name} never wins: each of the {int(own.sum())} score cells it matches is taken by a rule above it "
            f"({', '.join(above)}). Move it above {'that rule' if len(above) == 1 else 'them'} or narrow the rules "
            "above."))
    uncovered = tuple((int(a), int(b), int(c)) for a, b, c in zip(r[table < 0], f[table < 0], m[table < 0],
                                                                  strict=True))
    if uncovered:
        sample = ", ".join(f"R{a}F{b}M{c}" for a, b, c in uncovered[:6])
        problems.append(LintProblem(
            "uncovered", None, f"{len(uncovered)} of {int(np.prod(bins))} score cells match no rule and fall to "
                               f"{rules.fallback} (e.g. {sample}); widen a rule to cover them."))
    never = tuple(p.rule for p in problems if p.rule)
    return LintReport(cells, wins, never, uncovered, bins, tuple(problems))
