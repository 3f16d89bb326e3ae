"""Work–precision diagrams (error against right-hand-side evaluations) for every
adaptive method of ``refimpl.ode.solve``, with scipy's RK45/DOP853 as peers.

Problems (Hairer I, Sec. II.0, II.10 style):
* Arenstorf orbit, one period: error = ``|y(T) - y0|_inf`` (the orbit must close);
* Kepler, eccentricity 0.9, ``t in [0, 20]`` (3 revolutions): error against the closed
  form (Kepler's equation) and the drift of the energy ``H = -1/2``;
* Lorenz, ``t in [0, 10]``: error against a tight dop853 run (rtol at its floor
  100 eps), itself compared with scipy's DOP853 at the same tolerance.
Tolerances ``rtol = atol = 10^-k``. Writes ``numerics/results/ode_work_precision.{png,md}``.

Run: ``python numerics/ode_work_precision.py [--quick]``
"""
import argparse
import time
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp

from refimpl.ode import SolverError, solve
from refimpl.ode.problems import (ARENSTORF_T, ARENSTORF_Y0, LORENZ_Y0, arenstorf, kepler,
                                  kepler_energy, kepler_exact, kepler_y0, lorenz)
from refimpl.plotting import plt, savefig

RESULTS = Path(__file__).parent / "results"
# tightest exponent k (rtol = 10^-k) per method: low orders would need ~1e6 steps beyond
K_MAX = {"heun_euler": 6, "bosh3": 9, "dopri5": 13, "tsit5": 13, "dop853": 13,
         "scipy RK45": 13, "scipy DOP853": 13}
METHODS = list(K_MAX)
LORENZ_T = 10.0
KEPLER_E, KEPLER_T = 0.9, 20.0


def run(method, f, span, y0, tol):
    """(y at span[1], nfev, all accepted y) for one of ours or scipy's methods."""
    if method.startswith("scipy"):
        r = solve_ivp(f, span, y0, method=method.split()[1], rtol=tol, atol=tol)
        return r.y[:, -1], r.nfev, r.y.T
    r = solve(f, span, y0, method=method, rtol=tol, atol=tol, max_steps=400_000)
    return r.y[-1], r.nfev, r.y


def lorenz_reference():
    ours = solve(lorenz, (0, LORENZ_T), LORENZ_Y0, method="dop853", rtol=1e-13, atol=1e-13).y[-1]
    theirs = solve_ivp(lorenz, (0, LORENZ_T), LORENZ_Y0, method="DOP853", rtol=1e-13,
                       atol=1e-13).y[:, -1]
    return ours, float(np.abs(ours - theirs).max())


def measure(quick):
    y_lor, lor_ref_err = lorenz_reference()
    y_kep_end = kepler_exact([KEPLER_T], KEPLER_E)[0]
    probs = {
        "Arenstorf (closure)": (arenstorf, (0, ARENSTORF_T), ARENSTORF_Y0,
                                lambda y, ys: np.abs(y - ARENSTORF_Y0).max()),
        "Kepler e=0.9 (end point)": (kepler, (0, KEPLER_T), kepler_y0(KEPLER_E),
                                     lambda y, ys: np.abs(y - y_kep_end).max()),
        "Kepler e=0.9 (energy drift)": (kepler, (0, KEPLER_T), kepler_y0(KEPLER_E),
                                        lambda y, ys: np.abs(kepler_energy(ys) + 0.5).max()),
        "Lorenz t=10 (end point)": (lorenz, (0, LORENZ_T), LORENZ_Y0,
                                    lambda y, ys: np.abs(y - y_lor).max()),
    }
    data = {}
    cache = {}
    for pname, (f, span, y0, err_fn) in probs.items():
        for m in METHODS:
            kmax = min(K_MAX[m], 8) if quick else K_MAX[m]
            for k in range(3, kmax + 1, 2 if quick else 1):
                if f is lorenz and m == "dop853" and k == 13:
                    continue                          # that run is the reference itself
                key = (f.__name__, m, k)
                if key not in cache:
                    try:
                        cache[key] = run(m, f, span, y0, 10.0 ** -k)
                    except SolverError as e:
                        print(f"  {pname} {m} 1e-{k}: {e}")
                        cache[key] = None
                if cache[key] is not None:
                    y, nfev, ys = cache[key]
                    data.setdefault(pname, {}).setdefault(m, []).append((k, nfev, err_fn(y, ys)))
        print(f"{pname}: done", flush=True)
    return data, lor_ref_err


def plot(data, path):
    fig, axes = plt.subplots(1, len(data), figsize=(5 * len(data), 4.2))
    for ax, (pname, per_method) in zip(axes, data.items()):
        for m, pts in per_method.items():
            k, nfev, err = map(np.array, zip(*pts))
            peer = m.startswith("scipy")               # dashed with crosses: scipy's solve_ivp
            ax.loglog(nfev, np.maximum(err, 1e-17), "--" if peer else "-",
                      marker="x" if peer else "o", ms=5 if peer else 3, label=m)
        ax.set_title(pname)
        ax.set_xlabel("RHS evaluations")
        ax.set_ylabel("error")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("refimpl.ode work–precision (rtol = atol = 1e-3 ... 1e-13)")
    savefig(fig, path)


def table(data, lor_ref_err, seconds, quick):
    ks = [4, 7, 10, 13]
    lines = ["# ODE work–precision (refimpl.ode.solve; scipy solve_ivp as peer)", "",
             f"Command: `python numerics/ode_work_precision.py{' --quick' if quick else ''}` "
             f"({seconds:.0f} s). Entries: `nfev / error` at rtol = atol = 1e-k. "
             "Figure: `ode_work_precision.png`.", "",
             f"Lorenz reference: dop853 at rtol = atol = 1e-13; it differs from scipy's DOP853 "
             f"at the same tolerance by {lor_ref_err:.1e} at t = {LORENZ_T:g}.", ""]
    for pname, per_method in data.items():
        lines += [f"## {pname}", "", "| method | " + " | ".join(f"1e-{k}" for k in ks) + " |",
                  "|---|" + "---|" * len(ks)]
        for m, pts in per_method.items():
            d = {k: (n, e) for k, n, e in pts}
            cells = [f"{d[k][0]} / {d[k][1]:.1e}" if k in d else "–" for k in ks]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(quick=False):
    t0 = time.perf_counter()
    data, lor_ref_err = measure(quick)
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot(data, RESULTS / "ode_work_precision.png")
    md = table(data, lor_ref_err, time.perf_counter() - t0, quick)
    (RESULTS / "ode_work_precision.md").write_text(md)
    print(md)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer tolerances (smoke run)")
    main(ap.parse_args().quick)
