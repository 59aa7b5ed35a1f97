"""The shipped data files are exactly what their generators write."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "scripts").glob("make_*_data.py")))
def test_generated_data_is_current(script):
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / script), "--check"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
