"""`odeint`: a differentiable ODE solve (adjoint, backprop or checkpointed gradients).

    ys = odeint(func, y0, t, args=(params,), gradient="adjoint")    # ys[i] = y(t[i])
    loss = lambda params: np.sum(odeint(func, y0, t, (params,))[-1] ** 2)
    g = autograd.grad(loss)(params)

Argument order follows torchdiffeq (`func, y0, t`); `refimpl.ode.solve(func, t_span, y0)`
follows `scipy.integrate.solve_ivp`. `func(t, y, *args)` as in `solve`.

Gradient modes (all differentiate with respect to y0, every float array inside `args`, t):

* "adjoint" — the continuous adjoint of [NeuralODE Alg. 1] (`refimpl.ode.adjoint`):
  memory independent of the number of steps; the gradient is that of the exact ODE solution,
  computed to the adjoint's tolerance. Differentiable again (Hessian-vector products).
* "backprop" — autograd differentiates the solver's own arithmetic (`refimpl.ode.traced`):
  the exact gradient of the discrete solve, *with the accepted step sizes treated as
  constants* (the controller's choices are not differentiated; only the clipped final step
  to each t_i depends on t). Memory grows with the number of steps. Any order.
* "checkpoint" — stores the state at every k-th accepted step (`checkpoints=k`, default 1),
  then replays each segment under autograd: the same gradient as "backprop" (to rounding)
  with memory ∝ number of checkpoints + k steps. First order only.

Output times (`output`):

* "clip" (default) — every step that would pass an output time is clipped to it, so the
  solver lands on each t_i; ys are identical across the gradient modes. N output times
  force at least N-1 steps.
* "interpolate" — steps are clipped to the final time t_{N-1} only (no overshoot, unlike
  torchdiffeq's solvers, which step past it); every interior y(t_i) is the accepted step's
  continuous extension, written with autograd.numpy (`refimpl.ode.traced`,
  `refimpl.ode.dense.eval_step_traced`): dopri5/tsit5 the 4th-order `P` polynomial (scipy
  RK45.P, Hairer I eq. (6.7)), dop853 its 7th-order extension (3 extra stages per step with
  outputs inside), the other tableaus the cubic Hermite through (y, f) at both ends. The step
  sequence no longer depends on how many outputs are asked for, as in torchdiffeq and
  `solve(t_eval=...)`. "backprop" differentiates the interpolant (d/dt_i through θ);
  "adjoint" interpolates the forward solve while the backward solve still restarts at every
  output time (the cotangent jumps there); "checkpoint" refuses it (ValueError: its replay in
  `refimpl.ode.checkpoint` re-runs clipped steps only). With two output times both modes
  give the same numbers.

Controller (`controller`):

* "default" — refimpl's controller (`refimpl.ode.control`), as `solve`.
* "torchdiffeq" — torchdiffeq 0.2.x's `odeint` (gradient="backprop") and `odeint_adjoint`
  (gradient="adjoint") with method dopri5, step for step (`refimpl.ode.preset_torchdiffeq`,
  the engine of `solve(controller="torchdiffeq")`): its initial step (traced in "backprop"
  mode, as torch differentiates it), its embedded weights, its step-size rule, steps past the
  output times and its quartic interpolant at them (`output` must be left None); the
  adjoint integrates the augmented system over each [t_i, t_{i-1}] with a fresh solve (new
  f(t_i) and initial step, or `first_step`, which torchdiffeq's adjoint options inherit)
  under its default adjoint norm (`adjoint_norm="mixed"`: max over |a_t|, the state's, the
  adjoint's and every parameter array's RMS; for one group per parameter, pass the
  parameters as separate arrays in `args`, as torch's `adjoint_params`). Evaluation counts
  equal torchdiffeq's (tests/ode/test_odeint_torchdiffeq_preset.py).

The error norm is the RMS of the scaled error (as `solve`); for a tuple state
it is the max over the elements of their RMS (torchdiffeq's mixed norm for tuples).
dtype follows y0 (float32 mode: coefficients and times cast to float32).
`info` (a dict you pass) receives nfev_forward, n_steps_forward, n_rejected_forward after
the call and nfev_backward, n_steps_backward, n_rejected_backward once the gradient ran
("backprop": evaluations whose VJP the backward pass runs).

References
----------
R. T. Q. Chen, Y. Rubanova, J. Bettencourt, D. Duvenaud. Neural ordinary differential
  equations. NeurIPS 2018 (Sec. 2, Alg. 1, App. B; Fig. 3 on evaluation counts).
P. Kidger, R. T. Q. Chen, T. Lyons. "Hey, that's not an ODE": faster ODE adjoints via
  seminorms. ICML 2021.
A. Griewank, A. Walther. Evaluating derivatives, 2nd ed. (2008), Ch. 12 (checkpointing).
torchdiffeq (`odeint`, `odeint_adjoint`): argument order, adjoint norm conventions.
"""
import autograd.numpy as anp
import numpy as np
from autograd.extend import primitive, defvjp
from autograd.tracer import getval, isbox

