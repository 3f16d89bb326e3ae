"""The WGAN-GP step written out by hand: value and parameter gradients of the critic loss
(with the gradient penalty) and of the generator loss of `wgan`, in plain NumPy — a twin of
the autograd definition (`wgan.critic_loss`, `wgan.generator_loss`), tied to it by
tests/dna/test_wgan_fused.py to ~1e-10, and ~2.9x faster than it per WGAN-GP iteration
(numerics/results/bench_wgan.md).

Why a penalty gradient needs no second-order tracing here. The critic is linear maps and
ReLUs only (1x1 conv -> 5 residual blocks h + s·conv(relu(conv(relu(h)))) -> linear, s = 0.3,
no normalisation), so at a point x̂ its input gradient is a product of linear maps

    g = ∇_x̂ D(x̂) = Jᵀ w_fc,   per block  u <- u + M1 ⊙ convᵀ(M2 ⊙ convᵀ(s·u, W2), W1),

with the ReLU masks M1 = 1[h > 0], M2 = 1[r1 > 0] of the forward pass at x̂ held fixed
(ReLU'' = 0 almost everywhere): the "backward network", linear in each weight, free of the
biases. The penalty λ mean_b (||g_b|| - 1)² is then differentiated by ordinary reverse mode
through that network: its adjoint is the critic run FORWARD again with the biases dropped
and the same masks in place of the ReLUs (the "tangent pass" below), plus outer products of
the two passes for the weights. Three passes (forward at x̂, backward network, tangent pass)
instead of autograd tracing a backward pass and differentiating it.

At a ReLU tie (an input exactly 0, e.g. a zero bias on an all-zero window) autograd's
``np.maximum(h, 0)`` passes half the gradient; the masks here do the same (`Workspace.mask`).

Speed, all measured: convolutions on a padded frame are K GEMMs on contiguous row slices
(no im2col copy); a step runs in sub-batches of whole sequences (~768 frame rows) so that
its temporaries stay in cache; scratch arrays are reused across steps (`Workspace`).

References
----------
I. Gulrajani, F. Ahmed, M. Arjovsky, V. Dumoulin, A. Courville. Improved training of
    Wasserstein GANs. NeurIPS 2017 (arXiv:1704.00028), eq. (3).
N. Killoran et al. Generating and designing DNA with deep generative models. arXiv:1712.06148,
    Sec. 2.1; official code co9olguy/Generating-and-designing-DNA (TF1): the penalty's norm is
    taken over all of (L, V) per sequence, x̂ = εx + (1-ε)G(z) with one ε per sequence.
"""
import numpy as np
from autograd.extend import defvjp, primitive
from scipy.linalg.blas import dgemm

__all__ = ["critic_value_and_grad", "penalty_value_and_grad", "generator_value_and_grad",
           "critic_loss_fused", "penalty_fused", "generator_loss_fused", "generate_plain",
           "Workspace", "RES_SCALE"]

RES_SCALE = 0.3          # = wgan.RES_SCALE (a test ties them; wgan imports this module)
_TINY = 1e-20            # inside the norm's square root, as wgan.gradient_penalty
_ROWS = 768              # frame rows per sub-batch (`_batches`): its GEMMs and elementwise
                         # passes run in cache (measured at 32 channels, 14 sequences of 54 rows)


class Workspace:
    """Scratch arrays reused from one step to the next, by (name, shape). Not a cache of
    values: every array is overwritten before it is read. Why: a step's activation frames
    are MBs each, and fresh ones page-fault on first touch (measured: a critic forward
    pass ~2x slower)."""

    def __init__(self):
        self._arrays = {}

    def __call__(self, name, shape):
        a = self._arrays.get((name, shape))
        if a is None:
            a = self._arrays[(name, shape)] = np.empty(shape)
        return a

    def frame(self, name, x, p):
        """`_frame` of ``x: (B, L, C)`` into this workspace's array ``name``."""
        B, L, C = x.shape
        return _frame(x, p, out=self(name, (B * (L + 2 * p), C)))

    def mask(self, name, H):
        """ReLU'(H) as autograd's ``np.maximum(h, 0.0)`` takes it: 1 above 0, 1/2 at a tie,
        0 below. (1/2 also on a frame's zero margins, where every cotangent is 0.)"""
        m = np.sign(H, out=self(name, H.shape))                          # (np.heaviside(H, 0.5):
        m += 1.0                                                         # the same, 4x slower)
        m *= 0.5
        return m


