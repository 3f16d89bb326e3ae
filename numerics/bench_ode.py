"""Timing of refimpl's numba fast path against scipy, diffrax and torchdiffeq (issue 4).

Problems: Lorenz to t = 20 at rtol 1e-8 / atol 1e-10, Arenstorf one period at 1e-10, a
100-dimensional linear system y' = A y (t = 10, 1e-8 / 1e-10). Contestants, each with its
own controller: refimpl ``solve`` with a numba-jitted RHS (fast path) at every preset, as an
allocating ``f(t, y)`` and as an in-place ``inplace(g)`` (cached kernels), and in place with
``specialise`` (kernel compiled for the RHS) for "default" and "hairer"; refimpl's NumPy
path (Python RHS), ``solve_ivp`` RK45 / DOP853, ``scipy.integrate.ode``
dopri5 / dop853, diffrax Dopri5 (``jax.jit``, CPU, float64) and torchdiffeq dopri5 (CPU,
float64) when installed. All run single-threaded; every round runs every contestant (in a
new random order) for >= 30 ms of calls with the garbage collector off, and the best call
counts, because the machine is shared. Compile
times (numba first call, jax tracing + XLA) are measured separately, and the first call in
a fresh process with a warm and with an empty numba disk cache. Two reference rows say where
the time goes: the bare RHS calls alone (a numba loop; for the linear system the matvec
floor) and ``solve``'s fixed Python-side cost (a one-step solve).

Run: ``python numerics/bench_ode.py [--rounds 5] [--no-fresh] [--out FILE]`` ->
``numerics/results/bench_ode.md``.

References
----------
E. Hairer, S. P. Nørsett, G. Wanner, *Solving ODEs I*, 2nd ed. (1993), Sec. II.0 (Arenstorf
orbit), II.10; P. Kidger, diffrax (2021); R. T. Q. Chen, torchdiffeq (2018).
"""
import argparse
import math
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
from refimpl.ode.fast import inplace, specialise  # noqa: E402
from refimpl.ode.problems import ARENSTORF_MU, ARENSTORF_T, ARENSTORF_Y0, LORENZ_Y0  # noqa: E402

OUT = Path(__file__).parent / "results" / "bench_ode.md"
PRESETS = ("default", "scipy", "hairer", "torchdiffeq")
SPECIALISED = ("default", "hairer")        # the target rows (a compile of ~5-10 s each)


# --- problems: numba RHS, its NumPy twin (py_func), torch and jax versions -----------------
def lorenz_src(xp, stack):
    def f(t, y):
        return stack([10.0 * (y[1] - y[0]), y[0] * (28.0 - y[2]) - y[1],
                      y[0] * y[1] - 8.0 / 3.0 * y[2]])
    return f


def arenstorf_src(xp, stack):
    mu, nu = ARENSTORF_MU, 1.0 - ARENSTORF_MU

    def f(t, y):
        a, b, c = y[0] + mu, y[0] - nu, y[1]
        # squares as a * a in every contestant: Python's `x ** 2` is C pow(x, 2.0), which
        # differs from numba's / XLA's x * x in the last bit for ~1e-3 of inputs
        r1, r2 = a * a + c * c, b * b + c * c
        d1, d2 = r1 * xp.sqrt(r1), r2 * xp.sqrt(r2)      # r^1.5 (see ARENSTORF_NOTE)
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


def lorenz_inplace():
    def f(t, y, out):
        out[0] = 10.0 * (y[1] - y[0])
        out[1] = y[0] * (28.0 - y[2]) - y[1]
        out[2] = y[0] * y[1] - 8.0 / 3.0 * y[2]
    return f


def arenstorf_inplace():
    mu, nu = ARENSTORF_MU, 1.0 - ARENSTORF_MU

    def f(t, y, out):
        a, b, c = y[0] + mu, y[0] - nu, y[1]
        r1, r2 = a * a + c * c, b * b + c * c             # squares as a * a (see arenstorf_src)
        d1, d2 = r1 * math.sqrt(r1), r2 * math.sqrt(r2)
        out[0] = y[2]
        out[1] = y[3]
        out[2] = y[0] + 2 * y[3] - nu * (y[0] + mu) / d1 - mu * (y[0] - nu) / d2
        out[3] = y[1] - 2 * y[2] - nu * y[1] / d1 - mu * y[1] / d2
    return f


def linear_inplace(A):
    def f(t, y, out):
        np.dot(A, y, out)                           # BLAS gemv into out
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
        return rhs_jit(lambda t, y: A @ y)
    return rhs_jit(src(np, np.array))


def numba_rhs_inplace(src):
    if isinstance(src, tuple):
        return rhs_jit(linear_inplace(src[1]))
    return rhs_jit({lorenz_src: lorenz_inplace, arenstorf_src: arenstorf_inplace}[src]())


