"""One level of the evidence chains as a fused numba kernel with a hand-written VJP.

    H_d = level_fused(H_child, P, P_child, log_kappa, W1, b1, W2, b2, r, lv, kind)   # (N_d, D)

is the same function as `model.level_twin` (the readable autograd version: features,
MLP, segment mean, shrinkage, concatenation, permutation) in one autograd primitive, so a
level costs one traced operation instead of ~15 and no `np.add.at` scatters.

Node j of the level (pre-order = level order) is, by lv["typ"][j]:
  INNER    its children are the child-level rows c in lv["cptr"][j]:lv["cptr"][j+1] and
           [EvidenceChains Sec. 3] h_j = mean_c f([h_c, r_c, r_c h_c]), f(x) = tanh(x W1 + b1) W2 + b2,
           then (if shrink) w h_j + (1 - w) P̄, w = n / (n + κ), κ = exp(log_kappa[kind]);
  PROTO    h_j = P[lv["slot"][j]];
  FALLBACK h_j = P̄ = mean_k P_k.

Three facts make it cheap (exact algebra, rounding-level differences from the twin):
* shared prototype leaves: a child that is a prototype has h_c = P[slot], so its hidden
  activation depends only on (slot, rating); the first layer runs once per distinct pair
  (lv["k_row"], lv["k_slot"]: at most n_P x 10 rows) and once per non-prototype child
  (lv["own"]); lv["src"][c] is child c's row in [own rows; distinct pairs]. Most children
  are prototypes (66 % at node cap 64, 85 % at 256, on MovieLens-100K-sized data). The level
  therefore reads P_child (the prototypes of the children's kind), not H, at prototype
  child rows: its gradient reaches P_child directly and is 0 in H there (callers pass H
  with H[c] = P_child[slot_c] at those rows, as `forest_latents` does);
* the second layer is affine, so mean_c (a_c W2 + b2) = (mean_c a_c) W2 + b2 (one product
  per parent, not per child); in a shared plan (`shared.py`: edges >> distinct rows) the
  other association is cheaper, rowwise=True: (a_m W2) per row, D-wide sums per parent;
* the first layer on [h, r, r h] is z = b1 + r W1[D] + h W1[:D] + r (h W1[D+1:]), and in the
  VJP the message cotangent g_msg = w g_j / n is the same for every child of j, so
  g_a = g_msg W2ᵀ is computed once per parent; the hidden activations are kept from the
  forward pass (returned beside the latents, so autograd holds them for the VJP).

Shapes: H_child (N_{d+1}, D), r (N_{d+1},) = ratings - centre, P (n_P, D) and P_child
(n_P', D) the prototypes of the level's and of the children's kind, W1 (2D+1, Hd),
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
def _proto_mean(P):
    Pbar = np.zeros(P.shape[1])
    for p in range(P.shape[0]):
        Pbar += P[p]
    return Pbar / P.shape[0]


@njit(cache=True, fastmath=_FM)
def _weight(n, kappa, shrink):
    return n / (n + kappa) if shrink else 1.0


@njit(cache=True, fastmath=_FM)
def _segment_sums(A, src, typ, cptr):
    """S[j] = Σ_{c in cptr[j]:cptr[j+1]} A[src[c]] for inner nodes j, 0 elsewhere: (N_d, Hd)."""
    S = np.zeros((typ.size, A.shape[1]))
    for j in range(typ.size):
        if typ[j] == INNER:
            for c in range(cptr[j], cptr[j + 1]):
                for m in range(A.shape[1]):                     # explicit loops: no temporaries
                    S[j, m] += A[src[c], m]
    return S


@njit(cache=True, fastmath=_FM)
def _scatter_parents(ga, src, typ, cptr, n_rows):
    """GA[m] = Σ_{children c with src[c] = m} g_a(parent of c): (n_rows, Hd) (transpose of
    the gather in `_segment_sums`)."""
    GA = np.zeros((n_rows, ga.shape[1]))
    for j in range(typ.size):
        if typ[j] == INNER:
            for c in range(cptr[j], cptr[j + 1]):
                for m in range(ga.shape[1]):
                    GA[src[c], m] += ga[j, m]
    return GA


@njit(cache=True, fastmath=_FM)
def _assemble(M, P, kappa, shrink, b2, typ, slot, cptr):
    """Level latents (N_d, D) from M = (Σ_c a_c) W2: inner w (M_j / n + b2) + (1 - w) P̄,
    prototypes P[slot], fallback P̄."""
    N, D = typ.size, P.shape[1]
    Pbar = _proto_mean(P)
    out = np.empty((N, D))
    for j in range(N):
        if typ[j] == INNER:
            n = cptr[j + 1] - cptr[j]
            w = _weight(n, kappa, shrink)
            for k in range(D):
                out[j, k] = w * (M[j, k] / n + b2[k]) + (1.0 - w) * Pbar[k]
        elif typ[j] == PROTO:
            for k in range(D):
                out[j, k] = P[slot[j], k]
        else:
            for k in range(D):
                out[j, k] = Pbar[k]
    return out


@njit(cache=True, fastmath=_FM)
def _assemble_vjp(G, M, P, kappa, shrink, b2, typ, slot, cptr):
    """VJP of `_assemble`: (g_msg (N_d, D) = d out_j / d msg_c for any child c of j,
    gP (n_P, D), g_log_kappa, gb2 (D,))."""
    N, D, nP = typ.size, P.shape[1], P.shape[0]
    Pbar = _proto_mean(P)
    gmsg, gP, gPbar, gb2, g_logk = np.zeros((N, D)), np.zeros(P.shape), np.zeros(D), np.zeros(D), 0.0
    for j in range(N):
        if typ[j] == PROTO:
            for k in range(D):
                gP[slot[j], k] += G[j, k]
        elif typ[j] == FALLBACK:
            for k in range(D):
                gPbar[k] += G[j, k]
        else:
            n = cptr[j + 1] - cptr[j]
            w = _weight(n, kappa, shrink)
            dw = -n * kappa / ((n + kappa) * (n + kappa))       # d w / d log κ = -n κ / (n + κ)²
            for k in range(D):
                gmsg[j, k] = w * G[j, k] / n
                gb2[k] += w * G[j, k]
                gPbar[k] += (1.0 - w) * G[j, k]
                if shrink:
                    g_logk += dw * G[j, k] * (M[j, k] / n + b2[k] - Pbar[k])
    gP += gPbar / nP                                            # P̄ = mean_p P_p
    return gmsg, gP, g_logk, gb2


@njit(cache=True, fastmath=_FM)
def _row_cotangents(GA, A, rs):
    """(GZ2 = [g_z, r g_z] (M, 2 Hd), Σ_m g_z, Σ_m r_m g_z) for the first-layer rows m, with
    g_z = GA[m] (1 - a_m²) (tanh' = 1 - a²)."""
    Hd = A.shape[1]
    GZ2, gb1, gwr = np.empty((A.shape[0], 2 * Hd)), np.zeros(Hd), np.zeros(Hd)
    for c in range(A.shape[0]):
        for m in range(Hd):
            gz = GA[c, m] * (1.0 - A[c, m] * A[c, m])
            GZ2[c, m] = gz
            GZ2[c, Hd + m] = rs[c] * gz
            gb1[m] += gz
            gwr[m] += rs[c] * gz
    return GZ2, gb1, gwr


@njit(cache=True, fastmath=_FM)
def _first_layer(HW, r, wr, b1):
    """z = b1 + r W1[D] + h W1[:D] + r (h W1[D+1:]) from HW = h [W1[:D] | W1[D+1:]] (Nc, 2 Hd),
    wr = W1[D]: (Nc, Hd), one pass (no NumPy temporaries: at this size each costs page faults)."""
    Nc, Hd = HW.shape[0], b1.size
    Z = np.empty((Nc, Hd))
    for c in range(Nc):
        for m in range(Hd):
            Z[c, m] = b1[m] + HW[c, m] + r[c] * (wr[m] + HW[c, Hd + m])
    return Z


def _split_W1(W1, D):
    """[W1[:D] | W1[D+1:]]: (D, 2 Hd), the weights of h and of r·h side by side."""
    return np.concatenate([W1[:D], W1[D + 1:]], axis=1)


@njit(cache=True, fastmath=_FM)
def _split_rows(gHs, own, k_slot, n_child, n_pc):
    """Transpose of `_rows`: cotangents of the first-layer inputs -> (gH (n_child, D), gPc)."""
    D = gHs.shape[1]
    gH, gPc = np.zeros((n_child, D)), np.zeros((n_pc, D))
    for i in range(own.size):
        for k in range(D):
            gH[own[i], k] += gHs[i, k]                         # += : a shared plan repeats rows
    for i in range(k_slot.size):
        for k in range(D):
            gPc[k_slot[i], k] += gHs[own.size + i, k]
    return gH, gPc


def _rows(H, r, Pc, own, own_r, k_row, k_slot):
    """Inputs of the first-layer rows: [H[own]; Pc[k_slot]] (M, D) and their ratings
    [r[own_r]; r[k_row]] (M,) (own_r = own in a per-query plan)."""
    return np.concatenate([H[own], Pc[k_slot]]), np.concatenate([r[own_r], r[k_row]])


def level_forward(H, r, P, Pc, kappa, shrink, W1, b1, W2, b2, typ, slot, cptr, own, k_row, k_slot, src, own_r,
                  rowwise):
    """(latents of the level (N_d, D), hidden activations of the first-layer rows (M, Hd)).
    kappa = exp(log κ) of the level's kind (unused unless shrink). rowwise: apply the second
    layer per row and sum D-wide messages per parent (cheaper when edges >> rows, as in a
    shared plan) instead of summing Hd-wide activations; the same sum, re-associated."""
    D = P.shape[1]
    Hs, rs = _rows(H, r, Pc, own, own_r, k_row, k_slot)         # (M, D), (M,)
    # first layer on [h, r, r h]: z = b1 + r W1[D] + h W1[:D] + r (h W1[D+1:])     (M, Hd)
    A = _first_layer(Hs @ _split_W1(W1, D), rs, W1[D], b1)
    np.tanh(A, out=A)                                           # NumPy's SIMD tanh
    # mean message of node j = (Σ_c a_c / n) W2 + b2, then shrinkage toward P̄
    if rowwise:
        M = _segment_sums(A @ W2, src, typ, cptr)               # (N_d, D) Σ_c a_c W2
    else:
        M = _segment_sums(A, src, typ, cptr) @ W2               # (N_d, D) (Σ_c a_c) W2
    return _assemble(M, P, kappa, shrink, b2, typ, slot, cptr), A


def level_backward(G, A, H, r, P, Pc, kappa, shrink, W1, b1, W2, b2, typ, slot, cptr, own, k_row, k_slot, src,
                   own_r, rowwise):
    """Cotangents (gH, gP, gPc, g_log_kappa, gW1, gb1, gW2, gb2) of `level_forward` for the
    output cotangent G (N_d, D); A: the hidden activations it returned."""
    D, Hd = P.shape[1], b1.size
    if rowwise:
        gmsg, gP, g_logk, gb2 = _assemble_vjp(G, _segment_sums(A @ W2, src, typ, cptr), P, kappa, shrink, b2,
                                              typ, slot, cptr)
        GM = _scatter_parents(gmsg, src, typ, cptr, A.shape[0])     # (M, D) Σ over the row's edges
        gW2 = A.T @ GM
        GA = GM @ W2.T
    else:
        S = _segment_sums(A, src, typ, cptr)                    # (N_d, Hd) Σ_c a_c
        gmsg, gP, g_logk, gb2 = _assemble_vjp(G, S @ W2, P, kappa, shrink, b2, typ, slot, cptr)
        gW2 = S.T @ gmsg                                        # Σ_j (Σ_c a_c) ⊗ g_msg_j
        GA = _scatter_parents(gmsg @ W2.T, src, typ, cptr, A.shape[0])   # g_a = g_msg W2ᵀ once per parent
    Hs, rs = _rows(H, r, Pc, own, own_r, k_row, k_slot)
    GZ2, gb1, gwr = _row_cotangents(GA, A, rs)
    F = Hs.T @ GZ2                                              # (D, 2 Hd): [Hᵀ g_z, Hᵀ (r g_z)]
    gW1 = np.concatenate([F[:, :Hd], gwr[None], F[:, Hd:]], axis=0)
    gHs = GZ2 @ _split_W1(W1, D).T                              # g_z W1[:D]ᵀ + r g_z W1[D+1:]ᵀ
    gH, gPc = _split_rows(gHs, own, k_slot, H.shape[0], Pc.shape[0])
    return gH, gP, gPc, g_logk, gW1, gb1, gW2, gb2


def _args(H, P, Pc, log_kappa, W1, b1, W2, b2, r, lv, kind):
    shrink = log_kappa is not None
    kappa = float(np.exp(log_kappa[kind])) if shrink else 0.0
    D = P.shape[1]
    H = np.zeros((0, D)) if H is None else np.ascontiguousarray(H, dtype=float)
    r = np.zeros(0) if r is None else np.ascontiguousarray(r, dtype=float)
    return (H, r, np.ascontiguousarray(P, dtype=float), np.ascontiguousarray(Pc, dtype=float), kappa, shrink, np.ascontiguousarray(W1, dtype=float),
            np.ascontiguousarray(b1, dtype=float), np.ascontiguousarray(W2, dtype=float),
            np.ascontiguousarray(b2, dtype=float), lv["typ"], lv["slot"], lv["cptr"], lv["own"], lv["k_row"],
            lv["k_slot"], lv["src"], lv.get("own_r", lv["own"]), bool(lv.get("rowwise", False)))


@primitive
def _level_and_hidden(H, P, Pc, log_kappa, W1, b1, W2, b2, r, lv, kind):
    """(level latents, hidden activations): the activations ride along for the VJP."""
    return level_forward(*_args(H, P, Pc, log_kappa, W1, b1, W2, b2, r, lv, kind))


def level_fused(H, P, Pc, log_kappa, W1, b1, W2, b2, r, lv, kind):
    """Latents of one level (N_d, D) — `model.level_twin` fused. H: child-level latents
    (N_{d+1}, D) or None (no inner node); P, Pc: prototypes of the level's kind and of the
    children's kind; log_kappa: (2,) or None (no shrinkage, REC);
    r: (N_{d+1},) child ratings minus the centre, or None; lv: a `model.Plan` level (its
    index arrays typ, slot, cptr, own, k_row, k_slot, src) or a `shared.SharedPlan` group
    (also own_r: rating index of the own rows, own then indexes rows of H, the table of
    computed subtrees, with repeats; rowwise=True); kind: USER/ITEM."""
    return _level_and_hidden(H, P, Pc, log_kappa, W1, b1, W2, b2, r, lv, kind)[0]


def _level_vjp(argnums, ans, args, kwargs):
    """VJP wrt the requested arguments (0..7) from ONE `level_backward` pass; autograd's
    `defvjp` with one maker per argument would run the backward kernel once per argument."""
    H, P, Pc, log_kappa, W1, b1, W2, b2, r, lv, kind = args

    def vjp(g):                                                 # g = (g_out, g_A = 0)
        grads = level_backward(np.ascontiguousarray(g[0], dtype=float), ans[1],
                               *_args(H, P, Pc, log_kappa, W1, b1, W2, b2, r, lv, kind))
        out = []
        for i in argnums:
            if i == 3:                                          # log κ: (2,), this kind's entry
                gk = np.zeros(2)
                gk[kind] = grads[3]
                out.append(gk)
            else:
                out.append(grads[i])
        return tuple(out)
    return vjp


defvjp_argnums(_level_and_hidden, _level_vjp)
