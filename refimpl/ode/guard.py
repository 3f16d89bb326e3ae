"""Finite-gradient guards for ``odeint(gradient="backprop" | "checkpoint")``.

The adjoint mode notices a NaN gradient because its backward pass is an adaptive solve
whose error control fails on non-finite values (a ``SolverError``). Backprop and
checkpointing differentiate through the forward steps instead, and a NaN made by a VJP
would flow silently into the user's gradient. Two identities whose VJPs check the cotangent
close that gap:

* ``guard_output(ys)``: the cotangent arriving at ``odeint``'s output — a NaN here comes from
  the user's loss, not from the solve, and the error says so;
* ``guard_input(x, name)``: the cotangent leaving ``odeint`` for ``y0`` or the parameters —
  a NaN here (after a finite one arrived) was made inside the solve's backward pass.
"""
import numpy as np
from autograd.extend import defvjp, primitive
from autograd.tracer import getval

from .errors import STATUS_NONFINITE, SolverError

__all__ = ["guard_output", "guard_input"]


def _check(g, message):
    gv = np.asarray(getval(g))
    if not np.all(np.isfinite(gv)):
        bad = int(np.size(gv) - np.count_nonzero(np.isfinite(gv)))
        raise SolverError(f"{message} ({bad} of {np.size(gv)} entries NaN or inf)",
                          t=np.nan, h=np.nan, nfev=0, n_steps=0, status=STATUS_NONFINITE)
    return g


@primitive
def guard_output(ys):
    """Identity; its VJP raises if the cotangent of ``odeint``'s output is not finite."""
    return ys


@primitive
def guard_input(x, name):
    """Identity; its VJP raises if the gradient w.r.t. ``name`` is not finite."""
    return x


defvjp(guard_output, lambda ans, ys: lambda g: _check(
    g, "odeint: the gradient of the loss w.r.t. odeint's output is not finite (the NaN comes "
       "from the loss, not from the solve)"))
defvjp(guard_input, lambda ans, x, name: lambda g: _check(
    g, f"odeint: non-finite gradient w.r.t. {name} from the backward pass through the solve "
       "(a VJP of func produced NaN or inf)"), None)
