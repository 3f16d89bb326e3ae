"""Flat states: parameter containers <-> flat vectors, and the ODE on a flat state.

What `odeint`'s gradient modes (`refimpl.ode.adjoint`, `refimpl.ode.checkpoint`) see: the
state y: (n,) one flat vector, the differentiable args one list of leaves. Split out of
`traced.py` (the traced step loop), which re-exports these names.
"""
import autograd.numpy as anp
import numpy as np
from autograd import make_vjp
from autograd.tracer import getval

__all__ = ["tree_flatten", "tree_unflatten", "flat_concat", "flat_split", "FlatODE"]


# --- parameter containers <-> flat vectors (autograd.misc.flatten's order, traceable) -----
def tree_flatten(tree):
    """Leaves of a nested list/tuple/dict (dict keys sorted, as autograd.misc.flatten) and the
    structure to rebuild it: returns (leaves, treedef). Boxed containers (autograd's
    SequenceBox/DictBox, when differentiating with respect to a whole container) are
    opened item by item, so the leaves stay traced."""
    v = getval(tree)
    if isinstance(v, (list, tuple)):
        pairs = [tree_flatten(tree[i]) for i in range(len(v))]
        return [l for p in pairs for l in p[0]], (type(v), None, [p[1] for p in pairs])
    if isinstance(v, dict):
        keys = sorted(v)
        pairs = [tree_flatten(tree[k]) for k in keys]
        return [l for p in pairs for l in p[0]], (dict, keys, [p[1] for p in pairs])
    return [tree], None


def tree_unflatten(treedef, leaves):
    """Inverse of `tree_flatten`."""
    it = iter(leaves)

    def build(d):
        if d is None:
            return next(it)
        kind, keys, children = d
        vals = [build(c) for c in children]
        return dict(zip(keys, vals)) if kind is dict else kind(vals)
    return build(treedef)


def flat_concat(leaves, dtype=None):
    """One flat vector of the raveled leaves; (0,) when there are none."""
    if not leaves:
        return np.zeros(0, dtype or np.float64)
    return anp.concatenate([anp.ravel(x) for x in leaves])


def flat_split(vec, shapes):
    """Split a flat vector into leaves of the given shapes (traceable)."""
    out, i = [], 0
    for shp in shapes:
        n = int(np.prod(shp, dtype=np.int64))
        out.append(anp.reshape(vec[i:i + n], shp))
        i += n
    return out


# --- the problem on flat states, as the adjoint and checkpoint primitives see it ------------
class FlatODE:
    """dy/dt = fun(t, y, leaves) on a flat state y: (n,); `leaves` is the list of the
    differentiable arrays in `args` (shapes `leaf_shapes`).

    `f_and_vjp(t, y, leaves, a) -> (f, aᵀ∂f/∂y, [aᵀ∂f/∂leaf], aᵀ∂f/∂t)`: a fused kernel when
    given (`refimpl.nn.time_mlp`), otherwise one `autograd.make_vjp` of `fun` per call (which
    gives exact zeros for leaves `fun` does not use)."""

    def __init__(self, fun, leaf_shapes, fused_vjp=None):
        self.fun = fun
        self.leaf_shapes = [tuple(s) for s in leaf_shapes]
        self.fused_vjp = fused_vjp

    def f_and_vjp(self, t, y, leaves, a):
        if self.fused_vjp is not None:
            return self.fused_vjp(t, y, leaves, a)
        vjp, f = make_vjp(lambda y_, l_, t_: self.fun(t_, y_, l_), argnum=(0, 1, 2))(
            y, list(leaves), t)
        g_y, g_leaves, g_t = vjp(a)
        return f, g_y, g_leaves, g_t
