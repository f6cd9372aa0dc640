"""Playbooks: what to do with each segment, concretely, and how many customers to hold out to measure it.

A :class:`Playbook` names a goal, a channel, an offer, a timing and a suggested hold-out (control) share. The
defaults below cover the 11 segments of :data:`rfm_core.segment.DEFAULT_RULES`; they are data (frozen
dataclasses, saved and read as TOML) so that an analyst can edit them and keep them with the rule table.

The hold-out is how a campaign's result is measured: a random share of the segment gets nothing, and the
difference between the contacted (test) group and the control group is the campaign's effect. Shares are
larger where the expected value per customer is low (a bigger control costs little and measures more clearly)
and smaller where not contacting a customer is expensive (Champions, Can't Lose Them).
"""

from __future__ import annotations

import hashlib
import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import ConfigError

if TYPE_CHECKING:
    from .segment import RuleSet

__all__ = [
    "DEFAULT_PLAYBOOKS",
    "MAX_CONTROL_SHARE",
    "PLAYBOOK_TABLE_COLUMNS",
    "Playbook",
    "assign_holdout",
    "playbook_table",
    "playbooks_from_toml",
    "playbooks_to_toml",
    "split_holdout",
]

#: A control group larger than half the segment would leave fewer customers contacted than held out.
MAX_CONTROL_SHARE = 0.5


@dataclass(frozen=True)
class Playbook:
    """One segment's plan.

    Parameters
    ----------
    segment : str
        The segment name, as in the rule table.
    goal, channel, offer, timing : str
        What the campaign should achieve, through which channel, with what offer, and when.
    control_share : float
        Suggested share of the segment held out as a control group, from 0 (no measurement) to 0.5.

    Raises
    ------
    ConfigError
        An empty segment name, or a control share outside 0..0.5.
    """

    segment: str
    goal: str = ""
    channel: str = ""
    offer: str = ""
    timing: str = ""
    control_share: float = 0.1

    def __post_init__(self) -> None:
        if not str(self.segment).strip():
            raise ConfigError("A playbook needs the name of its segment.")
        share = self.control_share
        if isinstance(share, bool) or not isinstance(share, int | float) or not math.isfinite(share) or not (
                0 <= share <= MAX_CONTROL_SHARE):
            raise ConfigError(f"Playbook {self.segment!r}: the control share must be a number from 0 to "
                              f"{MAX_CONTROL_SHARE} (e.g. 0.1 for 10%), not {share!r}.")
        object.__setattr__(self, "control_share", float(share))


