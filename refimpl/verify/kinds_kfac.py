"""kfac: one dense layer's Kronecker factors, the damped preconditioned gradient, and a noisy
K-FAC draw given its noise.

Candidate contract::

    candidate(abar, ds, V, gamma, damping, M, scale, eps) -> (A, S, precond, sample)

abar (B, d_A): the layer inputs with the bias column of ones last; ds (B, d_S): the
per-example output-gradient signals; A = abarᵀ abar / B, S = dsᵀ ds / B [K-FAC eq. (1)];
precond = [A ⊗ S + damping]⁻¹ vec V as a (d_A, d_S) matrix, with damping "factored"
((A + π√γ I)⁻¹ V (S + √γ/π I)⁻¹, π = sqrt((tr A/d_A)/(tr S/d_S)); K-FAC Sec. 6.3,
[NoisyNG eq. 19]) or "eigen" ((A⊗S + γI)⁻¹ exactly); sample = M + scale·L_A eps L_Sᵀ with the
*eigen* square roots L_A = Q_A diag((e_A + π√γ)^(−1/2)) (factored) — or M + scale·Q_A (eps /
sqrt(e_A e_Sᵀ + γ)) Q_Sᵀ (eigen) — the draw of [NoisyNG Alg. 2] given eps (d_A, d_S).
Another square root (Cholesky) gives a different draw of the same distribution: diagnosed
as a convention.
"""
import numpy as np

from ..nng import kfac
from .base import BadCall, CaseResult, Kind, check_array

__all__ = ["KINDS", "reference"]

TOL = 1e-9


def reference(abar, ds, V, gamma, damping, M, scale, eps):
    """refimpl's own candidate (`refimpl.nng.kfac`)."""
    B = abar.shape[0]
    A, S = abar.T @ abar / B, ds.T @ ds / B
    P = kfac.damped_inverse(kfac.eig_factors(A, S), gamma, damping)
    precond = kfac.precondition(P, V)

    class _Fixed:                                     # hands `sample_matrix_normal` the given noise
        @staticmethod
        def standard_normal(shape):
            return eps
    return A, S, precond, kfac.sample_matrix_normal(P, M, scale, _Fixed)


def make_cases():
    rng = np.random.default_rng(2015)
    cases = []
    for i, (B, d_in, d_S, gamma) in enumerate([(32, 3, 2, 1e-2), (64, 6, 4, 1e-3)]):
        abar = np.hstack([rng.standard_normal((B, d_in)), np.ones((B, 1))])
        ds = rng.standard_normal((B, d_S)) * 0.5
        V, M = rng.standard_normal((d_in + 1, d_S)), rng.standard_normal((d_in + 1, d_S))
        eps = rng.standard_normal((d_in + 1, d_S))
        for damping in ("factored", "eigen"):
            A, S, pc, smp = reference(abar, ds, V, gamma, damping, M, 0.1, eps)
            cases.append((f"{i}-B{B}-{damping}", dict(abar=abar, ds=ds, V=V, M=M, eps=eps, A=A, S=S, precond=pc,
                                                      sample=smp),
                          dict(gamma=gamma, damping=damping, scale=0.1,
                               tolerances={k: f"{TOL:g} relative (floor 1)" for k in ("A", "S", "precond", "sample")})))
    return cases


def run(cand, arrays, meta):
    a = arrays
    out = cand(a["abar"].copy(), a["ds"].copy(), a["V"].copy(), meta["gamma"], meta["damping"], a["M"].copy(),
               meta["scale"], a["eps"].copy())
    if not isinstance(out, tuple) or len(out) != 4:
        raise BadCall("candidate: expected a tuple (A, S, precond, sample)")
    return {k: check_array(v, k, a[k].shape, k) for k, v in zip(("A", "S", "precond", "sample"), out)}


def compare(arrays, meta, out):
    errs = {k: float(np.max(np.abs(out[k] - arrays[k]) / (TOL * np.maximum(np.abs(arrays[k]), 1.0))))
            for k in ("A", "S", "precond", "sample")}
    agree = max(errs.values())
    if agree <= 1.0:
        return CaseResult(True, agree)
    bad = [k for k, e in errs.items() if e > 1.0]
    A, S, g = arrays["A"], arrays["S"], meta["gamma"]
    why = []
    if "A" in bad or "S" in bad:
        n = arrays["abar"].shape[0]
        if np.allclose(out["A"], arrays["A"] * n, rtol=1e-9):
            why.append("A is a sum over the batch, not a mean (divide by B)")
        else:
            why.append("the factors differ: A = abarᵀ abar / B with the bias column included")
    if "precond" in bad:
        other = "eigen" if meta["damping"] == "factored" else "factored"
        alt = kfac.precondition(kfac.damped_inverse(kfac.eig_factors(A, S), g, other), arrays["V"])
        plain = np.linalg.solve(A + np.sqrt(g) * np.eye(len(A)), arrays["V"]) @ np.linalg.inv(S + np.sqrt(g) * np.eye(len(S)))
        if np.allclose(out["precond"], alt, rtol=1e-8):
            why.append(f"convention: '{other}' damping where '{meta['damping']}' was asked")
        elif np.allclose(out["precond"], plain, rtol=1e-8):
            why.append("convention: factored damping without π (√γ added to both factors)")
        else:
            why.append("the preconditioned gradient differs: check the damping and the order A⁻¹ V S⁻¹")
    if "sample" in bad and "precond" not in bad:
        if meta["damping"] == "factored":
            r = np.sqrt(g)
            E = kfac.eig_factors(A, S)
            LA = np.linalg.cholesky(A + E["pi"] * r * np.eye(len(A)))
            LS = np.linalg.cholesky(S + r / E["pi"] * np.eye(len(S)))
            chol = arrays["M"] + meta["scale"] * np.linalg.solve(LA.T, arrays["eps"]) @ np.linalg.inv(LS)
            if np.allclose(out["sample"], chol, rtol=1e-8):
                why.append("convention: a Cholesky square root of the damped inverse; the kit's draw uses the eigen "
                           "square root (same distribution, another draw)")
        if not why:
            why.append("the draw differs: sample = M + scale · L_A eps L_Sᵀ with the given eps")
    return CaseResult(False, agree, "blocks differing: " + ", ".join(bad), "; ".join(why))


KINDS = {"kfac": Kind("kfac", __doc__.split("Candidate contract::")[1].split("Another square root")[0].strip(),
                      make_cases, run, compare, own="refimpl.verify.kinds_kfac:reference")}