#: the numba RHS of every row: numba's default error model ("python") tests every float
#: division for zero to raise ZeroDivisionError; inlined into the specialised loop these
#: tests cost ~200 ns a step on Arenstorf (4 divisions an evaluation); with "numpy" a
#: division by zero gives inf, as in NumPy, jax and torch.
rhs_jit = njit(error_model="numpy")

ARENSTORF_NOTE = (
    "Numba RHS are compiled with `@njit(error_model=\"numpy\")`: numba's default error model "
    "tests every float division for zero (to raise ZeroDivisionError, unlike NumPy, jax and "
    "torch); inlined in the specialised loop these tests cost ~200 ns a step on Arenstorf "
    "(row `..., RHS with numba's default error_model`). Every contestant's Arenstorf RHS "
    "computes r^1.5 as `r * sqrt(r)`: `r ** 1.5` is a `pow` call (numba: ~60 ns of latency "
    "per evaluation instead of ~36 ns; XLA: diffrax ~1.9x slower), and an RK step is a chain "
    "of 6 dependent evaluations (row `..., RHS with ** 1.5`). Squares are written `a * a` in "
    "every contestant: Python's `x ** 2` is C `pow(x, 2)`, which differs from numba's and "
    "XLA's `x * x` in the last bit for ~1e-3 of inputs and would part the NumPy and numba "
    "twins.")


def arenstorf_inplace_pow():
    mu, nu = ARENSTORF_MU, 1.0 - ARENSTORF_MU

    def f(t, y, out):
        a, b, c = y[0] + mu, y[0] - nu, y[1]
        d1 = (a * a + c * c) ** 1.5                    # only r ** 1.5 is a pow call here
        d2 = (b * b + c * c) ** 1.5
        out[0] = y[2]
        out[1] = y[3]
        out[2] = y[0] + 2 * y[3] - nu * (y[0] + mu) / d1 - mu * (y[0] - nu) / d2
        out[3] = y[1] - 2 * y[2] - nu * y[1] / d1 - mu * y[1] / d2
    return f


@njit
def chained_calls(f, m, y, out):
    """m in-place RHS calls, each at a state moved by the previous derivative, as the
    stages of a Runge-Kutta step: the RHS's latency (independent calls overlap in the CPU)."""
    for i in range(m):
        f(0.0, y, out)
        for k in range(y.shape[0]):
            y[k] = y[k] + 1e-9 * out[k]
    return y[0]


@njit
def bare_calls(f, m, y, out):
    """m in-place RHS calls at slightly moving states: the floor of any solver making m
    evaluations (the RHS inlined, as in the specialised kernel)."""
    s = 0.0
    for i in range(m):
        y[0] += 1e-14
        f(0.0, y, out)
        s += out[0]
    return s


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
def best_of(fns, rounds, min_s=0.03, seed=0):
    """Best time (s) of every contestant over ``rounds`` rounds. A round runs the
    contestants in a fresh random order (no fixed neighbour: a contestant that leaves
    threads or caches busy does not always hit the same next one), each for at least
    ``min_s`` of repeated calls (at least 3 if one takes < 0.15 s), with the garbage
    collector off (as ``timeit``). The shared 2-core machine preempts single calls at
    random; the minimum over many calls is the stable statistic."""
    import gc
    rng = np.random.default_rng(seed)
    best = {k: np.inf for k in fns}
    keys = list(fns)
    for _ in range(rounds):
        gc.collect()
        gc.disable()          # as timeit: jax and torch leave ~1e6 tracked objects, and a
        try:                  # full collection then lands inside some Python-RHS call
            _one_round(fns, keys, best, rng, min_s)
        finally:
            gc.enable()
    return best


def _one_round(fns, keys, best, rng, min_s):
    """One round of ``best_of`` (updates ``best`` in place)."""
    for i in rng.permutation(len(keys)):
        k, fn = keys[i], fns[keys[i]]
        spent, calls = 0.0, 0
        while spent < min_s or (calls < 3 and best[k] < 0.15):       # slow Python rows: 3
            t = time.perf_counter()
            fn()
            dt = time.perf_counter() - t
            best[k], spent, calls = min(best[k], dt), spent + dt, calls + 1


