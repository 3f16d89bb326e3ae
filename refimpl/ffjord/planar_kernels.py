"""Numba kernels for the planar NF and their readable NumPy twins (the NF of `planar.py`).

`nf_forward_kernel` / `nf_backward_kernel`: the K planar layers of R&M eqs. (10)-(13) and
their reverse sweep; twins `_nf_layers` / `_nf_backward` (NumPy, below). The K layers
are sequential, so a NumPy loop pays K × (a few array calls); the kernel runs them in one
call. (The planar CNF's dynamics are one matrix product per evaluation: their fused fast
path is plain NumPy, in `planar.py`.)

Loops are written out over the batch (B), layers (K) and dimension (D); the tests hold each
kernel to its twin at ~1e-12 relative. Kernels compile lazily on first call
(`cache=True`, `fastmath=False`).

References
----------
D. J. Rezende, S. Mohamed. Variational inference with normalizing flows. ICML 2015 (eqs. 10-13).
"""
import math

import numpy as np
from numba import njit

__all__ = ["nf_forward_kernel", "nf_backward_kernel"]


# --- planar NF: K layers ----------------------------------------------------------------------

@njit(cache=True, fastmath=False)
def nf_forward_kernel(W, U, b, z):
    """W, U: (K, D) (U = û), b: (K,), z: (B, D) -> zs (K+1, B, D), hs (K, B), dets (K, B), c (K,)."""
    K, D = W.shape
    B = z.shape[0]
    zs = np.empty((K + 1, B, D))
    hs = np.empty((K, B))
    dets = np.empty((K, B))
    c = np.zeros(K)
    for k in range(K):
        for d in range(D):
            c[k] += W[k, d] * U[k, d]                   # wᵀû
    zs[0] = z
    for k in range(K):
        for i in range(B):
            a = 0.0
            for d in range(D):
                a += zs[k, i, d] * W[k, d]
            h = math.tanh(a + b[k])
            hs[k, i] = h
            # R&M eqs. (11)-(12): det = 1 + ûᵀψ, ψ = h'(wᵀz + b) w
            dets[k, i] = 1.0 + (1.0 - h * h) * c[k]
            for d in range(D):
                zs[k + 1, i, d] = zs[k, i, d] + h * U[k, d]     # eq. (10)
    return zs, hs, dets, c


@njit(cache=True, fastmath=False)
def nf_backward_kernel(W, U, zs, hs, dets, c, gz_in, gl):
    """Reverse sweep for gᵀz_K + g_lᵀ Σ_k log|det_k|; gz_in: (B, D), gl: (B,).
    Returns (gW, gU, gb, gz) with gU the gradient with respect to û."""
    K, D = W.shape
    B = gz_in.shape[0]
    gz = gz_in.copy()
    gW, gU, gb = np.zeros((K, D)), np.zeros((K, D)), np.zeros(K)
    for k in range(K - 1, -1, -1):
        gc = 0.0
        for i in range(B):
            h, det = hs[k, i], dets[k, i]
            s = 1.0 - h * h                               # h'(a)
            gc += gl[i] * s / det                         # ∂ log|1 + s c| / ∂c
            gh = 0.0
            for d in range(D):
                gh += gz[i, d] * U[k, d]
                gU[k, d] += gz[i, d] * h                  # z_k = z_{k-1} + h û_k
            gh -= 2.0 * h * (gl[i] * c[k] / det)          # through s = 1 - h²
            ga = gh * s
            gb[k] += ga
            for d in range(D):
                gW[k, d] += zs[k, i, d] * ga
                gz[i, d] += ga * W[k, d]
        for d in range(D):
            gW[k, d] += gc * U[k, d]
            gU[k, d] += gc * W[k, d]
    return gW, gU, gb, gz


# --- the readable NumPy twins -----------------------------------------------------------------

def _nf_layers(W, U, b, z):
    """Forward pass storing z_0..z_K (K+1, B, D), h (K, B) and det (K, B)."""
    K = W.shape[0]
    zs, hs, dets = [z], [], []
    c = np.sum(W * U, axis=1)                                       # (K,) wᵀû
    for k in range(K):
        h = np.tanh(zs[-1] @ W[k] + b[k])                           # (B,)
        dets.append(1.0 + (1.0 - h * h) * c[k])
        hs.append(h)
        zs.append(zs[-1] + h[:, None] * U[k])
    return zs, hs, dets, c


def _nf_backward(W, U, zs, hs, dets, c, gz, gl):
    """Reverse sweep of `_nf_layers` for gᵀz_K + g_lᵀ Σ log|det_k| (NumPy twin of
    `planar_kernels.nf_backward_kernel`). Returns (gW, gU (w.r.t. û), gb, gz)."""
    gz = gz.copy()                                                  # (B, D)
    gW, gU, gb = np.zeros_like(W), np.zeros_like(U), np.zeros(W.shape[0])
    for k in range(W.shape[0] - 1, -1, -1):
        h, det = hs[k], dets[k]
        s = 1.0 - h * h                                             # h'(a)
        # z_k = z_{k-1} + h û_k
        gU[k] += gz.T @ h
        gh = gz @ U[k]                                              # (B,)
        # log|1 + s c|: ∂/∂s = c/det, ∂/∂c = s/det
        gc = np.sum(gl * s / det)
        gh = gh - 2.0 * h * (gl * c[k] / det)                       # through s = 1 - h²
        ga = gh * s                                                 # (B,)
        gW[k] += zs[k].T @ ga + gc * U[k]
        gU[k] += gc * W[k]
        gb[k] = np.sum(ga)
        gz = gz + ga[:, None] * W[k]
    return gW, gU, gb, gz
