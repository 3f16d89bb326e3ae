"""``solve``: explicit Runge–Kutta solves of any tableau, dispatched to a step loop.

The loops (the NumPy stepper, each preset, each numba kernel) and the tests that tie each to
the one definition of a step, ``refimpl.ode.rk_step.rk_step``, are listed in the package
docstring (``refimpl/ode/__init__.py``).

Argument order follows ``scipy.integrate.solve_ivp`` (``func, t_span, y0``); the
differentiable ``refimpl.ode.odeint(func, y0, t)`` follows torchdiffeq instead.

The adaptive loop (Hairer I, Sec. II.4) per attempt ``h`` from ``(t, y)``:
stages ``k_i = f(t + c_i h, y + h Σ_j a_ij k_j)`` (``k_0 = f(t, y)`` reused from
the previous step, FSAL), ``y_new = y + h Σ b_i k_i``, error ``h Σ e_i k_i``,
accept/reject and next ``h`` from ``refimpl.ode.control``. Cost per attempt:
``s - 1`` evaluations; non-FSAL methods add one, ``f(t_new, y_new)``, on
acceptance (so dop853 costs 11 per rejected and 12 per accepted step, as
Hairer's code). The initial step costs one more evaluation (plus ``f(t0, y0)``).

References
----------
E. Hairer, S. P. Nørsett, G. Wanner, *Solving ODEs I*, 2nd ed. (1993), Sec. II.4.
The loops live in ``stepper.py`` (default controller, fixed steps) and in
``preset_scipy.py``, ``preset_hairer.py``, ``preset_torchdiffeq.py`` (other libraries'
controllers, each in that library's arithmetic order).
"""
import math

import numpy as np

from . import errors as E
from .dense import DenseSolution
from .events import EventTracker
from .fast import fast_eligible, solve_fast
from .preset_hairer import run_hairer
from .preset_scipy import run_scipy
from .preset_torchdiffeq import run_torchdiffeq
from .stepper import run_adaptive, run_fixed
from .solution import Solution, StepHistory
from .validate import validate_solve_args

__all__ = ["solve", "Solution", "StepHistory", "MESSAGES"]

#: scipy's status messages (``ivp.py::MESSAGES``)
MESSAGES = {0: "The solver successfully reached the end of the integration interval.",
            1: "A termination event occurred."}


