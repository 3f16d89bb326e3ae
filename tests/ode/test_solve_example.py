"""Smoke test: the example script runs with --quick and writes its figure."""
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ode_solvers.py"


def test_example_runs_quick(tmp_path):
    out = tmp_path / "orbit.png"
    res = subprocess.run([sys.executable, str(EXAMPLE), "--quick", "--out", str(out)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert out.exists() and out.stat().st_size > 10_000
    assert "dopri5" in res.stdout and "dop853" in res.stdout
