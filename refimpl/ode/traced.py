"""The traced step loop: an autograd-traceable explicit Runge–Kutta driver, the engine under
every `odeint` mode. Its step `rk_step` is the definition `refimpl.ode.rk_step.rk_step`
written for tracing (tests/ode/test_rk_step_definition.py ties them).

It runs the same Butcher tableaus (`refimpl.ode.tableaus`) and the same controller pieces
(`refimpl.ode.control.DEFAULT`: initial step, error norm, acceptance, next-step factor,
last-step rule) as `refimpl.ode.solve`, so on the same problem both give the same numbers
(the tests hold them together to ~1e-13). Differences from `solve`, by design:

* `output="clip"` (default): output times are hit by clipping the step
  (`controller.last_step` towards each t_i), so that y(t_i) depends on t_i through the
  arithmetic and gradients with respect to t flow. After a clipped step at an intermediate
  output time the next step is the larger of the controller's proposal and the step proposed
  before clipping (a short clipped step says nothing against the old step size).
  `output="interpolate"`: steps are clipped to the final time t_{N-1} only (no overshoot,
  unlike torchdiffeq, which steps past it), and every interior y(t_i) is the accepted step's
  continuous extension at θ = (t_i − t_k)/h (`refimpl.ode.dense.eval_step_traced`: the
  4th-order `P` polynomial for dopri5/tsit5, dop853's 7th-order extension (3 more
  evaluations per step with outputs inside), the cubic Hermite for the other tableaus).
  N output times then cost what one output costs, as in torchdiffeq and
  `solve(t_eval=...)`; d/dt_i flows through θ. With 2 output times both modes coincide.
* The arithmetic is written with `autograd.numpy`, so autograd can follow it when y0, t or
  args are boxed ("backprop" mode). The step sizes chosen by the controller are computed from
  plain values (`getval`) and are constants for differentiation; only a clipped final step
  t_i - t depends on the traced times. This is the exact gradient of the discrete solve.
* The error norm may be a group norm (`GroupNorm`): the adjoint's mixed norm and seminorm.
* dtype follows y0: tableau coefficients and times are cast to it (float32 mode).
* `controller=TorchdiffeqController()` (odeint's controller="torchdiffeq") hands the whole
  solve to torchdiffeq's own loop, `refimpl.ode.preset_torchdiffeq.integrate_torchdiffeq`
  (dopri5; steps past the output times and interpolates; its first step is traced), the
  engine `solve(controller="torchdiffeq")` runs too; options it has no counterpart for
  (step_size, min_step, step_t, jump_t, callbacks, on_accept) raise a ValueError.

When nothing is boxed the stages go into one preallocated (s, n) array and combinations are
BLAS products, as in `solve`.

References
----------
E. Hairer, S. P. Nørsett, G. Wanner, Solving ODEs I, 2nd ed. (1993), Sec. II.1 (explicit RK
  methods), II.4 (step-size control).
P. Kidger, R. T. Q. Chen, T. Lyons. "Hey, that's not an ODE": faster ODE adjoints via
  seminorms. ICML 2021 (the seminorm, `GroupNorm(include=...)`).
"""
import math

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval, isbox

from .control import DEFAULT, dop853_error_norm, error_scale, rms_norm
from .control import min_step as ulp_floor
from .dense import TRACED_KINDS, eval_step_traced
from .errors import (SolverError, STATUS_MAX_STEPS, STATUS_NONFINITE,  # noqa: F401
                     STATUS_STEP_UNDERFLOW)
# re-exported: the flat-state helpers lived here (refimpl/ode/flat.py)
from .flat import FlatODE, flat_concat, flat_split, tree_flatten, tree_unflatten  # noqa: F401
from .traced_ops import lincomb

__all__ = ["GroupNorm", "FlatODE", "rk_step", "integrate", "tree_flatten", "tree_unflatten",
           "flat_concat", "flat_split", "OUTPUTS", "check_output", "Barriers"]

OUTPUTS = ("clip", "interpolate")      # how `integrate` produces y(t_i) (module docstring)


