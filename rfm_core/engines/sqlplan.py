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

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..clean import (
    CANCELLATION_REASON,
    CANCELLED_IN_FULL,
    MAX_ABS_NUMBER,
    REASONS,
    RETURN_REASON,
    UNKNOWN_CUSTOMER,
    USED,
    USED_RETURN,
    future_rule,
)
from ..columns import AMOUNT, COUNTRY, CUSTOMER_ID, INVOICE_DATE, INVOICE_ID, QUANTITY, STOCK_CODE, UNIT_PRICE
from ..orders import TOLERANCE
from ..settings import CleaningPolicy
from .files import DateDecision

__all__ = ["Dialect", "FileResult", "PlanReading", "SparkDialect", "SqlPlan", "apply_order_level_check",
           "counts_frame", "customers_sql", "finish_customers", "id_reading", "ledger_frame", "read_columns",
           "read_plan", "refuse_order_rules"]

CODE = {reason: i for i, reason in enumerate(REASONS)}
#: The columns of the typed, flagged and pre-coded groups of lines (``coded0``) that the rest of the plan reads.
CODED0_COLUMNS = ("n_rows", "n_lines", "cid", "inv", "ts", "country", "stock", "unread", "amount", "cancel", "ret",
                  "pre", "in_scope")
#: The roles the plan reads (a mapped description, say, is read by no rule: only by the duplicate test's hash).
PLAN_ROLES = (INVOICE_ID, INVOICE_DATE, CUSTOMER_ID, QUANTITY, UNIT_PRICE, AMOUNT, COUNTRY, STOCK_CODE)


def read_columns(columns: tuple[str, ...] | list[str], mapping: dict[str, str]) -> list[str]:
    """The source columns the plan reads (those mapped to :data:`PLAN_ROLES`), in the source's order; the duplicate
    test reads every column (or :attr:`SqlPlan.row_hash`)."""
    read = {mapping[r] for r in PLAN_ROLES if r in mapping}
    return [c for c in columns if c in read]


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
    #: Lines with a date or number present in the file that the SQL plan could not read (filed as unreadable).
    unreadable: int = 0
    #: The notes that state a decision made on the data (e-mail spellings merged, an order total read as such, lines
    #: not read): the CLI prints them as ``read:`` lines, as the pandas reader's guesses.
    guesses: tuple[str, ...] = ()
    #: What the engine learnt about the customer ids, in the pandas reader's provenance keys
    #: (:attr:`rfm_core.mapping.MappedTable.reading` ``customer_ids``: ``emails``, ``email_spellings_merged``).
    customer_ids: dict[str, int] = field(default_factory=dict)
    #: Reading warnings in the pandas reader's words (customer ids differing only in letter case or spaces).
    warnings: tuple[str, ...] = ()


