"""The two sweeps behind FFJORD's fast path, in plain NumPy on preallocated buffers.

A concatsquash layer (FFJORD's `ConcatSquashLinear`), y = (x W + b) ⊙ σ(t w_g + b_g) + t w_h,
is linear in x once the gate s = σ(t w_g + b_g): (H,) is folded into the weight:

    y = x W_s + c,    W_s = W ⊙ s (columns scaled),    c = b ⊙ s + t w_h.           (1)

The forward sweep pushes the state h_l: (B, H_l) and K tangents V_l = E ∂h_l/∂z: (K, B, H_l)
through the layers together, as X_l = [h_l; V_l]: (1 + K, B, H_l) (tangent index first, every
slice contiguous), one matrix product X_{l-1} W_s per layer (c only on the state row); the
hidden layers apply h = tanh(a), V = A ⊙ d with d = 1 - h² (a, A: the rows of Y). Then

    div = Σ_k Σ_i E[b, k, i] V_L[k, b, i] = Σ_k e_kᵀ (∂f/∂z) e_k                      (2)

is the exact trace for E = I (K = D) and Hutchinson's εᵀ(∂f/∂z)ε for E = ε (K = 1) (FFJORD
eq. 7). The backward sweep is the reverse of that sweep for the cotangents (ḡ_f, ḡ_div), with
M = X_{l-1}ᵀ Ȳ_l: (H_{l-1}, H_l) doing the work of all parameter gradients of (1):

    W̄ = M ⊙ s,  s̄ = Σ_i W ⊙ M + b ⊙ Σ_b ā,  b̄ = s ⊙ Σ_b ā,  w̄_h = t Σ_b ā,
    ḡ_gate = s̄ ⊙ s(1 - s),  t̄ += w_h·Σ_b ā + w_g·ḡ_gate,  X̄_{l-1} = Ȳ_l W_sᵀ,           (3)
    ā = (X̄[0] - 2 h ⊙ d̄) ⊙ d,  Ā = V̄ ⊙ d,  d̄ = Σ_k V̄[k] ⊙ A[k]   (tanh'' = -2 h d).

Every array lives in a `Workspace` (allocated once per shape, reused: no page faults, no
temporaries in the loop); results handed to callers are copies. `forward` leaves the tape in
the workspace; `backward` reads it and writes only its own scratch rows, so it may be called
again on the same tape. The readable twin is `layers.concatsquash_dynamics` (autograd,
forward-mode Jacobian); tests compare them to ~1e-12 and gradient-check the VJP.

References
----------
W. Grathwohl et al. FFJORD (ICLR 2019), eqs. (4), (7); `ConcatSquashLinear` of the released code.
A. Griewank, A. Walther. Evaluating derivatives (2008), Ch. 3-4 (forward tangents, reverse sweep).
"""
import threading

import numpy as np

__all__ = ["Workspace", "workspace", "forward", "backward"]


class Workspace:
    """Buffers of one sweep for batch B, K tangents, widths [D, H_1, ..., H_{L-1}, D]."""

    def __init__(self, B, K, widths):
        self.B, self.K, self.widths = B, K, tuple(widths)
        L = len(widths) - 1
        self.X = [np.empty((K + 1, B, w)) for w in widths[:-1]]      # layer inputs [h; V]
        self.Y = [np.empty((K + 1, B, w)) for w in widths[1:]]       # pre-activations [a; A]
        self.d = [np.empty((B, w)) for w in widths[1:-1]]            # tanh'(a) = 1 - h²
        self.s = [None] * L                                          # gates (H_l,)
        self.Ws = [None] * L                                         # W ⊙ s (H_{l-1}, H_l)
        self.G = None                                                # backward scratch

    def copy(self):
        """An independent copy of the tape (for autograd's VJP closures)."""
        new = Workspace.__new__(Workspace)
        new.B, new.K, new.widths = self.B, self.K, self.widths
        new.X = [x.copy() for x in self.X]
        new.Y = [y.copy() for y in self.Y]
        new.d = [d.copy() for d in self.d]
        new.s, new.Ws, new.G = list(self.s), list(self.Ws), None
        return new


_LOCAL = threading.local()


def workspace(B, K, widths):
    """The thread's cached workspace for these shapes (one per shape, reused)."""
    cache = getattr(_LOCAL, "cache", None)
    if cache is None:
        cache = _LOCAL.cache = {}
    key = (B, K, tuple(widths))
    ws = cache.get(key)
    if ws is None:
        if len(cache) > 8:
            cache.clear()
        ws = cache[key] = Workspace(B, K, widths)
    return ws