def check_output(output, tab):
    """ValueError unless `output` is one of OUTPUTS and the tableau supports it."""
    if output not in OUTPUTS:
        raise ValueError(f"output: expected one of {OUTPUTS}, got {output!r}")
    if output == "interpolate" and tab.dense not in TRACED_KINDS:
        raise ValueError(f"output: 'interpolate' needs a tableau with a traceable continuous "
                         f"extension (dense in {TRACED_KINDS}); method {tab.name!r} has "
                         f"dense={tab.dense!r}; use output='clip'")


# --- error norms ------------------------------------------------------------------------
class GroupNorm:
    """max over groups of the RMS of the scaled error, over the groups with include=True.

    sizes: group lengths in the flat state (in order). With every group included this is
    torchdiffeq's mixed norm; leaving out the parameter adjoints is the seminorm of
    Kidger, Chen & Lyons (2021). dop853's combined 5th/3rd-order estimate is formed per
    group the same way (`reduce`), so the norm choice holds for every tableau."""

    def __init__(self, sizes, include):
        self.bounds = np.cumsum([0] + list(sizes))
        self.include = list(include)

    def __call__(self, x):
        x = np.ravel(x)
        return self.reduce(lambda lo, hi: rms_norm(x[lo:hi]))

    def reduce(self, group_norm):
        """max over the included, non-empty groups of group_norm(lo, hi) (a slice's norm)."""
        return max((group_norm(lo, hi) for lo, hi, inc in
                    zip(self.bounds[:-1], self.bounds[1:], self.include) if inc and hi > lo),
                   default=0.0)


def _error_norm(tab, K, h, y, y_new, rtol, atol, controller, norm):
    if norm is None:
        return controller.error_norm(tab, K, h, y, y_new, rtol, atol)
    scale = error_scale(y, y_new, rtol, atol)                       # (n,)
    if tab.e3 is not None:      # dop853: Hairer's combined 5th/3rd-order estimate per group
        e5, e3 = K.T @ tab.e, K.T @ tab.e3
        return norm.reduce(lambda lo, hi: dop853_error_norm(e5[lo:hi], e3[lo:hi], h,
                                                            scale[lo:hi]))
    return norm((K.T @ tab.e) * h / scale)


# --- one step -----------------------------------------------------------------------------
def _coeffs(tab, dtype):
    """Tableau rows cast to the state's dtype: (A rows, b (s-1 or s,), c list, ns)."""
    ns = tab.n_stages - 1 if tab.fsal else tab.n_stages      # stages that enter y_new
    rows = [np.ascontiguousarray(tab.A[i, :i], dtype) for i in range(tab.n_stages)]
    return rows, np.ascontiguousarray(tab.b[:ns], dtype), [float(np.asarray(c, dtype))
                                                            for c in tab.c], ns


def rk_step(func, t, y, h, f0, tab, args=(), coeffs=None, t_new=None):
    """One explicit RK step of `tab` from (t, y) with step h (Hairer I, eq. (1.8)):

        k_i = f(t + c_i h, y + h Σ_{j<i} a_ij k_j),   y_new = y + h Σ_i b_i k_i.

    y: (n,) flat; f0 = f(t, y); t_new: the end time (default t + h; pass the output time
    when the step was clipped to it). Returns (y_new, ks), ks the list of stages; for FSAL
    tableaus ks[-1] = f(t_new, y_new). Same arithmetic order as `refimpl.ode.solve`.

    The traced loop's step: the definition `refimpl.ode.rk_step.rk_step` written so autograd
    can follow it (a list of stages when anything is boxed); tied to the definition by
    tests/ode/test_rk_step_definition.py::test_traced_step_is_the_definition."""
    rows, b, c, ns = coeffs if coeffs is not None else _coeffs(tab, np.result_type(getval(y)))
    s = tab.n_stages
    raw = not (isbox(t) or isbox(y) or isbox(h) or isbox(f0))
    K = None
    if raw:
        K = np.empty((s, np.size(y)), dtype=np.result_type(getval(y)))     # (s, n)
        K[0] = f0
    ks = [f0]

    def comb(coef, i):                                  # Σ_{j<i} coef_j k_j, shape (n,)
        if K is not None:
            return np.dot(K[:i].T, coef)
        return lincomb(coef, ks[:i])                    # one primitive (traced_ops)

    def add(i, k):
        nonlocal K
        ks.append(k)
        if K is not None:
            if isbox(k):
                K = None                                # args are traced: list arithmetic
            else:
                K[i] = k

    for i in range(1, ns):
        add(i, func(t + c[i] * h, y + comb(rows[i], i) * h, *args))
    y_new = y + h * comb(b, ns)
    if tab.fsal:                                        # last stage = f(t_new, y_new)
        add(ns, func(t + h if t_new is None else t_new, y_new, *args))
    return y_new, ks


