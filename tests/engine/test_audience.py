"""Audiences: hand-checked examples, words, saving, and two independent evaluations (pandas .query, a Python loop)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rfm_core import ConfigError
from rfm_core.audience import (
    FIELDS,
    OPERATORS,
    Audience,
    Condition,
    audience_members,
    audience_size,
    available_fields,
    evaluate,
)
from rfm_core.formatting import Currency

# Five customers, figures chosen to be read off by eye.
CUSTOMERS = pd.DataFrame({
    "customer_id": ["a", "b", "c", "d", "e"],
    "recency_days": [10, 95, 120, 91, 90],
    "frequency": [5, 2, 1, 3, 2],
    "monetary": [500.0, 80.0, 20.0, 300.0, 45.5],
    "r_score": [5, 2, 1, 2, 2],
    "f_score": [5, 3, 1, 4, 3],
    "m_score": [5, 3, 1, 4, 2],
    "segment": pd.Categorical(["Champions", "At Risk", "Lost", "At Risk", "Hibernating"]),
    "country": ["United Kingdom", "France", None, "United Kingdom", "Germany"],
})

LAPSED_REPEAT = Audience("Lapsed repeat buyers", ((Condition("frequency", "gte", 2),
                                                   Condition("recency_days", "gt", 90)),))


def test_two_or_more_orders_and_no_order_in_90_days() -> None:
    # By eye: frequency >= 2 -> a, b, d, e; recency > 90 -> b, c, d. Both: b and d.
    mask = evaluate(LAPSED_REPEAT, CUSTOMERS)
    assert CUSTOMERS["customer_id"][mask].tolist() == ["b", "d"]
    size = audience_size(LAPSED_REPEAT, CUSTOMERS)
    assert size.customers == 2 and size.revenue == 380.0
    assert size.customer_share == 2 / 5 and size.revenue_share == pytest.approx(380.0 / 945.5)
    assert LAPSED_REPEAT.describe() == "2 or more orders and no order in the last 90 days"
    assert audience_members(LAPSED_REPEAT, CUSTOMERS)["customer_id"].tolist() == ["b", "d"]


def test_or_of_groups_and_categories() -> None:
    aud = Audience("Mixed", (
        (Condition("segment", "in", ("Champions", "Lost")),),
        (Condition("country", "eq", "Germany"), Condition("monetary", "between", (40, 50))),
    ))
    # Group 1: a (Champions), c (Lost). Group 2: e (Germany, 45.5 in [40, 50]). Either: a, c, e.
    assert CUSTOMERS["customer_id"][evaluate(aud, CUSTOMERS)].tolist() == ["a", "c", "e"]
    assert aud.describe(Currency("GBP")) == ("segment is one of Champions, Lost or "
                                             "(country is Germany and spend between £40 and £50)")


def test_missing_values_never_match() -> None:
    # c has no country: it is neither "United Kingdom" nor "not United Kingdom".
    is_uk = Audience("UK", ((Condition("country", "eq", "United Kingdom"),),))
    not_uk = Audience("not UK", ((Condition("country", "not_in", ("United Kingdom",)),),))
    assert CUSTOMERS["customer_id"][evaluate(is_uk, CUSTOMERS)].tolist() == ["a", "d"]
    assert CUSTOMERS["customer_id"][evaluate(not_uk, CUSTOMERS)].tolist() == ["b", "e"]
    with_clv = CUSTOMERS.assign(p_alive=[0.9, np.nan, 0.2, 0.6, 0.5], clv_12m=[900.0, np.nan, 1.0, 50.0, 20.0])
    likely = Audience("likely", ((Condition("p_alive", "ne", 0.5), Condition("clv", "gte", 10)),))
    assert with_clv["customer_id"][evaluate(likely, with_clv)].tolist() == ["a", "d"]
    assert likely.describe(Currency("GBP")) == "P(alive) is not 50.0% and predicted CLV at least £10"


def test_empty_audience_and_empty_group_match_everyone() -> None:
    assert evaluate(Audience("all"), CUSTOMERS).all()
    assert evaluate(Audience("all", ((), (Condition("frequency", "gte", 99),))), CUSTOMERS).all()
    assert Audience("all").describe() == "every customer"
    none = Audience("none", ((Condition("frequency", "gte", 99),),))
    assert audience_size(none, CUSTOMERS).customers == 0
    size = audience_size(none, CUSTOMERS.iloc[:0])
    assert (size.customers, size.revenue, size.customer_share, size.revenue_share) == (0, 0.0, 0.0, 0.0)


def test_missing_columns_say_what_adds_them() -> None:
    with pytest.raises(ConfigError, match=r"P\(alive\).*lifetime-value"):
        evaluate(Audience("x", ((Condition("p_alive", "gte", 0.5),),)), CUSTOMERS)
    with pytest.raises(ConfigError, match="country column"):
        evaluate(Audience("x", ((Condition("country", "eq", "France"),),)), CUSTOMERS.drop(columns=["country"]))
    with pytest.raises(ConfigError, match="several horizons"):
        evaluate(Audience("x", ((Condition("clv", "gte", 1),),)), CUSTOMERS.assign(clv_6m=1.0, clv_12m=2.0))
    assert [f.key for f in available_fields(CUSTOMERS)] == [
        "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "segment", "country"]
    assert "clv" in [f.key for f in available_fields(CUSTOMERS.assign(clv_12m=1.0, p_alive=0.5))]


@pytest.mark.parametrize(("condition", "words"), [
    (Condition("recency_days", "gt", 90), "no order in the last 90 days"),
    (Condition("recency_days", "lte", 30), "ordered in the last 30 days"),
    (Condition("recency_days", "gte", 1), "last order 1 day or more ago"),
    (Condition("frequency", "eq", 1), "exactly 1 order"),
    (Condition("frequency", "lt", 3), "fewer than 3 orders"),
    (Condition("monetary", "gte", 1234.5), "spend at least 1,234.50"),
    (Condition("r_score", "between", (4, 5)), "R score between 4 and 5"),
    (Condition("segment", "ne", "Lost"), "segment is not Lost"),
    (Condition("segment", "not_in", ("Lost",)), "segment is not Lost"),
    (Condition("country", "in", ["France", "Spain", "France"]), "country is one of France, Spain"),
    (Condition("p_alive", "lt", 0.25), "P(alive) less than 25.0%"),
])
def test_conditions_in_words(condition: Condition, words: str) -> None:
    assert condition.describe() == words


@pytest.mark.parametrize(("args", "message"), [
    (("visits", "gte", 1), "Unknown audience field"),
    (("frequency", "like", 1), "Unknown operator"),
    (("segment", "gte", 1), "cannot be compared"),
    (("country", "between", (1, 2)), "cannot be compared"),
    (("frequency", "gte", "two"), "needs a number"),
    (("frequency", "gte", True), "needs a number"),
    (("monetary", "gte", float("nan")), "finite"),
    (("monetary", "between", (5, 1)), "low end"),
    (("monetary", "between", (5,)), "two numbers"),
    (("segment", "in", ()), "one or more names"),
    (("segment", "eq", 3), "needs a name"),
], ids=lambda v: str(v) if isinstance(v, str) else None)
def test_bad_conditions_are_refused_with_a_reason(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Condition(*args)


def test_bad_saved_audiences_are_refused() -> None:
    with pytest.raises(ConfigError, match="Unknown keys in the audience: groups"):
        Audience.from_dict({"name": "x", "groups": []})
    with pytest.raises(ConfigError, match="Unknown keys in a condition: operator"):
        Audience.from_dict({"name": "x", "group": [{"condition": [{"field": "frequency", "operator": "gte"}]}]})
    with pytest.raises(ConfigError, match="needs value"):
        Audience.from_dict({"group": [{"condition": [{"field": "frequency", "op": "gte"}]}]})
    with pytest.raises(ConfigError, match="not valid TOML"):
        Audience.from_toml("name = ")
    with pytest.raises(ConfigError, match="not valid JSON"):
        Audience.from_json("{")
    with pytest.raises(ConfigError, match="needs a name"):
        Audience(" ")


# ---- property tests: the whole space of fields, operators and values a user can reach -------------------------

SEGMENTS = ["Champions", "Loyal", "At Risk", "Lost", "Other"]
COUNTRIES = ["United Kingdom", "France", "EIRE", "O'Brien's Land"]  # a quote, to test the query's literals


@st.composite
def customer_tables(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 25))
    ints = st.lists(st.integers(0, 400), min_size=n, max_size=n)
    return pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(n)],
        "recency_days": draw(ints),
        "frequency": draw(st.lists(st.integers(1, 12), min_size=n, max_size=n)),
        "monetary": draw(st.lists(st.floats(-50, 5000, allow_nan=False).map(lambda x: round(x, 2)), min_size=n,
                                  max_size=n)),
        "r_score": draw(st.lists(st.integers(1, 5), min_size=n, max_size=n)),
        "f_score": draw(st.lists(st.integers(1, 5), min_size=n, max_size=n)),
        "m_score": draw(st.lists(st.integers(1, 5), min_size=n, max_size=n)),
        "segment": pd.Categorical(draw(st.lists(st.sampled_from(SEGMENTS), min_size=n, max_size=n)),
                                  categories=SEGMENTS),
        "country": draw(st.lists(st.one_of(st.none(), st.sampled_from(COUNTRIES)), min_size=n, max_size=n)),
        "p_alive": draw(st.lists(st.one_of(st.just(np.nan), st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0])),
                                 min_size=n, max_size=n)),
        "clv_12m": draw(st.lists(st.one_of(st.just(np.nan), st.floats(0, 2000, allow_nan=False)), min_size=n,
                                 max_size=n)),
    })


NUMBER_VALUES = {"recency_days": st.integers(0, 400), "frequency": st.integers(0, 13),
                 "monetary": st.floats(-60, 5100, allow_nan=False), "r_score": st.integers(1, 5),
                 "f_score": st.integers(1, 5), "m_score": st.integers(1, 5),
                 "p_alive": st.sampled_from([0.0, 0.25, 0.5, 0.6, 1.0]), "clv": st.floats(0, 2100, allow_nan=False)}
CATEGORY_VALUES = {"segment": st.sampled_from(SEGMENTS), "country": st.sampled_from(COUNTRIES)}


@st.composite
def conditions(draw: st.DrawFn) -> Condition:
    key = draw(st.sampled_from(sorted(FIELDS)))
    kind = FIELDS[key].kind
    op = draw(st.sampled_from(sorted(k for k, o in OPERATORS.items() if kind in o.kinds)))
    shape = OPERATORS[op].shape
    if kind == "number":
        values = NUMBER_VALUES[key]
        if shape == "two":
            a, b = draw(values), draw(values)
            return Condition(key, op, (min(a, b), max(a, b)))
        return Condition(key, op, draw(values))
    values = CATEGORY_VALUES[key]
    if shape == "many":
        return Condition(key, op, tuple(draw(st.lists(values, min_size=1, max_size=3))))
    return Condition(key, op, draw(values))


audiences = st.builds(Audience, st.just("generated"),
                      st.lists(st.lists(conditions(), min_size=1, max_size=3).map(tuple), max_size=3).map(tuple))

PY_OPS = {"gte": "{c} >= {v}", "gt": "{c} > {v}", "lte": "{c} <= {v}", "lt": "{c} < {v}", "eq": "{c} == {v}",
          "ne": "{c} != {v}"}


def _column(field: str) -> str:
    return "clv_12m" if field == "clv" else field


def _query(audience: Audience) -> str:
    """The audience as a pandas query string, written from the documented rules (missing never matches)."""
    groups = []
    for group in audience.groups:
        parts = []
        for c in group:
            col = _column(c.field)
            if FIELDS[c.field].kind == "number":
                guard = f"({col} == {col})"  # NaN != NaN: known values only
                if c.op == "between":
                    low, high = c.value  # type: ignore[misc]
                    parts.append(f"({guard} and {col} >= {low!r} and {col} <= {high!r})")
                else:
                    parts.append(f"({guard} and {PY_OPS[c.op].format(c=col, v=repr(c.value))})")
            else:
                guard = f"{col}.notna()"
                names = [c.value] if isinstance(c.value, str) else list(c.value)  # type: ignore[arg-type]
                test = f"{col}.astype('str').isin({names!r})"
                parts.append(f"({guard} & {test})" if c.op in ("eq", "in") else f"({guard} & ~{test})")
        groups.append("(" + " & ".join(parts) + ")")
    return " | ".join(groups)


def _by_query(audience: Audience, frame: pd.DataFrame) -> np.ndarray:
    if not audience.groups:
        return np.ones(len(frame), dtype=bool)
    index = frame.query(_query(audience), engine="python").index
    return frame.index.isin(index)


def _by_loop(audience: Audience, frame: pd.DataFrame) -> np.ndarray:
    """Row by row in plain Python."""
    def holds(c: Condition, row: dict[str, Any]) -> bool:
        x = row[_column(c.field)]
        if x is None or (isinstance(x, float) and math.isnan(x)):
            return False
        v = c.value
        if c.op == "between":
            return v[0] <= x <= v[1]  # type: ignore[index,operator]
        if c.op in ("in", "not_in"):
            return (str(x) in v) == (c.op == "in")  # type: ignore[operator]
        return {"gte": x >= v, "gt": x > v, "lte": x <= v, "lt": x < v, "eq": x == v, "ne": x != v}[c.op]

    rows = frame.astype({"segment": object}).to_dict("records")
    if not audience.groups:
        return np.ones(len(rows), dtype=bool)
    return np.array([any(all(holds(c, r) for c in g) for g in audience.groups) for r in rows], dtype=bool)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(customer_tables(), audiences)
def test_evaluation_equals_pandas_query_and_a_python_loop(frame: pd.DataFrame, audience: Audience) -> None:
    mask = evaluate(audience, frame)
    assert mask.dtype == bool and len(mask) == len(frame)
    assert mask.tolist() == _by_loop(audience, frame).tolist()
    if len(frame):
        assert mask.tolist() == _by_query(audience, frame).tolist()
    size = audience_size(audience, frame)
    assert size.customers == int(mask.sum())
    assert size.revenue == pytest.approx(sum(m for m, keep in zip(frame["monetary"], mask, strict=True) if keep))


@settings(max_examples=200, deadline=None)
@given(audiences, st.text(min_size=1, max_size=30).filter(str.strip))
def test_json_and_toml_round_trips(audience: Audience, name: str) -> None:
    named = Audience(name, audience.groups)
    assert Audience.from_json(named.to_json()) == named
    assert Audience.from_toml(named.to_toml()) == named


def test_order_of_rows_does_not_matter() -> None:
    shuffled = CUSTOMERS.sample(frac=1, random_state=3)
    assert (sorted(shuffled["customer_id"][evaluate(LAPSED_REPEAT, shuffled)])
            == CUSTOMERS["customer_id"][evaluate(LAPSED_REPEAT, CUSTOMERS)].tolist())


@settings(max_examples=80, deadline=None)
@given(audiences, st.data())
def test_build_audience_from_form_rows(audience: Audience, data: st.DataObject) -> None:
    """The form's rows of any audience build that audience back with no problems; blanking some values (an empty
    multiselect) leaves exactly those rows out, each named once with its group number, and keeps every group."""
    from rfm_core.audience import build_audience

    rows = [[(c.field, c.op, c.value) for c in g] for g in audience.groups]
    assert build_audience(audience.name, rows) == (audience, [])
    blank = [[data.draw(st.booleans()) for _ in g] for g in audience.groups]
    pairs = [list(zip(g, bg, strict=True)) for g, bg in zip(audience.groups, blank, strict=True)]
    form = [[(c.field, c.op, None if b else c.value) for c, b in group] for group in pairs]
    built, problems = build_audience(audience.name, form)
    assert built == Audience(audience.name, tuple(tuple(c for c, b in group if not b) for group in pairs))
    assert problems == [f"Group {i}: choose a value for {FIELDS[c.field].label}."
                        for i, group in enumerate(pairs, start=1) for c, b in group if b]