# --- the padded frame: 'same' convolutions as K GEMMs on contiguous slices, no im2col ------
# A batch (B, L, C) is stored as a (B*P, C) matrix, P = L + K - 1: each sequence's L rows
# preceded and followed by p = (K-1)/2 zero rows. Row i = b*P + t of the output of a width-K
# conv is y[i] = Σ_k F[i + k] @ W[k] (= the conv at (b, t) for t < L; rows t ≥ L straddle two
# sequences and land on the margins, which are zeroed). Written at offset p, the output is
# again a frame. Every frame in this module keeps zero margins.

def _frame(x, p, out=None):
    """``x: (B, L, C)`` -> ``(B*(L+2p), C)`` with p zero rows around each sequence."""
    B, L, C = x.shape
    F = np.empty((B, L + 2 * p, C)) if out is None else out.reshape(B, L + 2 * p, C)
    F[:, :p] = 0.0
    F[:, L + p:] = 0.0
    F[:, p:L + p] = x
    return F.reshape(-1, C)


def _valid(F, B, p):
    """The (B, L, C) view of a frame's sequence rows."""
    V = F.reshape(B, -1, F.shape[1])
    return V[:, p:V.shape[1] - p]


def _gemm_into(c, a, b, accumulate, alpha=1.0):
    """``c = alpha a @ b`` (``c += alpha a @ b`` if ``accumulate``) in place, for C-contiguous
    2-D arrays: one BLAS dgemm on the transposed (Fortran-order) views, cᵀ = bᵀ aᵀ.
    Readable twin: ``c += alpha * (a @ b)``. (Callers pass row slices of C-contiguous
    arrays: `_conv_f` checks; a non-contiguous ``c`` would make dgemm write to a copy.)"""
    dgemm(alpha, b.T, a.T, beta=1.0 if accumulate else 0.0, c=c.T, overwrite_c=1)


def _conv_f(F, W, B, bias=None, out=None, alpha=1.0, accumulate=False):
    """'same' conv of a frame ``F: (B*P, C)`` with ``W: (K, C, D)`` (K odd) -> frame ``(B*P, D)``;
    ``alpha``, ``accumulate``: ``out += alpha (conv(F, W) + bias)`` in place (``out``'s margins 0)."""
    K, C, D = W.shape
    p, M = (K - 1) // 2, F.shape[0] - (K - 1)
    Y = np.empty((F.shape[0], D)) if out is None else out
    if not Y.flags.c_contiguous:
        raise ValueError("_conv_f: out must be C-contiguous (dgemm would write to a copy)")
    for k in range(K):
        _gemm_into(Y[p:p + M], F[k:k + M], W[k], accumulate=accumulate or k > 0, alpha=alpha)
    if bias is not None:
        Y += alpha * bias                                               # every row (contiguous:
    V = Y.reshape(B, -1, D)                                             # 3x faster than the
    V[:, :p] = 0.0                                                      # valid rows); then the
    V[:, V.shape[1] - p:] = 0.0                                         # margins (and the rows
    return Y                                                            # straddling two sequences)


def _flip(W):
    """``W: (K, C, D)`` -> flip(W)[j] = W[K-1-j]ᵀ ``(K, D, C)``: convᵀ(g, W) = conv(g, flip(W))
    for 'same' padding with K odd."""
    return np.ascontiguousarray(np.transpose(W[::-1], (0, 2, 1)))


def _wgrad_f(X, G, K):
    """∂W[k] = Σ_{b, t} x_pad[b, t+k]ᵀ g[b, t] from frames ``X: (B*P, C)``, ``G: (B*P, D)``
    -> ``(K, C, D)``."""
    p, M = (K - 1) // 2, X.shape[0] - (K - 1)
    out = np.empty((K, X.shape[1], G.shape[1]))
    for k in range(K):
        np.matmul(X[k:k + M].T, G[p:p + M], out=out[k])
    return out