# --- the driver --------------------------------------------------------------------------
def integrate(func, y0, t, args=(), *, tab, rtol, atol, controller=DEFAULT, norm=None,
              first_step=None, max_step=math.inf, max_steps=100_000, step_size=None,
              on_accept=None, output="clip", min_step=0.0, step_t=None, jump_t=None,
              callbacks=None, reuse_last_stage=False):
    """Solve y' = func(t, y, *args) from t[0], returning y at every t[i] (a list of (n,)).

    y0: (n,) flat, float32 or float64 (the arithmetic's dtype); t: (N,) strictly monotonic
    (may be an autograd box); `norm(scaled_err) -> float` replaces the RMS (GroupNorm).
    `on_accept(i_target, h, t_before, y_before)` is called after each accepted step
    (i_target: index of the output time the step was clipped to, or -1; h: the float step).
    output: "clip" | "interpolate" (module docstring).
    Adaptive runs also take torchdiffeq's ``min_step`` (every |h| >= min_step; a step of
    |h| <= min_step is accepted whatever its error), ``step_t`` / ``jump_t`` (times the steps
    land on, `Barriers`: at a ``jump_t`` the stage at the step's end is evaluated one float
    before it and f after it one float past it, the two sides of a discontinuity of f in t)
    and ``callbacks`` (a dict with optional "step", "accept", "reject": ``cb(t, y, h)``
    before each attempt / after an accepted / a rejected one; h signed).
    ``reuse_last_stage``: the next step's f0 is the accepted step's last stage even for a
    tableau that is not FSAL — torchdiffeq's ``_runge_kutta_step`` returns ``f1 = k[-1]``
    whatever the tableau, so its adaptive_heun and fehlberg2 start each step from f at the
    last stage's point (the Euler predictor, resp. the solution without its k_3 term), not
    at y_new; adaptive runs only (``torchdiffeq_odeint`` sets it).

    Returns (ys, stats) with stats: nfev, n_steps, n_accepted, n_rejected, h_next (the step
    the controller proposes after the last point; a `first_step` for a continuation).
    With `step_size` (or a fixed-step tableau) every interval [t_{i-1}, t_i] is covered by
    ceil(|t_i - t_{i-1}| / step_size) steps of that size, the last one clipped to t_i
    ("interpolate": the one interval [t_0, t_{N-1}])."""
    check_output(output, tab)
    if getattr(controller, "name", None) == "torchdiffeq":
        return _integrate_torchdiffeq(func, y0, t, args, tab=tab, rtol=rtol, atol=atol,
                                      controller=controller, norm=norm, first_step=first_step,
                                      max_step=max_step, max_steps=max_steps, output=output,
                                      unsupported=dict(step_size=step_size, on_accept=on_accept,
                                                       step_t=step_t, jump_t=jump_t,
                                                       callbacks=callbacks),
                                      min_step=min_step)
    dtype = np.result_type(getval(y0))
    coeffs = _coeffs(tab, dtype)
    if np.result_type(getval(t)) != dtype:
        t = t.astype(dtype) if isbox(t) else np.asarray(t, dtype)
    t_vals = [float(v) for v in np.asarray(getval(t))]
    n_out = len(t_vals)
    direction = 1.0 if t_vals[-1] >= t_vals[0] else -1.0
    stats = dict(nfev=0, n_steps=0, n_accepted=0, n_rejected=0, h_next=first_step)
    ys = [y0]
    if n_out == 1:
        return ys, stats
    # the output times the steps are clipped to; "interpolate" fills the others from the
    # accepted steps' continuous extensions (`emit`)
    stops = list(range(1, n_out)) if output == "clip" else [n_out - 1]
    emit = _Emitter(t, t_vals, direction, tab, ys, (func, args), stats) \
        if output == "interpolate" else None
    tc, tc_val, y = t[0], t_vals[0], y0
    f0 = func(tc, y, *args)
    stats["nfev"] += 1
    if step_size is not None or not tab.adaptive:
        if step_size is None:
            raise ValueError(f"step_size: method {tab.name!r} is fixed-step; pass step_size")
        return _integrate_fixed(func, y, f0, t, t_vals, args, tab, coeffs, float(step_size),
                                direction, stats, max_steps, on_accept, stops, emit)
    q = tab.error_order
    barriers = Barriers(step_t, jump_t, t_vals[0], direction)
    cb = dict(callbacks or {})
    min_step = float(min_step)
    if first_step is None:
        raw_fun = lambda s, v: getval(func(s, v, *args))  # noqa: E731
        h_abs, n = controller.initial_step(raw_fun, tc_val, np.asarray(getval(y)),
                                           np.asarray(getval(f0)), direction, q, rtol, atol,
                                           abs(t_vals[-1] - t_vals[0]), max_step)
        stats["nfev"] += n
    else:
        h_abs = float(first_step)
    for i in stops:
        target = t_vals[i]
        rejected = False
        while True:
            if stats["n_steps"] >= max_steps:
                raise SolverError(f"max_steps={max_steps} exceeded", t=tc_val, h=h_abs,
                                  status=STATUS_MAX_STEPS, **_counts(stats))
            h_abs = min(max(h_abs, min_step), max_step)
            h_val = controller.last_step(tc_val, h_abs, target, direction)   # signed float
            clipped = (h_val == target - tc_val or tc_val + h_val == target
                       or abs(h_val) >= abs(target - tc_val))
            # a step_t / jump_t time inside the step (or at its end): land on it
            b, is_jump = barriers.next_within(tc_val, target)
            on_barrier = False
            if b is not None and b != target:
                hb = controller.last_step(tc_val, h_abs, b, direction)
                if hb == b - tc_val:
                    h_val, clipped, on_barrier = hb, False, True
            elif b is not None:                         # a barrier at the output time
                on_barrier = clipped
            if abs(h_val) < ulp_floor(tc_val, direction) and not clipped and not on_barrier:
                raise SolverError("step size underflow", t=tc_val, h=h_val,
                                  status=STATUS_STEP_UNDERFLOW, **_counts(stats))
            if "step" in cb:
                cb["step"](tc, y, h_val)
            h = (t[i] - tc) if clipped else h_val      # the clipped step carries d/dt
            f_step = func
            if on_barrier and is_jump:                  # the step's end: f's left limit
                f_step = _left_of(func, b, direction)
            y_new, ks = rk_step(f_step, tc, y, h, f0, tab, args, coeffs,
                                t_new=t[i] if clipped else None)
            stats["nfev"] += tab.n_stages - 1
            stats["n_steps"] += 1
            K = np.stack([np.asarray(getval(k)) for k in ks])                 # (s, n)
            err = _error_norm(tab, K, h_val, getval(y), getval(y_new), rtol, atol,
                              controller, norm)
            fac = controller.factor(err, q, rejected)
            if (controller.accept(err) or abs(h_val) <= min_step) and math.isfinite(err):
                if "accept" in cb:
                    cb["accept"](tc, y, h_val)
                if on_accept is not None:
                    on_accept(i if clipped else -1, h_val, tc_val, y)
                stats["n_accepted"] += 1
                h_prev_abs = h_abs
                h_abs = abs(h_val) * fac
                y_old, tc_old = y, tc
                y = y_new
                if clipped:
                    tc, tc_val = t[i], target
                else:
                    tc = tc + h_val
                    tc_val = float(getval(tc))
                if on_barrier:
                    barriers.passed()
                    if not clipped:                      # exactly on the barrier
                        tc_val = b
                        tc = tc if isbox(tc) else b
                if on_barrier and is_jump:               # f's right limit past a jump
                    f0 = func(np.nextafter(b, direction * math.inf), y, *args)
                    stats["nfev"] += 1
                elif tab.fsal or reuse_last_stage:
                    f0 = ks[-1]
                else:
                    f0 = func(tc, y, *args)
                    stats["nfev"] += 1
                if not (np.all(np.isfinite(getval(y))) and np.all(np.isfinite(getval(f0)))):
                    raise SolverError("non-finite state or derivative", t=tc_val, h=h_val,
                                      status=STATUS_NONFINITE, **_counts(stats))
                if emit is not None:
                    f_end = f0                           # f at the step's end, left side
                    if on_barrier and is_jump:
                        f_end = ks[-1] if tab.fsal else f_step(tc, y, *args)
                    emit(tc_old, h, tc_val, ks, y_old, y, f_end)
                if clipped:
                    h_abs = max(h_abs, h_prev_abs) if i < n_out - 1 else h_abs
                    break
                rejected = False
            else:
                if not math.isfinite(err) and not np.all(np.isfinite(getval(f0))):
                    raise SolverError("non-finite derivative", t=tc_val, h=h_val,
                                      status=STATUS_NONFINITE, **_counts(stats))
                if "reject" in cb:
                    cb["reject"](tc, y, h_val)
                stats["n_rejected"] += 1
                h_abs = abs(h_val) * fac
                rejected = True
        ys.append(y)
    stats["h_next"] = h_abs
    return ys, stats


