"""Timing of refimpl's numba fast path against scipy, diffrax and torchdiffeq (issue 4).

Problems: Lorenz to t = 20 at rtol 1e-8 / atol 1e-10, Arenstorf one period at 1e-10, a
100-dimensional linear system y' = A y (t = 10, 1e-8 / 1e-10). Contestants, each with its
own controller: refimpl ``solve`` with a numba-jitted RHS (fast path) at every preset,
refimpl's NumPy path (Python RHS), ``solve_ivp`` RK45 / DOP853, ``scipy.integrate.ode``
dopri5 / dop853, diffrax Dopri5 (``jax.jit``, CPU, float64) and torchdiffeq dopri5 (CPU,
float64) when installed. All run single-threaded; the timing is interleaved (one run of
every contestant per round) and best-of-rounds, because the machine is shared. Compile
times (numba first call, jax tracing + XLA) are measured separately.

Run: ``python numerics/bench_ode.py [--rounds 5]`` -> ``numerics/results/bench_ode.md``.

References
----------
E. Hairer, S. P. Nørsett, G. Wanner, *Solving ODEs I*, 2nd ed. (1993), Sec. II.0 (Arenstorf
orbit), II.10; P. Kidger, diffrax (2021); R. T. Q. Chen, torchdiffeq (2018).
"""
import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                      "intra_op_parallelism_threads=1")

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402
from scipy.integrate import ode, solve_ivp  # noqa: E402

from refimpl.ode import solve  # noqa: E402
from refimpl.ode.problems import ARENSTORF_MU, ARENSTORF_T, ARENSTORF_Y0, LORENZ_Y0  # noqa: E402

OUT = Path(__file__).parent / "results" / "bench_ode.md"
PRESETS = ("default", "scipy", "hairer", "torchdiffeq")


# --- problems: numba RHS, its NumPy twin (py_func), torch and jax versions -----------------
def lorenz_src(xp, stack):
    def f(t, y):
        return stack([10.0 * (y[1] - y[0]), y[0] * (28.0 - y[2]) - y[1],
                      y[0] * y[1] - 8.0 / 3.0 * y[2]])
    return f


def arenstorf_src(xp, stack):
    mu, nu = ARENSTORF_MU, 1.0 - ARENSTORF_MU

    def f(t, y):
        d1 = ((y[0] + mu) ** 2 + y[1] ** 2) ** 1.5
        d2 = ((y[0] - nu) ** 2 + y[1] ** 2) ** 1.5
        return stack([y[2], y[3], y[0] + 2 * y[3] - nu * (y[0] + mu) / d1 - mu * (y[0] - nu) / d2,
                      y[1] - 2 * y[2] - nu * y[1] / d1 - mu * y[1] / d2])
    return f


def linear_matrix(n=100, seed=0):
    """A = S - 0.05 I with S skew-symmetric, |eigenvalues| ~ 1: oscillatory, slowly decaying."""
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, n)) / np.sqrt(n)
    return (M - M.T) / 2 - 0.05 * np.eye(n)


def linear_src(A, matvec):
    def f(t, y):
        return matvec(A, y)
    return f


def problems():
    A = linear_matrix()
    return {
        "Lorenz, t=20, 1e-8/1e-10": (lorenz_src, (0.0, 20.0), LORENZ_Y0, 1e-8, 1e-10),
        "Arenstorf, 1 period, 1e-10": (arenstorf_src, (0.0, ARENSTORF_T), ARENSTORF_Y0, 1e-10,
                                       1e-10),
        "linear n=100, t=10, 1e-8/1e-10": (("linear", A), (0.0, 10.0),
                                           np.linspace(-1, 1, 100), 1e-8, 1e-10),
    }


def numpy_rhs(src):
    if isinstance(src, tuple):
        A = src[1]
        return lambda t, y: A @ y
    return src(np, np.array)


def numba_rhs(src):
    if isinstance(src, tuple):
        A = src[1]
        return njit(lambda t, y: A @ y)
    return njit(src(np, np.array))


# --- contestants: each returns a zero-argument callable and a counts function -------------
def refimpl_run(f, span, y0, rtol, atol, controller):
    return lambda: solve(f, span, y0, rtol=rtol, atol=atol, controller=controller)


