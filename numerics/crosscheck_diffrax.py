"""diffrax's Dopri5 + PIDController through `refimpl verify`, and why its first step is 0.01.

    /work/venv-jax/bin/python numerics/crosscheck_diffrax.py [--out FILE]     # needs jax + diffrax

Three facts, each reproduced here:
1. With dt0=None, diffrax 0.7.2's `PIDController` never runs its initial-step algorithm on an
   ODE: `diffeqsolve` wraps the term in a `WrapTerm` before calling the controller's
   `_select_initial_step`, whose `if not isinstance(terms, ODETerm): return 0.01` (the SDE
   fallback) then always fires. The probe below prints the term's type and the first step.
2. Through `verify ode-solve/scipy` (dt0=None) every case parts from scipy at attempt 0, the
   initial step.
3. Given scipy's own first step (dt0 = scipy's `select_initial_step`), the diagnosis shows the
   next controller rule where diffrax and scipy differ.
Writes numerics/results/crosscheck_diffrax.md.
"""
import argparse
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from refimpl.verify import run_verify, write_vectors  # noqa: E402


def _diffrax_solve(fun, t_span, y0, rtol, atol, t_eval, dt0):
    import jax
    jax.config.update("jax_enable_x64", True)
    import diffrax
    import jax.numpy as jnp
    count = [0]

    def host_rhs(tt, yy):
        count[0] += 1
        return np.asarray(fun(float(tt), np.asarray(yy)), dtype=np.float64)

    def counted(t, y, args):
        return jax.pure_callback(host_rhs, jax.ShapeDtypeStruct(y.shape, jnp.float64), t, y)

    sol = diffrax.diffeqsolve(diffrax.ODETerm(counted), diffrax.Dopri5(), t0=t_span[0], t1=t_span[1], dt0=dt0,
                              y0=jnp.asarray(y0), saveat=diffrax.SaveAt(ts=jnp.asarray(t_eval)),
                              stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol), max_steps=100_000)
    return np.asarray(sol.ys), count[0]


def diffrax_dopri5(fun, t_span, y0, *, rtol, atol, t_eval):
    """diffrax Dopri5 + PIDController(rtol, atol), dt0=None (its own initial step)."""
    return _diffrax_solve(fun, t_span, y0, rtol, atol, t_eval, None)


def diffrax_dopri5_scipy_h0(fun, t_span, y0, *, rtol, atol, t_eval):
    """The same with dt0 = scipy's first step (select_initial_step, 1 extra evaluation not
    counted by diffrax: added to nfev, as scipy counts it)."""
    from scipy.integrate._ivp.common import select_initial_step
    y0 = np.asarray(y0, float)
    f0 = np.asarray(fun(t_span[0], y0))
    h0 = select_initial_step(fun, t_span[0], y0, t_span[1], np.inf, f0, 1, 4, rtol, atol)
    ys, n = _diffrax_solve(fun, t_span, y0, rtol, atol, t_eval, float(h0))
    return ys, n + 1


def probe():
    """The type of term the PIDController sees, and the first step for dt0=None."""
    import jax
    jax.config.update("jax_enable_x64", True)
    import diffrax
    import jax.numpy as jnp
    from diffrax._step_size_controller import pid
    seen = []
    orig = pid._select_initial_step

    def spy(terms, *a, **k):
        h = orig(terms, *a, **k)
        seen.append((type(terms).__name__, h if isinstance(h, float) else "computed"))
        return h
    pid._select_initial_step = spy
    try:
        for y0, k in (([1.0, 2.0], 0.5), ([1e-3], 50.0), ([1e3, 1.0], 1e-4)):
            diffrax.diffeqsolve(diffrax.ODETerm(lambda t, y, args, k=k: -k * y), diffrax.Dopri5(), t0=0.0,
                                t1=10.0, dt0=None, y0=jnp.array(y0),
                                stepsize_controller=diffrax.PIDController(rtol=1e-6, atol=1e-9), max_steps=100_000)
    finally:
        pid._select_initial_step = orig
    return seen


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="numerics/results/crosscheck_diffrax.md")
    args = ap.parse_args()
    import diffrax
    import jax
    seen = probe()
    lines = ["## diffrax through `refimpl verify`", "",
             f"diffrax {diffrax.__version__}, jax {jax.__version__}, Python {platform.python_version()}; command: "
             "`/work/venv-jax/bin/python numerics/crosscheck_diffrax.py`.", "",
             "### 1. The initial step with dt0=None", "",
             "`diffeqsolve(ODETerm(-k y), Dopri5(), dt0=None, stepsize_controller=PIDController(rtol=1e-6, "
             "atol=1e-9))` for three (y0, k) of very different scales; (type of the term "
             f"`PIDController._select_initial_step` receives, the step it returns): {seen} — always 0.01, its "
             "`return 0.01` for terms that are not an `ODETerm` (diffeqsolve wrapped the `ODETerm`).", ""]
    with tempfile.TemporaryDirectory() as vec:
        write_vectors(vec, only="ode-solve/scipy", log=lambda s: None)
        for title, cand in (("2. dt0=None against ode-solve/scipy", "diffrax_dopri5"),
                            ("3. dt0 = scipy's first step against ode-solve/scipy", "diffrax_dopri5_scipy_h0")):
            log = []
            rc = run_verify("ode-solve/scipy", f"crosscheck_diffrax:{cand}", vec, log=log.append)
            lines += [f"### {title} — `refimpl verify ode-solve/scipy crosscheck_diffrax:{cand}`", "",
                      f"exit code {rc}", "", "```"] + log + ["```", ""]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
