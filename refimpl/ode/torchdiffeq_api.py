"""``torchdiffeq_odeint``: torchdiffeq's ``odeint`` conventions on NumPy arrays.

    ys = torchdiffeq_odeint(func, y0, t, rtol=1e-7, atol=1e-9, method=None, options=None)
    event_t, ys = torchdiffeq_odeint(func, y0, t, event_fn=event_fn)

A thin layer over the engine's traced loop (``refimpl.ode.traced.integrate``, the loop of
``odeint(gradient="backprop")``), so autograd differentiates through it — with respect to
``y0``, ``t`` and anything ``func`` closes over — as torch's autograd does through
torchdiffeq's ``odeint``. What it takes from torchdiffeq:

* ``func(t, y)``; ``y0`` an array or a tuple of arrays (then ``func`` gets and returns
  tuples, and ``ys`` is a tuple of stacked arrays), real or complex (``State``,
  ``refimpl.ode.torchdiffeq_state``: complex states are integrated as (real, imaginary)
  pairs with torchdiffeq's complex error ratio; not with "scipy_solver");
* ``rtol``/``atol``: scalars, arrays broadcastable to the state, or for tuple states a tuple
  with one tolerance (scalar or array) per element (``_tuple_tol``);
* ``method`` names: "dopri5" (default), "dopri8" (Prince & Dormand's RK8(7)13M), "tsit5", "bosh3",
  "fehlberg2", "adaptive_heun" (= refimpl "heun_euler"), "euler", "midpoint",
  "heun2" (= "heun"), "heun3", "rk4" (torchdiffeq's rk4 is Kutta's 3/8 rule, "rk38");
  the implicit fixed-grid family "implicit_euler", "implicit_midpoint", "trapezoid", "gl4",
  "gl6", "radauIIA3", "radauIIA5", "sdirk2", "trbdf2" (``refimpl.ode.implicit``);
  "explicit_adams", "implicit_adams" (alias "fixed_adams"; ``refimpl.ode.fixed_adams``,
  options ``max_order``, ``max_iters``); "scipy_solver" (``_scipy_solver``);
* ``options``: adaptive methods ``first_step``, ``max_num_steps``, ``norm`` (a callable on
  the scaled error — a tuple of arrays for tuple states; default RMS, and for tuples
  torchdiffeq's mixed norm, the max of the elements' RMS), ``min_step``, ``max_step``,
  ``step_t``, ``jump_t`` (``refimpl.ode.traced.integrate``; not with ``event_fn``),
  ``safety``, ``ifactor``, ``dfactor`` (torchdiffeq's next-step rule,
  ``refimpl.ode.torchdiffeq_control``; also in the event search) and the
  step callbacks ``func.callback_step`` / ``callback_accept_step`` /
  ``callback_reject_step``; fixed-step methods
  ``step_size`` (default: one step per interval of ``t``), ``grid_constructor``,
  ``perturb`` (``refimpl.ode.fixed_grid``), ``func.callback_step`` and ``interp`` ("linear", the
  default, or "cubic" Hermite) for outputs between grid points; other torchdiffeq options
  (e.g. ``dtype``, or ``safety`` with a fixed-step method) raise a ValueError naming them;
* ``event_fn(t, y) -> array``: integrate from ``t[0]`` until a component of ``event_fn``
  reaches 0 (``len(t) == 2``, ``t[1]`` only sets the direction and the first horizon);
  returns ``(event_t, ys)`` with ``ys = [y0, y(event_t)]``. Located by scipy's method on
  the dense output (``refimpl.ode.events``; torchdiffeq bisects to ``atol``), scalar
  ``rtol``; differentiable (``event_t`` and ``ys``) by the implicit function theorem of
  Chen, Amos & Nickel (2021) when ``event_fn`` is written with ``autograd.numpy``.

Each adaptive step starts from the previous step's last stage, FSAL or not, as
torchdiffeq's ``_runge_kutta_step`` does (``f1 = k[-1]``; for adaptive_heun and fehlberg2 that
is f at the last stage's point, not at y_new: ``integrate(reuse_last_stage=True)``), so
their steps are torchdiffeq's (``tests/ode/test_torchdiffeq_nonfsal_steps.py``).
Step control: torchdiffeq's accept rule (``err <= 1``) and next-step rule with ``safety``,
``ifactor``, ``dfactor`` (``refimpl.ode.torchdiffeq_control.TorchdiffeqRule``), its error
ratio on the user's view of the state (the user's ``norm``, the mixed norm for tuples, the
RMS of the moduli) for the steps and the initial step; from the same ``first_step`` bosh3
takes torchdiffeq's steps to 1e-9 (``tests/ode/test_torchdiffeq_factors_complex.py``).
Known differences from torchdiffeq (not step for step): the initial step is Hairer's rule
capped by the interval (torchdiffeq: not capped), steps land on the last output time
(torchdiffeq steps past it); the event search's step errors use the RMS norm of the flat
real state whatever ``norm``; adaptive outputs between steps come from each tableau's
continuous extension (dopri5's Shampine polynomial, the cubic Hermite for the others of
order <= 4; torchdiffeq fits a quartic through a midpoint value), and dopri8's steps land on
every output time (its Hermite extension would lose 3-4 digits). Solutions agree to the tolerance
(``tests/ode/test_torchdiffeq_layer.py`` compares with torchdiffeq itself).

References
----------
torchdiffeq ``_impl/odeint.py::odeint``, ``misc.py::_check_inputs``, ``_tuple_tol``,
``_mixed_norm``; ``solvers.py::FixedGridODESolver`` (grids and ``interp``).
R. T. Q. Chen, B. Amos, M. Nickel, "Learning neural event functions for ordinary
differential equations", ICLR 2021 (the event time's gradient, Sec. 3, eq. (5)).
"""
import math
import warnings

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval, isbox

