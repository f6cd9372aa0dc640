"""Audiences: who to contact, as conditions on the per-customer table ("2 or more orders and no order in 90 days").

An :class:`Audience` is a list of **groups**; a customer is in the audience when they match **any** group (OR),
and matches a group when they meet **every** condition in it (AND). Any AND/OR combination can be written this
way (disjunctive normal form), it stays flat enough to show as a form, and it reads back in words:
``(2 or more orders and no order in the last 90 days) or segment is Can't Lose Them``.

Each :class:`Condition` is a field, an operator and a value, and describes itself in plain words, in the style
of datasette's filters: every operator carries its symbol and its words (:data:`OPERATORS`), every field its
label and kind (:data:`FIELDS`). Fields are the per-customer columns: recency, frequency, monetary, the R/F/M
scores, segment, country, and from the lifetime-value model ``p_alive`` and ``clv`` (the ``clv_<h>m`` column).

Conventions (DOCUMENTATION.md, "Audiences"):

- No groups, or a group without conditions, matches every customer (an empty filter filters nothing).
- A missing value (no country, no CLV for a customer) never matches a condition, not even "is not" or "is none
  of": an audience never picks customers for what is unknown about them.
- ``between`` includes both ends. Recency is in days to the analysis date, so "no order in the last 90 days" is
  ``recency_days > 90`` and "ordered in the last 30 days" is ``recency_days <= 30``.
- A condition on a column the table lacks raises :class:`~rfm_core.errors.ConfigError` saying what adds it.

Audiences are saved as JSON or TOML (:meth:`Audience.to_json`, :meth:`Audience.to_toml`) and read back equal.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .columns import COUNTRY, F_SCORE, FREQUENCY, M_SCORE, MONETARY, R_SCORE, RECENCY_DAYS, SEGMENT
from .errors import ConfigError
from .formatting import NO_CURRENCY, Currency, count, money, percent

__all__ = [
    "CLV",
    "DEFAULT_NAME",
    "FIELDS",
    "OPERATORS",
    "P_ALIVE",
    "Audience",
    "AudienceSize",
    "Condition",
    "Field",
    "Operator",
    "audience_members",
    "audience_name",
    "audience_size",
    "available_fields",
    "build_audience",
    "evaluate",
    "operators_for",
]

FieldKind = Literal["number", "category"]
ValueShape = Literal["one", "two", "many"]

#: Field keys of the lifetime-value columns (``clv`` stands for the ``clv_<h>m`` column of any horizon).
P_ALIVE = "p_alive"
CLV = "clv"
_CLV_COLUMN = re.compile(r"^clv_\d+m$")


@dataclass(frozen=True)
class Field:
    """A per-customer column an audience can filter on.

    ``format`` says how values are written in descriptions (``count``, ``money`` or ``percent`` for a
    probability); ``needs`` is what to do when the table lacks the column.
    """

    key: str
    label: str
    kind: FieldKind
    format: Literal["count", "money", "percent", "text"] = "count"
    needs: str = ""


FIELDS: dict[str, Field] = {f.key: f for f in (
    Field(RECENCY_DAYS, "days since the last order", "number"),
    Field(FREQUENCY, "orders", "number"),
    Field(MONETARY, "spend", "number", "money"),
    Field(R_SCORE, "R score", "number"),
    Field(F_SCORE, "F score", "number"),
    Field(M_SCORE, "M score", "number"),
    Field(SEGMENT, "segment", "category", "text", "Score and segment the customers first."),
    Field(COUNTRY, "country", "category", "text", "Map a country column on the Data page (the file needs one)."),
    Field(CLV, "predicted CLV", "number", "money", "Add the lifetime-value columns (fit the lifetime-value model)."),
    Field(P_ALIVE, "P(alive)", "number", "percent",
          "Add the lifetime-value columns (fit the lifetime-value model)."),
)}


@dataclass(frozen=True)
class Operator:
    """A comparison: its key (saved in files), its symbol, its words, the field kinds it applies to, its value."""

    key: str
    symbol: str
    words: str
    kinds: tuple[FieldKind, ...]
    shape: ValueShape


OPERATORS: dict[str, Operator] = {o.key: o for o in (
    Operator("gte", "≥", "at least", ("number",), "one"),
    Operator("gt", ">", "more than", ("number",), "one"),
    Operator("lte", "≤", "at most", ("number",), "one"),
    Operator("lt", "<", "less than", ("number",), "one"),
    Operator("eq", "=", "is", ("number", "category"), "one"),
    Operator("ne", "≠", "is not", ("number", "category"), "one"),
    Operator("between", "between", "between", ("number",), "two"),
    Operator("in", "in", "is one of", ("category",), "many"),
    Operator("not_in", "not in", "is none of", ("category",), "many"),
)}

Value = float | str | tuple[float, float] | tuple[str, ...]


def _number(x: object, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float | np.integer | np.floating):
        raise ConfigError(f"{what} needs a number, not {x!r}.")
    value = float(x)
    if not math.isfinite(value):
        raise ConfigError(f"{what} needs a finite number, not {x!r}.")
    return value


@dataclass(frozen=True)
class Condition:
    """One condition: ``field`` (a key of :data:`FIELDS`), ``op`` (a key of :data:`OPERATORS`) and ``value``.

    Values: a number for the number operators, ``(low, high)`` for ``between`` (both included), a text for
    ``eq``/``ne`` on a category field, a tuple of texts for ``in``/``not_in``. Numbers are kept as floats, lists
    as tuples, so a condition read back from JSON or TOML equals the one saved.

    Raises
    ------
    ConfigError
        Unknown field or operator, an operator that does not apply to the field, or a value of the wrong shape.
    """

    field: str
    op: str
    value: Value

    def __post_init__(self) -> None:
        if self.field not in FIELDS:
            raise ConfigError(f"Unknown audience field {self.field!r}. Known: {', '.join(FIELDS)}.")
        if self.op not in OPERATORS:
            raise ConfigError(f"Unknown operator {self.op!r}. Known: {', '.join(OPERATORS)}.")
        field, op = FIELDS[self.field], OPERATORS[self.op]
        if field.kind not in op.kinds:
            allowed = ", ".join(k for k, o in OPERATORS.items() if field.kind in o.kinds)
            raise ConfigError(f"{field.label.capitalize()} cannot be compared with {op.key!r}; use one of "
                              f"{allowed}.")
        what = f"The condition on {field.label}"
        value: Value
        if op.shape == "two":
            if not isinstance(self.value, list | tuple) or len(self.value) != 2:
                raise ConfigError(f"{what} ('between') needs two numbers, low and high.")
            low, high = _number(self.value[0], what), _number(self.value[1], what)
            if low > high:
                raise ConfigError(f"{what}: the low end ({low:g}) is above the high end ({high:g}).")
            value = (low, high)
        elif op.shape == "many":
            items: object = [self.value] if isinstance(self.value, str) else self.value
            if not isinstance(items, list | tuple) or not items or not all(isinstance(v, str) for v in items):
                raise ConfigError(f"{what} needs one or more names.")
            value = tuple(dict.fromkeys(str(v) for v in items))  # order kept, repeats dropped
        elif field.kind == "category":
            if not isinstance(self.value, str):
                raise ConfigError(f"{what} needs a name, not {self.value!r}.")
            value = self.value
        else:
            value = _number(self.value, what)
        object.__setattr__(self, "value", value)

    def describe(self, currency: Currency = NO_CURRENCY) -> str:
        """The condition in plain words, e.g. ``2 or more orders`` or ``no order in the last 90 days``."""
        field, op = FIELDS[self.field], OPERATORS[self.op]
        v = self.value
        if self.field == RECENCY_DAYS and isinstance(v, float):
            days = _plural(v, "day")
            phrase = {"gt": f"no order in the last {days}", "lte": f"ordered in the last {days}",
                      "gte": f"last order {days} or more ago", "lt": f"last order less than {days} ago",
                      "eq": f"last order {days} ago", "ne": f"last order not {days} ago"}
            return phrase[self.op]
        if self.field == FREQUENCY and isinstance(v, float):
            phrase = {"gte": f"{_fmt(v, 'count', currency)} or more orders",
                      "gt": f"more than {_plural(v, 'order')}", "lte": f"{_fmt(v, 'count', currency)} or fewer orders",
                      "lt": f"fewer than {_plural(v, 'order')}", "eq": f"exactly {_plural(v, 'order')}",
                      "ne": f"not exactly {_plural(v, 'order')}"}
            return phrase[self.op]
        if op.shape == "two" and isinstance(v, tuple):
            low, high = v
            return (f"{field.label} between {_fmt(low, field.format, currency)} and "
                    f"{_fmt(high, field.format, currency)}")
        if op.shape == "many" and isinstance(v, tuple):
            names = [str(x) for x in v]
            if len(names) == 1:
                return f"{field.label} {'is' if self.op == 'in' else 'is not'} {names[0]}"
            return f"{field.label} {op.words} {', '.join(names)}"
        return f"{field.label} {op.words} {_fmt(v, field.format, currency)}"

    def to_dict(self) -> dict[str, Any]:
        value: Any = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"field": self.field, "op": self.op, "value": value}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Condition:
        if not isinstance(data, dict):
            raise ConfigError(f"A condition is a table with field, op and value, not {data!r}.")
        _check_keys(data, {"field", "op", "value"}, "a condition")
        missing = [k for k in ("field", "op", "value") if k not in data]
        if missing:
            raise ConfigError(f"A condition needs {', '.join(missing)}.")
        value = data["value"]
        return cls(str(data["field"]), str(data["op"]), tuple(value) if isinstance(value, list) else value)


def _plural(v: float, noun: str) -> str:
    return f"{_fmt(v, 'count', NO_CURRENCY)} {noun}" + ("" if v == 1 else "s")


def _fmt(v: object, how: str, currency: Currency) -> str:
    if how == "money":
        return money(v, currency, 2 if float(v) % 1 else 0)  # type: ignore[arg-type]
    if how == "percent":
        return percent(v)
    if how == "count":
        x = float(v)  # type: ignore[arg-type]
        return count(x) if x.is_integer() else f"{x:,.2f}"
    return str(v)


def _check_keys(data: dict[str, Any], known: set[str], where: str) -> None:
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"Unknown keys in {where}: {', '.join(sorted(map(str, unknown)))}. Known: "
                          f"{', '.join(sorted(known))}.")


@dataclass(frozen=True)
class Audience:
    """A named audience: groups of conditions; any group (OR) of all its conditions (AND)."""

    name: str = "Audience"
    groups: tuple[tuple[Condition, ...], ...] = ()

    def __post_init__(self) -> None:
        if not str(self.name).strip():
            raise ConfigError("An audience needs a name.")
        groups = tuple(tuple(g) for g in self.groups)
        for g in groups:
            for c in g:
                if not isinstance(c, Condition):
                    raise ConfigError(f"Audience {self.name!r}: every condition must be a Condition, not {c!r}.")
        object.__setattr__(self, "groups", groups)

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields the audience uses, in first-use order."""
        return tuple(dict.fromkeys(c.field for g in self.groups for c in g))

    def describe(self, currency: Currency = NO_CURRENCY) -> str:
        """The audience in words: conditions joined by "and", groups by "or", parentheses where both occur."""
        if not any(self.groups) or any(not g for g in self.groups):
            return "every customer"
        parts = [" and ".join(c.describe(currency) for c in g) for g in self.groups]
        if len(parts) > 1:
            parts = [f"({p})" if len(g) > 1 else p for p, g in zip(parts, self.groups, strict=True)]
        return " or ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """``{"name": ..., "group": [{"condition": [{"field", "op", "value"}, ...]}, ...]}``."""
        return {"name": self.name, "group": [{"condition": [c.to_dict() for c in g]} for g in self.groups]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Audience:
        """Read :meth:`to_dict`'s shape; unknown keys and bad values raise :class:`ConfigError`."""
        if not isinstance(data, dict):
            raise ConfigError("An audience is a table with a name and groups of conditions.")
        _check_keys(data, {"name", "group"}, "the audience")
        raw_groups = data.get("group", [])
        if not isinstance(raw_groups, list):
            raise ConfigError("An audience's 'group' is a list of groups, each with a list of conditions.")
        groups = []
        for g in raw_groups:
            if not isinstance(g, dict):
                raise ConfigError("Each group is a table with a 'condition' list.")
            _check_keys(g, {"condition"}, "a group")
            conditions = g.get("condition", [])
            if not isinstance(conditions, list):
                raise ConfigError("A group's 'condition' is a list of conditions.")
            groups.append(tuple(Condition.from_dict(c) for c in conditions))
        return cls(str(data.get("name", "Audience")), tuple(groups))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Audience:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"The audience is not valid JSON: {exc}.") from None
        return cls.from_dict(data)

    def to_toml(self) -> str:
        import tomli_w

        return tomli_w.dumps(self.to_dict())

    @classmethod
    def from_toml(cls, text: str) -> Audience:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"The audience file is not valid TOML: {exc}.") from None
        return cls.from_dict(data)


