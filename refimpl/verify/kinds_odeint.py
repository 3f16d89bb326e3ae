"""odeint-grad: gradients through an ODE solve with an MLP vector field, for the three
gradient modes of `refimpl.ode.odeint` (adjoint, backprop, checkpoint).

Candidate contract::

    candidate(W1, b1, W2, b2, y0, t, cot, *, rtol, atol, gradient)
        -> (ys (len(t), n), g_y0 (n,), g_t (len(t),), g_W1, g_b1, g_W2, g_b2)

for dy/dt = tanh(y @ W1 + b1) @ W2 + b2 (autonomous), ys = y(t_i) (ys[0] = y0), and the
gradients of L = Σ_ij cot_ij · ys_ij. `gradient` is "adjoint", "backprop" or "checkpoint"
(a candidate may implement one and raise for the others). The reference is solved at
rtol = 1e-10, atol = 1e-12 with dopri5; any correct method at those tolerances agrees to the
stated 1e-6 relative (floor 1e-6), so the kind checks the mathematics, not the step sequence.
"""
import autograd.numpy as anp
import numpy as np
from autograd import grad

from ..ode import odeint
from .base import BadCall, CaseResult, Kind, check_array

__all__ = ["KINDS", "reference"]

TOL = 1e-6
NAMES = ("ys", "g_y0", "g_t", "g_W1", "g_b1", "g_W2", "g_b2")


def _f(t, y, W1, b1, W2, b2):
    return anp.dot(anp.tanh(anp.dot(y, W1) + b1), W2) + b2


def reference(W1, b1, W2, b2, y0, t, cot, *, rtol, atol, gradient):
    """refimpl's own candidate: `odeint` with the given gradient mode."""
    def loss(y0_, t_, W1_, b1_, W2_, b2_):
        ys = odeint(_f, y0_, t_, (W1_, b1_, W2_, b2_), rtol=rtol, atol=atol, gradient=gradient)
        return anp.sum(ys * cot)
    ys = odeint(_f, y0, t, (W1, b1, W2, b2), rtol=rtol, atol=atol, gradient=gradient)
    g = grad(loss, argnum=(0, 1, 2, 3, 4, 5))(y0, t, W1, b1, W2, b2)
    return (np.asarray(ys),) + tuple(np.asarray(x) for x in g)


def make_cases():
    rng = np.random.default_rng(2019)
    cases = []
    for i, (n, H, T) in enumerate([(2, 8, 3), (3, 16, 5)]):
        W1, b1 = rng.standard_normal((n, H)) / np.sqrt(n), 0.1 * rng.standard_normal(H)
        W2, b2 = rng.standard_normal((H, n)) / np.sqrt(H), 0.1 * rng.standard_normal(n)
        y0, t = rng.standard_normal(n), np.sort(rng.uniform(0, 2, T - 1))
        t = np.concatenate([[0.0], t])
        cot = rng.standard_normal((T, n))
        for mode in ("adjoint", "backprop", "checkpoint"):
            out = reference(W1, b1, W2, b2, y0, t, cot, rtol=1e-10, atol=1e-12, gradient=mode)
            arrays = dict(W1=W1, b1=b1, W2=W2, b2=b2, y0=y0, t=t, cot=cot, **dict(zip(NAMES, out)))
            cases.append((f"{i}-n{n}-{mode}", arrays,
                          dict(gradient=mode, rtol=1e-10, atol=1e-12, method="dopri5",
                               dynamics="dy/dt = tanh(y @ W1 + b1) @ W2 + b2", loss="sum(cot * ys)",
                               tolerances={k: f"{TOL:g} relative (floor 1e-6)" for k in NAMES})))
    return cases


def run(cand, arrays, meta):
    a = arrays
    out = cand(*(a[k].copy() for k in ("W1", "b1", "W2", "b2", "y0", "t", "cot")), rtol=meta["rtol"],
               atol=meta["atol"], gradient=meta["gradient"])
    if not isinstance(out, tuple) or len(out) != 7:
        raise BadCall("candidate: expected a tuple (ys, g_y0, g_t, g_W1, g_b1, g_W2, g_b2)")
    return {k: check_array(v, k, a[k].shape, k) for k, v in zip(NAMES, out)}


def compare(arrays, meta, out):
    errs = {k: float(np.max(np.abs(out[k] - arrays[k]) / (TOL * np.maximum(np.abs(arrays[k]), 1e-6))))
            for k in NAMES}
    agree = max(errs.values())
    if agree <= 1.0:
        return CaseResult(True, agree)
    bad = [k for k, e in errs.items() if e > 1.0]
    hints = {"g_t": "the gradient w.r.t. the output times is cot_i · f(t_i, y_i) at each t_i (and minus their sum "
                    "at t_0 when t_0 is an input)",
             "g_y0": "the adjoint state at t_0 (a(t_0))",
             "ys": "the forward solve itself"}
    if bad == ["ys"] or "ys" in bad:
        why = "the forward solution differs: check the dynamics and tolerances before the gradients"
    elif set(bad) <= {"g_W1", "g_b1", "g_W2", "g_b2"}:
        why = ("only the parameter gradients differ: the integral of a(t)ᵀ ∂f/∂θ along the backward solve "
               "(NeuralODE eq. 5) — check that it starts from 0 at t_N and accumulates across every interval")
    else:
        why = "; ".join(hints.get(k, k) for k in bad)
    return CaseResult(False, agree, "blocks differing: " + ", ".join(f"{k} ({errs[k]:.3g})" for k in bad), why)


KINDS = {"odeint-grad": Kind("odeint-grad", __doc__.split("Candidate contract::")[1].split("The reference")[0].strip(),
                             make_cases, run, compare, own="refimpl.verify.kinds_odeint:reference")}
