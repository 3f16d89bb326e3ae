"""Fast path for FFJORD: concatsquash dynamics and divergence fused into one autograd primitive.

    from refimpl.ffjord.fast import fast_concatsquash_dynamics as FAST
    f, div = FAST.with_exact_divergence(t, z, params)          # (B, D), (B,)
    f, est = f_and_divergence(t, z, params, probes=eps[:, None, :])   # Hutchinson, (B,)
    logp = log_prob(FAST, params, x, t1=0.5)                   # picks with_exact_divergence up

One kernel does both traces: tangents V_l = E ∂h_l/∂z, (B, K, H_l), are pushed forward with
the layers from V_0 = E (probe matrix, (B, K, D)), and

    div = Σ_k Σ_i E[b, k, i] V_L[b, k, i] = Σ_k e_kᵀ (∂f/∂z) e_k

so E = I (K = D) gives the exact trace and E = ε (K = 1) Hutchinson's εᵀ(∂f/∂z)ε (FFJORD
eq. 7). The VJP (∂/∂z, ∂/∂θ, ∂/∂t of gᵀf + g_divᵀdiv) is written by hand as the reverse
sweep of that forward sweep (second derivatives of tanh included), a few BLAS calls per
layer — this is what the adjoint solve evaluates at every stage. The readable twin is
`layers.concatsquash_dynamics.with_exact_divergence` (autograd); tests compare them to
~1e-12 and gradient-check the VJP.

References
----------
W. Grathwohl et al. FFJORD (ICLR 2019), eqs. (4), (7); concatsquash layers of the released code.
A. Griewank, A. Walther. Evaluating derivatives (2008), Ch. 3-4 (forward tangents, reverse sweep).
"""
import autograd.numpy as anp
import numpy as np
from autograd.extend import defvjp_argnums, primitive

from .layers import concatsquash_dynamics

__all__ = ["f_and_divergence", "fast_concatsquash_dynamics", "augmented_dynamics", "fast_log_prob"]

_KEYS = ("W", "b", "w_gate", "b_gate", "w_hyper")


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _forward(t, z, E, theta):
    """Forward sweep; returns (f (B, D), div (B,), tape). theta = (W, b, wg, bg, wh) * L.

    The state and its K tangents travel together as X_l = [h_l; V_l]: (1 + K, B, H_l) (tangent
    index first, so every slice is contiguous), and each layer is one matrix product
    X_{l-1} W_l (FFJORD's layer acts linearly on both)."""
    L = len(theta) // 5
    B, K, D = E.shape
    X = np.concatenate([z[None], E.transpose(1, 0, 2)], axis=0)       # (1 + K, B, D)
    tape = []
    for l in range(L):
        W, b, wg, bg, wh = theta[5 * l:5 * l + 5]
        s = _sigmoid(t * wg + bg)                                     # (H,)
        PQ = (X.reshape((K + 1) * B, -1) @ W).reshape(K + 1, B, -1)   # [h W; V W]
        PQ[0] += b                                                    # p = h W + b
        Y = PQ * s                                                    # [p ⊙ s; A = q ⊙ s]
        Y[0] += t * wh                                                # a = p ⊙ s + t w_h
        rec = dict(X_in=X, s=s, PQ=PQ, Y=Y)
        if l < L - 1:
            h = np.tanh(Y[0])                                         # (B, H)
            d = 1.0 - h * h                                           # tanh'(a)
            X = Y * d                                                 # V = A ⊙ d
            X[0] = h
            rec.update(h=h, d=d)
        else:
            X = Y
        tape.append(rec)
    # Σ_k e_kᵀ (∂f/∂z) e_k
    div = np.einsum("bki,kbi->b", E, X[1:])
    return X[0], div, tape


