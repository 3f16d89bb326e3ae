"""The minibatch estimators' O(B²·D) core as one autograd primitive with a numba VJP.

    logqz, logqz_prod = pairwise_lse(z, mean, log_std, log_w)     # (B,), (B,)
    logqz[i]      = logsumexp_j ( Σ_d log q(z_id | n_j) + log_w[i, j] )
    logqz_prod[i] = Σ_d logsumexp_j ( log q(z_id | n_j) + log_w[i, j] )

with log q(z_id | n_j) = log N(z_id; mean_jd, exp(log_std_jd)²). MWS is log_w = −log(B·N)
everywhere; MSS is `mss.log_importance_weight_matrix` — the estimators of the terms of [TCVAE eq. 2].

Readable twin: `pairwise_lse_reference` (autograd through `log_q_pairs` and logsumexp —
what `objectives.batch_terms` computed before this primitive). The VJP, with
lp_ijd the pair log-density, u = (z_id − mean_jd)·e^{−log_std_jd}, and the softmax weights
a_ij = exp(Σ_d lp_ijd + w_ij − logqz_i), b_ijd = exp(lp_ijd + w_ij − lse_id):

    G_ijd = g_i·a_ij + h_i·b_ijd            (g, h: the cotangents of logqz, logqz_prod)
    ∂z_id = −Σ_j G_ijd·u·e^{−log_std_jd},  ∂mean_jd = Σ_i G_ijd·u·e^{−log_std_jd},
    ∂log_std_jd = Σ_i G_ijd·(u² − 1),       ∂log_w_ij = g_i·a_ij + h_i·Σ_d b_ijd.

`tests/tcvae/test_pairwise.py` holds the primitive to its twin (values and gradients) and
gradient-checks it.
"""
import autograd.numpy as anp
import numpy as np
from autograd.extend import defvjp_argnums, primitive
from autograd.scipy.special import logsumexp
from numba import njit

__all__ = ["pairwise_lse", "pairwise_lse_reference"]

_HALF_LOG_2PI = 0.5 * np.log(2 * np.pi)


def pairwise_lse_reference(z, mean, log_std, log_w):
    """Readable twin (autograd): z, mean, log_std (B, D), log_w (B, B) -> (B,), (B,)."""
    u = (z[:, None, :] - mean[None]) * anp.exp(-log_std[None])             # (B, B, D)
    lp = -0.5 * u ** 2 - log_std[None] - _HALF_LOG_2PI
    logqz = logsumexp(anp.sum(lp, axis=2) + log_w, axis=1)
    logqz_prod = anp.sum(logsumexp(lp + log_w[:, :, None], axis=1), axis=1)
    return logqz, logqz_prod


@njit(cache=True)
def _forward(z, mean, inv_std, log_std, log_w):
    B, D = z.shape
    lp = np.empty((B, B, D))
    joint = np.empty(B)
    lse_d = np.empty((B, D))
    for i in range(B):
        m_j = -np.inf
        for j in range(B):
            tot = log_w[i, j]
            for d in range(D):
                u = (z[i, d] - mean[j, d]) * inv_std[j, d]
                v = -0.5 * u * u - log_std[j, d] - _HALF_LOG_2PI
                lp[i, j, d] = v
                tot += v
            if tot > m_j:
                m_j = tot
        s = 0.0
        for j in range(B):
            t = log_w[i, j]
            for d in range(D):
                t += lp[i, j, d]
            s += np.exp(t - m_j)
        joint[i] = m_j + np.log(s)
        for d in range(D):
            m = -np.inf
            for j in range(B):
                v = lp[i, j, d] + log_w[i, j]
                if v > m:
                    m = v
            s = 0.0
            for j in range(B):
                s += np.exp(lp[i, j, d] + log_w[i, j] - m)
            lse_d[i, d] = m + np.log(s)
    return joint, lse_d, lp


@njit(cache=True)
def _backward(g, h, z, mean, inv_std, log_w, lp, joint, lse_d):
    B, D = z.shape
    dz = np.zeros((B, D))
    dm = np.zeros((B, D))
    dls = np.zeros((B, D))
    dw = np.zeros((B, B))
    for i in range(B):
        for j in range(B):
            t = log_w[i, j]
            for d in range(D):
                t += lp[i, j, d]
            a = g[i] * np.exp(t - joint[i])
            dwij = a
            for d in range(D):
                b = h[i] * np.exp(lp[i, j, d] + log_w[i, j] - lse_d[i, d])
                dwij += b
                G = a + b
                u = (z[i, d] - mean[j, d]) * inv_std[j, d]
                du = G * u * inv_std[j, d]
                dz[i, d] -= du
                dm[j, d] += du
                dls[j, d] += G * (u * u - 1.0)
            dw[i, j] = dwij
    return dz, dm, dls, dw


@primitive
def _pairwise(z, mean, log_std, log_w):
    z, mean, log_std, log_w = (np.ascontiguousarray(a, dtype=np.float64) for a in (z, mean, log_std, log_w))
    joint, lse_d, lp = _forward(z, mean, np.exp(-log_std), log_std, log_w)
    return joint, lse_d.sum(1), lse_d, lp


def _vjp_argnums(argnums, ans, args, kwargs):
    # one backward pass for all requested inputs (a per-input VJP would repeat it)
    z, mean, log_std, log_w = (np.asarray(a, float) for a in args)
    joint, _, lse_d, lp = ans

    def vjp(gs):
        g, h = (np.zeros(joint.shape) if np.isscalar(c) else np.asarray(c, float) for c in gs[:2])
        grads = _backward(g, h, z, mean, np.exp(-log_std), log_w, lp, joint, lse_d)
        return tuple(grads[k] for k in argnums)
    return vjp


defvjp_argnums(_pairwise, _vjp_argnums)


def pairwise_lse(z, mean, log_std, log_w):
    """The fused primitive (numba forward and VJP): (B, D) ×3, (B, B) -> logqz (B,), logqz_prod (B,).

    Only the first two outputs may be differentiated (the others are internals)."""
    out = _pairwise(z, mean, log_std, log_w)
    return out[0], out[1]