def _column(field: Field, customers: pd.DataFrame) -> str:
    if field.key == CLV:
        found = [str(c) for c in customers.columns if _CLV_COLUMN.match(str(c))]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise ConfigError(f"The table has CLV for several horizons ({', '.join(found)}); keep one.")
    elif field.key in customers.columns:
        return field.key
    raise ConfigError(f"This audience uses {field.label}, which the customer table does not have. {field.needs}")


def available_fields(customers: pd.DataFrame) -> list[Field]:
    """The fields of :data:`FIELDS` that ``customers`` can be filtered on, in display order."""
    out = []
    for field in FIELDS.values():
        try:
            _column(field, customers)
        except ConfigError:
            continue
        out.append(field)
    return out


def _mask(condition: Condition, customers: pd.DataFrame) -> np.ndarray:
    field, op, v = FIELDS[condition.field], condition.op, condition.value
    series = customers[_column(field, customers)]
    if field.kind == "number":
        x = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        known = ~np.isnan(x)
        if op == "between" and isinstance(v, tuple):
            low, high = v
            hit = (x >= low) & (x <= high)
        else:
            hit = {"gte": np.greater_equal, "gt": np.greater, "lte": np.less_equal, "lt": np.less,
                   "eq": np.equal, "ne": np.not_equal}[op](x, v)
        return np.asarray(hit & known, dtype=bool)
    known = series.notna().to_numpy()
    text = series.astype(object).where(series.notna(), None).astype(str).to_numpy()
    names = (v,) if isinstance(v, str) else tuple(v)  # type: ignore[arg-type]
    inside = np.isin(text, np.array(names, dtype=object))
    hit = inside if op in ("eq", "in") else ~inside
    return np.asarray(hit & known, dtype=bool)