def _batches(B, P):
    """Sub-batches of whole sequences, ~_ROWS frame rows each: the unit of work. Sequences
    are independent (the margins separate them), so a step runs sub-batch by sub-batch and
    sums: every temporary stays in cache (measured: ~1.3x faster than whole batches)."""
    n = -(-B * P // _ROWS)                                               # ceil
    q = -(-B // n) if B else 1
    return [slice(i, min(B, i + q)) for i in range(0, B, q)]


# --- residual stack: forward with a cache, backward, and the masked linear (tangent) pass ---

def _res_forward(ws, tag, blocks, H, B, cached=True):
    """The residual blocks on a frame ``H: (B*P, C)``, updated in place (the residual stream);
    the cache holds per block the masks and the ReLU outputs (the inputs of the two convs),
    in ``ws`` arrays named after ``tag`` (one tag per network whose cache is alive at a time).
    ``cached=False``: a forward pass only (no masks; the cache's arrays are scratch)."""
    cache = []
    for i, (c1, c2) in enumerate(blocks):
        j = i if cached else 0
        m1 = ws.mask(f"{tag}/m1/{i}", H) if cached else None
        A = np.maximum(H, 0.0, out=ws(f"{tag}/A/{j}", H.shape))          # (B*P, C)
        R1 = _conv_f(A, c1["W"], B, c1["b"], out=ws(f"{tag}/r", H.shape))
        m2 = ws.mask(f"{tag}/m2/{i}", R1) if cached else None
        S = np.maximum(R1, 0.0, out=ws(f"{tag}/S/{j}", H.shape))
        _conv_f(S, c2["W"], B, c2["b"], out=H, alpha=RES_SCALE, accumulate=True)   # H += s·r2
        cache.append((m1, A, m2, S))
    return H, cache


def _flips(blocks):
    """flip(W) of every conv of the blocks (once per step, not per sub-batch)."""
    return [(_flip(c1["W"]), _flip(c2["W"])) for c1, c2 in blocks]


def _res_backward(ws, blocks, flips, cache, U, B, grads=None, keep=None):
    """Reverse mode through the blocks: ``U: (B*P, C)``, the cotangent frame of the stack's
    output, becomes in place that of its input; ``flips``: `_flips(blocks)`. ``grads`` (list
    of [{W, b}, {W, b}]) accumulates the parameter gradients; ``keep`` (a list) collects per
    block the cotangents (c_r1, c_r2), for `_tangent` (``ws`` arrays: valid until the next call)."""
    for i in reversed(range(len(blocks))):
        (c1, c2), (f1, f2), (m1, A, m2, S) = blocks[i], flips[i], cache[i]
        K = c1["W"].shape[0]
        c_r2 = np.multiply(RES_SCALE, U, out=ws(f"c_r2/{i}", U.shape))  # h_out = h + s·r2
        c_r1 = _conv_f(c_r2, f2, B, out=ws(f"c_r1/{i}", U.shape))
        c_r1 *= m2
        if grads is not None:
            g1, g2 = grads[i]
            g2["W"] += _wgrad_f(S, c_r2, K)
            g2["b"] += c_r2.sum(0)                                       # margins are 0
            g1["W"] += _wgrad_f(A, c_r1, K)
            g1["b"] += c_r1.sum(0)
        if keep is not None:
            keep.append((c_r1, c_r2))
        Y = _conv_f(c_r1, f1, B, out=ws("convT", U.shape))
        Y *= m1
        U += Y
    if keep is not None:
        keep.reverse()
    return U


def _tangent(ws, blocks, cache, kept, T, B, grads):
    """Adjoint of the backward network (`_res_backward` with masks fixed, as a function of
    the weights): ``T: (B*P, C)``, the cotangent frame of its output u_0, becomes in place
    that of its input u_N. It is the critic's forward pass without biases and with the masks
    for the ReLUs:
        t <- t + s·conv(M2 ⊙ conv(M1 ⊙ t, W1), W2);
    the weights collect ∂<t̄, convᵀ(c, W)>/∂W = wgrad(t̄, c) (``grads`` accumulates)."""
    for (c1, c2), (m1, _, m2, _), (c_r1, c_r2), (g1, g2) in zip(blocks, cache, kept, grads):
        K = c1["W"].shape[0]
        TA = np.multiply(m1, T, out=ws("tangent/TA", T.shape))          # (B*P, C)
        g1["W"] += _wgrad_f(TA, c_r1, K)
        TS = _conv_f(TA, c1["W"], B, out=ws("tangent/TS", T.shape))
        TS *= m2
        g2["W"] += _wgrad_f(TS, c_r2, K)
        _conv_f(TS, c2["W"], B, out=T, alpha=RES_SCALE, accumulate=True)    # T += s·conv(TS, W2)
    return T


def _zeros(params):
    if isinstance(params, dict):
        return {k: _zeros(v) for k, v in params.items()}
    if isinstance(params, (list, tuple)):
        return [_zeros(v) for v in params]
    return np.zeros_like(params)


def _width(blocks):
    Ks = sorted({c["W"].shape[0] for blk in blocks for c in blk})
    if len(Ks) != 1 or Ks[0] % 2 == 0:
        raise ValueError(f"params: the fused path needs one odd conv width in all residual blocks, got K in {Ks}")
    return (Ks[0] - 1) // 2


def _check_input(cp, x, name):
    """``x: (B, L, V)`` must fit the critic: V = the input conv's channels, L·C = the final linear's rows."""
    V, C = cp["inp"]["W"].shape[1:]
    if np.ndim(x) != 3 or x.shape[2] != V or x.shape[1] * C != cp["fc"]["W"].shape[0]:
        raise ValueError(f"{name}: expected shape (B, {cp['fc']['W'].shape[0] // C}, {V}) for these critic "
                         f"parameters, got {np.shape(x)}")


def _check_pointwise(net, key, what):
    """The input conv of the critic / output conv of the generator is 1x1 (W[0] is used)."""
    if net[key]["W"].shape[0] != 1:
        raise ValueError(f"{what}: the fused path needs a 1x1 '{key}' conv, got width {net[key]['W'].shape[0]}")


# --- critic ------------------------------------------------------------------------------

def _critic_forward(ws, cp, x):
    """``x: (B, L, V)`` -> scores ``(B,)``, the last hidden state ``(B, L*C)``, the cache."""
    B, p = x.shape[0], _width(cp["res"])
    h0 = x @ cp["inp"]["W"][0] + cp["inp"]["b"]                          # 1x1 conv: (B, L, C)
    H, cache = _res_forward(ws, "D", cp["res"], ws.frame("D/H", h0, p), B)
    hf = _valid(H, B, p).reshape(B, -1)                                  # (B, L*C)
    return hf @ cp["fc"]["W"][:, 0] + cp["fc"]["b"][0], hf, cache


def _scores_vg(ws, cp, flips, x, w, grads):
    """Σ_i w_i D(x_i) for ``x: (B, L, V)``, ``w: (B,)``; its gradient is added to ``grads``."""
    B, L, V = x.shape
    C, p = cp["inp"]["W"].shape[2], _width(cp["res"])
    d, hf, cache = _critic_forward(ws, cp, x)
    grads["fc"]["W"][:, 0] += hf.T @ w
    grads["fc"]["b"][0] += w.sum()
    U = ws.frame("D/U", w[:, None, None] * cp["fc"]["W"][:, 0].reshape(1, L, C), p)
    U = _valid(_res_backward(ws, cp["res"], flips, cache, U, B, grads=grads["res"]), B, p)     # (B, L, C)
    grads["inp"]["W"][0] += x.reshape(-1, V).T @ U.reshape(-1, C)
    grads["inp"]["b"] += U.sum((0, 1))
    return float(d @ w)


def _penalty_vg(ws, cp, flips, x_hat, lam, n_all, grads):
    """λ/n_all Σ_b (||∇D(x̂_b)|| - 1)² for ``x_hat: (B, L, V)`` (n_all: the whole batch's
    size, for the mean); its gradient is added to ``grads``."""
    B, L, V = x_hat.shape
    C, p = cp["inp"]["W"].shape[2], _width(cp["res"])
    _, _, cache = _critic_forward(ws, cp, x_hat)                          # the masks at x̂
    # the backward network: cotangent 1 on each score, i.e. w_fc on every sequence
    U = ws.frame("D/U", np.broadcast_to(cp["fc"]["W"][:, 0].reshape(1, L, C), (B, L, C)), p)
    kept = []
    U = _valid(_res_backward(ws, cp["res"], flips, cache, U, B, keep=kept), B, p)        # u_0: (B, L, C)
    Wi = cp["inp"]["W"][0]                                               # (V, C)
    g = U @ Wi.T                                                         # ∇_x̂ D: (B, L, V)
    # [DNA Sec. 2.1] the WGAN-GP penalty (Gulrajani et al. 2017, eq. 3): λ E (||∇_x̂ D(x̂)||_2 - 1)²
    norm = np.sqrt(np.sum(g ** 2, axis=(1, 2)) + _TINY)                  # (B,)
    gbar = (2.0 * lam / n_all) * ((norm - 1.0) / norm)[:, None, None] * g    # ∂penalty/∂g
    # adjoint of g = u_0 Wiᵀ, then of u_0 = backward network(w_fc): the tangent pass
    grads["inp"]["W"][0] += gbar.reshape(-1, V).T @ U.reshape(-1, C)
    T = _tangent(ws, cp["res"], cache, kept, ws.frame("T", gbar @ Wi, p), B, grads["res"])
    grads["fc"]["W"][:, 0] += _valid(T, B, p).sum(0).reshape(-1)         # u_N = w_fc, every sequence
    return lam * float(np.sum((norm - 1.0) ** 2)) / n_all


def _critic_vg(ws, cp, x_scored, w_scored, x_hat, lam):
    """Σ_i w_i D(x_i) + λ mean_b (||∇D(x̂_b)|| - 1)² and its gradient in the critic's
    parameters, sub-batch by sub-batch. ``x_scored: (n, L, V)``, ``w_scored: (n,)``,
    ``x_hat: (B, L, V)``."""
    _check_pointwise(cp, "inp", "cparams")
    B, L = x_hat.shape[:2]
    P = L + 2 * _width(cp["res"])
    grads, flips = _zeros(cp), _flips(cp["res"])
    value = sum(_scores_vg(ws, cp, flips, x_scored[s], w_scored[s], grads) for s in _batches(x_scored.shape[0], P))
    value += sum(_penalty_vg(ws, cp, flips, x_hat[s], lam, B, grads) for s in _batches(B, P))
    return value, grads


def critic_value_and_grad(cparams, x_real, x_fake, eps, lam=10.0, ws=None):
    """`wgan.critic_loss` and its gradient in ``cparams``, with ``x_fake = G(z)`` given:
    mean D(x_fake) - mean D(x_real) + λ mean (||∇D(x̂)|| - 1)², x̂ = εx_real + (1-ε)x_fake.
    ``x_real, x_fake: (B, L, V)``, ``eps: (B,)``; ``ws``: a `Workspace` to reuse (None: a
    fresh one). Returns (float, tree like ``cparams``)."""
    _check_input(cparams, x_real, "x_real")
    B = x_real.shape[0]
    if x_fake.shape != x_real.shape or np.shape(eps) != (B,):
        raise ValueError(f"x_fake, eps: expected shapes {x_real.shape} and ({B},), "
                         f"got {x_fake.shape} and {np.shape(eps)}")
    e = eps[:, None, None]
    x_hat = e * x_real + (1.0 - e) * x_fake
    w = np.concatenate([np.full(B, 1.0 / B), np.full(B, -1.0 / B)])
    return _critic_vg(Workspace() if ws is None else ws, cparams, np.concatenate([x_fake, x_real]), w, x_hat, lam)


def penalty_value_and_grad(cparams, x_hat, lam=10.0, ws=None):
    """`wgan.gradient_penalty` and its gradient in ``cparams``; ``x_hat: (B, L, V)``."""
    _check_input(cparams, x_hat, "x_hat")
    return _critic_vg(Workspace() if ws is None else ws, cparams, x_hat[:0], np.zeros(0), x_hat, lam)


# --- generator ---------------------------------------------------------------------------

def _generator_forward(ws, gp, z, cached=True):
    """``z: (B, 100)`` -> softmax ``(B, L, V)``, the last hidden frame and the cache."""
    B, C, p = z.shape[0], gp["out"]["W"].shape[1], _width(gp["res"])
    h0 = (z @ gp["fc"]["W"] + gp["fc"]["b"]).reshape(B, -1, C)          # (B, L, C)
    H, cache = _res_forward(ws, "G", gp["res"], ws.frame("G/H", h0, p), B, cached)
    o = _valid(H, B, p) @ gp["out"]["W"][0] + gp["out"]["b"]             # 1x1 conv: (B, L, V)
    e = np.exp(o - o.max(axis=2, keepdims=True))
    return e / e.sum(axis=2, keepdims=True), H, cache


def _P(params, L):
    return L + 2 * _width(params["res"])


def generate_plain(gparams, z, ws=None):
    """`wgan.generate` without autograd: ``z: (B, 100)`` -> ``(B, L, V)`` distributions."""
    ws = Workspace() if ws is None else ws
    _check_pointwise(gparams, "out", "gparams")
    L = gparams["fc"]["W"].shape[1] // gparams["out"]["W"].shape[1]
    return np.concatenate([_generator_forward(ws, gparams, z[s], cached=False)[0]
                           for s in _batches(z.shape[0], _P(gparams, L))])


def _generator_vg(ws, gp, cp, flips, z, n_all, grads):
    """-Σ_b D(G(z_b)) / n_all for ``z: (B, 100)``; its gradient is added to ``grads``."""
    B, C, p = z.shape[0], gp["out"]["W"].shape[1], _width(gp["res"])
    probs, H, gcache = _generator_forward(ws, gp, z)                     # (B, L, V)
    d, _, ccache = _critic_forward(ws, cp, probs)
    L, Cd, pd = probs.shape[1], cp["inp"]["W"].shape[2], _width(cp["res"])
    U = ws.frame("D/U", np.full((B, 1, 1), -1.0 / n_all) * cp["fc"]["W"][:, 0].reshape(1, L, Cd), pd)
    U = _valid(_res_backward(ws, cp["res"], flips["D"], ccache, U, B), B, pd)
    pbar = U @ cp["inp"]["W"][0].T                                       # ∂loss/∂probs: (B, L, V)
    obar = probs * (pbar - np.sum(probs * pbar, axis=2, keepdims=True))  # softmax VJP
    grads["out"]["W"][0] += _valid(H, B, p).reshape(-1, C).T @ obar.reshape(-1, obar.shape[2])
    grads["out"]["b"] += obar.sum((0, 1))
    U = ws.frame("G/U", obar @ gp["out"]["W"][0].T, p)                  # (B*P, C)
    U = _valid(_res_backward(ws, gp["res"], flips["G"], gcache, U, B, grads=grads["res"]), B, p)
    grads["fc"]["W"] += z.T @ U.reshape(B, -1)
    grads["fc"]["b"] += U.reshape(B, -1).sum(0)
    return -float(np.sum(d)) / n_all


def generator_value_and_grad(gparams, cparams, z, ws=None):
    """`wgan.generator_loss` = -mean D(G(z)) and its gradient in ``gparams``."""
    ws = Workspace() if ws is None else ws
    _check_pointwise(gparams, "out", "gparams")
    _check_pointwise(cparams, "inp", "cparams")
    if np.ndim(z) != 2 or z.shape[1] != gparams["fc"]["W"].shape[0]:
        raise ValueError(f"z: expected shape (B, {gparams['fc']['W'].shape[0]}), got {np.shape(z)}")
    L = gparams["fc"]["W"].shape[1] // gparams["out"]["W"].shape[1]
    if L * cparams["inp"]["W"].shape[2] != cparams["fc"]["W"].shape[0]:
        raise ValueError(f"gparams, cparams: the generator makes length {L}, the critic takes "
                         f"{cparams['fc']['W'].shape[0] // cparams['inp']['W'].shape[2]}")
    grads, flips = _zeros(gparams), {"G": _flips(gparams["res"]), "D": _flips(cparams["res"])}
    value = sum(_generator_vg(ws, gparams, cparams, flips, z[s], z.shape[0], grads)
                for s in _batches(z.shape[0], max(_P(gparams, L), _P(cparams, L))))
    return value, grads


# --- the same, as autograd primitives (so check_grads can test the hand-written VJPs) -----

def _scaled(tree, c):
    if isinstance(tree, dict):
        return {k: _scaled(v, c) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_scaled(v, c) for v in tree]
    return c * tree


@primitive
def critic_loss_fused(cparams, x_real, x_fake, eps, lam=10.0):
    """`critic_value_and_grad`'s value, differentiable in ``cparams`` (its VJP: the fused gradient)."""
    return critic_value_and_grad(cparams, x_real, x_fake, eps, lam)[0]


@primitive
def penalty_fused(cparams, x_hat, lam=10.0):
    return penalty_value_and_grad(cparams, x_hat, lam)[0]


@primitive
def generator_loss_fused(gparams, cparams, z):
    return generator_value_and_grad(gparams, cparams, z)[0]


defvjp(critic_loss_fused,
       lambda ans, cp, xr, xf, eps, lam=10.0: lambda c: _scaled(critic_value_and_grad(cp, xr, xf, eps, lam)[1], c))
defvjp(penalty_fused, lambda ans, cp, xh, lam=10.0: lambda c: _scaled(penalty_value_and_grad(cp, xh, lam)[1], c))
defvjp(generator_loss_fused, lambda ans, gp, cp, z: lambda c: _scaled(generator_value_and_grad(gp, cp, z)[1], c))