from .control import DEFAULT
from .events import EventTracker
from .fixed_adams import adams_grid
from .fixed_events import traced_event, until_event_on_grid
from .fixed_grid import fixed_grid
from .implicit import IMPLICIT_TABLEAUS
from .solve import solve
from .tableaus import get_tableau
from .torchdiffeq_control import FACTOR_OPTIONS, TorchdiffeqRule, check_factors
from .torchdiffeq_state import State, tolerance
from .traced import integrate

__all__ = ["torchdiffeq_odeint", "TORCHDIFFEQ_METHODS"]

#: torchdiffeq's method names -> refimpl tableaus
TORCHDIFFEQ_METHODS = {"dopri8": "dopri8", "dopri5": "dopri5", "tsit5": "tsit5", "bosh3": "bosh3",
                       "fehlberg2": "fehlberg2", "adaptive_heun": "heun_euler",
                       "euler": "euler", "midpoint": "midpoint", "heun2": "heun",
                       "heun3": "heun3", "rk4": "rk38"}
#: torchdiffeq's implicit fixed-grid family (``refimpl.ode.implicit``)
IMPLICIT_METHODS = tuple(IMPLICIT_TABLEAUS)
#: torchdiffeq's fixed-grid Adams methods (``refimpl.ode.fixed_adams``); "fixed_adams" is
#: torchdiffeq's old name of "implicit_adams"
ADAMS_ALIASES = {"explicit_adams": "explicit_adams", "implicit_adams": "implicit_adams",
                 "fixed_adams": "implicit_adams"}
#: scipy_solver's solvers: refimpl's own (the engine) and scipy's stiff ones (a pass-through,
#: as torchdiffeq's scipy_solver is one; forward only)
SCIPY_OWN, SCIPY_PASS = ("RK45", "RK23", "DOP853"), ("Radau", "BDF", "LSODA")
ADAPTIVE_OPTIONS = ("first_step", "max_num_steps", "norm", "min_step", "max_step", "step_t",
                    "jump_t") + FACTOR_OPTIONS
EVENT_UNSUPPORTED = ("min_step", "max_step", "step_t", "jump_t")
FIXED_OPTIONS = ("step_size", "interp", "max_num_steps", "perturb", "grid_constructor")
ADAMS_OPTIONS = FIXED_OPTIONS + ("max_order", "max_iters")


