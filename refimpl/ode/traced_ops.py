"""Two array operations of the traced solver as autograd primitives with hand-written VJPs.

`autograd.numpy.stack` expands every operand with a traced `arr[newaxis]` and concatenates;
its VJP is one `untake` per operand (a zero array plus `np.add.at`), and
`dot(stack(ks).T, coef)` adds a dot and a transpose to the tape. In `odeint(gradient=
"backprop")` these combinations of the Runge–Kutta stages ran on every stage of every step
and cost more than the dynamics on small states (the latent ODE of torchdiffeq's
examples/latent_ode.py: ~40 % of an iteration). Here each is one primitive:

* ``lincomb(coef, ks)`` = Σ_j coef_j ks_j (coef a constant (m,) vector, ks m arrays of one
  shape (n,)); VJP with respect to ks_j: coef_j g.
* ``stack(arrays)`` = np.stack(arrays) along a new leading axis; VJP with respect to
  arrays[j]: g[j].

The VJPs are written with `autograd.numpy`, so both stay differentiable to any order. Their
readable twins are ``lincomb_reference`` / ``anp.stack``; tests/ode/test_traced_ops.py holds
them together and gradient-checks the primitives.
"""
import numpy as np
from autograd.extend import defvjp_argnums, primitive

__all__ = ["lincomb", "lincomb_reference", "stack"]


@primitive
def _lincomb(coef, *ks):
    # one BLAS product, bit for bit the untraced path of `traced.rk_step` (np.dot(K.T, coef))
    return np.dot(np.stack(ks).T, coef)


def _lincomb_vjp(argnums, ans, args, kwargs):
    coef = args[0]
    return lambda g: tuple(g * coef[j - 1] for j in argnums)


defvjp_argnums(_lincomb, _lincomb_vjp)


def lincomb(coef, ks):
    """Σ_j coef[j] ks[j]: coef a constant (m,) array (not differentiated), ks a list of m
    (n,) arrays (boxes or arrays). Returns (n,)."""
    coef = np.asarray(coef)
    if coef.ndim != 1 or len(ks) != coef.shape[0] or len(ks) == 0:
        raise ValueError(f"coef: expected one coefficient per array ({len(ks)}), got shape "
                         f"{coef.shape}")
    return _lincomb(coef, *ks)


def lincomb_reference(coef, ks):
    """The readable twin: the sum written out."""
    return sum(c * k for c, k in zip(coef, ks))


@primitive
def _stack(*arrays):
    return np.stack(arrays)


def _stack_vjp(argnums, ans, args, kwargs):
    return lambda g: tuple(g[j] for j in argnums)


defvjp_argnums(_stack, _stack_vjp)


def stack(arrays):
    """np.stack(arrays) (a new leading axis) as one primitive; twin `autograd.numpy.stack`."""
    if len(arrays) == 0:
        raise ValueError("arrays: expected at least one array")
    return _stack(*arrays)