def ode_run(f, span, y0, rtol, atol, name):
    def run():
        r = ode(f).set_integrator(name, rtol=rtol, atol=atol, nsteps=10 ** 7)
        r.set_initial_value(y0, span[0])
        y = r.integrate(span[1])
        return y, int(r._integrator.iwork[16])
    return run


def diffrax_setup(src, span, y0, rtol, atol):
    try:
        import jax
        jax.config.update("jax_enable_x64", True)
        import diffrax
        import jax.numpy as jnp
    except ImportError:
        return None
    if isinstance(src, tuple):
        A = jnp.asarray(src[1])
        rhs = lambda t, y, args: A @ y  # noqa: E731
    else:
        g = src(jnp, jnp.stack)
        rhs = lambda t, y, args: g(t, y)  # noqa: E731

    @jax.jit
    def run(y):
        sol = diffrax.diffeqsolve(diffrax.ODETerm(rhs), diffrax.Dopri5(), span[0], span[1],
                                  None, y, stepsize_controller=diffrax.PIDController(
                                      rtol=rtol, atol=atol), max_steps=10 ** 6,
                                  saveat=diffrax.SaveAt(t1=True))
        return sol.ys, sol.stats["num_steps"], sol.stats["num_rejected_steps"]
    y = jnp.asarray(y0)
    t = time.perf_counter()
    out = jax.block_until_ready(run(y))
    compile_s = time.perf_counter() - t
    return (lambda: jax.block_until_ready(run(y))), compile_s, out


def torchdiffeq_setup(src, span, y0, rtol, atol):
    try:
        import torch
        from torchdiffeq import odeint
    except ImportError:
        return None
    torch.set_num_threads(1)
    if isinstance(src, tuple):
        A = torch.tensor(src[1])
        g = lambda t, y: A @ y  # noqa: E731
    else:
        g = src(torch, torch.stack)
    counter = [0]

    def rhs(t, y):
        counter[0] += 1
        return g(t, y)
    y = torch.tensor(y0, dtype=torch.float64)
    tt = torch.tensor(span, dtype=torch.float64)

    def run():
        counter[0] = 0
        with torch.no_grad():
            ys = odeint(rhs, y, tt, rtol=rtol, atol=atol, method="dopri5")
        return ys[-1].numpy(), counter[0]
    return run


# --- the benchmark ------------------------------------------------------------------------
def best_of(fns, rounds):
    """Interleaved repeats: every round runs every contestant once; returns best times (s)."""
    best = {k: np.inf for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - t)
    return best


def bench_problem(src, span, y0, rtol, atol, rounds):
    fnb, fpy = numba_rhs(src), numpy_rhs(src)
    rows, compile_s, fns = {}, {}, {}
    for c in PRESETS:                                           # numba first call = compile
        t = time.perf_counter()
        r = solve(fnb, span, y0, rtol=rtol, atol=atol, controller=c)
        compile_s[f"numba {c}"] = time.perf_counter() - t
        rows[f"refimpl numba, {c}"] = (r.nfev, r.n_steps, r.y[-1])
        fns[f"refimpl numba, {c}"] = refimpl_run(fnb, span, y0, rtol, atol, c)
    for c in ("scipy", "hairer"):
        r = solve(fpy, span, y0, rtol=rtol, atol=atol, controller=c)
        rows[f"refimpl NumPy, {c}"] = (r.nfev, r.n_steps, r.y[-1])
        fns[f"refimpl NumPy, {c}"] = refimpl_run(fpy, span, y0, rtol, atol, c)
    for m in ("RK45", "DOP853"):
        r = solve_ivp(fpy, span, y0, method=m, rtol=rtol, atol=atol)
        rows[f"solve_ivp {m}"] = (r.nfev, r.t.size - 1, r.y[:, -1])
        fns[f"solve_ivp {m}"] = (lambda m=m: solve_ivp(fpy, span, y0, method=m, rtol=rtol,
                                                       atol=atol))
    for m in ("dopri5", "dop853"):
        fn = ode_run(fpy, span, y0, rtol, atol, m)
        y, nfev = fn()
        rows[f"scipy.integrate.ode {m}"] = (nfev, None, y)
        fns[f"scipy.integrate.ode {m}"] = fn
    dx = diffrax_setup(src, span, y0, rtol, atol)
    if dx is not None:
        run, compile_s["diffrax jit"], (ys, n_steps, n_rej) = dx
        rows["diffrax Dopri5 (jit)"] = (None, int(n_steps), np.asarray(ys)[-1])
        fns["diffrax Dopri5 (jit)"] = run
    td = torchdiffeq_setup(src, span, y0, rtol, atol)
    if td is not None:
        y, nfev = td()
        rows["torchdiffeq dopri5"] = (nfev, None, y)
        fns["torchdiffeq dopri5"] = td
    best = best_of(fns, rounds)
    return rows, best, compile_s