def torchdiffeq_odeint(func, y0, t, rtol=1e-7, atol=1e-9, method=None, options=None,
                       event_fn=None):
    """torchdiffeq's ``odeint`` on NumPy arrays (module docstring)."""
    method = "dopri5" if method is None else method
    if method == "scipy_solver":
        return _scipy_solver(func, y0, t, rtol, atol, dict(options or {}))
    known = tuple(TORCHDIFFEQ_METHODS) + IMPLICIT_METHODS + tuple(ADAMS_ALIASES)
    if method not in known:
        raise ValueError(f"method: expected one of {', '.join(known + ('scipy_solver',))}, "
                         f"got {method!r}")
    if method in ADAMS_ALIASES:
        tab = ADAMS_ALIASES[method]                  # a name: refimpl.ode.fixed_adams
    elif method in IMPLICIT_METHODS:
        tab = IMPLICIT_TABLEAUS[method]
    else:
        tab = get_tableau(TORCHDIFFEQ_METHODS[method])
    adaptive = getattr(tab, "adaptive", False)
    options = dict(options or {})
    allowed = (ADAPTIVE_OPTIONS if adaptive else
               ADAMS_OPTIONS if method in ADAMS_ALIASES else FIXED_OPTIONS)
    bad = sorted(set(options) - set(allowed))
    if bad:
        raise ValueError(f"options: {', '.join(map(repr, bad))} not supported for method "
                         f"{method!r} (supported: {', '.join(allowed)})")
    S = State(y0)
    y, to_user = S.y, S.to_user
    rtol_u, atol_u = tolerance("rtol", rtol, S), tolerance("atol", atol, S)
    rtol, atol = S.engine_tol(rtol_u), S.engine_tol(atol_u)
    fun = lambda s, v: S.to_flat(func(s, to_user(v)))                   # noqa: E731
    max_steps = int(options.get("max_num_steps", 2 ** 31 - 1))
    tv = np.asarray(getval(t), dtype=float)
    if tv.ndim != 1 or tv.size < 1:
        raise ValueError(f"t: expected a non-empty 1-D array of times, got shape {tv.shape}")
    ctrl = None
    if adaptive:                  # torchdiffeq's step rule and error ratio (torchdiffeq_control)
        fac = check_factors(options)
        ctrl = TorchdiffeqRule(safety=fac["safety"], max_factor=fac["ifactor"],
                               min_factor=fac["dfactor"],
                               ratio=S.ratio_fn(rtol_u, atol_u, options.get("norm")))
    if event_fn is not None:
        bad = sorted(set(options) & set(EVENT_UNSUPPORTED))
        if bad:
            raise ValueError(f"options: {', '.join(map(repr, bad))} not supported with event_fn")
        if method in IMPLICIT_METHODS or method in ADAMS_ALIASES:
            return _until_event_own_loop(fun, y, tv, tab, rtol, atol, options, event_fn, S)
        return _until_event(fun, y, tv, tab, rtol, atol, options, event_fn, S, ctrl)
    if adaptive:
        # outputs between steps from the continuous extension when it is of the method's
        # order class (dopri5's polynomial; the cubic Hermite for orders <= 4); dopri8's
        # Hermite would cost it 3-4 digits, so its steps land on every output time instead
        output = "interpolate" if tab.dense == "poly" or tab.order <= 4 else "clip"
        ys, _ = integrate(lambda s, v: fun(s, v), y, t, tab=tab, rtol=rtol, atol=atol,
                          controller=ctrl, first_step=options.get("first_step"),
                          max_steps=max_steps, output=output,
                          callbacks=_step_callbacks(func, to_user), reuse_last_stage=True,
                          **_step_options(options))
    else:
        ys = _fixed(fun, y, t, tv, tab, options, max_steps, (func, y0), (rtol, atol))
    return S.stack_user(anp.stack(ys))                                  # (N, ...) per element


def _step_options(options):
    """torchdiffeq's min_step, max_step, step_t, jump_t (``rk_common.py``) for ``integrate``."""
    out = {}
    for name in ("min_step", "max_step"):
        if name in options:
            v = float(getval(options[name]))
            if not v >= 0:
                raise ValueError(f"options: {name} must be >= 0, got {options[name]!r}")
            out[name] = v
    for name in ("step_t", "jump_t"):
        if options.get(name) is not None:
            out[name] = np.asarray(getval(options[name]), dtype=float)
    return out