from .adjoint import AdjointSpec, odeint_adjoint_flat, publish_counts
from .checkpoint import CheckpointSpec, odeint_checkpoint_flat
from .control import DEFAULT
from .guard import guard_input, guard_output
from .odeint_problem import GRADIENTS, validate_odeint_args as _validate
from .preset_torchdiffeq import TorchdiffeqController
from .traced import OUTPUTS, check_output, flat_concat, integrate
from .traced_ops import stack

__all__ = ["odeint", "GRADIENTS", "OUTPUTS", "CONTROLLERS"]



def odeint(func, y0, t, args=(), *, method="dopri5", rtol=1e-7, atol=1e-9, gradient="adjoint",
           adjoint_rtol=None, adjoint_atol=None, adjoint_norm="mixed", checkpoints=None,
           info=None, output=None, controller="default", **solver_options):
    """Solve dy/dt = func(t, y, *args) and return y at every t[i] (differentiably).

    Parameters
    ----------
    func : callable func(t, y, *args) -> dy/dt shaped like y (a tuple for tuple states).
        An object that also has `f_and_vjp(t, y, params, a)` (e.g. `refimpl.nn.mlp_dynamics`)
        gets its fused VJP used by the adjoint (see `_validate`).
    y0 : float array of any shape, or a tuple of arrays (e.g. (z, logp) for flows).
    t : (N,) strictly monotonic output times (increasing or decreasing); ys[0] = y0.
    args : tuple of arrays / nested lists, tuples, dicts of arrays (network parameters);
        non-float leaves (ints, strings, ...) are passed through undifferentiated.
    method : tableau name (see `refimpl.ode.METHODS`) or a ButcherTableau.
    rtol, atol : forward tolerances (scalars).
    gradient : "adjoint" | "backprop" | "checkpoint" (module docstring).
    adjoint_rtol, adjoint_atol : tolerances of the backward solve (default: rtol, atol).
    adjoint_norm : "mixed" | "seminorm" | "rms" (see `refimpl.ode.adjoint`).
    checkpoints : "checkpoint" mode: store every k-th accepted step (int k >= 1; default 1).
    info : optional dict, filled with evaluation counts (module docstring).
    output : "clip" | "interpolate" — how y(t_i) is produced (module docstring); None is
        "clip" for the default controller and torchdiffeq's own rule for its preset.
    controller : "default" | "torchdiffeq" — "torchdiffeq" (method dopri5, gradient
        "backprop" or "adjoint") reproduces torchdiffeq 0.2.x's odeint / odeint_adjoint step
        for step (module docstring).
    **solver_options : first_step, max_step, max_steps, step_size (as `solve`).

    Returns
    -------
    ys : (N,) + y0.shape array, or a tuple of such arrays for a tuple y0.
    """
    p = _validate(func, y0, t, args, method, rtol, atol, gradient, adjoint_rtol, adjoint_atol,
                  adjoint_norm, checkpoints, info, solver_options)
    ctrl = _controller(controller, p.tab, gradient, output, p.options)
    output = "clip" if output is None else output
    check_output(output, p.tab)
    if output == "interpolate" and gradient == "checkpoint":
        raise ValueError("output: 'interpolate' is not supported with gradient='checkpoint' "
                         "(its replay re-runs clipped steps only); use output='clip' or "
                         "gradient='backprop'")
    counters = {"forward": _zero_counts(), "backward": _zero_counts()}
    if info is not None:
        info.clear()
        info.update(gradient=gradient, method=p.tab.name)
        counters["info"] = info
    if gradient != "adjoint":         # the adjoint's own error control catches NaN gradients
        p.y0 = guard_input(p.y0, "y0")
        p.leaves = [guard_input(x, "the parameters (args)") for x in p.leaves]
    if gradient == "backprop":
        fun = p.ode.fun
        ode_fun = (lambda s, y, leaves: _tap(fun(s, y, leaves), counters)) \
            if info is not None else fun
        ys, stats = integrate(ode_fun, p.y0, p.t, (p.leaves,), tab=p.tab, rtol=p.rtol,
                              atol=p.atol, norm=p.norm, output=output, controller=ctrl,
                              **p.options)
        # one primitive (`traced_ops.stack`), not anp.stack's N takes; the torchdiffeq preset
        # already returns the (N, n) array of its interpolated outputs
        ys = stack(ys) if isinstance(ys, list) else ys
        counters["forward"] = {k: stats[k] for k in _zero_counts()}
    else:
        theta = flat_concat(p.leaves)                     # (p,) the differentiable args
        options = dict(p.options)
        if output != "clip":            # reaches `integrate` through the adjoint's options
            options["output"] = output
        first_step = options.pop("first_step", None) if gradient == "adjoint" else None
        common = dict(adjoint_rtol=p.adjoint_rtol, adjoint_atol=p.adjoint_atol,
                      adjoint_norm=adjoint_norm, options=options, counters=counters)
        if gradient == "adjoint":                         # first_step: forward solve only
            spec = AdjointSpec(p.ode, p.tab, p.rtol, p.atol, norm=p.norm,
                               state_sizes=p.sizes if p.is_tuple else None,
                               first_step=first_step, controller=ctrl, **common)
            ys = odeint_adjoint_flat(p.y0, p.t, theta, spec)
        else:
            spec = CheckpointSpec(p.ode, p.tab, p.rtol, p.atol, every=checkpoints or 1,
                                  norm=p.norm, **common)
            ys = odeint_checkpoint_flat(p.y0, p.t, theta, spec)
    publish_counts(counters)
    if gradient != "adjoint":
        ys = guard_output(ys)
    return p.unflatten_ys(_cast_cotangent(ys))


