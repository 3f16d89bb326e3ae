import os

# Headless matplotlib, and single-threaded BLAS as the CLI uses (set before NumPy loads):
# the tests multiply small matrices, where a threaded BLAS on 2 shared cores spends its
# time synchronising.
os.environ.setdefault("MPLBACKEND", "Agg")
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


# --- running the examples (every paper's example has a --quick smoke test) ----------------
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


HANG_GUARD_S = 1800          # a hang guard for subprocesses, not a speed limit


@pytest.fixture
def run_example(tmp_path):
    """`run_example("ode_solvers.py", out="orbit.png")` runs `examples/ode_solvers.py --quick
    [--out tmp_path/orbit.png]` from the project root, asserts it exits 0 (and wrote `out`),
    and returns (completed process, output path or None). `timeout` only guards against a hang:
    it is raised to HANG_GUARD_S, so a slow, loaded machine never fails a test on wall time."""
    def run(name, out=None, timeout=HANG_GUARD_S):
        timeout = max(timeout, HANG_GUARD_S)
        cmd = [sys.executable, str(ROOT / "examples" / name), "--quick"]
        path = None if out is None else tmp_path / out
        if path is not None:
            cmd += ["--out", str(path)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
        assert r.returncode == 0, r.stderr[-2000:]
        assert path is None or path.exists(), f"{name} did not write {path}"
        return r, path
    return run