def evaluate(audience: Audience, customers: pd.DataFrame) -> np.ndarray:
    """A boolean mask over the rows of ``customers``: True for the audience's members.

    Parameters
    ----------
    audience : Audience
    customers : DataFrame
        One row per customer with the columns the audience uses (the segmented per-customer table, optionally
        merged with the lifetime-value columns ``p_alive`` and ``clv_<h>m``).

    Returns
    -------
    ndarray of bool, shape (len(customers),)

    Raises
    ------
    ConfigError
        A condition uses a column the table does not have (the message says what adds it).
    """
    n = len(customers)
    if not audience.groups or any(not g for g in audience.groups):
        for g in audience.groups:  # still refuse a condition on a missing column
            for c in g:
                _column(FIELDS[c.field], customers)
        return np.ones(n, dtype=bool)
    result = np.zeros(n, dtype=bool)
    for group in audience.groups:
        hit = np.ones(n, dtype=bool)
        for condition in group:
            hit &= _mask(condition, customers)
        result |= hit
    return result


@dataclass(frozen=True)
class AudienceSize:
    """The live figures of an audience: how many customers, what they spent, and their shares of the whole."""

    customers: int
    revenue: float
    customer_share: float
    revenue_share: float

    @property
    def average_spend(self) -> float:
        """Revenue per member (money, in the file's currency); 0 for an empty audience."""
        return self.revenue / self.customers if self.customers else 0.0


