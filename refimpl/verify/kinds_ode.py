"""ode-solve/* kinds: adaptive Runge–Kutta solves with the full step history.

Candidate contract (every ode-solve kind)::

    candidate(fun, t_span, y0, *, rtol, atol, t_eval) -> (ys, nfev)

`fun(t, y) -> dy/dt` on NumPy float64 arrays (y of shape (n,)); `ys` of shape
(len(t_eval), n); `nfev` the number of calls of `fun` the solver made (including initial
step selection). Kinds (each replays one library's step control, so a faithful
implementation of that library matches nfev exactly and ys to 1e-10 relative):

* ode-solve/scipy         — `scipy.integrate.solve_ivp(method="RK45")`
* ode-solve/scipy-dop853  — `solve_ivp(method="DOP853")`
* ode-solve/hairer        — `scipy.integrate.ode("dopri5")` driven by one integrate(t1)
                            call (t_eval = [t1]: intermediate outputs would change its steps)
* ode-solve/torchdiffeq   — `torchdiffeq.odeint(method="dopri5")` (t_eval = output grid)
* ode-solve/default       — refimpl's own controller (`refimpl.ode.control`)

The JSON of each case gives the problem's formula and parameters; the `.npz` the inputs,
the outputs, nfev and the reference's full step history (t, h, error_norm, accepted).
"""
import numpy as np

from ..ode import solve
from ..ode.problems import ARENSTORF_T, ARENSTORF_Y0, arenstorf, lorenz
from .base import CaseResult, Kind, check_array
from .diagnose_ode import diagnose

__all__ = ["PROBLEMS", "problem_rhs", "KINDS"]

# name -> (formula, parameters, rhs(t, y, **params))
PROBLEMS = {
    "decay": ("dy/dt = -k y", {"k": 0.5}, lambda t, y, k: -k * y),
    "vanderpol": ("y0' = y1; y1' = mu (1 - y0^2) y1 - y0", {"mu": 2.0},
                  lambda t, y, mu: np.array([y[1], mu * (1.0 - y[0] ** 2) * y[1] - y[0]])),
    "lotka_volterra": ("y0' = a y0 - b y0 y1; y1' = -c y1 + d y0 y1", {"a": 1.5, "b": 1.0, "c": 3.0, "d": 1.0},
                       lambda t, y, a, b, c, d: np.array([a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]])),
    "forced": ("y0' = y1; y1' = -y0 + sin(w t)  (a resonant-ish forced oscillator)", {"w": 1.3},
               lambda t, y, w: np.array([y[1], -y[0] + np.sin(w * t)])),
    "arenstorf": ("Hairer I eq. (0.1): the restricted three-body orbit, mu = 0.012277471", {},
                  lambda t, y: arenstorf(t, y)),
    "switch": ("y0' = a if t < ts else b; y1' = -c y1  (a kink at ts: the step across it is rejected with an "
               "error norm above (0.9/0.2)^5, so the shrink floor min_factor = 0.2 binds)",
               {"a": 1.0, "b": -4.0, "ts": 1.3, "c": 0.05},
               lambda t, y, a, b, ts, c: np.array([a if t < ts else b, -c * y[1]])),
    "lorenz": ("sigma (y1 - y0); y0 (rho - y2) - y1; y0 y1 - beta y2 with sigma 10, rho 28, beta 8/3", {},
               lambda t, y: lorenz(t, y)),
}

# (problem, y0, t_span, rtol, atol)
_SETUPS = [
    ("decay", [1.0, 2.0], (0.0, 10.0), 1e-3, 1e-6),
    ("decay", [1.0, 2.0], (0.0, 10.0), 1e-8, 1e-10),
    ("vanderpol", [2.0, 0.0], (0.0, 6.0), 1e-4, 1e-7),
    ("vanderpol", [2.0, 0.0], (0.0, 6.0), 1e-8, 1e-10),
    ("lotka_volterra", [10.0, 5.0], (0.0, 8.0), 1e-6, 1e-9),
    ("forced", [0.0, 1.0], (0.0, 12.0), 1e-6, 1e-9),
    ("arenstorf", ARENSTORF_Y0.tolist(), (0.0, float(ARENSTORF_T)), 1e-7, 1e-10),
    ("lorenz", [1.0, 1.0, 1.0], (0.0, 2.0), 1e-6, 1e-9),
    ("switch", [1.0, 1.0], (0.0, 3.0), 1e-6, 1e-9),
]

# kind -> (refimpl method, controller, what it replays)
_KINDS = {
    "ode-solve/scipy": ("dopri5", "scipy", "scipy.integrate.solve_ivp(method='RK45')"),
    "ode-solve/scipy-dop853": ("dop853", "scipy", "scipy.integrate.solve_ivp(method='DOP853')"),
    "ode-solve/hairer": ("dopri5", "hairer", "scipy.integrate.ode('dopri5').integrate(t1)"),
    "ode-solve/torchdiffeq": ("dopri5", "torchdiffeq", "torchdiffeq.odeint(method='dopri5')"),
    "ode-solve/default": ("dopri5", "default", "refimpl.ode.solve (default controller)"),
}