def bench_problem(src, span, y0, rtol, atol, rounds):
    fnb, fpy = numba_rhs(src), numpy_rhs(src)
    fip = numba_rhs_inplace(src)
    rows, compile_s, fns = {}, {}, {}
    variants = [("", fnb, PRESETS), (" in-place", inplace(fip), PRESETS),
                (" in-place specialised", specialise(inplace(fip)), SPECIALISED)]
    for label, f, presets in variants:                          # numba first call = compile
        for c in presets:
            t = time.perf_counter()
            r = solve(f, span, y0, rtol=rtol, atol=atol, controller=c)
            compile_s[f"numba{label} {c}"] = time.perf_counter() - t
            rows[f"refimpl numba{label}, {c}"] = (r.nfev, r.n_steps, r.y[-1])
            fns[f"refimpl numba{label}, {c}"] = refimpl_run(f, span, y0, rtol, atol, c)
    # the RHS alone: as many bare in-place calls as ode('dopri5') makes (its NFCN)
    nfev_hairer = rows["refimpl numba, hairer"][0]
    yb, ob = np.array(y0, dtype=float), np.empty(len(y0))
    bare_calls(fip, 2, yb, ob)
    fns["bare in-place RHS calls (nfev of ode dopri5)"] = lambda: bare_calls(fip, nfev_hairer,
                                                                             yb, ob)
    rows["bare in-place RHS calls (nfev of ode dopri5)"] = (nfev_hairer, None, None)
    chained_calls(fip, 2, yb, ob)
    fns["chained in-place RHS calls (latency; nfev of ode dopri5)"] = \
        lambda: chained_calls(fip, nfev_hairer, np.array(y0, dtype=float), ob)
    rows["chained in-place RHS calls (latency; nfev of ode dopri5)"] = (nfev_hairer, None, None)
    if src is arenstorf_src:
        for what, g in (("RHS with ** 1.5", rhs_jit(arenstorf_inplace_pow())),
                        ("RHS with numba's default error_model", njit(arenstorf_inplace()))):
            fx = specialise(inplace(g))
            k = f"refimpl numba in-place specialised, default, {what}"
            r = solve(fx, span, y0, rtol=rtol, atol=atol, controller="default")
            rows[k] = (r.nfev, r.n_steps, r.y[-1])
            fns[k] = refimpl_run(fx, span, y0, rtol, atol, "default")
    tiny = (span[0], span[0] + 1e-6 * (span[1] - span[0]))
    fns["refimpl solve() call overhead (1 step)"] = refimpl_run(specialise(inplace(fip)), tiny,
                                                                y0, rtol, atol, "hairer")
    rows["refimpl solve() call overhead (1 step)"] = (None, None, None)
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


FRESH = """
import time, sys
t0 = time.perf_counter()
import numpy as np
from numba import njit
from refimpl.ode import solve
from refimpl.ode.fast import inplace
from refimpl.ode.problems import LORENZ_Y0
print(f"import {time.perf_counter() - t0:.2f}")
f = njit(lambda t, y: np.array([10.0 * (y[1] - y[0]), y[0] * (28.0 - y[2]) - y[1],
                                y[0] * y[1] - 8.0 / 3.0 * y[2]]))
def g(t, y, out):
    out[0] = 10.0 * (y[1] - y[0])
    out[1] = y[0] * (28.0 - y[2]) - y[1]
    out[2] = y[0] * y[1] - 8.0 / 3.0 * y[2]
g = inplace(njit(g))
for name, fun, c in [("default", f, "default"), ("scipy", f, "scipy"), ("hairer", f, "hairer"),
                     ("torchdiffeq", f, "torchdiffeq"), ("in-place default", g, "default")]:
    t = time.perf_counter()
    solve(fun, (0.0, 1.0), LORENZ_Y0, rtol=1e-8, atol=1e-10, controller=c)
    print(f"{name} {time.perf_counter() - t:.2f}")
"""


def fresh_process_first_calls(cache_dir=None):
    """First-call times [s] in a new Python process (RHS defined there, so never cached):
    with numba's warm on-disk cache, or with an empty cache directory (everything compiles)."""
    import subprocess
    import sys
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    out = subprocess.run([sys.executable, "-c", FRESH], env=env, capture_output=True,
                         text=True, check=True).stdout
    return [line.rsplit(" ", 1) for line in out.strip().splitlines()]


