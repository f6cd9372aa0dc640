"""Convention 1: rfm_core never imports streamlit (checked in a fresh interpreter)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import rfm_core
from tests.conftest import ROOT


def test_no_rfm_core_module_imports_streamlit() -> None:
    modules = [f"rfm_core.{m.name}" for m in pkgutil.walk_packages(rfm_core.__path__) if m.name != "__main__"]
    assert "rfm_core.segment" in modules and len(modules) >= 10
    code = ("import importlib, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "print('streamlit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"