def _integrate_torchdiffeq(func, y0, t, args, *, tab, rtol, atol, controller, norm, first_step,
                           max_step, max_steps, output, unsupported, min_step):
    """controller="torchdiffeq": torchdiffeq's own loop (steps past the output times and
    interpolates; `refimpl.ode.preset_torchdiffeq.integrate_torchdiffeq`), dopri5 only."""
    from .preset_torchdiffeq import integrate_torchdiffeq
    if tab.name != "dopri5":
        raise ValueError(f"method: controller='torchdiffeq' reproduces torchdiffeq's dopri5 "
                         f"only, got method {tab.name!r}")
    if output != "clip":
        raise ValueError("output: controller='torchdiffeq' always steps past the output times "
                         "and interpolates (torchdiffeq's rule); leave output unset")
    bad = sorted(k for k, v in unsupported.items() if v is not None)
    if bad or min_step:
        raise ValueError(f"options: {bad or ['min_step']} not supported with "
                         f"controller='torchdiffeq'")
    return integrate_torchdiffeq(func, y0, t, args, tab=tab, rtol=rtol, atol=atol, norm=norm,
                                 first_step=first_step, max_step=max_step,
                                 max_steps=max_steps, ctrl=controller)


class Barriers:
    """torchdiffeq's ``step_t`` / ``jump_t`` (``rk_common.py``): the times after ``t0`` (in
    the direction of integration) that the steps must land on, in order; ``jump_t`` marks a
    discontinuity of f in t. A time in both lists is an error (as in torchdiffeq)."""

    def __init__(self, step_t, jump_t, t0, direction):
        def times(name, v):
            v = np.atleast_1d(np.asarray(getval(v) if v is not None else [], dtype=float))
            if v.ndim != 1 or not np.all(np.isfinite(v)):
                raise ValueError(f"options: {name} must be a 1-D array of finite times")
            return v
        s, j = times("step_t", step_t), times("jump_t", jump_t)
        if np.intersect1d(s, j).size:
            raise ValueError("options: step_t and jump_t must not share a time")
        pts = [(float(v), False) for v in s] + [(float(v), True) for v in j]
        self.direction = direction
        self.pts = sorted((p for p in pts if direction * (p[0] - t0) > 0),
                          key=lambda p: direction * p[0])
        self.k = 0

    def next_within(self, t, target):
        """(the next barrier b with t < b <= target in the direction, is_jump) or (None, False)."""
        d = self.direction
        while self.k < len(self.pts) and d * (self.pts[self.k][0] - t) <= 0:
            self.k += 1                                  # already behind (e.g. at an output)
        if self.k < len(self.pts) and d * (target - self.pts[self.k][0]) >= 0:
            return self.pts[self.k]
        return None, False

    def passed(self):
        self.k += 1


