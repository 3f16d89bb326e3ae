"""The estimator kinds' diagnoses tell a convention from a bug: each candidate below makes one
realistic mistake, and every failing case's diagnosis must name that mistake."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad

from refimpl.verify import run_verify, write_vectors
from refimpl.verify.kinds_vi import reference_gradient


@pytest.fixture(scope="module")
def vec(tmp_path_factory):
    d = tmp_path_factory.mktemp("vectors_est")
    for kind in ("vi-gradients", "hutchinson", "tcvae-mss", "kfac", "odeint-grad"):
        write_vectors(d, only=kind, log=lambda s: None)
    return d


def _diagnoses(kind, cand, vec):
    lines = []
    rc = run_verify(kind, f"{__name__}:{cand}", vec, log=lines.append)
    fails = [ln for ln in lines if ln.startswith("FAIL")]
    return rc, fails, [ln for ln in lines if "diagnosis:" in ln]


def _logpdf(z, m, s):
    return anp.sum(-0.5 * ((z - m) / anp.exp(s)) ** 2 - s - 0.5 * anp.log(2 * anp.pi), axis=-1)


# --- vi-gradients -----------------------------------------------------------------------

def iwae_stl_keeps_score(estimator, tm, tls, qm, qls, eps):
    """iwae-stl answered with iwae-total (the K = 1 cases equal 'total' too)."""
    return reference_gradient("iwae-total" if estimator == "iwae-stl" else estimator, tm, tls, qm, qls, eps)


def score_with_explicit_term(estimator, tm, tls, qm, qls, eps):
    gm, gs = reference_gradient(estimator, tm, tls, qm, qls, eps)
    if estimator == "score":                            # - mean_k ∇_φ log q(z_k), z fixed
        gm, gs = gm - np.mean(eps, 0) / np.exp(qls), gs - np.mean(eps ** 2 - 1, 0)
    return gm, gs


def stl_detaching_z(estimator, tm, tls, qm, qls, eps):
    """STL written as log q(stop_gradient(z); φ): the stop-gradient on the wrong argument."""
    if estimator != "stl":
        return reference_gradient(estimator, tm, tls, qm, qls, eps)
    z_fixed = qm + np.exp(qls) * eps

    def f(m, s):
        return anp.mean(_logpdf(m + anp.exp(s) * eps, tm, tls) - _logpdf(z_fixed, m, s))
    return grad(f, 0)(qm, qls), grad(f, 1)(qm, qls)


def log_std_bug(estimator, tm, tls, qm, qls, eps):
    gm, gs = reference_gradient(estimator, tm, tls, qm, qls, eps)
    return gm, gs + 0.1


@pytest.mark.parametrize("cand, pattern, failing", [
    ("iwae_stl_keeps_score", "score term is kept inside the IWAE weights", 3),
    ("score_with_explicit_term", "explicit term -E[∇_φ log q(z)] kept", 3),
    ("stl_detaching_z", "z is detached inside log q", 4),
    ("log_std_bug", "grad_q_log_std differ and match no other estimator", 19),
])
def test_vi_mistakes_are_named(vec, cand, pattern, failing):
    rc, fails, diags = _diagnoses("vi-gradients", cand, vec)
    assert rc == 1 and len(fails) == failing == len(diags)
    assert all(pattern in d for d in diags), diags


# --- hutchinson -------------------------------------------------------------------------

def hutchinson_ignores_probes(W1, b1, W2, z, eps):
    from refimpl.verify.kinds_trace import reference
    ex, _ = reference(W1, b1, W2, z, eps)
    return ex, ex.copy()


def hutchinson_own_probes(W1, b1, W2, z, eps):
    from refimpl.verify.kinds_trace import reference
    return reference(W1, b1, W2, z, np.random.default_rng(0).standard_normal(eps.shape))


@pytest.mark.parametrize("cand, pattern", [("hutchinson_ignores_probes", "the given probes eps were not used"),
                                           ("hutchinson_own_probes", "with the given eps")])
def test_hutchinson_mistakes_are_named(vec, cand, pattern):
    rc, fails, diags = _diagnoses("hutchinson", cand, vec)
    assert rc == 1 and len(fails) == 3 and all(pattern in d for d in diags), diags


# --- tcvae-mss ---------------------------------------------------------------------------

def mws_everywhere(z, mean, log_std, N, estimator):
    from refimpl.tcvae.mss import log_qz_mws
    return log_qz_mws(z, mean, log_std, N)


def test_mws_for_mss_is_a_named_convention(vec):
    rc, fails, diags = _diagnoses("tcvae-mss", "mws_everywhere", vec)
    assert rc == 1 and len(fails) == 3 and all("computes MWS where MSS was asked" in d for d in diags), diags


# --- kfac ------------------------------------------------------------------------------

def kfac_damping_without_pi(abar, ds, V, gamma, damping, M, scale, eps):
    from refimpl.verify.kinds_kfac import reference
    A, S, pc, smp = reference(abar, ds, V, gamma, damping, M, scale, eps)
    if damping == "factored":
        r = np.sqrt(gamma)
        pc = np.linalg.solve(A + r * np.eye(len(A)), V) @ np.linalg.inv(S + r * np.eye(len(S)))
    return A, S, pc, smp


def test_kfac_damping_without_pi_is_named(vec):
    rc, fails, diags = _diagnoses("kfac", "kfac_damping_without_pi", vec)
    assert rc == 1 and len(fails) == 2 and all("factored damping without π" in d for d in diags), diags


# --- odeint-grad -------------------------------------------------------------------------

def odeint_flipped_time_gradient(W1, b1, W2, b2, y0, t, cot, *, rtol, atol, gradient):
    from refimpl.verify.kinds_odeint import reference
    out = reference(W1, b1, W2, b2, y0, t, cot, rtol=rtol, atol=atol, gradient=gradient)
    return out[:2] + (-out[2],) + out[3:]


def test_odeint_time_gradient_is_located(vec):
    rc, fails, diags = _diagnoses("odeint-grad", "odeint_flipped_time_gradient", vec)
    assert rc == 1 and len(fails) == 6
    assert all("g_t" in f and "g_y0" not in f for f in fails)
    assert all("gradient w.r.t. the output times" in d for d in diags)