def solve(func, t_span, y0, args=(), *, method="dopri5", rtol=1e-7, atol=1e-9, t_eval=None,
          dense_output=False, first_step=None, max_step=np.inf, max_steps=100_000,
          step_size=None, controller="default", events=None):
    """Integrate ``dy/dt = func(t, y, *args)`` over ``t_span`` with an explicit RK method.

    Argument order follows ``scipy.integrate.solve_ivp`` (``func, t_span, y0``);
    the differentiable ``odeint(func, y0, t)`` follows torchdiffeq.

    Numba fast path (``refimpl.ode.fast``): when ``func`` is numba-jitted (``@njit``), the
    whole adaptive loop runs in one compiled kernel per controller, a twin of the NumPy loop:
    same counts and accept/reject sequence on every tested problem; "hairer" and
    "torchdiffeq" bit for bit (torchdiffeq's mean follows ``np.mean``'s pairwise sum;
    tested up to n = 1000); "scipy" and "default" sum in loops where NumPy calls BLAS
    ``dot``: the (cancelling) error norm moves by ~1e-10 relative, the step sizes by
    1e-10 ... 1e-6 relative, the solution by up to ~4e-10 on chaotic problems (Lorenz to
    t = 20: 1.5e-10 "scipy", 4.2e-10 "default"; Arenstorf: 2.0e-10 / 2.8e-10) and
    <= 1e-13 on the mild test problems. Three forms of ``func``:

    * ``@njit f(t, y, *args) -> dydt`` — pass ``f`` (one array allocated per evaluation);
    * ``inplace(g)`` with ``@njit g(t, y, out, *args)`` writing ``dy/dt`` into ``out`` —
      nothing allocated per evaluation;
    * ``specialise(f)`` or ``specialise(inplace(g))`` — the kernel is compiled for this
      function (RHS inlined, the fastest loop; ~5-10 s of compilation per RHS, controller
      and process). With ``args`` the kernel is always specialised.

    Fallback rule (``fast.fast_eligible``): the fast path runs for method "dopri5" at
    adaptive steps (any ``controller``), a ``y0`` with at least one dimension (an n-d
    ``y0`` runs flat; ``func`` still sees ``y`` and ``out`` shaped like ``y0``) and
    ``dense_output=False``; ``args`` must be numbers, arrays or tuples of them; ``t_eval``
    is supported. Otherwise (other methods, fixed steps, dense output, a 0-d ``y0``)
    ``solve`` runs its NumPy loops with the same step control (a wrapped
    ``inplace``/``specialise`` RHS is then called from Python, allocating its output).
    For speed compile the RHS with ``@njit(error_model="numpy")`` (no zero-division
    tests). ``inplace`` and ``specialise`` are exported from ``refimpl.ode``.

    Parameters
    ----------
    func : callable ``func(t, y, *args)`` returning ``dy/dt`` with the shape of ``y``
        (or ``inplace(g)`` / ``specialise(...)`` of a numba-jitted function, see above).
    t_span : (t0, t1); ``t1 < t0`` integrates backwards.
    y0 : array of any non-empty shape (integers become float64; computed in float64).
    args : extra arguments passed to ``func``.
    method : "dopri5" (default), "tsit5", "dop853", "bosh3", "heun_euler" (adaptive) or
        "euler", "midpoint", "heun", "rk4", "rk38" (fixed step), or a ``ButcherTableau``.
    rtol, atol : tolerances; ``atol`` a scalar or an array shaped like ``y0``.
        ``rtol < 100 eps`` warns and is raised to ``100 eps``.
    t_eval : times (within ``t_span``, strictly monotonic in the direction of integration)
        at which to report the solution (from the dense output between steps).
        For a fixed-step method without ``step_size`` the grid is ``{t0} ∪ t_eval ∪ {t1}``.
    dense_output : build ``Solution.sol``.
    first_step : initial ``|h|`` (default: Hairer's selection, ``control.initial_step``).
    max_step : largest ``|h|`` (the default controller may stretch the last step past it
        by up to 1 % to land on ``t1``, as Hairer's codes; ``controller="scipy"`` never does).
    max_steps : most attempted steps before ``SolverError``.
    step_size : run at fixed steps of this size (any method; the last step lands on ``t1``).
    controller : "default" (``refimpl.ode.control.DefaultController``), or a preset that
        replays another library step for step: "scipy" (``solve_ivp`` RK45 / RK23 / DOP853
        for method "dopri5" / "bosh3" / "dop853"; ``preset_scipy``), "hairer" (Hairer's
        DOPRI5 / DOP853 as in ``scipy.integrate.ode``; ``preset_hairer``), "torchdiffeq"
        (torchdiffeq's dopri5; ``preset_torchdiffeq``). See ``numerics/DIFFERENCES.md``
        and the measured agreement in ``numerics/results/preset_agreement.md`` (also
        ``numerics/results/ode_differences.md``). A ``DefaultController`` instance
        (e.g. ``torchdiffeq_control.TorchdiffeqRule``) runs the default loop with that
        object's initial-step, accept and next-step rules (the loop's own RMS error norm;
        never the numba fast path).

    events : callable ``event(t, y, *args)`` or a sequence of them, with optional attributes
        ``terminal`` (bool or a positive count) and ``direction`` (sign); located on the
        dense output by scipy's method (``refimpl.ode.events``). Controller "default" or
        "scipy", adaptive or fixed steps; a terminal event ends the run at its root
        (``status = 1``). Results in ``Solution.t_events`` / ``y_events``.

    Returns
    -------
    Solution

    Raises
    ------
    ValueError for bad input (naming the argument); ``SolverError`` (with ``t``,
    ``h`` and the counts) on step-size underflow, ``max_steps`` exceeded or a
    non-finite state/derivative — including NaN at ``t0``, where scipy loops forever.
    """
    p = validate_solve_args(func, t_span, y0, args, method, rtol, atol, t_eval, first_step,
                            max_step, max_steps, step_size, controller)
    f0 = np.asarray(p.func(p.t0, p.y0.reshape(p.shape), *p.args))
    if f0.shape != p.shape:
        raise ValueError(f"func: expected a return value of shape {p.shape} (the shape of y0), "
                         f"got shape {f0.shape}")
    if np.iscomplexobj(f0):
        raise ValueError(f"func: returned complex values at t0 (dtype {f0.dtype}); solve "
                         "integrates real states (split a complex state into real and "
                         "imaginary parts)")
    f0 = f0.astype(p.y0.dtype).reshape(-1)
    if not np.all(np.isfinite(f0)):
        raise E.SolverError("non-finite derivative func(t0, y0)", t=p.t0, h=math.nan, nfev=1,
                            n_steps=0, status=E.STATUS_NONFINITE)
    tracker = None
    if events is not None:
        if p.controller not in ("default", "scipy"):
            raise ValueError(f"events: supported with controller 'default' or 'scipy' (and "
                             f"at fixed steps), got controller {p.controller!r}")
        tracker = EventTracker(events, p.t0, p.y0, p.args, wrap=lambda y: y.reshape(p.shape))
    elif p.ctrl is None and fast_eligible(p, dense_output):                 # numba-jitted func: fast/
        return solve_fast(p, f0)
    if p.fixed:
        out = run_fixed(p, f0, dense_output, events=tracker)
    elif p.controller == "scipy":
        out = run_scipy(p, f0, dense_output, events=tracker)
    elif p.controller == "hairer":
        out = run_hairer(p, f0, dense_output)
    elif p.controller == "torchdiffeq":
        out = run_torchdiffeq(p, f0, dense_output)
    else:
        out = run_adaptive(p, f0, dense_output, events=tracker,
                           **({} if p.ctrl is None else {"ctrl": p.ctrl}))
    y = np.array(out.ys).reshape((len(out.ts),) + p.shape)
    sol = None
    if dense_output:
        C = np.array(out.seg_c) if out.seg_c else p.y0[None, None]
        t_ends = None
        if getattr(out, "trunc_end", None) is not None:       # terminal event: last step cut
            t_ends = np.array(out.seg_t[1:], dtype=np.float64)
            t_ends[-1] = out.trunc_end
        sol = DenseSolution(out.seg_t, out.kind, C, p.shape, t_ends=t_ends)
    nfev, n_acc, n_rej = out.counts
    status = getattr(out, "status", E.STATUS_SUCCESS)
    t_events = y_events = None
    if tracker is not None:
        t_events, y_events = tracker.results()
    return Solution(t=np.array(out.ts), y=y, nfev=nfev, n_steps=n_acc + n_rej,
                    n_accepted=n_acc, n_rejected=n_rej, status=status,
                    message=MESSAGES[status], sol=sol, method=p.tab.name,
                    controller=p.controller, history=StepHistory.from_records(out.history),
                    t_events=t_events, y_events=y_events)