def _step_callbacks(func, to_user):
    """torchdiffeq's ``func.callback_step`` / ``callback_accept_step`` / ``callback_reject_step``,
    each called as ``cb(t, y, h)`` with y in the user's layout (refimpl: h signed)."""
    names = {"step": "callback_step", "accept": "callback_accept_step",
             "reject": "callback_reject_step"}
    return {k: (lambda s, v, h, cb=getattr(func, n): cb(s, to_user(v), h))
            for k, n in names.items() if hasattr(func, n)}


def _grid_runner(fun, y, tab, options, tols, callback=None):
    """``run_grid(grid) -> [y at each grid point]`` for an implicit tableau or an Adams
    method (``tab`` its name; ``tols`` its corrector's rtol, atol)."""
    perturb = bool(options.get("perturb", False))
    if isinstance(tab, str):                           # Adams: refimpl.ode.fixed_adams
        kw = {k: options[k] for k in ("max_order", "max_iters") if k in options}
        return lambda g: adams_grid(fun, y, g, tab == "implicit_adams", tols[0], tols[1],
                                    perturb=perturb, callback=callback, **kw)
    return lambda g: fixed_grid(fun, y, g, tab, perturb=perturb, callback=callback)


def _fixed(fun, y, t, tv, tab, options, max_steps, user=None, tols=(1e-7, 1e-9)):
    """torchdiffeq's fixed grid: ``t`` itself, ``t0 + k step_size`` (last point ``t[-1]``),
    or ``grid_constructor(func, y0, t)``, with outputs interpolated ("linear" or "cubic"
    Hermite) between grid points. Implicit tableaus and ``perturb`` step through
    ``refimpl.ode.fixed_grid``, the Adams methods (``tab`` their name) through
    ``refimpl.ode.fixed_adams`` (``tols``: its corrector's rtol, atol); explicit tableaus
    otherwise through the engine's traced loop."""
    step = options.get("step_size")
    interp = options.get("interp", "linear")
    perturb = bool(options.get("perturb", False))
    constructor = options.get("grid_constructor")
    if interp not in ("linear", "cubic"):
        raise ValueError(f"options: interp must be 'linear' or 'cubic', got {interp!r}")
    if step is not None and constructor is not None:
        raise ValueError("options: step_size and grid_constructor are mutually exclusive")
    implicit = not hasattr(tab, "adaptive")         # implicit RK or Adams: own step loops
    callback = getattr(user[0], "callback_step", None) if user is not None else None
    for name in ("callback_accept_step", "callback_reject_step"):   # torchdiffeq warns too
        if user is not None and hasattr(user[0], name):
            warnings.warn(f"func.{name} is not used by the fixed-grid method "
                          f"{getattr(tab, 'name', tab)!r} (only callback_step is)", UserWarning,
                          stacklevel=3)
    run_grid = _grid_runner(fun, y, tab, options, tols, callback)
    if constructor is not None:
        grid = np.asarray(getval(constructor(user[0], user[1], t)), dtype=float)
        if grid.ndim != 1 or grid.size < 2:
            raise ValueError("options: grid_constructor must return a 1-D grid of >= 2 times")
        if grid[0] != tv[0] or grid[-1] != tv[-1]:
            raise ValueError(f"options: grid_constructor's grid must start at t[0] = {tv[0]} "
                             f"and end at t[-1] = {tv[-1]}")
    elif step is None:                                 # the output grid: one step per interval
        if not implicit and not perturb and callback is None:
            ys, _ = integrate(fun, y, t, tab=tab, rtol=0.0, atol=0.0, step_size=math.inf,
                              max_steps=max_steps)
            return ys
        return run_grid(t)
    else:
        step = float(step)
        if not step > 0:
            raise ValueError(f"options: step_size must be positive, got {step!r}")
        t0, t1 = tv[0], tv[-1]
        d = 1.0 if t1 >= t0 else -1.0
        m = int(math.ceil(abs(t1 - t0) / step))            # torchdiffeq's _grid_constructor
        # traced in t[0] and t[-1] as torchdiffeq's grid is (the outputs' t-gradients)
        tt = t if isbox(t) else tv
        grid = anp.concatenate([tt[:1] + d * step * np.arange(float(m)), tt[-1:]])
        if m + 1 > max_steps:
            raise ValueError(f"options: step_size {step} needs {m} steps, more than "
                             "max_num_steps")
    gv = np.asarray(getval(grid), dtype=float)
    m = len(gv) - 1
    d = 1.0 if gv[-1] >= gv[0] else -1.0
    if implicit or perturb or callback is not None:
        gy = run_grid(grid)
    else:
        gy, _ = integrate(fun, y, grid, tab=tab, rtol=0.0, atol=0.0, step_size=math.inf,
                          max_steps=max_steps)
    out = []
    for i, tiv in enumerate(tv):                       # locate each output in the grid
        j = int(np.clip(np.searchsorted(d * gv, d * tiv, side="right") - 1, 0, m - 1))
        if tiv == gv[j]:
            out.append(gy[j])
            continue
        ti = t[i] if isbox(t) else tiv                 # traced: d y(t_i) / d t_i
        ta, tb, ya, yb = grid[j], grid[j + 1], gy[j], gy[j + 1]
        s = (ti - ta) / (tb - ta)
        if interp == "linear":
            out.append(ya + s * (yb - ya))
        else:                                          # cubic Hermite through (y, f) at ends
            h = tb - ta
            fa, fb = fun(ta, ya), fun(tb, yb)
            h00, h10 = 2 * s ** 3 - 3 * s ** 2 + 1, s ** 3 - 2 * s ** 2 + s
            h01, h11 = -2 * s ** 3 + 3 * s ** 2, s ** 3 - s ** 2
            out.append(h00 * ya + h10 * h * fa + h01 * yb + h11 * h * fb)
    return out


