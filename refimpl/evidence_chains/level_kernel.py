"""One level of the evidence chains as a fused numba kernel with a hand-written VJP.

    H_d = level_fused(H_child, P, log_kappa, W1, b1, W2, b2, r, lv, kind)     # (N_d, D)

is the same function as `model.level_twin` (the readable autograd version: features,
MLP, segment mean, shrinkage, concatenation, permutation) in one autograd primitive, so a
level costs one traced operation instead of ~15 and no `np.add.at` scatters.

Node j of the level (pre-order = level order) is, by lv["typ"][j]:
  INNER    its children are the child-level rows c in lv["cptr"][j]:lv["cptr"][j+1] and
           [EvidenceChains Sec. 3] h_j = mean_c f([h_c, r_c, r_c h_c]), f(x) = tanh(x W1 + b1) W2 + b2,
           then (if shrink) w h_j + (1 - w) P̄, w = n / (n + κ), κ = exp(log_kappa[kind]);
  PROTO    h_j = P[lv["slot"][j]];
  FALLBACK h_j = P̄ = mean_k P_k.

Two identities make it cheap (exact algebra, rounding-level differences from the twin):
the second layer is affine, so mean_c (a_c W2 + b2) = (mean_c a_c) W2 + b2 (one product per
parent, not per child), and the first layer on [h, r, r h] is
z = b1 + r W1[D] + h (W1[:D] + r W1[D+1:]). In the VJP the message cotangent
g_msg = w g_j / n is the same for every child of j, so g_a = g_msg W2ᵀ is computed once per
parent. The VJP recomputes the hidden activations (nothing is stored between passes).

Shapes: H_child (N_{d+1}, D), r (N_{d+1},) = ratings - centre, P (n_P, D), W1 (2D+1, Hd),
b1 (Hd,), W2 (Hd, D), b2 (D,).

References
----------
E. Tragas et al. Scalable Recommender Systems through Recursive Evidence Chains.
arXiv:1807.02150 (2018), Sec. 3.
"""
import numpy as np
from autograd.extend import defvjp_argnums, primitive
from numba import njit

__all__ = ["INNER", "PROTO", "FALLBACK", "level_fused", "level_forward", "level_backward"]

INNER, PROTO, FALLBACK = 0, 1, 2
_FM = {"reassoc", "contract"}


@njit(cache=True, fastmath=_FM)
def _hidden(h, r, W1, b1, a):
    """a = tanh(b1 + r W1[D] + Σ_k h_k (W1[k] + r W1[D+1+k])): the first layer on [h, r, r h]."""
    D, Hd = h.size, b1.size
    for m in range(Hd):
        a[m] = b1[m] + r * W1[D, m]
    for k in range(D):
        hk, rhk = h[k], r * h[k]
        for m in range(Hd):
            a[m] += hk * W1[k, m] + rhk * W1[D + 1 + k, m]
    for m in range(Hd):
        a[m] = np.tanh(a[m])


@njit(cache=True, fastmath=_FM)
def _weight(n, kappa, shrink):
    return n / (n + kappa) if shrink else 1.0


@njit(cache=True, fastmath=_FM)
def level_forward(H, r, P, kappa, shrink, W1, b1, W2, b2, typ, slot, cptr):
    """Latents of one level: (N_d, D). kappa = exp(log κ) of the level's kind (unused
    unless shrink)."""
    N, D, Hd = typ.size, P.shape[1], b1.size
    Pbar = np.zeros(D)
    for p in range(P.shape[0]):
        Pbar += P[p]
    Pbar /= P.shape[0]
    out = np.empty((N, D))
    a, abar = np.empty(Hd), np.empty(Hd)
    for j in range(N):
        if typ[j] == INNER:
            s, e = cptr[j], cptr[j + 1]
            n = e - s
            abar[:] = 0.0
            for c in range(s, e):
                _hidden(H[c], r[c], W1, b1, a)
                abar += a
            abar /= n
            w = _weight(n, kappa, shrink)
            for k in range(D):                                  # mean message = ā W2 + b2
                acc = b2[k]
                for m in range(Hd):
                    acc += abar[m] * W2[m, k]
                out[j, k] = w * acc + (1.0 - w) * Pbar[k]
        elif typ[j] == PROTO:
            out[j] = P[slot[j]]
        else:
            out[j] = Pbar
    return out