def _left_of(func, b, direction):
    """func with evaluations at or past ``b`` moved to the float just before it (the left
    limit at a jump; torchdiffeq's ``Perturb.PREV`` on the stage at the step's end)."""
    b_in = np.nextafter(b, -direction * math.inf)

    def f(s, y, *args):
        return func(b_in if direction * (float(getval(s)) - b) >= 0 else s, y, *args)
    return f


class _Emitter:
    """output="interpolate": after each accepted step [t_k, t_k + h], append to `ys` the
    continuous extension at every interior output time t_i (i < N-1) the step has reached
    (t_i at the step's end included: θ = 1). The last output is the clipped step's y."""

    def __init__(self, t, t_vals, direction, tab, ys, func_args=None, stats=None):
        self.t, self.t_vals, self.direction, self.tab, self.ys = t, t_vals, direction, tab, ys
        self.next = 1
        self.fun, self.stats = None, stats                  # dop853: its 3 extra stages
        if func_args is not None:
            func, args = func_args
            self.fun = lambda s, v: func(s, v, *args)       # noqa: E731

    def __call__(self, tc, h, t_end_val, ks, y, y_new, f_new):
        last, first = len(self.t_vals) - 1, self.next
        while self.next < last and self.direction * (self.t_vals[self.next] - t_end_val) <= 0:
            self.next += 1
        if self.next > first:
            # θ_i = (t_i - t_k)/h, traced in t_i (and in h for the clipped last step)
            thetas = [(self.t[i] - tc) / h for i in range(first, self.next)]
            Y = eval_step_traced(self.tab, ks, y, y_new, f_new, h, thetas, self.fun, tc)
            if self.tab.dense == "dop853" and self.stats is not None:
                self.stats["nfev"] += 3
            self.ys.extend(Y[j] for j in range(self.next - first))