def _backward(t, E, theta, tape, g_f, g_div):
    """Reverse sweep: returns (g_z (B, D), [grads like theta], g_t scalar)."""
    L = len(theta) // 5
    B, K, D = E.shape
    grads = [None] * len(theta)
    g_t = 0.0
    X_bar = np.concatenate([g_f[None], g_div[None, :, None] * E.transpose(1, 0, 2)], axis=0)
    for l in range(L - 1, -1, -1):
        W, b, wg, bg, wh = theta[5 * l:5 * l + 5]
        r = tape[l]
        s = r["s"]
        if l < L - 1:
            # h = tanh(a), V = A ⊙ d, d = 1 - h²: ∂d/∂a = -2 h d
            d, h = r["d"], r["h"]
            d_bar = np.einsum("kbh,kbh->bh", X_bar[1:], r["Y"][1:])
            Y_bar = X_bar * d                                         # [·; A_bar]
            Y_bar[0] = (X_bar[0] - 2.0 * h * d_bar) * d               # a_bar
        else:
            Y_bar = X_bar
        # Y = PQ ⊙ s (+ t w_h on the first row)
        PQ_bar = Y_bar * s
        s_bar = np.einsum("kbh,kbh->h", Y_bar, r["PQ"])
        sum_a = np.sum(Y_bar[0], 0)
        ds = s_bar * s * (1.0 - s)                                    # through σ(t w_g + b_g)
        grads[5 * l + 4] = t * sum_a
        grads[5 * l + 2] = t * ds
        grads[5 * l + 3] = ds
        g_t = g_t + np.dot(sum_a, wh) + np.dot(ds, wg)
        # PQ = X_in W (+ b on the first row)
        Pf = PQ_bar.reshape((K + 1) * B, -1)
        grads[5 * l] = r["X_in"].reshape((K + 1) * B, -1).T @ Pf
        grads[5 * l + 1] = np.sum(PQ_bar[0], 0)
        X_bar = (Pf @ W.T).reshape(K + 1, B, -1)
    return X_bar[0], grads, g_t


# one-slot cache: autograd calls the primitive, then its VJP maker with the same arguments
_LAST = {}


def _tape_for(t, z, E, theta):
    key = (id(z), id(E), float(t), tuple(id(p) for p in theta))
    if _LAST.get("key") == key:
        return _LAST["tape"]
    return _forward(t, z, E, theta)[2]


@primitive
def _fused(t, z, E, *theta):
    """[f, div] as one (B, D + 1) array."""
    f, div, tape = _forward(t, z, E, theta)
    _LAST.clear()
    _LAST.update(key=(id(z), id(E), float(t), tuple(id(p) for p in theta)), tape=tape,
                 refs=(z, E, theta))                                  # refs keep the ids valid
    return np.concatenate([f, div[:, None]], axis=1)


def _fused_vjp(argnums, ans, args, kwargs):
    t, z, E, *theta = args
    tape = _tape_for(t, z, E, theta)

    def vjp(g):
        g_z, grads, g_t = _backward(t, E, theta, tape, g[:, :-1], g[:, -1])
        return _per_argnum(argnums, t, g_t, g_z, grads)
    return vjp


def _per_argnum(argnums, t, g_t, g_state, grads):
    """The VJP's outputs in autograd's argnums order for args (t, state, E, *theta)."""
    out = []
    for k in argnums:
        if k == 0:
            out.append(np.reshape(g_t, np.shape(t)))
        elif k == 1:
            out.append(g_state)
        elif k == 2:
            raise NotImplementedError("gradient with respect to the probes E")
        else:
            out.append(grads[k - 3])
    return tuple(out)


defvjp_argnums(_fused, _fused_vjp)


@primitive
def _fused_aug(t, y, E, *theta):
    """FFJORD eq. (4) on one flat augmented state y = [z, Δlog p]: (B, D + 1) -> [f, -div]."""
    f, div, tape = _forward(t, y[:, :-1], E, theta)
    _LAST.clear()
    _LAST.update(key=(id(y), id(E), float(t), tuple(id(p) for p in theta)), tape=tape,
                 refs=(y, E, theta))
    return np.concatenate([f, -div[:, None]], axis=1)


def _fused_aug_vjp(argnums, ans, args, kwargs):
    t, y, E, *theta = args
    key = (id(y), id(E), float(t), tuple(id(p) for p in theta))
    tape = _LAST["tape"] if _LAST.get("key") == key else _forward(t, y[:, :-1], E, theta)[2]

    def vjp(g):
        g_z, grads, g_t = _backward(t, E, theta, tape, g[:, :-1], -g[:, -1])
        g_y = np.concatenate([g_z, np.zeros((g_z.shape[0], 1))], axis=1)   # Δlog p does not feed back
        return _per_argnum(argnums, t, g_t, g_y, grads)
    return vjp