def audience_size(audience: Audience, customers: pd.DataFrame) -> AudienceSize:
    """Members, their revenue (sum of ``monetary``), and the shares of all customers and all revenue.

    A share of nothing (no customers, or total revenue 0 or less) is 0.
    """
    mask = evaluate(audience, customers)
    spend = customers[MONETARY].to_numpy(dtype="float64")
    total = float(spend.sum())
    revenue = float(spend[mask].sum())
    n = int(mask.sum())
    return AudienceSize(n, revenue, n / len(customers) if len(customers) else 0.0,
                        revenue / total if total > 0 else 0.0)


def audience_members(audience: Audience, customers: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``customers`` in the audience (a copy, original order and index)."""
    return customers.loc[evaluate(audience, customers)].copy()


#: The name an audience gets when none is typed.
DEFAULT_NAME = "Audience"


def audience_name(text: object) -> str:
    """The name typed, without surrounding spaces; :data:`DEFAULT_NAME` when nothing (or only spaces) is typed."""
    return str(text or "").strip() or DEFAULT_NAME


def operators_for(field: str) -> list[str]:
    """The keys of the operators that apply to ``field``'s kind, in :data:`OPERATORS` order.

    Raises
    ------
    ConfigError
        ``field`` is not a key of :data:`FIELDS`.
    """
    if field not in FIELDS:
        raise ConfigError(f"Unknown audience field {field!r}; choose one of {', '.join(FIELDS)}.")
    return [k for k, o in OPERATORS.items() if FIELDS[field].kind in o.kinds]


def build_audience(name: object, groups: Sequence[Sequence[tuple[str, str, Value | None]]]
                   ) -> tuple[Audience, list[str]]:
    """An audience from a form's rows, and what is wrong with the rows that cannot become a condition.

    Parameters
    ----------
    name : object
        The name typed (see :func:`audience_name`).
    groups : sequence of sequences of (field, op, value)
        One inner sequence per group (OR), one ``(field, op, value)`` per condition (AND); ``value`` None means
        the form has no value yet (an empty multiselect).

    Returns
    -------
    (Audience, list of str)
        The audience of the conditions that are complete and valid (a group keeps its place even when all its
        rows are left out), and one sentence per row left out, ``"Group <n>: ..."`` (n from 1), in form order.
        A caller should not use the audience while the list is not empty: it would select more than the form says.
    """
    built: list[tuple[Condition, ...]] = []
    problems: list[str] = []
    for g, rows in enumerate(groups, start=1):
        conditions: list[Condition] = []
        for field, op, value in rows:
            if value is None:
                label = FIELDS[field].label if field in FIELDS else field
                problems.append(f"Group {g}: choose a value for {label}.")
                continue
            try:
                conditions.append(Condition(field, op, value))
            except ConfigError as exc:
                problems.append(f"Group {g}: {exc}")
        built.append(tuple(conditions))
    return Audience(audience_name(name), tuple(built)), problems