def _integrate_fixed(func, y, f0, t, t_vals, args, tab, coeffs, step, direction, stats,
                     max_steps, on_accept, stops, emit):
    """Fixed steps of size `step` in every interval up to a stop, the last one clipped."""
    ys = emit.ys if emit is not None else [y]
    tc, tc_val = t[0], t_vals[0]
    for i in stops:
        m = max(1, math.ceil(abs(t_vals[i] - tc_val) / step * (1 - 1e-12)))
        if stats["n_steps"] + m > max_steps:
            raise SolverError(f"max_steps={max_steps} exceeded by the fixed grid", t=tc_val,
                              h=direction * step, status=STATUS_MAX_STEPS, **_counts(stats))
        for k in range(m):
            last = k == m - 1
            h_val = (t_vals[i] - tc_val) if last else direction * step
            h = (t[i] - tc) if last else h_val
            y_new, ks = rk_step(func, tc, y, h, f0, tab, args, coeffs,
                                t_new=t[i] if last else None)
            if on_accept is not None:
                on_accept(i if last else -1, h_val, tc_val, y)
            y_old, tc_old = y, tc
            y = y_new
            tc = t[i] if last else tc + h_val
            tc_val = t_vals[i] if last else float(getval(tc))
            f0 = ks[-1] if tab.fsal else func(tc, y, *args)
            stats["nfev"] += tab.n_stages - 1 + (0 if tab.fsal else 1)
            stats["n_steps"] += 1
            stats["n_accepted"] += 1
            if not np.all(np.isfinite(getval(y))):
                raise SolverError("non-finite state", t=tc_val, h=h_val,
                                  status=STATUS_NONFINITE, **_counts(stats))
            if emit is not None:
                emit(tc_old, h, tc_val, ks, y_old, y, f0)
        ys.append(y)
    return ys, stats


def _counts(stats):
    return dict(nfev=stats["nfev"], n_steps=stats["n_steps"], n_accepted=stats["n_accepted"],
                n_rejected=stats["n_rejected"])