def _until_event(fun, y, tv, tab, rtol, atol, options, event_fn, S, ctrl):
    """Integrate until the first zero of any component of ``event_fn``.

    Forward: ``solve`` with the combined event ``min_k(sign0_k g_k)`` (torchdiffeq's
    ``combine_event_functions``), terminal, over horizons ``|t1 - t0|, 2|t1 - t0|, ...``.
    Differentiable: the traced loop re-integrates to the located time ``τ`` and the event
    time gets its implicit-function gradient [Chen, Amos & Nickel 2021, eq. (5)]
    ``dt*/dθ = -(∂g/∂θ) / (dg/dt)``, ``dg/dt = ∂g/∂t + ∂g/∂y · f(τ, y(τ))``, through one
    Newton step ``t* = τ - g(τ, y(τ)) / (dg/dt)`` whose value moves ``τ`` by ~ the root
    tolerance and whose derivative is that gradient (``dg/dt`` a constant); the state at the
    event is ``y* = y(τ) + f(τ, y(τ)) (t* - τ)``, of total derivative ``dy/dθ + f dt*/dθ``.
    """
    if len(tv) != 2:
        raise ValueError(f"t: event handling needs len(t) == 2, got len(t) = {len(tv)}")
    step_size = None
    if not tab.adaptive:                               # torchdiffeq: fixed steps need step_size
        if options.get("step_size") is None:
            raise ValueError("options: event handling at fixed steps needs step_size")
        step_size = float(options["step_size"])
    if np.ndim(rtol) != 0:
        raise ValueError("rtol: event handling takes a scalar rtol")
    to_user = S.to_user
    y0 = np.asarray(getval(y), dtype=float)
    sign0 = np.sign(np.atleast_1d(np.asarray(getval(event_fn(tv[0], to_user(y0))),
                                             dtype=float)))
    raw = lambda s, v: np.asarray(getval(fun(s, v)), dtype=float)       # noqa: E731

    def combined(s, v):                                # torchdiffeq: min(c * initial signs)
        return float(np.min(np.asarray(getval(event_fn(s, to_user(v))), dtype=float) * sign0))
    combined.terminal, combined.direction = True, -1
    t0, span, yc = tv[0], tv[1] - tv[0], y0
    if span == 0:
        raise ValueError("t: t[1] must differ from t[0] (it sets the direction)")
    left = int(options.get("max_num_steps", 2 ** 31 - 1))
    while True:                                        # horizons |t1 - t0|, x2, x4, ...
        r = solve(raw, (t0, t0 + span), yc, rtol=rtol, atol=atol, events=combined,
                  method=tab, controller="default" if ctrl is None else ctrl,
                  first_step=options.get("first_step"), step_size=step_size,
                  max_steps=max(1, min(left, 100_000)))
        left -= r.n_steps
        if r.status == 1:
            tau, y_event = float(r.t_events[0][0]), r.y_events[0][0]
            break
        if left <= 0:
            raise ValueError("event_fn: no event before max_num_steps")
        t0, yc, span = r.t[-1], r.y[-1], 2 * span
    traced = isbox(y) or isbox(fun(tau, y_event)) or isbox(event_fn(tau, to_user(y_event)))
    if not traced:                                     # nothing to differentiate: forward
        # one Newton step on the solution integrated to τ (steps land on τ): the root of
        # the interpolant is only as good as the interpolant (dopri8's cubic Hermite);
        # dg/dt along the solution by central differences (event_fn need not be traceable)
        ys, _ = integrate(raw, y0, np.array([tv[0], tau]), tab=tab, rtol=rtol, atol=atol,
                          controller=ctrl or DEFAULT, first_step=options.get("first_step"), step_size=step_size,
                          output="clip")
        y_tau = np.asarray(ys[-1])
        f_tau = raw(tau, y_tau)
        d = 1e-7 * max(1.0, abs(tau))
        dgdt = (combined(tau + d, y_tau + d * f_tau) - combined(tau - d, y_tau - d * f_tau)) / (2 * d)
        if dgdt != 0 and np.isfinite(dgdt):
            shift = -combined(tau, y_tau) / dgdt
            if abs(shift) < abs(tv[1] - tv[0]):
                tau, y_event = tau + shift, y_tau + f_tau * shift
        return tau, S.stack_user(np.stack([y0, y_event]))
    # --- differentiable event time and state (implicit function theorem) ---
    ys, _ = integrate(fun, y, np.array([tv[0], tau]), tab=tab, rtol=rtol, atol=atol,
                      controller=ctrl or DEFAULT, first_step=options.get("first_step"), step_size=step_size,
                      output="clip")
    y_tau = ys[-1]
    k = int(np.argmin(np.asarray(getval(event_fn(tau, to_user(getval(y_tau))))) * sign0))

    def g(s, v):                                       # the component that fired, traced
        return anp.reshape(event_fn(s, to_user(v)), (-1,))[k] * sign0[k]
    from autograd import grad
    yv = np.asarray(getval(y_tau), dtype=float)
    f_tau = raw(tau, yv)
    with warnings.catch_warnings():                    # g may not depend on t (or on y)
        warnings.simplefilter("ignore", UserWarning)
        dgdt = float(grad(g, 0)(tau, yv)) + float(np.dot(grad(g, 1)(tau, yv), f_tau))
    if dgdt == 0:
        raise ValueError("event_fn: dg/dt = 0 at the event (a tangential zero); its time "
                         "has no gradient")
    t_star = tau - g(tau, y_tau) / dgdt
    y_star = y_tau + f_tau * (t_star - tau)
    return t_star, S.stack_user(anp.stack([y, y_star]))


