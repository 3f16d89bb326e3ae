"""The augmented CNF state as torchdiffeq holds it: a tuple (z (B, D), Δlog p (B,)).

The fused dynamics of this package (`fast.AugmentedDynamics`, `planar.planar_cnf_augmented_fast`)
work on one flat (B, D + 1) array y = [z, Δlog p]. `odeint` then measures the error by the
RMS over all of y, while torchdiffeq (FFJORD's and examples/cnf.py's tuple state) takes the
max of the RMS of z and of Δlog p (its mixed norm, `odeint`'s norm for tuple states). With
`TupleState(flat)` odeint sees the tuple, so its norm — forward, and per element of y and of
the adjoint a in the backward solve — is torchdiffeq's, and `controller="torchdiffeq"` takes
torchdiffeq's steps. Same dynamics, same fused VJP: the wrapper only splits and joins columns.
"""
import autograd.numpy as anp

__all__ = ["TupleState", "join", "split"]


def join(y):
    """(z (B, D), ℓ (B,)) -> (B, D + 1)."""
    z, ell = y
    return anp.concatenate([z, anp.reshape(ell, (-1, 1))], axis=1)


def split(y):
    """(B, D + 1) -> (z (B, D), ℓ (B,))."""
    return y[:, :-1], y[:, -1]


class TupleState:
    """func(t, (z, ℓ), params) -> (dz/dt, dℓ/dt) from a flat augmented dynamics; its
    `f_and_vjp` (odeint's fused-VJP protocol) takes and returns tuples likewise."""

    def __init__(self, flat):
        self.flat = flat

    def __call__(self, t, y, params):
        return split(self.flat(t, join(y), params))

    def f_and_vjp(self, t, y, params, a):
        f, g_y, g_params, g_t = self.flat.f_and_vjp(t, join(y), params, join(a))
        return split(f), split(g_y), g_params, g_t
