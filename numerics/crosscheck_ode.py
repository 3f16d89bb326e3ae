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

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))      # this checkout's refimpl, in any venv

from refimpl.verify import run_verify, write_vectors  # noqa: E402


def diffrax_dopri5(fun, t_span, y0, *, rtol, atol, t_eval):
    """diffrax.diffeqsolve(Dopri5) with an I-controller (pcoeff = icoeff = 0 defaults:
    diffrax's PIDController with default coefficients is an I controller) — the library's
    own step control, not scipy's: expected to differ, and the diagnosis says where."""
    import jax
    jax.config.update("jax_enable_x64", True)
    import diffrax
    import jax.numpy as jnp
    count = [0]

    def host_rhs(tt, yy):
        count[0] += 1                                   # runs once per true evaluation
        return np.asarray(fun(float(tt), np.asarray(yy)), dtype=np.float64)

    def counted(t, y, args):
        return jax.pure_callback(host_rhs, jax.ShapeDtypeStruct(y.shape, jnp.float64), t, y)

    sol = diffrax.diffeqsolve(diffrax.ODETerm(counted), diffrax.Dopri5(), t0=t_span[0], t1=t_span[1], dt0=None,
                              y0=jnp.asarray(y0), saveat=diffrax.SaveAt(ts=jnp.asarray(t_eval)),
                              stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol), max_steps=100_000)
    return np.asarray(sol.ys), count[0]


CANDIDATES = [
    ("scipy solve_ivp RK45", "ode-solve/scipy", "refimpl.verify.adapters:scipy_rk45", "scipy"),
    ("scipy solve_ivp DOP853", "ode-solve/scipy-dop853", "refimpl.verify.adapters:scipy_dop853", "scipy"),
    ("scipy ode('dopri5')", "ode-solve/hairer", "refimpl.verify.adapters:scipy_ode_dopri5", "scipy"),
    ("torchdiffeq dopri5", "ode-solve/torchdiffeq", "refimpl.verify.adapters:torchdiffeq_dopri5", "torchdiffeq"),
    ("diffrax Dopri5 (PIDController) against the scipy kind", "ode-solve/scipy", "crosscheck_ode:diffrax_dopri5",
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