CONTROLLERS = ("default", "torchdiffeq")


def _controller(name, tab, gradient, output, options):
    """The controller object for `name` (ValueError naming the argument otherwise)."""
    if name not in CONTROLLERS:
        raise ValueError(f"controller: expected one of {CONTROLLERS}, got {name!r}")
    if name == "default":
        return DEFAULT
    if tab.name != "dopri5":
        raise ValueError(f"method: controller='torchdiffeq' reproduces torchdiffeq's dopri5 "
                         f"only, got method {tab.name!r}")
    if gradient == "checkpoint":
        raise ValueError("gradient: controller='torchdiffeq' supports 'backprop' and "
                         "'adjoint' (torchdiffeq's odeint and odeint_adjoint), not 'checkpoint'")
    if output is not None:
        raise ValueError(f"output: controller='torchdiffeq' steps past the output times and "
                         f"interpolates (torchdiffeq's rule); leave output=None, got {output!r}")
    if options.get("step_size") is not None:
        raise ValueError("step_size: controller='torchdiffeq' is adaptive (dopri5); "
                         "drop step_size")
    return TorchdiffeqController()


# --- evaluation counts ------------------------------------------------------------------
def _zero_counts():
    return dict(nfev=0, n_steps=0, n_accepted=0, n_rejected=0)


@primitive
def _cast_cotangent(ys):
    """Identity whose VJP casts the incoming gradient to ys' dtype (float32 mode: a loss
    mixing float64 constants would otherwise turn the whole backward pass into float64)."""
    return ys


def _cast_vjp(ans, ys):
    dtype = np.result_type(getval(ys))
    return lambda g: g if np.result_type(getval(g)) == dtype else (
        g.astype(dtype) if isbox(g) else np.asarray(g, dtype))


defvjp(_cast_cotangent, _cast_vjp)


@primitive
def _tap(y, counters):
    """Identity whose VJP counts how often the backward pass goes through func."""
    return y


def _tap_vjp(ans, y, counters):
    def vjp(g):
        counters["backward"]["nfev"] += 1
        publish_counts(counters)
        return g
    return vjp


defvjp(_tap, _tap_vjp)
