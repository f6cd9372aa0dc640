"""Orders and cancellations: cases 06, 07 and 13 and the matching rules, each figure worked out by hand.

The case inputs are copies of ../shared/cases/*/input.csv in tests/cases/ (the suite never reads ../shared/cases).
Every engine (pandas, DuckDB) must give the hand-computed answer; Spark runs the same checks in test_engines.py.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rfm_core import CleaningPolicy, RfmError, analyze
from rfm_core.engines.duckdb_engine import duckdb_customers_from_files
from rfm_core.settings import AnalysisSettings
from tests.conftest import ROOT

CASES = ROOT / "tests" / "cases"
CASE_06 = CASES / "06-order-total-on-every-line" / "input.csv"
CASE_07 = CASES / "07-invoices-starting-with-c" / "input.csv"
CASE_13 = CASES / "13-fully-cancelled-order" / "input.csv"
RFM = ["customer_id", "frequency", "monetary", "recency_days"]


def rfm(customers: pd.DataFrame) -> dict[str, tuple[int, float, int]]:
    """``{customer: (F, M, R)}`` with M rounded to cents."""
    return {str(r.customer_id): (int(r.frequency), round(float(r.monetary), 2), int(r.recency_days))
            for r in customers.itertuples()}


Figures = dict[str, tuple[int, float, int]]


def run(path: Path | bytes, policy: CleaningPolicy | None = None, as_of: dt.date | None = None,
        mapping: dict[str, str] | None = None) -> tuple[Figures, dict[str, int], tuple[str, ...]]:
    settings = AnalysisSettings(cleaning=policy or CleaningPolicy(), as_of=as_of, mapping=mapping or {})
    result = analyze(path, settings, name="input.csv", warn=False)
    ledger = result.cleaned.ledger.set_index("reason")["rows"].to_dict()
    return rfm(result.customers), ledger, result.mapped.notes


def run_duckdb(path: Path, policy: CleaningPolicy | None = None, as_of: dt.date | None = None,
               mapping: dict[str, str] | None = None) -> tuple[dict[str, tuple[int, float, int]], dict[str, int]]:
    got = duckdb_customers_from_files(str(path), mapping, policy or CleaningPolicy(), as_of)
    return rfm(got.customers), got.ledger.set_index("reason")["rows"].to_dict()


# ------------------------------------------------------------------------------------------------ case 06

# By hand (analysis date 2024-05-22): ann 1001 = 2x8 + 1x15 = 31 (Order Total 31 on both lines) on 05-02 and
# 1003 = 3x2 = 6 on 05-20 -> F 2, M 37, R 2; bob 1002 = 15 on 05-09 -> F 1, M 15, R 13; cat 1004 = 8 + 15 + 16
# = 39 on 05-21 -> F 1, M 39, R 1. Line revenue from Order Total would give ann 68 and cat 117.
CASE_06_ANSWER = {"ann@example.com": (2, 37.0, 2), "bob@example.com": (1, 15.0, 13), "cat@example.com": (1, 39.0, 1)}


def test_case_06_order_total_counts_once_per_order() -> None:
    got, ledger, notes = run(CASE_06, as_of=dt.date(2024, 5, 22))
    assert got == CASE_06_ANSWER
    assert ledger == {"used": 7}
    assert any("'Order Total'" in n and "order total" in n and "once per order" in n for n in notes)


def test_case_06_line_values_win_over_the_order_total() -> None:
    got, _, notes = run(CASE_06, as_of=dt.date(2024, 5, 22), mapping={"unit_price": "Item Cost"})
    assert got == CASE_06_ANSWER
    assert any("line revenue is quantity x unit price" in n for n in notes)


def test_case_06_duckdb_uses_line_values_or_refuses() -> None:
    got, ledger = run_duckdb(CASE_06, as_of=dt.date(2024, 5, 22), mapping={"unit_price": "Item Cost"})
    assert got == CASE_06_ANSWER
    assert ledger == {"used": 7}
    with pytest.raises(RfmError, match=r"order total.*--engine pandas"):
        run_duckdb(CASE_06, as_of=dt.date(2024, 5, 22))


def test_a_line_amount_that_varies_within_orders_stays_line_revenue() -> None:
    text = ("Order,Customer,Date,Qty,Price,Line Total\n1,a,2024-01-01,2,5,9.5\n1,a,2024-01-01,1,3,3\n"
            "2,b,2024-01-02,1,4,4\n")
    got, _, notes = run(text.encode(), as_of=dt.date(2024, 1, 3), mapping={"amount": "Line Total"})
    assert got == {"a": (1, 12.5, 2), "b": (1, 4.0, 1)}  # 9.5 + 3 (a discount inside the line total is kept)
    assert "Line revenue taken from 'Line Total'." in notes


# ------------------------------------------------------------------------------------------------ case 07

# By hand (analysis date 2024-04-11), every row is a sale: 501 US-1001 (2x10) 04-02 and US-1003 (10) 04-10 ->
# F 2, M 30, R 1; 502 US-1002 40 on 04-05 -> F 1, M 40, R 6; 601 CA-2001 25 (04-03) and CA-2002 3x10 (04-08) ->
# F 2, M 55, R 3; 602 CA-2003 60 on 04-09 -> F 1, M 60, R 2.
CASE_07_ANSWER = {"501": (2, 30.0, 1), "502": (1, 40.0, 6), "601": (2, 55.0, 3), "602": (1, 60.0, 2)}


@pytest.mark.parametrize("returns", ["exclude", "net"])
def test_case_07_store_prefixes_are_sales(returns: str) -> None:
    policy = CleaningPolicy(returns=returns)  # type: ignore[arg-type]
    got, ledger, notes = run(CASE_07, policy, dt.date(2024, 4, 11))
    assert got == CASE_07_ANSWER
    assert ledger == {"used": 6}
    assert any("start with C but are not 'C' + a number" in n and "'CA-2001'" in n for n in notes)
    duck, duck_ledger = run_duckdb(CASE_07, policy, dt.date(2024, 4, 11))
    assert duck == CASE_07_ANSWER
    assert duck_ledger == {"used": 6}


# ------------------------------------------------------------------------------------------------ case 13

# By hand (analysis date 2024-03-21): 20001's 540001 (10 x 4 = 40) is reversed by C540002 (-10 x 4, same customer,
# same stock code K1, a day later): value 40 - 40 = 0, cancelled in full, both lines filed so; 20001 has no
# purchase left. 20002 540003 30 on 03-05 -> F 1, M 30, R 16; 20003 540004 2x30 (03-06) + 540005 30 (03-20) ->
# F 2, M 90, R 1. The same under both return policies.
CASE_13_ANSWER = {"20002": (1, 30.0, 16), "20003": (2, 90.0, 1)}
CASE_13_LEDGER = {"used": 3, "order cancelled in full": 2}


@pytest.mark.parametrize("returns", ["exclude", "net"])
def test_case_13_an_order_cancelled_in_full_is_no_purchase(returns: str) -> None:
    policy = CleaningPolicy(returns=returns)  # type: ignore[arg-type]
    got, ledger, _ = run(CASE_13, policy, dt.date(2024, 3, 21))
    assert got == CASE_13_ANSWER
    assert ledger == CASE_13_LEDGER
    duck, duck_ledger = run_duckdb(CASE_13, policy, dt.date(2024, 3, 21))
    assert duck == CASE_13_ANSWER
    assert duck_ledger == CASE_13_LEDGER


@pytest.mark.parametrize(("returns", "m_20003"), [("exclude", 90.0), ("net", 60.0)])
def test_documentation_worked_example(tmp_path: Path, returns: str, m_20003: float) -> None:
    # DOCUMENTATION.md §4a: case 13 plus C540004 (-1 x K2 x 30, 20003, 03-07) naming 540004 (60): 60 - 30 = 30 > 0,
    # partly cancelled: exclude keeps 20003's gross 90, net gives 90 - 30 = 60; F 2 and R 1 either way.
    path = tmp_path / "example.csv"
    path.write_text(CASE_13.read_text() + "C540004,K2,-1,2024-03-07 12:00,30.00,20003\n")
    policy = CleaningPolicy(returns=returns)  # type: ignore[arg-type]
    got, ledger, _ = run(path, policy, dt.date(2024, 3, 21))
    assert got == {"20002": (1, 30.0, 16), "20003": (2, m_20003, 1)}
    third = "cancellation (C + invoice number)" if returns == "exclude" else "used: return netted against monetary"
    assert ledger == {"used": 3, "order cancelled in full": 2, third: 1}
    assert run_duckdb(path, policy, dt.date(2024, 3, 21)) == (got, ledger)


def test_case_13_cli_both_policies(tmp_path: Path) -> None:
    from rfm_core.cli import main

    for returns in ("exclude", "net"):
        out = tmp_path / f"{returns}.csv"
        assert main(["segment", str(CASE_13), "--returns", returns, "--as-of", "2024-03-21", "--out", str(out)]) == 0
        seg = pd.read_csv(out, dtype={"customer_id": str})
        assert rfm(seg) == CASE_13_ANSWER


# ------------------------------------------------------------------------------------------ matching rules

HEADER = "InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID\n"


def _write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "lines.csv"
    path.write_text(header + body)
    return path


def test_partial_cancellation_gross_under_exclude_netted_under_net(tmp_path: Path) -> None:
    # 100001 = 4x5 + 2x10 = 40 on 01-02; C100002 returns 1 x K1 (-5) on 01-03: value after it 35 > 0, a partly
    # cancelled order. exclude: F 1, M 40 (gross), the return dropped; net: F 1, M 35. R from 01-02 to 01-10 = 8.
    path = _write(tmp_path, "100001,K1,4,2024-01-02 10:00,5,7\n100001,K2,2,2024-01-02 10:00,10,7\n"
                            "C100002,K1,-1,2024-01-03 10:00,5,7\n")
    as_of = dt.date(2024, 1, 10)
    for returns, answer, ledger in (
        ("exclude", (1, 40.0, 8), {"used": 2, "cancellation (C + invoice number)": 1}),
        ("net", (1, 35.0, 8), {"used": 2, "used: return netted against monetary": 1}),
    ):
        policy = CleaningPolicy(returns=returns)  # type: ignore[arg-type]
        got, got_ledger, _ = run(path, policy, as_of)
        assert got == {"7": answer}
        assert got_ledger == ledger
        assert run_duckdb(path, policy, as_of) == ({"7": answer}, ledger)


def test_matching_by_number_by_stock_and_latest_earlier_order(tmp_path: Path) -> None:
    # Customer 1: 200001 (K1 2x10 = 20, 01-01) and 200003 (K1 1x10 = 10, 01-05); C200004 returns -1 x K1 on 01-06:
    # no invoice 200004 exists, so it matches by stock code the latest earlier K1 purchase, 200003: 10 - 10 = 0,
    # cancelled in full. C200001 (-2 x K1, 01-07) names 200001: 20 - 20 = 0, cancelled in full too. Customer 1 is
    # left with nothing. Customer 2: 200005 (K9 3x1 = 3, 01-08) and a return of K8 that matches no order: a
    # plain return. Customer 3: a zero-value purchase 200006 (K5 qty 0 x 2 = 0, 01-09): a purchase of value 0.
    body = ("200001,K1,2,2024-01-01 09:00,10,1\n200003,K1,1,2024-01-05 09:00,10,1\n"
            "C200004,K1,-1,2024-01-06 09:00,10,1\nC200001,K1,-2,2024-01-07 09:00,10,1\n"
            "200005,K9,3,2024-01-08 09:00,1,2\nC200007,K8,-1,2024-01-08 10:00,4,2\n"
            "200006,K5,0,2024-01-09 09:00,2,3\n")
    path = _write(tmp_path, body)
    as_of = dt.date(2024, 1, 10)
    got, ledger, _ = run(path, CleaningPolicy(), as_of)
    assert got == {"2": (1, 3.0, 2), "3": (1, 0.0, 1)}
    assert ledger == {"used": 2, "order cancelled in full": 4, "cancellation (C + invoice number)": 1}
    net, net_ledger, _ = run(path, CleaningPolicy(returns="net"), as_of)
    assert net == {"2": (1, -1.0, 2), "3": (1, 0.0, 1)}  # 3 - 4 netted
    assert net_ledger == {"used": 2, "used: return netted against monetary": 1, "order cancelled in full": 4}
    assert run_duckdb(path, CleaningPolicy(), as_of) == (got, ledger)
    assert run_duckdb(path, CleaningPolicy(returns="net"), as_of) == (net, net_ledger)


def test_stock_ties_go_to_the_greater_invoice_and_outside_the_window_nothing_matches(tmp_path: Path) -> None:
    # Two K1 orders of customer 5 at the same minute: 300001 (1x10) and 300002 (1x10); the return C300009 (-1 x
    # K1) matches 300002 (the greater number), which is cancelled in full; 300001 stays: F 1, M 10, R 9.
    body = ("300001,K1,1,2024-02-01 09:00,10,5\n300002,K1,1,2024-02-01 09:00,10,5\n"
            "C300009,K1,-1,2024-02-02 09:00,10,5\n")
    path = _write(tmp_path, body)
    got, ledger, _ = run(path, CleaningPolicy(), dt.date(2024, 2, 10))
    assert got == {"5": (1, 10.0, 9)}
    assert ledger == {"used": 1, "order cancelled in full": 2}
    assert run_duckdb(path, CleaningPolicy(), dt.date(2024, 2, 10)) == (got, ledger)
    # With the window ending 02-01 the return is outside it: nothing to match, both orders stand (F 2, M 20).
    window = CleaningPolicy(end=dt.date(2024, 2, 1))
    got, ledger, _ = run(path, window, dt.date(2024, 2, 10))
    assert got == {"5": (2, 20.0, 9)}
    assert ledger == {"used": 2, "cancellation (C + invoice number)": 1}
    assert run_duckdb(path, window, dt.date(2024, 2, 10)) == (got, ledger)


def test_c_number_invoices_with_positive_quantities(tmp_path: Path) -> None:
    # C400001 (+2 x 5) names 400001 (2x5 = 10, customer 8): a cancellation written with positive numbers, value
    # reversed to -10: 400001 is cancelled in full. C999 (+1 x 7, customer 9) names no invoice: a sale.
    body = ("400001,K1,2,2024-03-01 09:00,5,8\nC400001,K1,2,2024-03-02 09:00,5,8\nC999,K2,1,2024-03-03 09:00,7,9\n")
    path = _write(tmp_path, body)
    got, ledger, notes = run(path, CleaningPolicy(), dt.date(2024, 3, 4))
    assert got == {"9": (1, 7.0, 1)}
    assert ledger == {"used": 1, "order cancelled in full": 2}
    assert any("1 line on a 'C' + number invoice has a positive quantity and names an invoice" in n for n in notes)
    assert any("1 line on a 'C' + number invoice has a positive quantity and names no invoice of the file: read as "
               "sales" in n for n in notes)
    assert run_duckdb(path, CleaningPolicy(), dt.date(2024, 3, 4)) == (got, ledger)


def test_without_stock_codes_a_return_matches_its_own_order(tmp_path: Path) -> None:
    # One invoice with a sale of 12 and a correction of -12 on the same invoice: cancelled in full.
    path = _write(tmp_path, "500001,3,2024-04-01,4,1\n500001,-3,2024-04-01,4,1\n500002,1,2024-04-02,5,2\n",
                  header="InvoiceNo,Quantity,InvoiceDate,UnitPrice,CustomerID\n")
    got, ledger, _ = run(path, CleaningPolicy(returns="net"), dt.date(2024, 4, 3))
    assert got == {"2": (1, 5.0, 1)}
    assert ledger == {"used": 1, "order cancelled in full": 2}
    assert run_duckdb(path, CleaningPolicy(returns="net"), dt.date(2024, 4, 3)) == (got, ledger)


# ------------------------------------------------------------------------------------------------ properties

_LINE = st.tuples(
    st.integers(1, 4),  # customer
    st.integers(0, 5),  # invoice number
    st.booleans(),  # C prefix
    st.sampled_from(["K1", "K2", "K3"]),
    st.integers(-3, 3),  # quantity
    st.sampled_from([0.0, 1.0, 2.5, 4.0]),  # unit price
    st.integers(0, 6),  # day
)


def _file(lines: list[tuple[int, int, bool, str, int, float, int]]) -> str:
    rows = [f"{'C' if c else ''}{600000 + inv},{stock},{qty},2024-05-{day + 1:02d} 10:00,{price},{cust}"
            for cust, inv, c, stock, qty, price, day in lines]
    return HEADER + "\n".join(rows) + "\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(_LINE, min_size=1, max_size=25), returns=st.sampled_from(["exclude", "net"]),
       seed=st.integers(0, 2**16))
def test_row_order_never_changes_customers_or_ledger_and_duckdb_agrees(
        tmp_path: Path, lines: list[tuple[int, int, bool, str, int, float, int]], returns: str, seed: int) -> None:
    policy = CleaningPolicy(returns=returns, drop_nonpositive_price=False)  # type: ignore[arg-type]
    shuffled = list(lines)
    np.random.default_rng(seed).shuffle(shuffled)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(_file(lines))
    b.write_text(_file(shuffled))
    as_of = dt.date(2024, 5, 31)
    try:
        first = run(a, policy, as_of)
    except RfmError:  # nothing left after cleaning: the shuffled file and DuckDB must say the same
        with pytest.raises(RfmError):
            run(b, policy, as_of)
        with pytest.raises(RfmError):
            run_duckdb(a, policy, as_of)
        return
    second = run(b, policy, as_of)
    assert first[0] == second[0] and first[1] == second[1]
    duck = run_duckdb(a, policy, as_of)
    assert duck == (first[0], first[1])
    # every row is accounted for, and no customer keeps an order whose value after cancellations is <= 0
    assert sum(first[1].values()) == len(lines)


# The SQL plan groups lines before matching and coding them (lines under an early reason by customer and reason,
# the others by customer, invoice, time, country and flags, the stock code kept only where a cancellation may need
# it). Lines with no customer id, unreadable numbers, future dates, copies of such lines, windows and countries all
# go through that grouping: every count and figure must still be pandas'.
_MESSY = st.tuples(
    st.sampled_from(["1", "2", "3", ""]),  # customer; blank = no id
    st.integers(0, 4),  # invoice number
    st.booleans(),  # C prefix
    st.sampled_from(["K1", "K2", ""]),  # stock code; blank = none
    st.sampled_from(["-2", "-1", "0", "1", "2", "3", "", "x"]),  # quantity; blank or text = not a number
    st.sampled_from(["0", "1.5", "2", "4.25", "-1"]),  # unit price
    st.sampled_from(["2024-05-01 10:00", "2024-05-01 12:00", "2024-05-03 09:30", "2024-05-20 10:00",
                     "2031-01-01 10:00", ""]),  # date; 2031 is after the analysis date, blank is missing
    st.sampled_from(["United Kingdom", "France", ""]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pool=st.lists(_MESSY, min_size=1, max_size=12), picks=st.lists(st.integers(0, 11), min_size=1, max_size=30),
       returns=st.sampled_from(["exclude", "net"]), keep=st.sampled_from(["none", "ids", "dups", "prices"]),
       scope=st.sampled_from(["all", "window", "countries"]))
def test_duckdb_equals_pandas_on_messy_lines_with_copies_at_every_policy(
        tmp_path: Path, pool: list[tuple[str, ...]], picks: list[int], returns: str, keep: str, scope: str) -> None:
    lines = [pool[i % len(pool)] for i in picks]  # drawing from a small pool makes exact copies common
    rows = [f"{'C' if c else ''}{700000 + inv},{stock},{qty},{day},{price},{cust},{country}"
            for cust, inv, c, stock, qty, price, day, country in lines]
    path = tmp_path / "messy.csv"
    path.write_text("InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n" + "\n".join(rows) + "\n")
    window = scope == "window"
    policy = CleaningPolicy(
        returns=returns,  # type: ignore[arg-type]
        drop_missing_customer=keep != "ids", drop_duplicates=keep != "dups", drop_nonpositive_price=keep != "prices",
        start=dt.date(2024, 5, 2) if window else None, end=dt.date(2024, 5, 25) if window else None,
        countries=("United Kingdom",) if scope == "countries" else (), today=dt.date(2024, 6, 1))
    as_of = dt.date(2024, 6, 1)
    # mapped by name in both engines (pandas alone would also read columns by their values: a quantity column of
    # only "x" is not taken as a quantity)
    mapping = {"customer_id": "CustomerID", "invoice_id": "InvoiceNo", "invoice_date": "InvoiceDate",
               "quantity": "Quantity", "unit_price": "UnitPrice", "country": "Country", "stock_code": "StockCode"}
    try:
        want = run(path, policy, as_of, mapping)
    except RfmError:  # nothing left after cleaning: DuckDB must say so too
        with pytest.raises(RfmError):
            run_duckdb(path, policy, as_of, mapping)
        return
    assert sum(want[1].values()) == len(lines)
    assert run_duckdb(path, policy, as_of, mapping) == (want[0], want[1])