def _until_event_own_loop(fun, y, tv, tab, rtol, atol, options, event_fn, S):
    """Events with the implicit RK and Adams methods: ``refimpl.ode.fixed_events`` (torchdiffeq's
    fixed-grid event loop: ``step_size`` steps, the root on the ``interp`` interpolant;
    at most ``max_num_steps``, default 20000 as torchdiffeq's). Differentiable (event time
    and state) by the implicit function theorem on the interpolant (``traced_event``)."""
    if len(tv) != 2:
        raise ValueError(f"t: event handling needs len(t) == 2, got len(t) = {len(tv)}")
    if options.get("step_size") is None:
        raise ValueError("options: event handling at fixed steps needs step_size")
    step = float(options["step_size"])
    if not step > 0:
        raise ValueError(f"options: step_size must be positive, got {step!r}")
    if tv[1] == tv[0]:
        raise ValueError("t: t[1] must differ from t[0] (it sets the direction)")
    bad = sorted(set(options) & {"grid_constructor"})
    if bad:
        raise ValueError("options: grid_constructor is not supported with event_fn")
    to_user = S.to_user
    traced = isbox(y) or isbox(fun(tv[0], y)) or isbox(event_fn(tv[0], to_user(y)))
    y0 = np.asarray(getval(y), dtype=float)
    raw = lambda s, v: np.asarray(getval(fun(s, v)), dtype=float)       # noqa: E731
    sign0 = np.sign(np.atleast_1d(np.asarray(getval(event_fn(tv[0], to_user(y0))),
                                             dtype=float)))

    def combined(s, v):                                # torchdiffeq: min(c * initial signs)
        return float(np.min(np.asarray(getval(event_fn(s, to_user(v))), dtype=float) * sign0))
    run_grid = _grid_runner(raw, y0, tab, options, (rtol, atol))
    interp = options.get("interp", "linear")
    tau, y_event = until_event_on_grid(run_grid, raw, y0, float(tv[0]), float(tv[1]), step,
                                       combined, interp,
                                       int(options.get("max_num_steps", 20_000)))
    if not traced:
        return tau, S.stack_user(np.stack([y0, np.asarray(y_event)]))
    # differentiable event time and state: the implicit function theorem on the grid
    # interpolant (refimpl.ode.fixed_events.traced_event)
    k = int(np.argmin(np.asarray(getval(event_fn(tau, to_user(np.asarray(y_event)))),
                                 dtype=float) * sign0))

    def g(s, v):                                       # the component that fired, traced
        return anp.reshape(event_fn(s, to_user(v)), (-1,))[k] * sign0[k]
    with warnings.catch_warnings():                    # g may not depend on t (or on y)
        warnings.simplefilter("ignore", UserWarning)
        t_star, y_star = traced_event(_grid_runner(fun, y, tab, options, (rtol, atol)), fun,
                                      float(tv[0]), float(tv[1]), step, tau, g, interp)
    return t_star, S.stack_user(anp.stack([y, y_star]))