def main(rounds, fresh=True, out=OUT):
    import tempfile
    lines = ["# Benchmark: refimpl's numba fast path vs scipy, diffrax, torchdiffeq", "",
             f"`python numerics/bench_ode.py --rounds {rounds}`; one process, single-threaded "
             "(OMP_NUM_THREADS=1, torch.set_num_threads(1), XLA without intra-op threads); "
             "every round runs the contestants in a new random order, each for >= 30 ms of "
             "repeated calls, garbage collector off (as timeit); best time over all calls "
             "(shared 2-core machine: the minimum "
             "over many calls is what is stable, ratios within one run are the result). "
             "Load average at the start: "
             f"{', '.join(f'{v:.2f}' for v in os.getloadavg())}.", "",
             "Numba rows: `refimpl numba` = `solve(f)` with an allocating `@njit f(t, y)`; "
             "`in-place` = `solve(inplace(g))` with `@njit g(t, y, out)`; both through the "
             "cached kernels (first-class function call, compiled once per controller and kept "
             "in numba's disk cache). `in-place specialised` = `solve(specialise(inplace(g)))`: "
             "the kernel compiled for this RHS (inlined), recompiled per RHS and process. "
             "`bare in-place RHS calls` = a numba loop making only the RHS calls, as many as "
             "ode('dopri5') makes: the floor for any dopri5 on this problem. "
             "`chained in-place RHS calls` = as many calls, each at the state moved by the "
             "previous derivative (as RK stages): the RHS's latency, the part of the step a CPU "
             "cannot overlap. "
             "`solve() call overhead` = `solve` on a one-step interval (Python-side "
             "validation, f(t0, y0), the Solution).", "", ARENSTORF_NOTE, ""]
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
            d_ref = f"{np.abs(np.asarray(y) - ref).max():.1e}" if y is not None else ""
            lines.append(f"| {k} | {nfev if nfev is not None else ''} | "
                         f"{steps if steps is not None else ''} | {1e3 * best[k]:.3f} | "
                         f"{ratio(best, 'refimpl numba, default', k):.4f} | {r_m} | {d_m} | "
                         f"{d_ref} |")
        lines += ["", "*steps: attempted for refimpl and diffrax, accepted for solve_ivp.",
                  "", "First-call time in this process [s] (cached kernels: loaded from "
                  "numba's disk cache + the RHS's compilation; specialised: a full compile): "
                  + ", ".join(f"{k} {v:.1f}" for k, v in compile_s.items()), ""]
        dx, ode5 = "diffrax Dopri5 (jit)", "scipy.integrate.ode dopri5"
        bare = "bare in-place RHS calls (nfev of ode dopri5)"
        targets.append((name,
                        ratio(best, "refimpl numba, default", dx),
                        ratio(best, "refimpl numba in-place, default", dx),
                        ratio(best, "refimpl numba in-place specialised, default", dx),
                        ratio(best, "refimpl numba, hairer", ode5),
                        ratio(best, "refimpl numba in-place specialised, hairer", ode5),
                        ratio(best, bare, ode5),
                        ratio(best, bare, "refimpl numba in-place specialised, hairer"),
                        ratio(best, "refimpl numba, scipy", "solve_ivp RK45")))
        print("\n".join(lines[-len(rows) - 8:]), flush=True)
    lines += ["## Targets", "",
              "Ratios of best times (< 1: refimpl faster). Targets of issue 4: numba ≤ 0.5× "
              "diffrax's jitted Dopri5 and ≤ 0.05× `scipy.integrate.ode('dopri5')` with a "
              "Python RHS. The floor column is the time of the bare RHS calls alone ÷ "
              "ode('dopri5'): no dopri5 with that RHS can go below it.", "",
              "| problem | numba default / diffrax | in-place / diffrax | "
              "in-place specialised / diffrax (≤ 0.5) | numba hairer / ode('dopri5') | "
              "in-place specialised hairer / ode('dopri5') (≤ 0.05) | "
              "floor: bare RHS calls / ode('dopri5') | bare RHS calls / in-place specialised "
              "hairer (RHS share) | numba scipy / solve_ivp RK45 |",
              "|---|---|---|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join([t[0]] + [f"{v:.3f}" for v in t[1:4]]
                                + [f"{v:.4f}" for v in t[4:7]] + [f"{v:.3f}" for v in t[7:]])
              + " |" for t in targets]
    warm = cold = []
    if fresh:
        warm = fresh_process_first_calls()
        with tempfile.TemporaryDirectory() as d:
            cold = fresh_process_first_calls(d)
    lines += ["", "## First call in a fresh process (Lorenz to t = 1, RHS defined in that "
              "process)", "", "| step | warm numba disk cache [s] | empty cache [s] |",
              "|---|---|---|"]
    lines += [f"| {a[0]} | {a[1]} | {b[1]} |" for a, b in zip(warm, cold)]
    lines += ["", "Compile time is excluded from the ratios. Cached kernels (no `args`, not "
              "`specialise`) compile once per controller and RHS signature and load from "
              "numba's disk cache afterwards; specialised kernels (and `args`) compile once "
              "per RHS, controller and process. diffrax's compile time is its first jitted "
              "call."]
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[-(len(targets) + len(warm) + 12):]))
    print(f"wrote {out}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--no-fresh", action="store_true",
                    help="skip the fresh-process first-call measurement (~40 s)")
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args()
    main(a.rounds, fresh=not a.no_fresh, out=a.out)
