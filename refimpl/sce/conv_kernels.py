"""The conv net's first block as one fused primitive: 5x5 valid convolution + bias + ReLU +
2x2 average pool, forward and VJP in numba, with no im2col matrix in memory.

    z[b, i, j, c]  = bc[c] + Σ_{dr, dc} x[b, i + dr, j + dc] · Wc[5 dr + dc, c]      (24 x 24)
    out[b, p, q, c] = ¼ Σ_{u, v ∈ {0,1}} max(z[b, 2p + u, 2q + v, c], 0)              (12 x 12)

VJP, with gz = ¼ · g[b, i//2, j//2, c] · [z > 0]:
    ∂x[b, i + dr, j + dc] += Σ_c Wc[k, c] gz[b, i, j, c];  ∂Wc[k, c] += Σ x[...] gz;  ∂bc[c] += Σ gz.

The readable twin is `models.conv_features_reference` (im2col by fancy indexing, autograd);
tests hold the two together and gradient-check this VJP. One pass over the images per call,
the channel loop innermost (contiguous, SIMD-friendly); ``cache=True``, ``fastmath=False``.
"""
import weakref

import numpy as np
from autograd.extend import defvjp_argnums, primitive

__all__ = ["conv_relu_pool"]

SIDE, K = 28, 5
O = SIDE - K + 1                      # 24: conv output side
P = O // 2                            # 12: pooled side
_KERNELS = {}


def _kernels():
    # compiled on first use (importing refimpl compiles nothing)
    if not _KERNELS:
        from numba import njit

        @njit(cache=True, fastmath=False)
        def forward(img, W, bias, out, active):
            # img: (B, 28, 28); W: (25, C); out: (B, 12, 12, C) zeroed;
            # active: (B, 24, 24, C) uint8, 1 where the pre-activation z > 0 (all the VJP needs)
            B, C = img.shape[0], W.shape[1]
            acc = np.empty(C)
            for b in range(B):
                for i in range(O):
                    for j in range(O):
                        for c in range(C):
                            acc[c] = bias[c]
                        for dr in range(K):
                            for dc in range(K):
                                v = img[b, i + dr, j + dc]
                                k = dr * K + dc
                                for c in range(C):
                                    acc[c] += v * W[k, c]
                        for c in range(C):
                            if acc[c] > 0.0:
                                active[b, i, j, c] = 1
                                out[b, i // 2, j // 2, c] += 0.25 * acc[c]
                            else:
                                active[b, i, j, c] = 0

        @njit(cache=True, fastmath=False)
        def relu_pool_vjp(g, active, gz):
            # gz[b, i, j, c] = ¼ g[b, i//2, j//2, c] where z > 0, else 0: (B, 24, 24, C)
            B, C = active.shape[0], active.shape[3]
            for b in range(B):
                for i in range(O):
                    for j in range(O):
                        for c in range(C):
                            gz[b, i, j, c] = 0.25 * g[b, i // 2, j // 2, c] if active[b, i, j, c] else 0.0

        @njit(cache=True, fastmath=False)
        def col2im(G, gx):
            # gx[b, i + dr, j + dc] += G[b, i, j, 5 dr + dc]; G: (B, 24, 24, 25) (rows contiguous)
            B = G.shape[0]
            for b in range(B):
                for i in range(O):
                    for j in range(O):
                        for dr in range(K):
                            for dc in range(K):
                                gx[b, i + dr, j + dc] += G[b, i, j, dr * K + dc]

        _KERNELS["relu_pool_vjp"], _KERNELS["col2im"] = relu_pool_vjp, col2im
        _KERNELS["forward"] = forward
    return _KERNELS


def _forward(Wc, bc, x):
    B, C = x.shape[0], Wc.shape[1]
    img = np.ascontiguousarray(x, dtype=np.float64).reshape(B, SIDE, SIDE)
    out = np.zeros((B, P, P, C))
    active = np.empty((B, O, O, C), dtype=np.uint8)   # 1 where the pre-activation is > 0
    _kernels()["forward"](img, np.ascontiguousarray(Wc, dtype=np.float64),
                          np.ascontiguousarray(bc, dtype=np.float64), out, active)
    return out, active, img


#: id(output) -> (active, img) of the forward pass, so the VJP does not recompute them; an entry
#: lives as long as the output array (dropped by a weakref finalizer)
_SAVED = {}


@primitive
def conv_relu_pool(Wc, bc, x):
    """Wc: (25, C), bc: (C,), x: (B, 784) -> (B, 12*12*C) in (row, column, channel) order."""
    out, active, img = _forward(Wc, bc, x)
    ans = out.reshape(x.shape[0], -1)
    _SAVED[id(ans)] = (active, img)
    weakref.finalize(ans, _SAVED.pop, id(ans), None)
    return ans


def _vjp_argnums(argnums, ans, args, kwargs):
    Wc, bc, x = args

    def vjp(g):
        B, C = x.shape[0], Wc.shape[1]
        saved = _SAVED.get(id(ans))
        active, img = saved if saved is not None else _forward(Wc, bc, x)[1:]
        gz = np.empty((B, O, O, C))                                  # ∂L/∂z, (B, 24, 24, C)
        _kernels()["relu_pool_vjp"](np.ascontiguousarray(g).reshape(B, P, P, C), active, gz)
        gz2 = gz.reshape(-1, C)                                      # (B*576, C)
        grads = {}
        if 1 in argnums:                                             # ∂bc = Σ gz
            grads[1] = gz2.sum(axis=0)
        if 2 in argnums:                                             # ∂x: (gz Wcᵀ) scattered back
            gx = np.zeros((B, SIDE, SIDE))
            _kernels()["col2im"]((gz2 @ np.asarray(Wc).T).reshape(B, O, O, K * K), gx)
            grads[2] = gx.reshape(B, SIDE * SIDE)
        if 0 in argnums:                                             # ∂Wc[k] = patches_kᵀ gz
            grads[0] = np.stack([img[:, dr:dr + O, dc:dc + O].reshape(-1) @ gz2
                                 for dr in range(K) for dc in range(K)])
        return tuple(grads[a] for a in argnums)
    return vjp


defvjp_argnums(conv_relu_pool, _vjp_argnums)