def _scipy_solver(func, y0, t, rtol, atol, options):
    """torchdiffeq's ``scipy_solver``: ``solve_ivp(t_span=(t[0], t[-1]), t_eval=t)`` with
    ``options`` solver (default "LSODA"), min_step (LSODA only), max_step. RK45/RK23/DOP853
    run on refimpl's engine (``refimpl.ode.solve_ivp``); Radau/BDF/LSODA are scipy's own
    (forward only, not differentiable — as in torchdiffeq)."""
    solver = options.pop("solver", "LSODA")
    for name in ("callback_step", "callback_accept_step", "callback_reject_step"):
        if hasattr(func, name):                        # torchdiffeq: no callbacks here
            warnings.warn(f"func.{name} is not used by method 'scipy_solver'", UserWarning,
                          stacklevel=3)
    min_step = float(options.pop("min_step", 0.0))
    max_step = float(options.pop("max_step", math.inf))
    options.pop("norm", None)
    if options:
        raise ValueError(f"options: {', '.join(map(repr, sorted(options)))} not supported for "
                         "method 'scipy_solver' (supported: solver, min_step, max_step)")
    if solver not in SCIPY_OWN + SCIPY_PASS:
        raise ValueError(f"options: solver must be one of {SCIPY_OWN + SCIPY_PASS}, "
                         f"got {solver!r}")
    S = State(y0)
    if S.complex:
        raise ValueError("y0: complex states are not supported by method 'scipy_solver' (as "
                         "in torchdiffeq)")
    yv = np.asarray(getval(S.y), dtype=float)
    tv = np.asarray(getval(t), dtype=float)
    fun = lambda s, v: np.asarray(getval(S.to_flat(func(s, S.to_user(v)))), dtype=float)  # noqa
    if tv.size == 1:
        Y = yv[None]
    else:
        kw = dict(t_eval=tv, rtol=float(np.max(rtol)), atol=float(np.max(atol)),
                  max_step=max_step)
        if solver in SCIPY_OWN:
            from .scipy_ivp import solve_ivp
            sol = solve_ivp(fun, (tv[0], tv[-1]), yv, method=solver, **kw)
        else:
            import scipy.integrate
            if solver == "LSODA":
                kw["min_step"] = min_step
            sol = scipy.integrate.solve_ivp(fun, (tv[0], tv[-1]), yv, method=solver, **kw)
        if not sol.success:
            raise ValueError(f"scipy_solver ({solver}): {sol.message}")
        Y = np.asarray(sol.y).T                                      # (N, n)
    return S.stack_user(Y)