def ratio(best, a, b):
    return best[a] / best[b] if a in best and b in best else float("nan")


def main(rounds):
    lines = ["# Benchmark: refimpl's numba fast path vs scipy, diffrax, torchdiffeq", "",
             f"`python numerics/bench_ode.py --rounds {rounds}`; one process, single-threaded, "
             "interleaved rounds, best of rounds (shared, heavily loaded 2-core machine: "
             "absolute times are noisy, ratios within one run are the result).", ""]
    targets = []
    for name, (src, span, y0, rtol, atol) in problems().items():
        rows, best, compile_s = bench_problem(src, span, y0, rtol, atol, rounds)
        ref = rows["solve_ivp DOP853"][2]
        lines += [f"## {name}", "",
                  "| solver (own controller / preset) | nfev | steps* | best time [ms] | "
                  "numba default / this | numba matching preset / this | "
                  "‖y(T) − numba matching preset‖∞ | ‖y(T) − DOP853‖∞ |",
                  "|---|---|---|---|---|---|---|---|"]
        match = {"solve_ivp RK45": "scipy", "scipy.integrate.ode dopri5": "hairer",
                 "torchdiffeq dopri5": "torchdiffeq", "refimpl NumPy, scipy": "scipy",
                 "refimpl NumPy, hairer": "hairer"}
        for k, (nfev, steps, y) in rows.items():
            m = match.get(k)
            r_m = f"{ratio(best, f'refimpl numba, {m}', k):.4f}" if m else ""
            d_m = f"{np.abs(np.asarray(y) - rows[f'refimpl numba, {m}'][2]).max():.1e}" if m else ""
            lines.append(f"| {k} | {nfev if nfev is not None else ''} | "
                         f"{steps if steps is not None else ''} | {1e3 * best[k]:.3f} | "
                         f"{ratio(best, 'refimpl numba, default', k):.4f} | {r_m} | {d_m} | "
                         f"{np.abs(np.asarray(y) - ref).max():.1e} |")
        lines += ["", "*steps: attempted for refimpl and diffrax, accepted for solve_ivp.",
                  "", "First-call (compile) time [s]: " + ", ".join(
            f"{k} {v:.1f}" for k, v in compile_s.items()), ""]
        targets.append((name, ratio(best, "refimpl numba, default", "diffrax Dopri5 (jit)"),
                        ratio(best, "refimpl numba, hairer", "diffrax Dopri5 (jit)"),
                        ratio(best, "refimpl numba, hairer", "scipy.integrate.ode dopri5"),
                        ratio(best, "refimpl numba, scipy", "solve_ivp RK45")))
        print("\n".join(lines[-len(rows) - 6:]), flush=True)
    lines += ["## Targets", "",
              "| problem | numba default / diffrax jit (target ≤ 0.5) | "
              "numba hairer / diffrax jit | "
              "numba hairer / ode('dopri5'), Python RHS (target ≤ 0.05) | "
              "numba scipy / solve_ivp RK45 |",
              "|---|---|---|---|---|"]
    lines += [f"| {n} | {a:.3f} | {a2:.3f} | {b:.4f} | {c:.4f} |" for n, a, a2, b, c in targets]
    lines += ["", "Compile time is excluded from the ratios: numba compiles one kernel per "
              "(RHS, controller, process); the on-disk cache does not apply to kernels that "
              "take a function argument. diffrax's compile time is its first jitted call."]
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[-(len(targets) + 6):]))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    main(ap.parse_args().rounds)
