"""Speed of ``refimpl.ode.solve`` against ``scipy.integrate.solve_ivp`` with a Python
right-hand side: same problem, same tolerances, same pair, one process.

Ratios are ``time(refimpl) / time(scipy)`` (best of ``--repeats`` interleaved runs,
so both see the same machine load); the number of RHS evaluations is printed next
to them, since a different step sequence would make the time comparison meaningless.
Writes ``numerics/results/ode_bench_solve_ivp.md``.

BLAS runs single-threaded (``OPENBLAS_NUM_THREADS=1`` unless already set): threaded
100 x 100 mat-vecs on a loaded machine stall at random and drown the comparison.

Run: ``python numerics/bench_solve_ivp.py [--repeats 7] [--quick]``
"""
import argparse
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402
import scipy  # noqa: E402
from scipy.integrate import solve_ivp  # noqa: E402

from refimpl.ode import solve  # noqa: E402
from refimpl.ode.problems import (ARENSTORF_T, ARENSTORF_Y0, LORENZ_Y0, arenstorf,  # noqa: E402
                                  lorenz)

OUT = Path(__file__).parent / "results" / "ode_bench_solve_ivp.md"


def linear_problem(n=100, seed=0):
    rng = np.random.default_rng(seed)
    M = rng.normal(size=(n, n)) / np.sqrt(n)
    A = M - M.T - 0.1 * np.eye(n)               # rotation + damping: stable, oscillatory
    return (lambda t, y: A @ y), rng.normal(size=n)


def problems():
    lin, y_lin = linear_problem()
    # name, rhs, t_span, y0, rtol, atol
    return [("Lorenz, t=20", lorenz, (0.0, 20.0), LORENZ_Y0, 1e-8, 1e-10),
            ("Arenstorf, 1 period", arenstorf, (0.0, ARENSTORF_T), ARENSTORF_Y0, 1e-10, 1e-10),
            ("linear n=100, t=10", lin, (0.0, 10.0), y_lin, 1e-8, 1e-10)]


PAIRS = [("dopri5", "RK45"), ("dop853", "DOP853"), ("bosh3", "RK23")]


def best_times(runs, repeats):
    """Best wall time of each callable in ``runs``, interleaved ``repeats`` times."""
    best = [np.inf] * len(runs)
    for _ in range(repeats):
        for i, run in enumerate(runs):
            t = time.perf_counter()
            run()
            best[i] = min(best[i], time.perf_counter() - t)
    return best


def main(repeats=7, quick=False):
    load = os.getloadavg()
    rows = []
    for name, f, span, y0, rtol, atol in problems():
        for ours, theirs in PAIRS:
            if quick and ours == "bosh3":
                continue
            for t_eval in (None, np.linspace(*span, 101)):
                kw = dict(rtol=rtol, atol=atol, t_eval=t_eval)
                a = solve(f, span, y0, method=ours, **kw)
                b = solve_ivp(f, span, y0, method=theirs, **kw)
                ta, tb = best_times([lambda: solve(f, span, y0, method=ours, **kw),
                                     lambda: solve_ivp(f, span, y0, method=theirs, **kw)],
                                    repeats)
                rows.append([name, f"{ours} / {theirs}", "101 pts" if t_eval is not None else "steps",
                             f"{rtol:g}", a.nfev, b.nfev, f"{1e3 * ta:.1f}", f"{1e3 * tb:.1f}",
                             f"{ta / tb:.2f}"])
                print(" | ".join(str(v) for v in rows[-1]), flush=True)
    head = ["problem", "method (refimpl / scipy)", "output", "rtol", "nfev refimpl", "nfev scipy",
            "ms refimpl", "ms scipy", "time ratio"]
    ratios = np.array([float(r[-1]) for r in rows])
    lines = ["# refimpl.ode.solve vs scipy.integrate.solve_ivp (Python right-hand side)", "",
             f"Command: `python numerics/bench_solve_ivp.py --repeats {repeats}`"
             f"{' --quick' if quick else ''}  ", f"numpy {np.__version__}, scipy {scipy.__version__}, "
             f"Python {platform.python_version()}, best of {repeats} interleaved runs, "
             f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, load average at "
             f"the start {load[0]:.1f} and the end {os.getloadavg()[0]:.1f} (2 cores: the worst "
             "ratio of a run is noise-dominated; compare the median).", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(v) for v in r) + " |" for r in rows]
    lines += ["", f"Time ratio (refimpl / scipy): median {np.median(ratios):.2f}, "
              f"max {ratios.max():.2f} over {len(ratios)} cases (target <= 0.8)."]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n")
    print(lines[-1])
    print(f"wrote {OUT}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    main(a.repeats, a.quick)