def widths_of(theta):
    """[D, H_1, ..., D] from theta = (W, b, w_gate, b_gate, w_hyper) * L."""
    Ws = theta[0::5]
    return [Ws[0].shape[0]] + [W.shape[1] for W in Ws]


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def forward(t, z, E, theta, ws):
    """f: (B, D) and div: (B,) (views into ws, valid until its next use); tape left in ws.
    z: (B, D); E: (B, K, D) probes; theta = (W, b, w_gate, b_gate, w_hyper) * L."""
    L = len(theta) // 5
    K, B = ws.K, ws.B
    X = ws.X[0]
    X[0] = z
    X[1:] = E.transpose(1, 0, 2)                                         # (K, B, D)
    for l in range(L):
        W, b, wg, bg, wh = theta[5 * l:5 * l + 5]
        s = _sigmoid(t * wg + bg)                                        # (H,)
        Ws = W * s                                                       # (H_in, H), eq. (1)
        ws.s[l], ws.Ws[l] = s, Ws
        Y = ws.Y[l]
        np.matmul(X.reshape((K + 1) * B, -1), Ws, out=Y.reshape((K + 1) * B, -1))
        Y[0] += b * s + t * wh                                           # a = h W_s + c
        if l < L - 1:
            X = ws.X[l + 1]
            h, d = X[0], ws.d[l]
            np.tanh(Y[0], out=h)                                         # (B, H)
            np.multiply(h, h, out=d)
            np.subtract(1.0, d, out=d)                                   # d = 1 - h²
            np.multiply(Y[1:], d, out=X[1:])                             # V = A ⊙ d
    Y = ws.Y[L - 1]
    # eq. (2): Σ_k e_kᵀ (∂f/∂z) e_k
    div = np.einsum("bki,kbi->b", E, Y[1:])
    return Y[0], div


def backward(t, E, theta, ws, g_f, g_div):
    """Reverse sweep on ws's tape for the cotangents g_f: (B, D), g_div: (B,) (eq. 3).
    Returns (g_z (B, D), [gradients like theta], g_t float), all fresh arrays."""
    L = len(theta) // 5
    K, B = ws.K, ws.B
    if ws.G is None:
        ws.G = [np.empty_like(y) for y in ws.Y]
        ws.dbar = [np.empty_like(d) for d in ws.d]
    grads = [None] * len(theta)
    g_t = 0.0
    Ybar = ws.G[L - 1]                                                   # (1 + K, B, D)
    Ybar[0] = g_f
    np.multiply(E.transpose(1, 0, 2), g_div[None, :, None], out=Ybar[1:])
    for l in range(L - 1, -1, -1):
        W, b, wg, bg, wh = theta[5 * l:5 * l + 5]
        s, Ws, X = ws.s[l], ws.Ws[l], ws.X[l]
        Ybar = ws.G[l]                                                   # holds X̄_{l+1}
        if l < L - 1:
            h, d, A, dbar = ws.X[l + 1][0], ws.d[l], ws.Y[l][1:], ws.dbar[l]
            np.multiply(Ybar[1], A[0], out=dbar)
            for k in range(1, K):
                dbar += Ybar[1 + k] * A[k]                               # d̄ = Σ_k V̄_k ⊙ A_k
            np.multiply(Ybar[1:], d, out=Ybar[1:])                       # Ā = V̄ ⊙ d
            dbar *= h
            dbar *= -2.0
            dbar += Ybar[0]
            np.multiply(dbar, d, out=Ybar[0])                            # ā = (X̄_0 - 2h d̄) d
        M = X.reshape((K + 1) * B, -1).T @ Ybar.reshape((K + 1) * B, -1)   # (H_in, H)
        sum_a = Ybar[0].sum(0)                                           # (H,)
        s_bar = np.einsum("ij,ij->j", W, M) + b * sum_a
        ds = s_bar * s * (1.0 - s)                                       # through σ
        grads[5 * l] = M * s
        grads[5 * l + 1] = s * sum_a
        grads[5 * l + 2] = t * ds
        grads[5 * l + 3] = ds
        grads[5 * l + 4] = t * sum_a
        g_t += float(sum_a @ wh + ds @ wg)
        if l > 0:
            Xbar = ws.G[l - 1]
            np.matmul(Ybar.reshape((K + 1) * B, -1), Ws.T, out=Xbar.reshape((K + 1) * B, -1))
        else:
            g_z = Ybar[0] @ Ws.T                                         # (B, D)
    return g_z, grads, g_t