@njit(cache=True, fastmath=_FM)
def level_backward(G, H, r, P, kappa, shrink, W1, b1, W2, b2, typ, slot, cptr):
    """Cotangents (gH, gP, g_log_kappa, gW1, gb1, gW2, gb2) of `level_forward` for the
    output cotangent G (N_d, D)."""
    N, D, Hd = typ.size, P.shape[1], b1.size
    nP = P.shape[0]
    Pbar = np.zeros(D)
    for p in range(nP):
        Pbar += P[p]
    Pbar /= nP
    gH, gP = np.zeros(H.shape), np.zeros(P.shape)
    gW1, gb1, gW2, gb2 = np.zeros(W1.shape), np.zeros(Hd), np.zeros(W2.shape), np.zeros(D)
    gPbar, g_logk = np.zeros(D), 0.0
    a, asum, ga, gz, gmsg = np.empty(Hd), np.empty(Hd), np.empty(Hd), np.empty(Hd), np.empty(D)
    for j in range(N):
        if typ[j] == PROTO:
            gP[slot[j]] += G[j]
            continue
        if typ[j] == FALLBACK:
            gPbar += G[j]
            continue
        s, e = cptr[j], cptr[j + 1]
        n = e - s
        w = _weight(n, kappa, shrink)
        for k in range(D):
            gmsg[k] = w * G[j, k] / n                           # d out_j / d msg_c, every child c
        gPbar += (1.0 - w) * G[j]
        for m in range(Hd):                                     # g_a = g_msg W2ᵀ (per parent)
            acc = 0.0
            for k in range(D):
                acc += W2[m, k] * gmsg[k]
            ga[m] = acc
        asum[:] = 0.0
        for c in range(s, e):
            rc = r[c]
            _hidden(H[c], rc, W1, b1, a)
            asum += a
            for m in range(Hd):
                gz[m] = ga[m] * (1.0 - a[m] * a[m])             # tanh' = 1 - a²
                gb1[m] += gz[m]
                gW1[D, m] += rc * gz[m]
            for k in range(D):
                hk, acc = H[c, k], 0.0
                for m in range(Hd):
                    gW1[k, m] += hk * gz[m]
                    gW1[D + 1 + k, m] += rc * hk * gz[m]
                    acc += (W1[k, m] + rc * W1[D + 1 + k, m]) * gz[m]
                gH[c, k] = acc
        for m in range(Hd):                                     # g_W2 = Σ_c a_c ⊗ g_msg
            for k in range(D):
                gW2[m, k] += asum[m] * gmsg[k]
        gb2 += n * gmsg
        if shrink:                                              # d w / d log κ = -n κ / (n + κ)²
            dw = -n * kappa / ((n + kappa) * (n + kappa))
            dot = 0.0
            for k in range(D):
                mean_k = b2[k]
                for m in range(Hd):
                    mean_k += asum[m] / n * W2[m, k]
                dot += G[j, k] * (mean_k - Pbar[k])
            g_logk += dot * dw
    for p in range(nP):                                         # P̄ = mean_p P_p
        gP[p] += gPbar / nP
    return gH, gP, g_logk, gW1, gb1, gW2, gb2


def _args(H, P, log_kappa, W1, b1, W2, b2, r, lv, kind):
    shrink = log_kappa is not None
    kappa = float(np.exp(log_kappa[kind])) if shrink else 0.0
    D = P.shape[1]
    H = np.zeros((0, D)) if H is None else np.ascontiguousarray(H, dtype=float)
    r = np.zeros(0) if r is None else np.ascontiguousarray(r, dtype=float)
    return (H, r, np.ascontiguousarray(P, dtype=float), kappa, shrink, np.ascontiguousarray(W1, dtype=float),
            np.ascontiguousarray(b1, dtype=float), np.ascontiguousarray(W2, dtype=float),
            np.ascontiguousarray(b2, dtype=float), lv["typ"], lv["slot"], lv["cptr"])


@primitive
def level_fused(H, P, log_kappa, W1, b1, W2, b2, r, lv, kind):
    """Latents of one level (N_d, D) — `model.level_twin` fused. H: child-level latents
    (N_{d+1}, D) or None (no inner node); log_kappa: (2,) or None (no shrinkage, REC);
    r: (N_{d+1},) child ratings minus the centre, or None; lv: a `model.Plan` level (its
    index arrays typ, slot, cptr); kind: USER/ITEM."""
    return level_forward(*_args(H, P, log_kappa, W1, b1, W2, b2, r, lv, kind))


def _level_vjp(argnums, ans, args, kwargs):
    """VJP wrt the requested arguments (0..6) from ONE `level_backward` pass; autograd's
    `defvjp` with one maker per argument would run the backward kernel once per argument."""
    H, P, log_kappa, W1, b1, W2, b2, r, lv, kind = args

    def vjp(g):
        grads = level_backward(np.ascontiguousarray(g, dtype=float),
                               *_args(H, P, log_kappa, W1, b1, W2, b2, r, lv, kind))
        out = []
        for i in argnums:
            if i == 2:                                          # log κ: (2,), this kind's entry
                gk = np.zeros(2)
                gk[kind] = grads[2]
                out.append(gk)
            else:
                out.append(grads[i])
        return tuple(out)
    return vjp


defvjp_argnums(level_fused, _level_vjp)