class Dialect:
    """DuckDB spelling; :class:`SparkDialect` overrides what differs."""

    text = "VARCHAR"

    def quote(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def try_double(self, expr: str) -> str:
        return f"TRY_CAST({expr} AS DOUBLE)"

    def trim(self, expr: str) -> str:
        """``trim(expr)``, called only where it can change the text. DuckDB's trim removes the Unicode space
        separators (U+0020, U+00A0, U+3000...) and costs most of a text column's cleaning (5 of 14 s of CPU at
        100x); a value of ASCII characters only (byte length = character length) that neither starts nor ends in
        a space comes back unchanged, so it is returned as it is."""
        return (f"CASE WHEN strlen({expr}) <> length({expr}) OR {expr} LIKE ' %' OR {expr} LIKE '% ' "
                f"THEN trim({expr}) ELSE {expr} END")

    def timestamp(self, expr: str, dayfirst: bool | None) -> str:
        """ISO text, else D/M/Y in the order ``dayfirst``, and a value that does not fit that order in the other:
        the pandas reader's rule (each value proving an order is read in the only order it fits: by its D/M/Y
        formats when the order came from the data, by its general parser when it was set)."""
        orders = ["%d/%m/%Y", "%m/%d/%Y"] if dayfirst else ["%m/%d/%Y", "%d/%m/%Y"]
        formats = ", ".join(f"'{order}{t}'" for order in orders for t in (" %H:%M", " %H:%M:%S", ""))
        return f"COALESCE(TRY_CAST({expr} AS TIMESTAMP), try_strptime({expr}, [{formats}]))"

    def days_between(self, start_date: str, end_date: str) -> str:
        return f"date_diff('day', {start_date}, {end_date})"

    def matches(self, expr: str, pattern: str) -> str:
        return f"regexp_matches({expr}, '{pattern}')"

    def null_safe_eq(self, a: str, b: str) -> str:
        return f"{a} IS NOT DISTINCT FROM {b}"

    def date_literal(self, d: dt.date) -> str:
        return f"DATE '{d.isoformat()}'"

    def exact_sum(self, expr: str) -> str:
        """A sum of doubles that hardly depends on the order of the rows: DuckDB's compensated (Kahan) ``fsum``. A
        plain parallel ``sum`` adds in whatever order the threads see the rows, so equal customers (the copies in
        a scaled data set) got totals differing in the last bits and fell on both sides of a quantile edge, unlike
        in pandas (measured: 7 of 43,270 monetary scores differed at 10x with ``sum``, none with ``fsum``)."""
        return f"fsum({expr})"

    def big(self, name: str) -> str:
        """``name AS NOT MATERIALIZED`` for a CTE as long as the data set: DuckDB would otherwise write each such CTE
        out in full (spilling past its memory limit); recomputing it from the scan, pruned to the columns each
        reader needs, is cheaper. Spark never materializes CTEs and has no such keyword."""
        return f"{name} AS NOT MATERIALIZED"

    def once(self, name: str) -> str:
        """``name AS MATERIALIZED``: the one full-size CTE worth writing out (read by several later CTEs)."""
        return f"{name} AS MATERIALIZED"

    def row_hash(self, exprs: list[str]) -> str:
        """A 64-bit hash of a whole line (NULLs hashed by position, so ``(a, NULL)`` and ``(NULL, a)`` differ)."""
        return f"hash({', '.join(exprs)})"

    def strip_spaces(self, expr: str) -> str:
        """``expr`` without its white space (``\\s``)."""
        return f"regexp_replace({expr}, '\\s+', '', 'g')"

    def sorted_list(self, expr: str) -> str:
        """The aggregate of a group's ``expr`` values as a list in ascending order."""
        return f"list({expr} ORDER BY {expr})"


class SparkDialect(Dialect):
    text = "STRING"

    def quote(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def try_double(self, expr: str) -> str:
        return f"try_cast({expr} AS DOUBLE)"

    def trim(self, expr: str) -> str:
        return f"trim({expr})"

    def timestamp(self, expr: str, dayfirst: bool | None) -> str:
        orders = ["d/M/yyyy", "M/d/yyyy"] if dayfirst else ["M/d/yyyy", "d/M/yyyy"]
        tries = ", ".join(f"try_to_timestamp({expr}, '{order}{t}')" for order in orders for t in (" H:mm", " H:mm:ss",
                                                                                                  ""))
        # Spark would turn "09:30+13:00" into the session's clock; the shop's local clock is kept, as in pandas.
        local = (f"regexp_replace({expr}, '(?i)([0-9]:[0-9]{{2}}(:[0-9]{{2}}([.,][0-9]+)?)?)[ ]*"
                 "(Z|UTC|GMT|[+-][0-9]{2}(:?[0-9]{2})?)[ ]*$', '$1')")
        return f"COALESCE(try_cast({local} AS TIMESTAMP), {tries})"

    def days_between(self, start_date: str, end_date: str) -> str:
        return f"datediff({end_date}, {start_date})"

    def matches(self, expr: str, pattern: str) -> str:
        return f"({expr} RLIKE '{pattern}')"

    def sorted_list(self, expr: str) -> str:
        return f"sort_array(collect_list({expr}))"

    def strip_spaces(self, expr: str) -> str:
        # Spark's parser unescapes string literals ('\\s' would reach the regular expression as 's').
        return f"regexp_replace({expr}, '\\\\s+', '')"

    def null_safe_eq(self, a: str, b: str) -> str:
        return f"{a} <=> {b}"

    def exact_sum(self, expr: str) -> str:
        # Spark has no compensated sum, and its plain sum adds in shuffle order: at 10x, 10 of 43,270 monetary
        # scores differed from pandas. The values sorted, then added with Neumaier's compensation, as DuckDB's fsum
        # compensates: the same total in any row order; NULL when there is no value, as sum.
        fix = "CASE WHEN abs(a.s) >= abs(v) THEN (a.s - (a.s + v)) + v ELSE (v - (a.s + v)) + a.s END"
        return (f"CASE WHEN count({expr}) > 0 THEN aggregate(array_sort(collect_list({expr})), "
                f"named_struct('s', CAST(0 AS DOUBLE), 'c', CAST(0 AS DOUBLE)), "
                f"(a, v) -> named_struct('s', a.s + v, 'c', a.c + {fix}), a -> a.s + a.c) END")

    def big(self, name: str) -> str:
        return f"{name} AS"

    def once(self, name: str) -> str:
        return f"{name} AS"

    def row_hash(self, exprs: list[str]) -> str:
        # Spark's hashes skip NULL arguments: a NULL flag after each value keeps the positions apart
        return f"xxhash64({', '.join(f'{e}, {e} IS NULL' for e in exprs)})"


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
    #: Columns holding floating-point numbers (an id read as 12346.0): their text is taken the cheap way when whole.
    float_columns: frozenset[str] = frozenset()
    #: An expression giving each line of the source its own integer (DuckDB: a table's ``rowid``, a Parquet file's
    #: index and row number). With it, the copies of a duplicated line are told apart by it, in one pass over the
    #: lines, instead of a second pass and a grouping of the duplicated lines (:meth:`_dedup`).
    row_id: str | None = None
    #: A column of the source holding :meth:`Dialect.row_hash` of every original column, computed while the file was
    #: loaded (DuckDB's CSV path): the columns no role reads need not be stored.
    row_hash: str | None = None

    def _col(self, canonical: str) -> str:
        return self.dialect.quote(self.mapping[canonical])

    def _text(self, canonical: str) -> str:
        name, col = self.mapping[canonical], self._col(canonical)
        # a number's or a date's text has no spaces around it
        raw = self.dialect.trim(col) if name in self.text_columns else f"CAST({col} AS {self.dialect.text})"
        # The guards only skip work: the regular expression can change only a value with a '.' that ends in 0, and
        # the missing-value words are at most four characters long.
        cleaned = f"CASE WHEN {raw} LIKE '%.%0' THEN regexp_replace({raw}, '[.]0+$', '') ELSE {raw} END"
        text = (f"CASE WHEN length({raw}) <= 4 AND lower({raw}) IN ('', 'nan', 'none', 'null') THEN NULL "
                f"ELSE {cleaned} END")
        if name in self.float_columns:
            # A whole number (an id stored as 12346.0) is the text of its integer: what the cast-and-strip above
            # gives, without formatting a double (the costliest expression of the plan on such an id column).
            # From 1 only: NaN, infinities and other numbers take the general way. Zero of either sign is "0", as
            # pandas writes it (str(int(-0.0))); the general way wrote "-0", another customer.
            whole = f"{col} >= 1 AND {col} < 1e15 AND {col} = floor({col})"
            return (f"CASE WHEN {col} = 0 THEN '0' WHEN {whole} THEN CAST(CAST({col} AS BIGINT) AS "
                    f"{self.dialect.text}) ELSE {text} END")
        return text

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
        # The zone expression is written out wherever it is used rather than named in a scalar subquery: DuckDB
        # decorrelated that subquery into a join with a second computation of the whole typed relation (two more
        # scans of the source, 2 of the 6 at 10x); both engines compute a repeated expression once.
        z = zone
        minutes = (f"(CASE WHEN substr({z}, 1, 1) = '-' THEN -1 ELSE 1 END) * (CAST(substr({z}, 2, 2) AS INT) * 60 + "
                   f"COALESCE(CAST(NULLIF(replace(substr({z}, 4), ':', ''), '') AS INT), 0))")
        # The regular expression was the costliest expression of the plan (about 2 s of CPU per 5.4 M lines, on
        # every line); a zone can only be there when the text holds a Z, UTC or GMT in any case, a '+', or a '-'
        # after a ':' (the time before it), which LIKE tests cheaply on the value as it is (upper-casing and
        # trimming every line cost as much again). Lines failing all five cannot match: NULL, as before.
        col = self._col(INVOICE_DATE)
        maybe = " OR ".join([f"{col} LIKE '%+%'", f"{col} LIKE '%:%-%'",
                             *(f"{col} ILIKE '%{p}%'" for p in ("z", "utc", "gmt"))])
        return (f"(CASE WHEN NOT ({maybe}) THEN NULL WHEN {z} IS NULL OR {z} = '' THEN NULL "
                f"WHEN {z} IN ('Z', 'UTC', 'GMT') THEN 0 ELSE {minutes} END)")

    def _c_number(self, inv: str) -> str:
        """Whether the invoice number ``inv`` is a C-number (``C`` then digits): the pattern runs only on the
        values starting with C or c."""
        return f"(({inv} LIKE 'C%' OR {inv} LIKE 'c%') AND {self.dialect.matches(inv, '^[Cc][0-9]+$')})"

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

    def typed(self, dedup: bool | None = None) -> str:
        """``WITH grouped AS (...), typed AS (...)``: one row per distinct line (``n_rows`` copies), typed values.

        ``dedup`` groups identical lines (default: as the policy's ``drop_duplicates``)."""
        return f"{self._dedup(dedup)}, {self.dialect.big('typed')} ({self._typed_select()})"

    def _dedup(self, dedup: bool | None = None) -> str:
        """``WITH [dup_hashes AS (...),] grouped AS (...)``: one row per distinct line, the used source columns as
        they are and ``n_rows`` copies."""
        d, p = self.dialect, self.policy
        used = read_columns(self.columns, self.mapping)
        cols = ", ".join(d.quote(c) for c in used)
        dedup = p.drop_duplicates if dedup is None else dedup
        if not dedup:
            return f"WITH {d.big('grouped')} (SELECT {cols}, 1 AS n_rows FROM {self.source})"
        # Equal lines are found by a 64-bit hash of every original column, as pandas does
        # (rfm_core.mapping._duplicated); only hashes seen more than once are kept, so what follows handles the few
        # duplicated lines apart, not the whole data set.
        h = d.quote(self.row_hash) if self.row_hash else d.row_hash([d.quote(c) for c in self.columns])
        # A line with no customer id is filed under an early reason, whose count takes every copy alike: its
        # copies need not be grouped, and leaving such lines out of the hash grouping (the costliest step after
        # typing: 54 M hashes at 100x, a quarter of them without an id) changes no count. Copies share every
        # column, so a line without an id never meets a kept hash.
        known = f" WHERE {self._text(CUSTOMER_ID)} IS NOT NULL" if p.drop_missing_customer else ""
        if self.row_id:
            # One pass: a duplicated line's first copy (the least row id of its hash) stands for all its copies,
            # the others are dropped. This replaced a second full scan and a grouping of the duplicated lines
            # (about a tenth of the plan's CPU at 100x).
            first = (f"WITH dup_hashes AS (SELECT h, count(*) AS rfm_n, min(rid) AS rfm_first FROM (SELECT {h} AS h, "
                     f"{self.row_id} AS rid FROM {self.source}{known}) hashed GROUP BY h HAVING count(*) > 1)")
            lines = (f"SELECT {cols}, {h} AS rfm_h, {self.row_id} AS rfm_rid FROM {self.source}")
            return (f"{first}, {d.big('grouped')} (SELECT {', '.join(f'l.{d.quote(c)}' for c in used)}, "
                    f"COALESCE(x.rfm_n, 1) AS n_rows FROM ({lines}) l LEFT JOIN dup_hashes x ON l.rfm_h = x.h "
                    f"WHERE x.h IS NULL OR l.rfm_rid = x.rfm_first)")
        first_value = ", ".join(f"any_value({d.quote(c)}) AS {d.quote(c)}" for c in used)
        grouped = (f"SELECT {cols}, 1 AS n_rows FROM {self.source} WHERE {h} NOT IN (SELECT h FROM dup_hashes) "
                   f"UNION ALL SELECT {first_value}, count(*) AS n_rows FROM {self.source} "
                   f"WHERE {h} IN (SELECT h FROM dup_hashes) GROUP BY {h}")
        return (f"WITH dup_hashes AS (SELECT h FROM (SELECT {h} AS h FROM {self.source}{known}) hashed "
                f"GROUP BY h HAVING count(*) > 1), {d.big('grouped')} ({grouped})")

    def _cid(self) -> str:
        cid = self._text(CUSTOMER_ID)
        if self.mapping[CUSTOMER_ID] in self.text_columns:
            # E-mail addresses are compared without letter case, as the pandas reader does
            # (mapping._customer_keys, the same EMAIL_PATTERN): Dana.Lee@x.com and
            # dana.lee@x.com are one customer.
            from ..mapping import EMAIL_PATTERN

            email = self.dialect.matches(cid, EMAIL_PATTERN)
            cid = f"CASE WHEN {cid} LIKE '%@%' AND {email} THEN lower({cid}) ELSE {cid} END"
        return cid if self.policy.drop_missing_customer else f"COALESCE({cid}, '{UNKNOWN_CUSTOMER}')"

    def id_spellings(self) -> str | None:
        """One row ``merged, example, emails, variants, variant_example`` on the distinct customer ids, as the pandas
        reader reports them (:func:`rfm_core.mapping._customer_keys`): how many spellings of e-mail ids :meth:`_cid`
        merges into another (the distinct ids that are addresses, less the distinct addresses without letter case),
        the spellings of one merged address in order, the distinct ids that are addresses; then the other ids with a
        letter or a space that differ from another only in letter case or spaces (kept apart; pandas warns), and
        the spellings of one such id in order. None when the id column is not text."""
        if self.mapping[CUSTOMER_ID] not in self.text_columns:
            return None
        from ..mapping import EMAIL_PATTERN

        d = self.dialect
        # The id's text is a function of the raw value alone: typed on the distinct raw values (thousands), not on
        # every line (5.4 M at 10x). On the engine's CSV work table the query took 0.17 s before, under 0.1 s after;
        # on a table of every column as text, 1.1 s before and 0.2 s after.
        raw = self._col(CUSTOMER_ID)
        ids = f"SELECT DISTINCT {self._text(CUSTOMER_ID)} AS c FROM (SELECT DISTINCT {raw} FROM {self.source}) r"
        email = f"(c LIKE '%@%' AND {d.matches('c', EMAIL_PATTERN)})"
        # Spaces by the engine's regular expressions (RE2's and Java's \s: ASCII white space; Python's also takes
        # Unicode spaces such as U+00A0, which ids trimmed at the boundary rarely hold inside).
        bare = d.strip_spaces("c")
        other = (f"SELECT c, lower({bare}) AS k FROM i WHERE c IS NOT NULL AND NOT {email} "
                 f"AND ({d.matches('c', '[A-Za-z]')} OR {bare} <> c)")
        return (f"WITH i AS ({ids}), e AS (SELECT c FROM i WHERE {email}), "
                f"g AS (SELECT lower(c) AS k, count(*) AS n, {d.sorted_list('c')} AS spellings FROM e "
                "GROUP BY lower(c)), "
                f"v AS (SELECT k, count(*) AS n, {d.sorted_list('c')} AS spellings FROM ({other}) o GROUP BY k "
                "HAVING count(*) > 1) "
                "SELECT COALESCE(sum(n - 1), 0), (SELECT spellings FROM g WHERE n > 1 ORDER BY k LIMIT 1), "
                "COALESCE(sum(n), 0), (SELECT COALESCE(sum(n), 0) FROM v), "
                "(SELECT spellings FROM v ORDER BY k LIMIT 1) FROM g")

    def _numbers(self) -> tuple[str, str, str]:
        """A line's quantity, unit price and amount as doubles (the amount: its column, else quantity x price)."""
        m = self.mapping
        qty = self._number(QUANTITY) if QUANTITY in m else "NULL"
        price = self._number(UNIT_PRICE) if UNIT_PRICE in m else "NULL"
        return qty, price, self._number(AMOUNT) if AMOUNT in m else f"({qty}) * ({price})"

    def _negative(self) -> str:
        """Whether a line's quantity (else its amount) is below zero, on the source's values."""
        m = self.mapping
        if QUANTITY in m:
            return f"{self._number(QUANTITY)} < 0"
        if AMOUNT in m:
            return f"{self._number(AMOUNT)} < 0"
        return "FALSE"  # no quantity, no amount: the line is unreadable anyway

    def _typed_select(self) -> str:
        d, p, m = self.dialect, self.policy, self.mapping
        cid = self._cid()
        qty, price, amount = self._numbers()
        ts = self._timestamp()
        inv = self._text(INVOICE_ID) if INVOICE_ID in m else f"concat({cid}, '|', CAST({ts} AS {d.text}))"
        country = self._text(COUNTRY) if COUNTRY in m else "NULL"
        stock = self._text(STOCK_CODE) if STOCK_CODE in m else f"CAST(NULL AS {d.text})"
        off = self._offset() if p.drop_future and p.today is None else "NULL"
        # A value present in the file that this plan cannot read (a format only the pandas reader knows, such as
        # a decimal comma or a currency sign): counted so that --engine auto can hand such files to pandas.
        present = [(self._col(INVOICE_DATE), ts)] + [(self._col(k), self._number(k)) for k in (QUANTITY, UNIT_PRICE,
                                                                                             AMOUNT) if k in m]
        unread = " OR ".join(f"({raw} IS NOT NULL AND {value} IS NULL)" for raw, value in present)
        return (f"SELECT n_rows, {cid} AS cid, {inv} AS inv, {ts} AS ts, {qty} AS qty, {price} AS price, "
                f"{amount} AS amount, {country} AS country, {stock} AS stock, {off} AS off, "
                f"CASE WHEN {unread} THEN n_rows ELSE 0 END AS unread FROM grouped")

    def order_level_check(self) -> str:
        """One row ``multi, constant, differs``: orders with several distinct lines, how many of them have one
        amount on every line, and lines whose amount is not quantity x unit price (the rule of
        :func:`rfm_core.orders.order_level_amount`, which the file engines refuse rather than apply)."""
        m = self.mapping
        differs = ("(SELECT sum(CASE WHEN qty * price IS NULL OR abs(amount - qty * price) > 1e-9 * (1 + abs(qty * "
                   "price)) THEN 1 ELSE 0 END) FROM lines)" if QUANTITY in m and UNIT_PRICE in m else "NULL")
        return (f"{self.typed(dedup=True)}, lines AS (SELECT inv, amount, qty, price "
                f"FROM typed WHERE inv IS NOT NULL AND amount IS NOT NULL AND NOT isnan(amount)), "
                f"per AS (SELECT inv, count(*) AS n, min(amount) AS lo, max(amount) AS hi FROM lines GROUP BY inv) "
                f"SELECT (SELECT count(*) FROM per WHERE n >= 2) AS multi, "
                f"(SELECT count(*) FROM per WHERE n >= 2 AND lo = hi) AS constant, "
                f"{differs} AS differs")

    def reasoned(self, coded0_table: str | None = None, coded0_only: bool = False, stage1_table: str | None = None,
                 stage1_only: bool = False) -> str:
        """A query with one row per group of lines that share everything the ledger and the per-customer table
        read (customer, invoice, time, country, flags, reason; the stock code where a cancellation may need it):
        ``n_lines`` distinct lines with ``n_rows`` copies in all, their summed ``amount``, and a reason code.

        Cancellations are matched to the orders they reverse as in :func:`rfm_core.orders.cancelled_in_full`:
        own order, the order named after the ``C``, else the customer's latest earlier purchase line of the same
        stock code (ties: the greater invoice number); matching keys on (customer, invoice, stock code, time),
        which is all a line's target depends on.

        Parameters
        ----------
        coded0_table : str, optional
            A relation holding :meth:`reasoned` ``(coded0_only=True)``'s rows (DuckDB writes it as a table, stored
            compressed, because the rest of the plan reads it three times); without it the query computes them
            itself (Spark, and DuckDB's in-memory uses).
        coded0_only : bool
            Return only the query for those rows: one per group of lines as above, the columns :data:`CODED0_COLUMNS`
            (typed values, ``cancel``/``ret`` flags, the early reason ``pre`` or NULL, ``in_scope``).
        stage1_table : str, optional
            A relation holding ``stage1_only=True``'s rows (DuckDB stores them: the lines grouped on their raw
            values, about a twelfth as many), read instead of the source by the rest of the plan.
        stage1_only : bool
            Return only the query for the stage-1 rows.
        """
        d, p, m = self.dialect, self.policy, self.mapping
        q = d.quote
        # Two groupings make the lines the rest of the plan reads about a twelfth as many (54 M lines to about
        # 4.5 M groups at 100x), and the costly typing of text (invoice numbers, countries, timestamps and their
        # zones) runs on the first grouping's rows, not on every line.
        # Stage 1, per distinct line: the customer id and the stock code typed (the stock code only for the
        # (customer, stock code) pairs of lines that can be cancellations or returns, ``xs``: a negative quantity
        # or amount, or a C in the invoice number; more pairs than needed change nothing: only the match of a
        # cancellation to the customer's latest earlier purchase of the same code reads it), the numbers and
        # what a line's numbers say (negative, missing or not a number, unit price <= 0, unreadable), and the raw
        # invoice number, date and country. Lines equal in all of these become one row (``rfm_lines`` distinct
        # lines, ``n_rows`` copies, summed amounts), so an order's lines become one.
        limit = f"{MAX_ABS_NUMBER:.0e}"
        qty, price, amount = self._numbers()
        needed = [f"{c} IS NULL OR NOT ({c} BETWEEN -{limit} AND {limit})"
                  for c, k in ((amount, AMOUNT), (qty, QUANTITY), (price, UNIT_PRICE)) if k in m or k == AMOUNT]
        unread_numbers = " OR ".join([f"({self._col(k)} IS NOT NULL AND {self._number(k)} IS NULL)"
                                      for k in (QUANTITY, UNIT_PRICE, AMOUNT) if k in m] or ["FALSE"])
        nonpos = f"COALESCE({price} <= 0, FALSE)" if p.drop_nonpositive_price and UNIT_PRICE in m else "FALSE"
        # without a quantity, "returned" is read on the amount after a C-number's sign is set: a line of zero
        # stays not returned, so zero amounts are kept apart
        zero = "FALSE" if QUANTITY in m else f"({amount} = 0)"
        raws = [self.mapping[k] for k in (INVOICE_ID, INVOICE_DATE, COUNTRY) if k in m]
        raw_cols = ", ".join(dict.fromkeys(q(c) for c in raws))
        if STOCK_CODE in m:
            # Tested on the values as they are, before any typing (a C-number's text holds a C wherever spaces
            # put it; a number or a date column holds none); NULL pairs are harmless (they join nothing).
            raw_inv = self._col(INVOICE_ID) if INVOICE_ID in m else ""
            c_prefix = (f" OR {raw_inv} LIKE '%C%' OR {raw_inv} LIKE '%c%'"
                        if INVOICE_ID in m and m[INVOICE_ID] in self.text_columns else "")
            xs = (f"xs AS (SELECT DISTINCT {self._cid()} AS rfm_xcid, {self._text(STOCK_CODE)} AS rfm_xstock "
                  f"FROM {self.source} WHERE {self._negative()}{c_prefix}), ")
            stock_t = self._text(STOCK_CODE)
            stock = "CASE WHEN x.rfm_xcid IS NOT NULL THEN l.rfm_stock_t END"
            join = "LEFT JOIN xs x ON l.rfm_cid = x.rfm_xcid AND l.rfm_stock_t = x.rfm_xstock"
        else:
            xs, stock_t, stock, join = "", f"CAST(NULL AS {d.text})", "l.rfm_stock_t", ""
        per_line = (f"SELECT n_rows, {self._cid()} AS rfm_cid, {stock_t} AS rfm_stock_t, {raw_cols}, "
                    f"{amount} AS rfm_amount, {self._negative()} AS rfm_neg, ({' OR '.join(needed)}) AS rfm_bad, "
                    f"{nonpos} AS rfm_nonpos, ({unread_numbers}) AS rfm_unum, {zero} AS rfm_zero FROM grouped")
        keys1 = f"rfm_cid, rfm_stock, {raw_cols}, rfm_neg, rfm_bad, rfm_nonpos, rfm_unum, rfm_zero"
        stage1 = (f"SELECT sum(n_rows) AS n_rows, count(*) AS rfm_lines, {keys1}, "
                  f"{d.exact_sum('rfm_amount')} AS rfm_amount, {d.exact_sum('abs(rfm_amount)')} AS rfm_abs "
                  f"FROM (SELECT l.*, {stock} AS rfm_stock FROM ({per_line}) l {join}) s GROUP BY {keys1}")
        # Stage 2, per stage-1 row: the text typed (the same expressions as for a line: the raw columns keep their
        # names), then the C-number flags, the first early reason and the scope.
        ts = self._timestamp()
        inv = self._text(INVOICE_ID) if INVOICE_ID in m else f"concat(rfm_cid, '|', CAST({ts} AS {d.text}))"
        country = self._text(COUNTRY) if COUNTRY in m else "NULL"
        off = self._offset() if p.drop_future and p.today is None else "NULL"
        typed2 = (f"SELECT n_rows, rfm_lines AS n_lines, rfm_cid AS cid, {inv} AS inv, {ts} AS ts, "
                  f"{country} AS country, rfm_stock AS stock, {off} AS off, rfm_amount AS amount, "
                  f"rfm_abs AS abs_amount, rfm_neg AS neg, rfm_bad AS bad, rfm_nonpos AS nonpos, rfm_zero AS zero, "
                  f"CASE WHEN ({self._col(INVOICE_DATE)} IS NOT NULL AND {ts} IS NULL) OR rfm_unum THEN n_rows ELSE 0 "
                  f"END AS unread FROM stage1")
        early = [f"WHEN ts IS NULL THEN {CODE['date missing or unreadable']}"]
        if p.drop_future:
            early.append(f"WHEN {self._future()} THEN {CODE['dated after today']}")
        early.append(f"WHEN bad THEN {CODE['quantity, price or amount missing or not a number']}")
        if p.drop_missing_customer:
            early.append(f"WHEN cid IS NULL THEN {CODE['no customer id']}")
        if p.drop_nonpositive_price and UNIT_PRICE in m:
            early.append(f"WHEN nonpos THEN {CODE['unit price zero or negative']}")
        scope = ["TRUE"]
        if p.start is not None:
            scope.append(f"ts >= CAST({d.date_literal(p.start)} AS TIMESTAMP)")
        if p.end is not None:
            scope.append(f"ts < CAST({d.date_literal(p.end + dt.timedelta(days=1))} AS TIMESTAMP)")
        if p.countries:
            names = ", ".join("'" + c.replace("'", "''") + "'" for c in p.countries)
            scope.append(f"country IS NOT NULL AND country IN ({names})")
        if INVOICE_ID in m:
            # Only a C-number's line can be a cancellation: the invoice it may name is looked up for those lines
            # alone (the join key is NULL on every other line), among the invoice numbers that C-numbers name.
            # Probing every line against every invoice number cost 2.4 s of CPU at 100x, the distinct invoice
            # numbers 3.6 s. A join, not "IN (subquery)": Spark allows predicate subqueries only in filters and joins.
            c_number = self._c_number("t.inv")
            flip = f"{c_number} AND NOT (t.neg) AND named.inv IS NOT NULL"
            # a C-number's line of positive quantity that names an invoice is a cancellation: its amount counts
            # negative (per line: minus the sum of the lines' absolute amounts)
            flagged = (f"SELECT t.n_rows, t.n_lines, t.cid, t.inv, t.ts, t.off, t.country, t.stock, t.unread, t.bad, "
                       f"t.nonpos, CASE WHEN {flip} THEN -t.abs_amount ELSE t.amount END AS amount, "
                       f"COALESCE({c_number} AND ((t.neg) OR named.inv IS NOT NULL), FALSE) AS cancel, "
                       + ("COALESCE(t.neg, FALSE)" if QUANTITY in m else
                          f"CASE WHEN {flip} THEN COALESCE(NOT t.zero, FALSE) ELSE COALESCE(t.neg, FALSE) END")
                       + " AS ret FROM typed2 t LEFT JOIN named ON CASE WHEN "
                       f"{c_number} THEN substr(t.inv, 2) END = named.inv")
        else:
            flagged = ("SELECT n_rows, n_lines, cid, inv, ts, off, country, stock, unread, bad, nonpos, amount, "
                       "FALSE AS cancel, COALESCE(neg, FALSE) AS ret FROM typed2")
        lines = (f"SELECT *, CASE {' '.join(early)} ELSE NULL END AS pre, {' AND '.join(scope)} AS in_scope "
                 f"FROM flagged")
        # Then grouped again on the typed values: a group under an early reason keeps only its customer id and
        # reason (it counts, with its copies, under that reason and takes no other part), and groups whose raw
        # values differ only in spelling become one. ``n_lines`` counts the distinct lines of a group, ``n_rows``
        # their copies: a later reason counts each distinct line once and the copies beyond the first as
        # duplicates (ledger_counts()).
        early_codes = ", ".join(str(c) for c in EARLY)
        late = f"(l.pre IS NULL OR l.pre NOT IN ({early_codes}))"
        kept = ", ".join(f"CASE WHEN {late} THEN l.{c} END AS {c}" for c in ("inv", "ts", "country", "amount", "stock"))
        keyed = (f"SELECT l.n_rows, l.n_lines, l.cid, {kept}, l.unread, l.cancel, l.ret, l.pre, l.in_scope "
                 f"FROM ({lines}) l")
        keys = "cid, inv, ts, country, stock, cancel, ret, pre, in_scope"
        coded0 = (f"SELECT sum(n_rows) AS n_rows, sum(n_lines) AS n_lines, {keys}, sum(unread) AS unread, "
                  f"{d.exact_sum('amount')} AS amount FROM ({keyed}) k GROUP BY {keys}")
        match = (
            f"{d.big('cand')} (SELECT * FROM coded0 WHERE pre IS NULL AND in_scope AND cid IS NOT NULL "
            "AND inv IS NOT NULL), "
            f"{d.big('pl')} (SELECT * FROM cand WHERE NOT (cancel OR ret)), "
            "xl AS (SELECT * FROM cand WHERE cancel OR ret), "
            "orders AS (SELECT cid, inv, sum(amount) AS gross FROM pl GROUP BY cid, inv), "
            "xk AS (SELECT DISTINCT cid, inv, stock, ts FROM xl), "
            "options AS ("
            " SELECT xk.cid, xk.inv, xk.stock, xk.ts, 1 AS prio, CAST(NULL AS TIMESTAMP) AS pts, o.inv AS target "
            "  FROM xk JOIN orders o ON o.cid = xk.cid AND o.inv = xk.inv"
            " UNION ALL"
            " SELECT xk.cid, xk.inv, xk.stock, xk.ts, 2 AS prio, CAST(NULL AS TIMESTAMP) AS pts, o.inv AS target "
            "  FROM xk JOIN orders o ON o.cid = xk.cid AND lower(substr(xk.inv, 1, 1)) = 'c' "
            "  AND o.inv = substr(xk.inv, 2)"
            " UNION ALL"
            " SELECT xk.cid, xk.inv, xk.stock, xk.ts, 3 AS prio, pl.ts AS pts, pl.inv AS target "
            "  FROM xk JOIN pl ON pl.cid = xk.cid AND pl.stock = xk.stock AND pl.ts <= xk.ts), "
            "ranked AS (SELECT *, row_number() OVER (PARTITION BY cid, inv, stock, ts "
            "ORDER BY prio, pts DESC, target DESC) AS rn FROM options), "
            "targets AS (SELECT cid, inv, stock, ts, target FROM ranked WHERE rn = 1), "
            f"xv AS (SELECT xl.cid, t.target, sum(xl.amount) AS rev FROM xl JOIN targets t ON xl.cid = t.cid AND "
            f"xl.inv = t.inv AND {d.null_safe_eq('xl.stock', 't.stock')} AND xl.ts = t.ts GROUP BY xl.cid, t.target), "
            f"gone AS (SELECT o.cid, o.inv FROM orders o JOIN xv ON o.cid = xv.cid AND o.inv = xv.target "
            f"WHERE o.gross + xv.rev <= {TOLERANCE} * abs(o.gross)), "
            "gone_x AS (SELECT t.cid, t.inv, t.stock, t.ts FROM targets t JOIN gone g ON t.cid = g.cid "
            "AND t.target = g.inv), "
            f"{d.big('marked')} (SELECT c.*, (c.pre IS NULL AND c.in_scope AND ((NOT (c.cancel OR c.ret) "
            "AND g.inv IS NOT NULL)"
            " OR ((c.cancel OR c.ret) AND gx.inv IS NOT NULL))) AS gone_line FROM coded0 c "
            "LEFT JOIN gone g ON c.cid = g.cid AND c.inv = g.inv "
            f"LEFT JOIN gone_x gx ON c.cid = gx.cid AND c.inv = gx.inv AND {d.null_safe_eq('c.stock', 'gx.stock')} "
            "AND c.ts = gx.ts)"
        )
        cases = ["WHEN pre IS NOT NULL THEN pre", f"WHEN gone_line THEN {CODE[CANCELLED_IN_FULL]}"]
        if p.returns == "exclude":
            cases.append(f"WHEN cancel THEN {CODE[CANCELLATION_REASON]}")
            cases.append(f"WHEN ret THEN {CODE[RETURN_REASON]}")
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
            cases.append(f"WHEN cancel OR ret THEN {CODE[USED_RETURN]}")
        first = f"CASE {' '.join(cases)} ELSE {CODE[USED]} END"
        # The invoice numbers that a C-number names, among all of the file's (duplicates and grouping do not change
        # the set): read from the stored stage-1 rows when there are (DuckDB; a twelfth of the lines), else from
        # the source.
        inv_sql = self._text(INVOICE_ID) if INVOICE_ID in m else "NULL"
        invoices = f"(SELECT {inv_sql} AS inv FROM {stage1_table or self.source}) s"
        named = (f"named AS (SELECT DISTINCT inv FROM {invoices} WHERE inv IN (SELECT substr(inv, 2) FROM "
                 f"{invoices} WHERE {self._c_number('inv')})), " if INVOICE_ID in m else "")
        if stage1_only:
            return f"{self._dedup()}, {xs.removesuffix(', ')} SELECT * FROM ({stage1}) s" if xs else \
                f"{self._dedup()} SELECT * FROM ({stage1}) s"
        if stage1_table:
            prelude = f"WITH {named}{d.big('stage1')} (SELECT * FROM {stage1_table}), "
        else:
            prelude = f"{self._dedup()}, {named}{xs}{d.big('stage1')} ({stage1}), "
        prelude += f"{d.big('typed2')} ({typed2}), {d.big('flagged')} ({flagged})"
        if coded0_only:
            return f"{prelude} SELECT {', '.join(CODED0_COLUMNS)} FROM ({coded0}) c"
        if coded0_table:
            start = f"WITH {d.big('coded0')} (SELECT * FROM {coded0_table})"
        else:
            start = f"{prelude}, {d.once('coded0')} ({coded0})"
        base = f"{start}, {match}, {d.big('coded')} (SELECT *, {first} AS code FROM marked)"
        if p.returns == "net":
            orphan = CODE["return from a customer with no purchase"]
            return (f"{base}, buyers AS (SELECT DISTINCT cid AS buyer FROM coded WHERE code = {CODE[USED]}) "
                    f"SELECT n_rows, n_lines, cid, inv, ts, amount, country, unread, "
                    f"CASE WHEN code = {CODE[USED_RETURN]} AND buyer IS NULL THEN {orphan} ELSE code END AS code "
                    "FROM coded LEFT JOIN buyers ON cid = buyer")
        return f"{base} SELECT n_rows, n_lines, cid, inv, ts, amount, country, unread, code FROM coded"

    def needs_order_level_check(self) -> bool:
        """Whether :meth:`order_level_check` can change anything: only a mapped amount column can be an order total."""
        return AMOUNT in self.mapping

    def summary(self, reasoned_table: str) -> str:
        """The per-customer aggregates over a relation holding :meth:`reasoned`'s rows (``reasoned_table``): one row
        per customer id with a used line, so nothing the size of the data set is kept after it.

        Columns: ``cid``; ``first_ts``, ``last_ts``, ``orders`` (distinct invoices) and ``country`` (of the latest
        line) over the used purchase lines; ``monetary`` over the used lines, returns netted
        (:mod:`rfm_core.aggregate`). The ledger's counts come from :meth:`ledger_counts` on the same rows: counted
        per reason, not per customer (twenty sums per customer were two thirds of this step's time at 100x).
        """
        d = self.dialect
        used, ret = CODE[USED], CODE[USED_RETURN]
        return (
            f"SELECT cid, min(CASE WHEN code = {used} THEN ts END) AS first_ts, "
            f"max(CASE WHEN code = {used} THEN ts END) AS last_ts, "
            f"count(DISTINCT CASE WHEN code = {used} THEN inv END) AS orders, "
            f"{d.exact_sum('amount')} AS monetary, "
            f"max_by(CASE WHEN code = {used} THEN country END, CASE WHEN code = {used} THEN ts END) "
            f"AS {d.quote(COUNTRY)} "
            f"FROM {reasoned_table} WHERE code IN ({used}, {ret}) GROUP BY cid")

    @staticmethod
    def ledger_counts(reasoned_table: str) -> str:
        """One row from a relation holding :meth:`reasoned`'s rows: the ledger count of every reason code in order,
        the exact duplicates, and the lines holding a date or number this plan could not read (see
        :func:`counts_frame`).

        Identical copies of a line count under an early reason, the first of :data:`EARLY`, all alike; under a later
        reason only the first copy does, and the copies beyond the first are "exact duplicate line"."""
        early = ", ".join(str(c) for c in EARLY)
        per_code = (f"SELECT code, sum(CASE WHEN code IN ({early}) THEN n_rows ELSE n_lines END) AS n, "
                    f"sum(CASE WHEN code IN ({early}) THEN 0 ELSE n_rows - n_lines END) AS dups, "
                    f"sum(unread) AS unread FROM {reasoned_table} GROUP BY code")
        sums = ", ".join(f"sum(CASE WHEN code = {k} THEN n END)" for k in range(len(REASONS)))
        return f"SELECT {sums}, sum(dups), sum(unread) FROM ({per_code}) c"

    @staticmethod
    def last_purchase(summary: str) -> str:
        return f"SELECT max(last_ts) AS last_ts FROM {summary}"

    def customers(self, summary: str, as_of: dt.date) -> str:
        """The per-customer table (:mod:`rfm_core.aggregate`'s columns) from :meth:`summary`."""
        d = self.dialect
        as_of_sql = d.date_literal(as_of)
        return (
            f"SELECT cid AS {CUSTOMER_ID}, {d.days_between('CAST(last_ts AS DATE)', as_of_sql)} AS recency_days, "
            f"orders AS frequency, monetary, first_ts AS first_purchase, last_ts AS last_purchase, "
            f"{d.days_between('CAST(first_ts AS DATE)', as_of_sql)} AS tenure_days, {d.quote(COUNTRY)} AS {COUNTRY} "
            f"FROM {summary} WHERE orders > 0 ORDER BY cid")


def counts_frame(row: tuple[object, ...]) -> tuple[pd.DataFrame, int]:
    """The one row of :meth:`SqlPlan.ledger_counts`: the ``code, n`` table :func:`ledger_frame` takes, and the
    number of lines with a date or number present but unreadable to the plan."""
    values = [int(str(v)) if v is not None else 0 for v in row]
    codes = [*range(len(REASONS)), CODE["exact duplicate line"]]
    return pd.DataFrame({"code": codes, "n": values[:-1]}), values[-1]


def refuse_order_rules(columns: tuple[str, ...], mapping: dict[str, str], engine: str) -> None:
    """Raise for inputs whose order rules only the pandas engine applies: recognised shop-platform exports and
    mapped order-level roles (statuses, refunds, discounts). Platform exports are small; pandas reads them."""
    from ..columns import ORDER_ROLES
    from ..errors import RfmError
    from ..platforms import recognise

    match = recognise(list(columns))
    if match is not None:
        raise RfmError(f"The input is recognised as a {match.name}; its order rules (statuses, refunds, "
                       f"order-level fields) are applied by the pandas engine only. Run it with --engine pandas "
                       f"(such exports are small).")
    roles = [r for r in ORDER_ROLES if r in mapping]
    if roles:
        raise RfmError(f"Order-level columns ({', '.join(roles)}) are applied by the pandas engine only; run with "
                       f"--engine pandas, or leave them unmapped.")


def apply_order_level_check(plan: SqlPlan, check: tuple[object, ...]) -> tuple[SqlPlan, tuple[str, ...]]:
    """Follow :func:`rfm_core.orders.order_level_amount` on the result of :meth:`SqlPlan.order_level_check`:
    an order-level amount column beside quantity and unit price gives way to quantity x unit price; without
    them the file engines refuse (pandas divides the total among the order's lines)."""
    from ..errors import RfmError

    multi, constant, differs = (int(str(v)) if v is not None else None for v in check)
    m = plan.mapping
    if AMOUNT not in m or not multi or constant != multi:
        return plan, ()
    src = m[AMOUNT]
    if QUANTITY in m and UNIT_PRICE in m:
        if not differs:
            return plan, ()
        mapping = {k: v for k, v in m.items() if k != AMOUNT}
        return dataclasses.replace(plan, mapping=mapping), (
            f"{src!r} is the same on every line of each of the {multi} orders with several lines, so it is an order "
            "total, not line revenue: line revenue is quantity x unit price.",)
    if multi < 2:
        return plan, ()
    raise RfmError(f"{src!r} is the same on every line of each of the {multi} orders with several lines: an order "
                   "total. The DuckDB and Spark engines read line amounts only; run with --engine pandas (it counts "
                   "the total once per order), or map quantity and unit price.")


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


@dataclass(frozen=True)
class PlanReading:
    """What a file engine says of the data before the plan runs, as the pandas reader says it: the plan (the
    order-level check may change it), the reading notes (date format, e-mail merge, order-level amount), the
    warnings (dates fitting both orders or proving both; ids differing only in case or spaces) and the provenance
    counts of the customer ids."""

    plan: SqlPlan
    notes: tuple[str, ...]
    warnings: tuple[str, ...]
    customer_ids: dict[str, int]


def read_plan(plan: SqlPlan, fetch_one: Callable[[str], tuple[Any, ...]],
              date_order: DateDecision | None = None) -> PlanReading:
    """Run the plan's reading queries with ``fetch_one`` (an engine's "first row of this SQL"): the customer-id
    query (:meth:`SqlPlan.id_spellings`, :func:`id_reading`) and the order-level amount check
    (:func:`apply_order_level_check`); the notes and warnings of ``date_order`` (from
    :func:`rfm_core.engines.files.decide_dayfirst`) come first. One function for DuckDB and Spark, so both say the
    same things.

    Raises
    ------
    RfmError
        From :func:`apply_order_level_check`: an order total the file engines cannot divide among lines.
    """
    notes: tuple[str, ...] = date_order.notes if date_order else ()
    warnings: tuple[str, ...] = date_order.warnings if date_order else ()
    info: dict[str, int] = {}
    spellings = plan.id_spellings()
    if spellings:
        id_notes, id_warnings, info = id_reading(fetch_one(spellings), plan.mapping[CUSTOMER_ID])
        notes, warnings = (*notes, *id_notes), (*warnings, *id_warnings)
    if plan.needs_order_level_check():
        plan, checked = apply_order_level_check(plan, fetch_one(plan.order_level_check()))
        notes = (*notes, *checked)
    return PlanReading(plan, notes, warnings, info)


def id_reading(row: tuple[Any, ...], column: str) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, int]]:
    """The reading notes, warnings and provenance counts of :meth:`SqlPlan.id_spellings`' row for the id column
    ``column``, in the pandas reader's words and keys (:func:`rfm_core.mapping._customer_keys`): the note when
    e-mail spellings were merged, the warning when other ids differ only in letter case or spaces, and the
    ``customer_ids`` counts (``emails`` and ``email_spellings_merged`` when the ids hold addresses,
    ``ids_differing_only_in_case_or_spaces`` when some differ so)."""
    from ..mapping import email_merge_note, id_variants_warning

    merged, example, emails, variants, variant_example = row
    info = {"emails": int(emails), "email_spellings_merged": int(merged)} if emails else {}
    notes = (email_merge_note(column, int(merged), list(example)),) if merged else ()
    warnings: tuple[str, ...] = ()
    if variants:
        warnings = (id_variants_warning(column, int(variants), list(variant_example)),)
        info["ids_differing_only_in_case_or_spaces"] = int(variants)
    return notes, warnings, info


def finish_customers(frame: pd.DataFrame, has_country: bool = True) -> pd.DataFrame:
    """Engine output in the pandas engine's column order and types; without ``has_country`` (the file maps no
    country) no country column, as the pandas engine writes none rather than one empty in every row."""
    out = frame.copy()
    out[CUSTOMER_ID] = out[CUSTOMER_ID].astype(str)
    for col in ("recency_days", "frequency", "tenure_days"):
        out[col] = out[col].astype("int64")
    out["monetary"] = out["monetary"].astype("float64")
    for col in ("first_purchase", "last_purchase"):
        out[col] = pd.to_datetime(out[col]).astype("datetime64[ns]")
    out["avg_order_value"] = out["monetary"] / out["frequency"]
    cols = [CUSTOMER_ID, "recency_days", "frequency", "monetary", "first_purchase", "last_purchase", "tenure_days",
            "avg_order_value", *([COUNTRY] if has_country else [])]
    return out[cols].sort_values(CUSTOMER_ID, kind="stable").reset_index(drop=True)
