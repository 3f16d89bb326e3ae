"""Cross-check public ODE solvers through `refimpl verify`: scipy (RK45, DOP853, ode('dopri5')),
torchdiffeq (dopri5) and, where JAX is installed, diffrax (Dopri5 with its PID controller
set to the classic I-controller).

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python numerics/crosscheck_ode.py [--out FILE]

Prints and writes numerics/results/crosscheck_ode.md: one section per library with the
verify log (summarised in numerics/results/crosscheck.md). A library that is not installed
is reported as such, never silently skipped.
"""
import argparse
import importlib.util
import platform
import sys
import tempfile
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))      # this checkout's refimpl, in any venv

from refimpl.verify import run_verify, write_vectors  # noqa: E402


CANDIDATES = [
    ("scipy solve_ivp RK45", "ode-solve/scipy", "refimpl.verify.adapters:scipy_rk45", "scipy"),
    ("scipy solve_ivp DOP853", "ode-solve/scipy-dop853", "refimpl.verify.adapters:scipy_dop853", "scipy"),
    ("scipy ode('dopri5')", "ode-solve/hairer", "refimpl.verify.adapters:scipy_ode_dopri5", "scipy"),
    ("torchdiffeq dopri5", "ode-solve/torchdiffeq", "refimpl.verify.adapters:torchdiffeq_dopri5", "torchdiffeq"),
    ("diffrax Dopri5 (PIDController) against the scipy kind", "ode-solve/scipy", "crosscheck_diffrax:diffrax_dopri5",
     "diffrax"),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="numerics/results/crosscheck_ode.md")
    args = ap.parse_args()
    lines = ["## ODE solvers through `refimpl verify`", "",
             f"Python {platform.python_version()}; command: `OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python "
             "numerics/crosscheck_ode.py`. A case passes when nfev is equal and ys agree to 1e-10 relative.", ""]
    with tempfile.TemporaryDirectory() as vec:
        write_vectors(vec, only="ode-solve", log=lambda s: None)
        for title, kind, cand, pkg in CANDIDATES:
            lines.append(f"### {title} — `refimpl verify {kind} {cand}`")
            lines.append("")
            if importlib.util.find_spec(pkg) is None:
                lines += [f"not run: `{pkg}` is not installed in this environment.", ""]
                continue
            from importlib.metadata import version
            log = []
            rc = run_verify(kind, cand, vec, log=log.append)
            lines.append(f"{pkg} {version(pkg)}: exit code {rc}")
            lines.append("")
            lines.append("```")
            lines += log
            lines.append("```")
            lines.append("")
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