defvjp_argnums(_fused_aug, _fused_aug_vjp)


def augmented_dynamics(E):
    """func(t, y, theta) for `odeint` on the flat augmented state y = [z, Δlog p]: (B, D + 1),
    theta = flat list [W, b, w_gate, b_gate, w_hyper] per layer; E as in `f_and_divergence`."""
    def func(t, y, theta):
        return _fused_aug(t, y, E, *theta)
    return func


def fast_log_prob(params, x, *, t1=0.5, trace="exact", eps=None, rtol=1e-5, atol=1e-5,
                  info=None, **odeint_kw):
    """log p(x), (B,), as `refimpl.ffjord.log_prob(concatsquash_dynamics, ...)` but solving the
    augmented ODE as one flat (B, D + 1) state with the fused kernel (fewer autograd nodes
    per evaluation). The error norm is the RMS over [z, Δlog p] (`log_prob` takes the max of
    the two RMS's), so step sequences can differ slightly. trace="hutchinson" needs eps (B, D)."""
    from refimpl.ode import odeint
    from .cnf import standard_normal_logprob

    if anp.ndim(x) != 2:
        raise ValueError(f"x: expected a batch of shape (B, D), got shape {anp.shape(x)}")
    B, D = anp.shape(x)
    if trace == "exact":
        E = np.broadcast_to(np.eye(D), (B, D, D))
    elif trace == "hutchinson" and eps is not None and np.shape(eps) == (B, D):
        E = np.asarray(eps, float)[:, None, :]
    else:
        raise ValueError(f"trace/eps: expected trace='exact', or 'hutchinson' with eps of shape "
                         f"{(B, D)}; got trace={trace!r}, eps shape {np.shape(eps)}")
    theta = [layer[k] for layer in params for k in _KEYS]
    y0 = anp.concatenate([x, anp.zeros((B, 1))], axis=1)
    y1 = odeint(augmented_dynamics(E), y0, anp.array([0.0, t1]), (theta,), rtol=rtol, atol=atol,
                info=info, **odeint_kw)[-1]
    # FFJORD eq. (4): log p(x) = log N(z(t1)) - Δlog p(t1)
    return standard_normal_logprob(y1[:, :D]) - y1[:, D]


def f_and_divergence(t, z, params, probes=None):
    """(f (B, D), Σ_k e_kᵀ(∂f/∂z)e_k (B,)) for concatsquash params (layers.py layout).

    probes: None for the exact trace (E = I), or (B, K, D) probe vectors (Hutchinson: K = 1,
    ε drawn once per solve); differentiable in t, z and params (hand-written VJP)."""
    if anp.ndim(z) != 2:
        raise ValueError(f"z: expected a batch of shape (B, D), got shape {anp.shape(z)}")
    B, D = anp.shape(z)
    if probes is None:
        E = np.broadcast_to(np.eye(D), (B, D, D))
    else:
        E = np.asarray(probes, dtype=float)
        if E.ndim != 3 or E.shape[0] != B or E.shape[2] != D:
            raise ValueError(f"probes: expected shape ({B}, K, {D}), got {E.shape}")
    theta = [layer[k] for layer in params for k in _KEYS]
    out = _fused(t, z, E, *theta)
    return out[:, :-1], out[:, -1]


def fast_concatsquash_dynamics(t, z, params):
    """tanh concatsquash dynamics (same numbers as layers.concatsquash_dynamics); attribute
    `with_exact_divergence` is the fused kernel, used by `log_prob(trace="exact")`."""
    return concatsquash_dynamics(t, z, params)


fast_concatsquash_dynamics.with_exact_divergence = lambda t, z, params: f_and_divergence(t, z, params)
fast_concatsquash_dynamics.bottleneck = concatsquash_dynamics.bottleneck
fast_concatsquash_dynamics.activation = "tanh"
