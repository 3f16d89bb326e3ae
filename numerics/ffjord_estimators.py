"""FFJORD checks with numbers: trace estimators, closed forms, normalisation, round trips.

Writes numerics/results/ffjord_estimators.md. Each section is one claim of the test suite
(`tests/ffjord`), here with the measured numbers instead of pass/fail:

1. per-probe identity: divergence_hutchinson == εᵀJε and divergence_exact == tr J (full Jacobian);
2. unbiasedness: |mean - tr J| in standard errors, N probes, both noises and the bottleneck;
3. variance vs closed form: Rademacher Σ_{i≠j} A_ij(A_ij + A_ji), Gaussian ‖A‖_F² + tr A²;
4. linear dynamics: log_prob vs log N(expm(A t1) x) + t1 tr A, in tolerance units;
5. a 2-D CNF's density integrated on a grid, error vs solver tolerance (FFJORD App. C);
6. log_prob(sample(z1)) vs log N(z1) - Δlog p.

    python numerics/ffjord_estimators.py
"""
from pathlib import Path

import autograd.numpy as anp
import numpy as np
import scipy.linalg
from autograd import jacobian

from refimpl.ffjord import (concatsquash_dynamics as F, divergence_exact, divergence_hutchinson,
                            draw_noise, hutchinson_variance, init_concatsquash_dynamics,
                            log_prob, sample, standard_normal_logprob)
from refimpl.testing import tolerance_units

OUT = Path(__file__).resolve().parent / "results" / "ffjord_estimators.md"
T = 0.37


def jac(f, z0, p):
    return jacobian(lambda x: f(T, x[None], p)[0])(z0)


def estimator_rows(N=20000):
    rng = np.random.default_rng(0)
    p = init_concatsquash_dynamics(rng, 5, (3, 6))           # D = 5, bottleneck H = 3
    z = rng.standard_normal((4, 5))
    J = np.stack([jac(F, zb, p) for zb in z])
    enc, dec = F.bottleneck
    rows = [["exact: max abs(div - tr J), 4 points", f"{np.max(np.abs(divergence_exact(F, T, z, p) - np.trace(J, axis1=1, axis2=2))):.2e}", "", "", ""]]
    for noise in ("rademacher", "gaussian"):
        eps = draw_noise(rng, z.shape, noise)
        err = np.max(np.abs(divergence_hutchinson(F, T, z, p, eps) - np.einsum("bi,bij,bj->b", eps, J, eps)))
        rows.append([f"{noise}: max abs(probe - εᵀJε)", f"{err:.2e}", "", "", ""])
    z0 = z[0]
    tr = float(np.trace(J[0]))
    Jh = jac(enc, z0, p)
    Jg = jacobian(lambda x: dec(T, x[None], p)[0])(enc(T, z0[None], p)[0])
    for noise in ("rademacher", "gaussian"):
        for bn, A, H in ((None, J[0], 5), (F.bottleneck, Jh @ Jg, 3)):
            zz = np.repeat(z0[None], N, axis=0)
            est = divergence_hutchinson(F, T, zz, p, draw_noise(rng, (N, H), noise), bottleneck=bn)
            se = est.std(ddof=1) / np.sqrt(N)
            var, want = est.var(ddof=1), hutchinson_variance(A, noise)
            m4 = np.mean((est - est.mean()) ** 4)
            se_var = np.sqrt(max(m4 - var ** 2 * (N - 3) / (N - 1), 0.0) / N)
            name = f"{'bottleneck ' if bn else ''}{noise}"
            rows.append([f"{name}: N={N} probes", f"mean - tr J = {(est.mean() - tr) / se:+.2f} SE",
                         f"{var:.5g}", f"{want:.5g}", f"{(var - want) / se_var:+.2f} SE"])
    return rows


def linear_rows():
    rng = np.random.default_rng(1)
    A, x = 0.7 * rng.standard_normal((3, 3)), rng.standard_normal((64, 3))
    want = standard_normal_logprob(x @ scipy.linalg.expm(0.8 * A).T) + 0.8 * np.trace(A)
    rows = []
    for tol in (1e-3, 1e-5, 1e-7, 1e-9):
        lp = log_prob(lambda t, z, M: anp.dot(z, M.T), A, x, t1=0.8, rtol=tol, atol=tol)
        rows.append([f"{tol:g}", f"{np.max(np.abs(lp - want)):.2e}", f"{tolerance_units(lp, want, tol, tol):.3f}"])
    return rows


def normalisation_rows(lim=6.0, n=80):
    p = [dict(L, W=2.0 * L["W"]) for L in init_concatsquash_dynamics(np.random.default_rng(2), 2, (16, 16))]
    xs = np.linspace(-lim, lim, n)
    X, Y = np.meshgrid(xs, xs)
    pts = np.stack([X.ravel(), Y.ravel()], 1)
    rows = []
    for tol in (1e-2, 1e-3, 1e-4, 1e-6):
        mass = np.sum(np.exp(log_prob(F, p, pts, t1=1.5, rtol=tol, atol=tol))) * (xs[1] - xs[0]) ** 2
        rows.append([f"{tol:g}", f"{mass - 1:+.2e}"])
    return rows


def roundtrip_rows():
    rng = np.random.default_rng(3)
    p = init_concatsquash_dynamics(rng, 2, (16, 16))
    z1 = rng.standard_normal((256, 2))
    rows = []
    for tol in (1e-4, 1e-6, 1e-8):
        x, dlp = sample(F, p, z1, t1=0.9, rtol=tol, atol=tol, return_delta_logp=True)
        lp = log_prob(F, p, x, t1=0.9, rtol=tol, atol=tol)
        rows.append([f"{tol:g}", f"{np.max(np.abs(lp - (standard_normal_logprob(z1) - dlp))):.2e}"])
    return rows


def table(cols, rows):
    return "\n".join(["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
                     + ["| " + " | ".join(map(str, r)) + " |" for r in rows])


if __name__ == "__main__":
    parts = ["# FFJORD estimator and CNF checks\n", "Command: `python numerics/ffjord_estimators.py`\n",
             "## Trace estimators (concatsquash 5-3-6-5, one point; variances vs closed form)\n",
             table(["check", "value", "sample variance", "closed form", "variance dev."], estimator_rows()),
             "\n## Linear dynamics dz/dt = Az, 64 points: log_prob vs closed form\n",
             table(["rtol = atol", "max abs error", "tolerance units (rms)"], linear_rows()),
             "\n## Normalisation: ∫ p(x) dx - 1 on an 80x80 grid over [-6, 6]² (2-D CNF)\n",
             table(["rtol = atol", "mass - 1"], normalisation_rows()),
             "\n## Round trip: log_prob(sample(z1)) vs log N(z1) - Δlog p, 256 points\n",
             table(["rtol = atol", "max abs difference"], roundtrip_rows())]
    text = "\n".join(parts) + "\n"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(text)
