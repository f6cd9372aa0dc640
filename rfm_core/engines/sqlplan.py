"""One SQL plan for cleaning, the ledger and the per-customer table, rendered for DuckDB or Spark SQL.

The plan follows :mod:`rfm_core.clean` exactly: the same reasons in the same order, a duplicate being a line
equal in every original column to another (the copies beyond the first are filed as duplicates unless an earlier
reason applies to all of them), and :mod:`rfm_core.aggregate`'s definitions of recency, frequency and monetary.
Identical lines share every earlier reason, so grouping them first (``GROUP BY`` every column, with a count)
gives the same ledger as marking copies one by one, without a window over the whole data set.

Values are expected to be typed or plainly formatted (ISO dates or D/M/Y dates, plain numbers); what does not
parse is filed as unreadable in the ledger, as in pandas. The pandas engine remains the one for messy files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from ..clean import MAX_ABS_NUMBER, REASONS, UNKNOWN_CUSTOMER, USED, USED_RETURN, future_rule
from ..columns import AMOUNT, COUNTRY, CUSTOMER_ID, INVOICE_DATE, INVOICE_ID, QUANTITY, UNIT_PRICE
from ..settings import CleaningPolicy

__all__ = ["Dialect", "FileResult", "SparkDialect", "SqlPlan", "customers_sql", "finish_customers", "ledger_frame"]

CODE = {reason: i for i, reason in enumerate(REASONS)}
EARLY = (CODE["date missing or unreadable"], CODE["dated after today"],
         CODE["quantity, price or amount missing or not a number"], CODE["no customer id"])


@dataclass(frozen=True)
class FileResult:
    """What a file-based engine returns: the per-customer table, the ledger, and the analysis date."""

    customers: pd.DataFrame
    ledger: pd.DataFrame
    as_of: dt.date
    input_rows: int
    engine: str
    mapping: dict[str, str]
    notes: tuple[str, ...] = ()


class Dialect:
    """DuckDB spelling; :class:`SparkDialect` overrides what differs."""

    text = "VARCHAR"

    def quote(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def try_double(self, expr: str) -> str:
        return f"TRY_CAST({expr} AS DOUBLE)"

    def timestamp(self, expr: str, dayfirst: bool | None) -> str:
        order = "%d/%m/%Y" if dayfirst else "%m/%d/%Y"
        formats = ", ".join(f"'{order}{t}'" for t in (" %H:%M", " %H:%M:%S", ""))
        return f"COALESCE(TRY_CAST({expr} AS TIMESTAMP), try_strptime({expr}, [{formats}]))"

    def days_between(self, start_date: str, end_date: str) -> str:
        return f"date_diff('day', {start_date}, {end_date})"

    def date_literal(self, d: dt.date) -> str:
        return f"DATE '{d.isoformat()}'"


class SparkDialect(Dialect):
    text = "STRING"

    def quote(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def try_double(self, expr: str) -> str:
        return f"try_cast({expr} AS DOUBLE)"

    def timestamp(self, expr: str, dayfirst: bool | None) -> str:
        order = "d/M/yyyy" if dayfirst else "M/d/yyyy"
        tries = ", ".join(f"try_to_timestamp({expr}, '{order}{t}')" for t in (" H:mm", " H:mm:ss", ""))
        # Spark would turn "09:30+13:00" into the session's clock; the shop's local clock is kept, as in pandas.
        local = (f"regexp_replace({expr}, '(?i)([0-9]:[0-9]{{2}}(:[0-9]{{2}}([.,][0-9]+)?)?)[ ]*"
                 "(Z|UTC|GMT|[+-][0-9]{2}(:?[0-9]{2})?)[ ]*$', '$1')")
        return f"COALESCE(try_cast({local} AS TIMESTAMP), {tries})"

    def days_between(self, start_date: str, end_date: str) -> str:
        return f"datediff({end_date}, {start_date})"


@dataclass(frozen=True)
class SqlPlan:
    """The SQL texts for one source relation, its original columns and their types, a mapping and a policy."""

    source: str
    columns: tuple[str, ...]
    text_columns: frozenset[str]
    mapping: dict[str, str]
    policy: CleaningPolicy
    dialect: Dialect
    dayfirst: bool | None = None
    #: Columns holding nanoseconds since the epoch (Spark reads Parquet TIMESTAMP(NANOS) as longs).
    nanos_columns: frozenset[str] = frozenset()

    def _col(self, canonical: str) -> str:
        return self.dialect.quote(self.mapping[canonical])

    def _text(self, canonical: str) -> str:
        raw = f"trim(CAST({self._col(canonical)} AS {self.dialect.text}))"
        cleaned = f"regexp_replace({raw}, '[.]0+$', '')"
        return f"CASE WHEN lower({raw}) IN ('', 'nan', 'none', 'null') THEN NULL ELSE {cleaned} END"

    def _number(self, canonical: str) -> str:
        return self.dialect.try_double(self._col(canonical))

    def _timestamp(self) -> str:
        col = self._col(INVOICE_DATE)
        if self.mapping[INVOICE_DATE] in self.text_columns:
            return self.dialect.timestamp(col, self.dayfirst)
        if self.mapping[INVOICE_DATE] in self.nanos_columns:
            return f"timestamp_micros(CAST(floor({col} / 1000) AS BIGINT))"
        return f"CAST({col} AS TIMESTAMP)"

    def _offset(self) -> str:
        """Minutes east of UTC stated after the time in a text timestamp (``Z``, ``UTC``, ``+13:00``, ``-0400``), else
        NULL: the same reading as :func:`rfm_core.mapping.read_dates`, for the "dated after today" rule only."""
        if self.mapping[INVOICE_DATE] not in self.text_columns:
            return "NULL"
        text = f"upper(trim(CAST({self._col(INVOICE_DATE)} AS {self.dialect.text})))"
        zone = (f"regexp_extract({text}, '[0-9]:[0-9]{{2}}(:[0-9]{{2}}([.,][0-9]+)?)?[ ]*(Z|UTC|GMT|[+-][0-9]{{2}}"
                f"(:?[0-9]{{2}})?)$', 3)")
        minutes = ("(CASE WHEN substr(z, 1, 1) = '-' THEN -1 ELSE 1 END) * (CAST(substr(z, 2, 2) AS INT) * 60 + "
                   "COALESCE(CAST(NULLIF(replace(substr(z, 4), ':', ''), '') AS INT), 0))")
        return (f"(SELECT CASE WHEN z IS NULL OR z = '' THEN NULL WHEN z IN ('Z', 'UTC', 'GMT') THEN 0 "
                f"ELSE {minutes} END FROM (SELECT {zone} AS z))")

    def _future(self) -> str:
        """The "dated after today" test of :class:`rfm_core.clean.FutureRule` on ``ts`` (local) and ``off``."""
        d, rule = self.dialect, future_rule(self.policy)
        naive = f"CAST({d.date_literal(rule.first_future_day())} AS TIMESTAMP)"
        steps = rule.offset_steps()
        if len(steps) == 1:
            return f"ts >= {naive}"
        by_offset = " ".join(f"WHEN off >= {at!r} THEN CAST({d.date_literal(day)} AS TIMESTAMP)"
                             for at, day in reversed(steps))
        return f"ts >= CASE WHEN off IS NULL THEN {naive} {by_offset} END"

    def reasoned(self) -> str:
        """A query with one row per distinct line: ``n_rows`` copies, typed canonical values and a reason code."""
        d, p, m = self.dialect, self.policy, self.mapping
        cols = ", ".join(d.quote(c) for c in self.columns)
        grouped = (f"SELECT {cols}, count(*) AS n_rows FROM {self.source} GROUP BY {cols}" if p.drop_duplicates
                   else f"SELECT {cols}, 1 AS n_rows FROM {self.source}")
        cid = self._text(CUSTOMER_ID)
        if not p.drop_missing_customer:
            cid = f"COALESCE({cid}, '{UNKNOWN_CUSTOMER}')"
        qty = self._number(QUANTITY) if QUANTITY in m else "NULL"
        price = self._number(UNIT_PRICE) if UNIT_PRICE in m else "NULL"
        amount = self._number(AMOUNT) if AMOUNT in m else f"({qty}) * ({price})"
        ts = self._timestamp()
        inv = self._text(INVOICE_ID) if INVOICE_ID in m else f"concat({cid}, '|', CAST({ts} AS {d.text}))"
        country = self._text(COUNTRY) if COUNTRY in m else "NULL"
        off = self._offset() if p.drop_future and p.today is None else "NULL"
        typed = (f"SELECT n_rows, {cid} AS cid, {inv} AS inv, {ts} AS ts, {qty} AS qty, {price} AS price, "
                 f"{amount} AS amount, {country} AS country, {off} AS off FROM grouped")

        limit = f"{MAX_ABS_NUMBER:.0e}"
        needed = [f"{c} IS NULL OR NOT ({c} BETWEEN -{limit} AND {limit})"
                  for c, k in (("amount", AMOUNT), ("qty", QUANTITY), ("price", UNIT_PRICE)) if k in m or c == "amount"]
        cases = [f"WHEN ts IS NULL THEN {CODE['date missing or unreadable']}"]
        if p.drop_future:
            cases.append(f"WHEN {self._future()} THEN {CODE['dated after today']}")
        cases.append(f"WHEN {' OR '.join(needed)} THEN {CODE['quantity, price or amount missing or not a number']}")
        if p.drop_missing_customer:
            cases.append(f"WHEN cid IS NULL THEN {CODE['no customer id']}")
        if p.drop_nonpositive_price and UNIT_PRICE in m:
            cases.append(f"WHEN price <= 0 THEN {CODE['unit price zero or negative']}")
        cancelled = "upper(inv) LIKE 'C%'" if INVOICE_ID in m else "FALSE"
        returned = "qty <= 0" if QUANTITY in m else "amount <= 0"
        if p.returns == "exclude":
            cases.append(f"WHEN {cancelled} THEN {CODE['cancellation (invoice starts with C)']}")
            cases.append(f"WHEN {returned} THEN {CODE['return (quantity or amount zero or negative)']}")
        if p.start is not None:
            start = d.date_literal(p.start)
            cases.append(f"WHEN ts < CAST({start} AS TIMESTAMP) THEN {CODE['before the date window']}")
        if p.end is not None:
            end = d.date_literal(p.end + dt.timedelta(days=1))
            cases.append(f"WHEN ts >= CAST({end} AS TIMESTAMP) THEN {CODE['after the date window']}")
        if p.countries:
            names = ", ".join("'" + c.replace("'", "''") + "'" for c in p.countries)
            cases.append(f"WHEN country IS NULL OR country NOT IN ({names}) THEN {CODE['country not selected']}")
        if p.returns == "net":
            cases.append(f"WHEN {cancelled} OR {returned} THEN {CODE[USED_RETURN]}")
        first = f"CASE {' '.join(cases)} ELSE {CODE[USED]} END"
        base = (f"WITH grouped AS ({grouped}), typed AS ({typed}), "
                f"coded AS (SELECT *, {first} AS code FROM typed)")
        if p.returns == "net":
            orphan = CODE["return from a customer with no purchase"]
            return (f"{base}, buyers AS (SELECT DISTINCT cid AS buyer FROM coded WHERE code = {CODE[USED]}) "
                    f"SELECT n_rows, cid, inv, ts, amount, country, CASE WHEN code = {CODE[USED_RETURN]} AND "
                    f"buyer IS NULL THEN {orphan} ELSE code END AS code FROM coded LEFT JOIN buyers ON cid = buyer")
        return f"{base} SELECT n_rows, cid, inv, ts, amount, country, code FROM coded"

    def ledger(self, reasoned: str) -> str:
        early = ", ".join(str(c) for c in EARLY)
        return (f"SELECT code, sum(CASE WHEN code IN ({early}) THEN n_rows ELSE 1 END) AS n FROM {reasoned} "
                f"GROUP BY code UNION ALL SELECT {CODE['exact duplicate line']} AS code, sum(n_rows - 1) AS n "
                f"FROM {reasoned} WHERE code NOT IN ({early})")

    def last_purchase(self, reasoned: str) -> str:
        return f"SELECT max(ts) AS last_ts FROM {reasoned} WHERE code = {CODE[USED]}"

    def customers(self, reasoned: str, as_of: dt.date) -> str:
        return customers_sql(self.dialect, reasoned, as_of)


def customers_sql(d: Dialect, reasoned: str, as_of: dt.date) -> str:
    """Per-customer SQL over a relation with ``cid, inv, ts, amount, country, code`` (codes as in the ledger)."""
    used, ret = CODE[USED], CODE[USED_RETURN]
    as_of_sql = d.date_literal(as_of)
    last = f"max(CASE WHEN code = {used} THEN ts END)"
    first = f"min(CASE WHEN code = {used} THEN ts END)"
    freq = f"count(DISTINCT CASE WHEN code = {used} THEN inv END)"
    return (
        f"SELECT cid AS {CUSTOMER_ID}, {d.days_between(f'CAST({last} AS DATE)', as_of_sql)} AS recency_days, "
        f"{freq} AS frequency, sum(amount) AS monetary, {first} AS first_purchase, {last} AS last_purchase, "
        f"{d.days_between(f'CAST({first} AS DATE)', as_of_sql)} AS tenure_days, "
        f"max_by(CASE WHEN code = {used} THEN country END, CASE WHEN code = {used} THEN ts END) AS {COUNTRY} "
        f"FROM {reasoned} WHERE code IN ({used}, {ret}) GROUP BY cid HAVING {freq} > 0 ORDER BY cid"
    )


def ledger_frame(counts: pd.DataFrame, input_rows: int) -> pd.DataFrame:
    """The engine's (code, n) rows as the pandas ledger: reasons in order, ``used`` always present."""
    by_code = counts.groupby("code")["n"].sum()
    rows = [(reason, int(by_code.get(i, 0))) for i, reason in enumerate(REASONS)]
    ledger = pd.DataFrame(rows, columns=["reason", "rows"])
    ledger = ledger[(ledger["rows"] > 0) | (ledger["reason"] == USED)].reset_index(drop=True)
    ledger["share"] = ledger["rows"] / max(input_rows, 1)
    return ledger


def finish_customers(frame: pd.DataFrame) -> pd.DataFrame:
    """Engine output in the pandas engine's column order and types."""
    out = frame.copy()
    out[CUSTOMER_ID] = out[CUSTOMER_ID].astype(str)
    for col in ("recency_days", "frequency", "tenure_days"):
        out[col] = out[col].astype("int64")
    out["monetary"] = out["monetary"].astype("float64")
    for col in ("first_purchase", "last_purchase"):
        out[col] = pd.to_datetime(out[col]).astype("datetime64[ns]")
    out["avg_order_value"] = out["monetary"] / out["frequency"]
    cols = [CUSTOMER_ID, "recency_days", "frequency", "monetary", "first_purchase", "last_purchase", "tenure_days",
            "avg_order_value", COUNTRY]
    return out[cols].sort_values(CUSTOMER_ID, kind="stable").reset_index(drop=True)
