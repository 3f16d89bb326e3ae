"""Array operations of the traced solver as autograd primitives with hand-written VJPs.

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
* ``wsum(w, ks)`` = Σ_j ks_j w_j summed left to right (torchdiffeq's stage sums, the order of
  `preset_torchdiffeq._wsum`), w itself differentiable (torchdiffeq's first step size is
  traced); VJPs: ks_j: w_j g, w_j: ⟨g, ks_j⟩.
* ``poly_eval(x, coeffs)`` = c_0 + x c_1 + x² c_2 + ... in torchdiffeq's order
  (`interp.py::_interp_evaluate`: running powers), x a traced scalar; VJPs: c_j: x^j g,
  x: Σ_j j x^{j-1} ⟨g, c_j⟩. (The preset's traced runs evaluate the interpolant at all the
  outputs a step reaches in one stacked product, `preset_torchdiffeq._interp_block`; its
  untraced path calls `poly_eval_reference`. `poly_eval` is kept for single traced outputs.)

The VJPs are written with `autograd.numpy`, so they stay differentiable to any order. Their
readable twins are ``lincomb_reference``, ``anp.stack``, ``wsum_reference`` and
``poly_eval_reference``; tests/ode/test_traced_ops.py holds them together and
gradient-checks the primitives.
"""
import autograd.numpy as anp
import numpy as np
from autograd.extend import defvjp_argnums, primitive

__all__ = ["lincomb", "lincomb_reference", "stack", "wsum", "wsum_reference", "poly_eval",
           "poly_eval_reference"]


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


# --- torchdiffeq's arithmetic order -------------------------------------------------------
def wsum_reference(w, ks):
    """The readable twin of `wsum`: Σ_j ks[j] w[j], left to right."""
    acc = ks[0] * w[0]
    for j in range(1, len(ks)):
        acc = acc + ks[j] * w[j]
    return acc


@primitive
def _wsum(w, *ks):
    return wsum_reference(w, ks)                      # plain values here: the same bits


def _wsum_vjp(argnums, ans, args, kwargs):
    w, ks = args[0], args[1:]

    def vjp(g):
        out = []
        for k in argnums:
            if k == 0:                                # ∂/∂w_j = ⟨g, ks_j⟩
                out.append(anp.stack([anp.sum(g * kj) for kj in ks]))
            else:
                out.append(g * w[k - 1])
        return tuple(out)
    return vjp


defvjp_argnums(_wsum, _wsum_vjp)


def wsum(w, ks):
    """Σ_j ks[j] w[j] left to right (ks: m (n,) arrays or boxes; w: (m,), may be a box)."""
    if len(ks) == 0 or np.shape(w) != (len(ks),):
        raise ValueError(f"w: expected one weight per array ({len(ks)}), got shape "
                         f"{np.shape(w)}")
    return _wsum(w, *ks)


def poly_eval_reference(x, coeffs):
    """The readable twin of `poly_eval`: torchdiffeq's `_interp_evaluate` loop."""
    total = coeffs[0] + x * coeffs[1]
    x_power = x
    for c in coeffs[2:]:
        x_power = x_power * x
        total = total + x_power * c
    return total


@primitive
def _poly_eval(x, *coeffs):
    return poly_eval_reference(x, coeffs)             # plain values here: the same bits


def _poly_eval_vjp(argnums, ans, args, kwargs):
    x, coeffs = args[0], args[1:]

    def vjp(g):
        out = []
        for k in argnums:
            if k == 0:                                # d/dx Σ x^j c_j = Σ j x^{j-1} c_j
                d, x_power = anp.sum(g * coeffs[1]), 1.0
                for j in range(2, len(coeffs)):
                    x_power = x_power * x
                    d = d + j * x_power * anp.sum(g * coeffs[j])
                out.append(anp.reshape(d, anp.shape(x)))
            else:
                out.append(g * x ** (k - 1) if k > 1 else g)
        return tuple(out)
    return vjp


defvjp_argnums(_poly_eval, _poly_eval_vjp)


def poly_eval(x, coeffs):
    """Σ_j x^j coeffs[j] in torchdiffeq's order (x: a scalar, may be a box; coeffs: ≥ 2
    arrays or boxes of one shape)."""
    if len(coeffs) < 2 or np.ndim(x) != 0:
        raise ValueError(f"coeffs: expected at least 2 coefficient arrays and a scalar x, got "
                         f"{len(coeffs)} and x of shape {np.shape(x)}")
    return _poly_eval(x, *coeffs)