def split_holdout(size: int, control_share: float) -> tuple[int, int]:
    """The number of customers contacted (test) and held out (control) for a segment of ``size`` customers.

    Rounding: control = ``size x control_share`` rounded half up, computed on the share as written (0.15 is
    15/100 exactly, not its binary approximation), and never more than half the segment (``size // 2``; only a
    share of 0.5 on an odd size would round past it). Then, when the segment has at least 2 customers and the
    share is above 0, the control keeps at least one customer, so the comparison exists. One customer cannot be
    split: they are contacted.

    Returns
    -------
    (test, control) : tuple of int
        ``test + control == size``.

    Raises
    ------
    ConfigError
        A negative size or a share outside 0..0.5.
    """
    if isinstance(size, bool) or int(size) != size or size < 0:
        raise ConfigError(f"A segment size is a whole number of customers, not {size!r}.")
    size = int(size)
    share = Playbook("x", control_share=control_share).control_share
    control = min(math.floor(size * Fraction(repr(share)) + Fraction(1, 2)), size // 2)
    if size >= 2 and share > 0:
        control = max(control, 1)
    return size - control, control


def assign_holdout(customer_ids: Iterable[object], control_share: float, salt: str = "") -> pd.Series:
    """Which customers are held out: True for control, False for test, indexed by customer id (as text).

    The choice is random but repeatable: customers are ordered by the SHA-256 of ``salt`` + their id, and the
    first :func:`split_holdout` control-count of them form the control group. The same customers stay in control
    however the table is sorted or filtered around them, and a new ``salt`` (e.g. the campaign name) draws anew.
    """
    ids = pd.Index([str(c) for c in customer_ids]).unique()
    _, control = split_holdout(len(ids), control_share)
    keys = np.array([hashlib.sha256(f"{salt}\x00{c}".encode()).hexdigest() for c in ids], dtype=object)
    order = np.argsort(keys, kind="stable")
    held = np.zeros(len(ids), dtype=bool)
    held[order[:control]] = True
    return pd.Series(held, index=ids, name="control")


#: Columns of :func:`playbook_table`.
PLAYBOOK_TABLE_COLUMNS = ["segment", "customers", "goal", "channel", "offer", "timing", "control_share", "test",
                          "control"]


def playbook_table(summary: pd.DataFrame, rules: RuleSet) -> pd.DataFrame:
    """Each segment's playbook with the customers it contacts and holds out, for the Actions page and the report.

    Parameters
    ----------
    summary : DataFrame
        One row per segment with ``segment`` and ``customers`` (:func:`rfm_core.segment_summary`); a missing
        count is an empty segment (0).
    rules : RuleSet
        Where the playbooks live (:meth:`rfm_core.segment.RuleSet.playbook`).

    Returns
    -------
    DataFrame
        :data:`PLAYBOOK_TABLE_COLUMNS`, one row per summary row in its order: ``control_share`` a fraction,
        ``test`` and ``control`` customers from :func:`split_holdout` (``test + control == customers``).
    """
    rows = []
    for name, size in zip(summary["segment"], summary["customers"].fillna(0), strict=True):
        book = rules.playbook(str(name))
        test, control = split_holdout(int(size), book.control_share)
        rows.append({"segment": str(name), "customers": int(size), "goal": book.goal, "channel": book.channel,
                     "offer": book.offer, "timing": book.timing, "control_share": book.control_share,
                     "test": test, "control": control})
    return pd.DataFrame(rows, columns=PLAYBOOK_TABLE_COLUMNS)


def _pb(segment: str, goal: str, channel: str, offer: str, timing: str, control: float) -> Playbook:
    return Playbook(segment, goal, channel, offer, timing, control)


#: Concrete default playbooks for the 11 default segments, keyed by segment name.
DEFAULT_PLAYBOOKS: dict[str, Playbook] = {p.segment: p for p in (
    _pb("Champions", "Keep them buying and turn them into advocates.",
        "Email, plus a personal note in the parcel.",
        "Early access to new products and a referral reward; no discount.",
        "With each new collection; ask for a review or referral 14 days after delivery.", 0.05),
    _pb("Loyal Customers", "Raise order value and move them up to Champions.",
        "Email and on-site recommendations.",
        "Bundles and higher-value products related to what they buy; loyalty-programme invitation.",
        "Monthly, timed to their usual gap between orders.", 0.10),
    _pb("Can't Lose Them", "Win back former best customers before a competitor does.",
        "Personal email or phone call from a named person, then a printed mailing.",
        "A generous personal offer (e.g. 15% off or free delivery) and news since their last order.",
        "Now; follow up after 2 weeks if there is no order.", 0.05),
    _pb("At Risk", "Bring back regular customers who have gone quiet.",
        "Personalised email series (3 messages), retargeting ads.",
        "10% off their next order on products like those they bought before.",
        "Now, 3 messages a week apart.", 0.10),
    _pb("Potential Loyalists", "Turn recent repeat buyers into regulars.",
        "Email with recommendations from their purchases.",
        "Loyalty-programme membership with double points on the next order.",
        "Within 7 days of their latest order.", 0.10),
    _pb("New Customers", "Get the second order.",
        "Welcome email series.",
        "Welcome series: brand story, care tips, best sellers; free delivery on the second order.",
        "Day 1, day 7 and day 21 after the first order.", 0.10),
    _pb("Promising", "Get the second order while the first is recent.",
        "Email, then retargeting ads.",
        "A small incentive for a second order (free delivery or a gift with purchase).",
        "3-4 weeks after the first order.", 0.10),
    _pb("Need Attention", "Reactivate before they slip into At Risk.",
        "Email and retargeting ads.",
        "A limited-time offer on categories they bought from.",
        "Now, with a 7-day deadline.", 0.10),
    _pb("About to Sleep", "Reconnect one-time buyers from a while ago.",
        "Email newsletter with a personal subject line.",
        "Popular products and a modest discount (10%).",
        "Now; one reminder after 10 days.", 0.15),
    _pb("Hibernating", "Test whether they can be revived, at low cost.",
        "Email only (no paid channels).",
        "Seasonal best sellers with a time-limited discount.",
        "At the next seasonal campaign.", 0.20),
    _pb("Lost", "Try once, cheaply; otherwise stop spending on them.",
        "A single email; no paid media.",
        "A 'we miss you' message with the strongest offer you can afford.",
        "Once; suppress from paid campaigns if there is no response in 30 days.", 0.20),
)}


def playbooks_to_toml(playbooks: Mapping[str, Playbook] | Iterable[Playbook]) -> str:
    """Playbooks as TOML (``[[playbook]]`` tables) that :func:`playbooks_from_toml` reads back equal."""
    import tomli_w

    items = list(playbooks.values()) if isinstance(playbooks, Mapping) else list(playbooks)
    return tomli_w.dumps({"playbook": [asdict(p) for p in items]})


def playbooks_from_toml(text: str) -> dict[str, Playbook]:
    """Read playbooks saved by :func:`playbooks_to_toml`; unknown keys fail with the list of known ones."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"The playbooks file is not valid TOML: {exc}.") from None
    if set(data) - {"playbook"}:
        raise ConfigError(f"Unknown keys in the playbooks file: {', '.join(sorted(set(data) - {'playbook'}))}. "
                          "Known: playbook.")
    known = {f.name for f in fields(Playbook)}
    out: dict[str, Playbook] = {}
    for raw in data.get("playbook", []):
        unknown = set(raw) - known
        if unknown:
            raise ConfigError(f"Unknown keys in a playbook: {', '.join(sorted(unknown))}. Known: "
                              f"{', '.join(sorted(known))}.")
        if "segment" not in raw:
            raise ConfigError("Every playbook needs a segment.")
        playbook = Playbook(**raw)
        if playbook.segment in out:
            raise ConfigError(f"Two playbooks for the segment {playbook.segment!r}; keep one.")
        out[playbook.segment] = playbook
    return out
