"""The CLI says how each metric was scored, which rules can never win at the chosen bins, and records both."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rfm_core.cli import main
from tests.conftest import SAMPLE
from tests.engine.test_cases_scoring import CASE_02


def test_one_line_per_metric_and_provenance_scoring_block(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s.csv"
    assert main(["segment", str(SAMPLE), "--out", str(out), "--xlsx", str(tmp_path / "b.xlsx")]) == 0
    err = capsys.readouterr().err.splitlines()
    lines = {line.split(" ")[0].rstrip(":"): line for line in err if line.startswith(("recency", "frequency",
                                                                                        "monetary"))}
    assert set(lines) == {"recency", "frequency", "monetary"}
    seg = pd.read_csv(out)
    prov = json.loads((tmp_path / "s.csv.provenance.json").read_text())
    for metric, col in (("recency", "r_score"), ("frequency", "f_score"), ("monetary", "m_score")):
        block = prov["scoring"][metric]
        counts = seg[col].value_counts().reindex(range(1, 6), fill_value=0).tolist()
        # The customers per score in the provenance and on the CLI line are the exported scores' counts.
        assert [s["customers"] for s in block["scores"]] == counts
        assert lines[metric].endswith(f"with {' | '.join(f'{c:,}' for c in counts)} customers")
        assert block["method"] == "auto" and block["bins"] == 5
        assert block["method_used"] in ("quantile", "distinct")
        assert block["edges"] == sorted(block["edges"])


def test_segment_warns_about_rules_that_cannot_win(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["segment", str(CASE_02), "--bins", "3"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning: ")]
    never = [w for w in warnings if "can never be assigned" in w]
    assert len(never) == 2  # Promising (R = 4) and Hibernating (R = 2): no recency score reads as them at 3 bins
    assert any(w.startswith("warning: At 3 recency bins no score reads as R = 4") and "Promising" in w
               for w in never)


def test_rules_lint_with_bins_per_metric(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "rules.toml"
    assert main(["rules", "--out", str(rules)]) == 0
    capsys.readouterr()
    assert main(["rules", "--lint", str(rules), "--r-bins", "4"]) == 0
    out = capsys.readouterr()
    assert "About to Sleep can never be assigned" in out.out and "2 problem(s)" in out.err
    assert main(["rules", "--lint", str(rules), "--bins", "5"]) == 0
    assert "no problems" in capsys.readouterr().err
    assert main(["rules", "--lint", str(tmp_path / "missing.toml")]) == 2
    assert main(["rules", "--lint", str(rules), "--bins", "11"]) == 2
