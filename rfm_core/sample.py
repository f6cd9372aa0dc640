"""A seeded generator of Online-Retail-shaped transactions, messiness included.

Customers buy at individual rates (gamma-distributed) until they drop out (BG/NBD-style), so the sample has
champions, one-off buyers and lapsed customers. About a quarter of lines lack a customer id (walk-in and guest
orders), ~2% are cancellations (``C`` invoices with negative quantity), some prices are zero, some lines are
exact duplicates, and customers come from several countries.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ConfigError

__all__ = ["COLUMNS", "SAMPLE_PATH", "generate", "write_sample"]

COLUMNS = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]
SAMPLE_PATH = Path(__file__).resolve().parent.parent / "sample_data" / "online_retail_sample.csv"

_FIRST_ID, _LAST_ID = 12346, 18287
_COUNTRIES = ["United Kingdom"] * 18 + ["Germany", "France", "EIRE", "Spain", "Netherlands", "Belgium",
                                        "Switzerland", "Portugal", "Australia", "Norway"]
_ADJ = ["WHITE", "RED", "PINK", "BLUE", "VINTAGE", "JUMBO", "SMALL", "HEART", "RETRO", "GLASS", "PAPER", "REGENCY"]
_NOUN = ["T-LIGHT HOLDER", "LANTERN", "BAG", "MUG", "CAKE STAND", "BUNTING", "CANDLE", "CLOCK", "TEACUP",
         "DOORMAT", "LUNCH BOX", "NOTEBOOK", "PHOTO FRAME", "CUSHION COVER", "WATER BOTTLE"]


def generate(customers: int = 1500, seed: int = 7, start: str = "2010-12-01", end: str = "2011-12-09") -> pd.DataFrame:
    """Transactions for ``customers`` identified customers (plus guest lines), columns :data:`COLUMNS`.

    Parameters
    ----------
    customers
        Number of distinct customer ids, 1 or more. Every customer places at least one order.
    seed
        Seed of the random generator: the same arguments always give the same table.
    start, end
        First and last possible purchase day (ISO dates, ``start`` before ``end``).

    Returns
    -------
    pandas.DataFrame
        One row per invoice line (about 26 per customer, a quarter of them guest lines without a customer id),
        columns :data:`COLUMNS`, ``InvoiceDate`` as ``YYYY-mm-dd HH:MM:SS`` text, sorted by it.

    Raises
    ------
    ConfigError
        ``customers`` is not a whole number of at least 1, or ``end`` is not at least a day after ``start``.
    """
    if isinstance(customers, bool) or not isinstance(customers, int | np.integer) or customers < 1:
        raise ConfigError(f"The sample needs a whole number of customers of at least 1, not {customers!r}.")
    try:
        t0, t1 = pd.Timestamp(start), pd.Timestamp(end)
    except ValueError:
        raise ConfigError(f"The sample's start and end must be dates (YYYY-MM-DD), not {start!r} and {end!r}.")\
            from None
    days = (t1 - t0).days
    if days < 1:
        raise ConfigError(f"The sample's end ({end}) must be at least a day after its start ({start}).")
    rng = np.random.default_rng(seed)
    n_products = 400
    codes = [f"{20000 + i}" if i % 5 else f"{20000 + i}{chr(65 + i % 3)}" for i in range(n_products)]
    names = [f"{_ADJ[i % len(_ADJ)]} {_NOUN[(i * 7) % len(_NOUN)]}" for i in range(n_products)]
    prices = np.round(rng.lognormal(0.9, 0.7, n_products), 2)
    popularity = rng.dirichlet(np.full(n_products, 0.3))

    rate = rng.gamma(0.8, 1 / 25.0, customers)  # orders per day
    drop = rng.beta(1.2, 4.0, customers)  # chance of leaving after each order
    birth = rng.integers(0, days, customers)
    spend = rng.gamma(3.0, 1.0, customers)
    # Online Retail's ids run 12346..18287; larger samples widen the range (the draw for the default size, and so
    # the committed sample, is unchanged).
    cust_ids = rng.choice(np.arange(_FIRST_ID, max(_LAST_ID, _FIRST_ID + customers - 1) + 1), customers,
                          replace=False)
    home = rng.choice(_COUNTRIES, customers)

    rows: list[tuple[object, ...]] = []
    invoice = 536365

    def order(cid: float | None, country: str, when: float, scale: float) -> None:
        nonlocal invoice
        ts = t0 + pd.Timedelta(days=int(when)) + pd.Timedelta(minutes=int(rng.integers(8 * 60, 19 * 60)))
        lines = int(rng.integers(1, 12))
        items = rng.choice(n_products, lines, p=popularity)
        inv = str(invoice)
        invoice += 1
        for it in items:
            qty = int(max(1, rng.poisson(3 * scale)))
            price = 0.0 if rng.random() < 0.003 else float(prices[it])
            rows.append((inv, codes[it], names[it], qty, ts, price, cid, country))
            if rng.random() < 0.01:
                rows.append(rows[-1])  # an exact duplicate line, as in the real export
        if rng.random() < 0.08:
            it = items[0]
            cancel_ts = ts + pd.Timedelta(hours=int(rng.integers(1, 72)))
            if cancel_ts < t0 + pd.Timedelta(days=days + 1):
                rows.append((f"C{invoice}", codes[it], names[it], -int(rng.integers(1, 4)), cancel_ts,
                             float(prices[it]), cid, country))
                invoice += 1

    for i in range(customers):
        t = float(birth[i])
        while t <= days:
            order(float(cust_ids[i]), str(home[i]), t, float(spend[i]))
            if rng.random() < drop[i]:
                break
            t += rng.exponential(1 / max(rate[i], 1e-3))
    guests = len(rows) // 3
    while len(rows) < guests * 4:
        order(None, "United Kingdom", float(rng.integers(0, days + 1)), 1.0)

    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame = frame.sort_values("InvoiceDate", kind="stable").reset_index(drop=True)
    frame["InvoiceDate"] = frame["InvoiceDate"].dt.strftime("%Y-%m-%d %H:%M:%S")
    return frame


def write_sample(path: Path = SAMPLE_PATH, customers: int = 1500, seed: int = 7) -> Path:
    """Write the bundled sample CSV (the file committed in ``sample_data/``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    generate(customers, seed).to_csv(path, index=False)
    return path
