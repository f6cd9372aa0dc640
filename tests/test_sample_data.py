"""The committed sample is exactly what its seeded generator writes, small, and as messy as promised; the generator
serves every size it accepts and refuses the others with a reason."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rfm_core import ConfigError, analyze
from rfm_core.cli import main
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


@settings(max_examples=15, deadline=None)
@given(customers=st.integers(1, 400), seed=st.integers(0, 2**32 - 1))
@example(customers=5_942, seed=7)  # the last size the Online Retail id range 12346..18287 holds
@example(customers=5_943, seed=7)  # the first size that needs a wider range (it raised before)
def test_every_size_gets_that_many_distinct_customers(customers: int, seed: int) -> None:
    frame = generate(customers, seed)
    ids = pd.to_numeric(frame["CustomerID"].dropna())
    assert ids.nunique() == customers  # every customer places at least one order
    assert (ids == ids.round()).all() and ids.min() >= 12_346
    assert ids.max() <= max(18_287, 12_346 + customers - 1)
    if customers >= 100:  # about a quarter guest lines (a few customers may give too few lines to add any)
        assert 0.15 < frame["CustomerID"].isna().mean() < 0.35
    assert generate(customers, seed).equals(frame)  # seeded: the same arguments, the same table


@pytest.mark.parametrize(("customers", "message"), [(0, "at least 1"), (-5, "at least 1"), (2.5, "whole number"),
                                                     (True, "whole number")], ids=["zero", "negative", "float", "bool"])
def test_impossible_sizes_are_refused_with_a_reason(customers: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        generate(customers)  # type: ignore[arg-type]


def test_impossible_dates_are_refused_with_a_reason() -> None:
    with pytest.raises(ConfigError, match="at least a day after"):
        generate(10, start="2011-01-02", end="2011-01-02")
    with pytest.raises(ConfigError, match="must be dates"):
        generate(10, start="soon")


@pytest.mark.slow
def test_cli_writes_a_sample_larger_than_the_online_retail_id_range(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "big.csv"
    assert main(["sample", str(out), "--customers", "21000", "--seed", "1"]) == 0  # exited 3 before
    assert pd.read_csv(out, usecols=["CustomerID"])["CustomerID"].nunique() == 21_000
    assert capsys.readouterr().err.strip() == f"wrote {out}"


def test_cli_refuses_a_sample_of_no_customers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sample", str(tmp_path / "none.csv"), "--customers", "0"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "at least 1" in err[0]
    assert not (tmp_path / "none.csv").exists()
