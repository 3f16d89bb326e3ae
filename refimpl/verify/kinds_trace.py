"""hutchinson: the exact divergence and Hutchinson's estimate for an MLP vector field.

Candidate contract::

    candidate(W1, b1, W2, z, eps) -> (exact (B,), estimate (B,))

for f(z) = tanh(z @ W1 + b1) @ W2 applied to each row of z (B, D): exact[b] = Tr ∂f/∂z at
z[b], estimate[b] = eps[b]ᵀ (∂f/∂z) eps[b] (one probe per row, given: Rademacher or
Gaussian). [FFJORD eq. 7]; refimpl computes them with `refimpl.ffjord.divergence`.
"""
import autograd.numpy as anp
import numpy as np

from ..ffjord.divergence import divergence_exact, divergence_hutchinson
from .base import CaseResult, Kind, check_array

__all__ = ["KINDS", "reference"]

TOL = 1e-10


def _dyn(t, z, params):
    W1, b1, W2 = params
    return anp.dot(anp.tanh(anp.dot(z, W1) + b1), W2)


def reference(W1, b1, W2, z, eps):
    """refimpl's own candidate."""
    p = (W1, b1, W2)
    return divergence_exact(_dyn, 0.0, z, p), divergence_hutchinson(_dyn, 0.0, z, p, eps)


def make_cases():
    rng = np.random.default_rng(2018)
    cases = []
    for i, (D, H, B, noise) in enumerate([(2, 8, 5, "rademacher"), (5, 16, 7, "gaussian"), (10, 32, 4, "rademacher")]):
        W1, b1, W2 = rng.standard_normal((D, H)) / np.sqrt(D), 0.1 * rng.standard_normal(H), \
            rng.standard_normal((H, D)) / np.sqrt(H)
        z = rng.standard_normal((B, D))
        eps = rng.choice([-1.0, 1.0], size=(B, D)) if noise == "rademacher" else rng.standard_normal((B, D))
        ex, est = reference(W1, b1, W2, z, eps)
        cases.append((f"{i}-D{D}-{noise}", dict(W1=W1, b1=b1, W2=W2, z=z, eps=eps, exact=ex, estimate=est),
                      dict(noise=noise, function="f(z) = tanh(z @ W1 + b1) @ W2, row-wise",
                           tolerances={"exact": f"{TOL:g} relative (floor 1)", "estimate": f"{TOL:g} relative (floor 1)"})))
    return cases


def run(cand, arrays, meta):
    a = arrays
    out = cand(a["W1"].copy(), a["b1"].copy(), a["W2"].copy(), a["z"].copy(), a["eps"].copy())
    if not isinstance(out, tuple) or len(out) != 2:
        from .base import BadCall
        raise BadCall("candidate: expected a tuple (exact (B,), estimate (B,))")
    B = a["z"].shape[0]
    return dict(exact=check_array(out[0], "exact", (B,), "exact (B,)"),
                estimate=check_array(out[1], "estimate", (B,), "estimate (B,)"))


def compare(arrays, meta, out):
    err = lambda g, r: float(np.max(np.abs(g - r) / (TOL * np.maximum(np.abs(r), 1.0))))   # noqa: E731
    ae, aq = err(out["exact"], arrays["exact"]), err(out["estimate"], arrays["estimate"])
    agree = max(ae, aq)
    if agree <= 1.0:
        return CaseResult(True, agree)
    diag = []
    if ae > 1.0:
        diag.append("the exact trace differs: check that the Jacobian is of f with respect to z at each row "
                    "(the trace is the same for J and Jᵀ)")
    if aq > 1.0:
        if np.allclose(out["estimate"], arrays["exact"], rtol=1e-8):
            diag.append("the estimate equals the exact trace: the given probes eps were not used")
        elif np.allclose(out["estimate"], np.full_like(arrays["estimate"], arrays["estimate"].mean()), rtol=1e-8):
            diag.append("the estimate is the batch mean: one value per row is expected")
        else:
            diag.append("the probe estimate differs: it must be eps[b]ᵀ J(z[b]) eps[b] with the given eps")
    return CaseResult(False, agree, f"exact {ae:.3g}, estimate {aq:.3g}", "; ".join(diag))


KINDS = {"hutchinson": Kind("hutchinson", __doc__.split("Candidate contract::")[1].strip(), make_cases, run, compare,
                            own="refimpl.verify.kinds_trace:reference")}
