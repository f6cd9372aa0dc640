"""The committed sample is exactly what its seeded generator writes, small, and as messy as promised."""

from __future__ import annotations

import pandas as pd

from rfm_core import analyze
from rfm_core.sample import generate
from tests.conftest import SAMPLE


def test_sample_is_reproducible_and_small(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "s.csv"
    generate().to_csv(out, index=False)
    assert out.read_bytes() == SAMPLE.read_bytes()
    assert SAMPLE.stat().st_size < 5_000_000


def test_sample_has_the_messiness_of_the_real_export() -> None:
    frame = pd.read_csv(SAMPLE, dtype=str)
    assert 0.2 < frame["CustomerID"].isna().mean() < 0.3
    ledger = analyze(SAMPLE, warn=False).cleaned.ledger.set_index("reason")["rows"]
    for reason in ("no customer id", "exact duplicate line", "unit price zero or negative",
                   "cancellation (C + invoice number)"):
        assert ledger[reason] > 0, reason
    assert frame["Country"].nunique() >= 5