def problem_rhs(name, params):
    """fun(t, y) of a named problem (a ValueError naming it if unknown)."""
    if name not in PROBLEMS:
        raise ValueError(f"problem: expected one of {sorted(PROBLEMS)}, got {name!r}")
    f = PROBLEMS[name][2]
    return lambda t, y: np.asarray(f(t, y, **params), dtype=float)


def _t_eval(kind, t_span):
    if kind == "ode-solve/hairer":
        return np.array([t_span[1]])
    return np.linspace(t_span[0], t_span[1], 11)[1:]


def _make(kind):
    method, controller, what = _KINDS[kind]

    def make_cases():
        cases = []
        for i, (prob, y0, span, rtol, atol) in enumerate(_SETUPS):
            if kind == "ode-solve/torchdiffeq" and prob == "arenstorf":
                # torchdiffeq sums its stages in another order than the replay: same steps and
                # nfev, but rounding differences grow to ~2e-7 on this sensitive orbit (> 1e-10)
                continue
            formula, params, _ = PROBLEMS[prob]
            t_eval = _t_eval(kind, span)
            sol = solve(problem_rhs(prob, params), span, np.array(y0), method=method, rtol=rtol, atol=atol,
                        t_eval=t_eval, controller=controller)
            h = sol.history
            arrays = dict(y0=np.array(y0, float), t_span=np.array(span, float), t_eval=t_eval,
                          ys=np.asarray(sol.y, float), nfev=np.array(sol.nfev),
                          history_t=h.t, history_h=h.h, history_error_norm=h.error_norm,
                          history_accepted=h.accepted)
            meta = dict(problem=prob, formula=formula, params=params, rtol=rtol, atol=atol, method=method,
                        controller=controller, replays=what,
                        tolerances={"nfev": "exact", "ys": "1e-10 relative (floor: atol)"},
                        history_columns="t (start of the attempt), h (signed step), error_norm "
                                        "(the controller's), accepted")
            cases.append((f"{i:02d}-{prob}-rtol{rtol:g}", arrays, meta))
        return cases

    def run(cand, arrays, meta):
        fun0 = problem_rhs(meta["problem"], meta["params"])
        times = []

        def fun(t, y):
            times.append(float(t))
            return fun0(t, np.asarray(y, float))

        out = cand(fun, tuple(arrays["t_span"]), arrays["y0"].copy(), rtol=meta["rtol"], atol=meta["atol"],
                   t_eval=arrays["t_eval"].copy())
        if not isinstance(out, tuple) or len(out) != 2:
            from .base import BadCall
            raise BadCall("candidate: expected a tuple (ys, nfev) from "
                          "candidate(fun, t_span, y0, *, rtol, atol, t_eval)")
        ys = check_array(out[0], "ys", arrays["ys"].shape, "ys (len(t_eval), n)")
        nfev = out[1]
        if isinstance(nfev, bool) or not isinstance(nfev, (int, np.integer)) and not (
                isinstance(nfev, (float, np.floating)) and float(nfev).is_integer()):
            from .base import BadCall
            raise BadCall(f"candidate: expected nfev as an int (the number of calls of fun), got {nfev!r}")
        return dict(ys=ys, nfev=int(nfev), eval_times=np.array(times))

    def compare(arrays, meta, out):
        ref, nfev_ref = arrays["ys"], int(arrays["nfev"])
        floor = meta["atol"]
        agree = float(np.max(np.abs(out["ys"] - ref) / (1e-10 * np.maximum(np.abs(ref), floor))))
        if not np.all(np.isfinite(out["ys"])):
            agree = float("inf")
        passed = out["nfev"] == nfev_ref and agree <= 1.0
        msg = f"nfev {out['nfev']} (reference {nfev_ref})"
        diag = "" if passed else diagnose(arrays, meta, out, kind, problem_rhs(meta["problem"], meta["params"]))
        return CaseResult(passed, agree, msg, diag)

    return Kind(kind, __doc__.split("Kinds")[0].strip(), make_cases, run, compare,
                own="refimpl.verify.adapters:" + {"ode-solve/scipy": "refimpl_scipy_rk45",
                                                   "ode-solve/scipy-dop853": "refimpl_scipy_dop853",
                                                   "ode-solve/hairer": "refimpl_hairer_dopri5",
                                                   "ode-solve/torchdiffeq": "refimpl_torchdiffeq_dopri5",
                                                   "ode-solve/default": "refimpl_default_dopri5"}[kind])


KINDS = {k: _make(k) for k in _KINDS}
