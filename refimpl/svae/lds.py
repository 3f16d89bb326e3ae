"""LDS message passing in information form (readable autograd version).

Model: x_1 ~ N(μ₀, Σ₀), x_{t+1} = A x_t + w_t, w_t ~ N(0, Q), plus node potentials
(J_node (T, D, D), h_node (T, D)) from the recognition network. The posterior is the Gaussian
exp(−½ xᵀ J x + hᵀ x − logZ) with block-tridiagonal J:

    J_tt   = J_node,t + [t = 1] J₀ + [t < T] J11 + [t > 1] J22,
    J_t,t+1 = J12,   h_t = h_node,t + [t = 1] h₀,

with init = (J₀, h₀) = (Σ₀⁻¹, Σ₀⁻¹μ₀) and pair = (J11, J12, J22) = (AᵀQ⁻¹A, −AᵀQ⁻¹, Q⁻¹).
The `natural_*` functions take (init, pair) directly, so they also run on the *expected*
potentials of the SVAE (E[AᵀQ⁻¹A], −E[AᵀQ⁻¹], E[Q⁻¹] under q(A, Q), which are not of the
form (AᵀQ⁻¹A, …) for any single (A, Q)); `filter`/`smooth`/`sample` are the (A, Q) wrappers.

`logZ` is this Gaussian's normalised log partition (`expfam.gaussian` convention, with the
(TD/2) log 2π), computed by eliminating x_1, x_2, … in turn (the Kalman filter in information
form). The backward pass uses x_t | x_{t+1}, y_{1:t} ~ N(M_t⁻¹(h_f,t − J12 x_{t+1}), M_t⁻¹),
M_t = J_f,t + J11: the RTS smoother and backward (joint) sampling in information form.
Cost O(T D³) against O((TD)³) for the dense solve. Leading axes of J_node, h_node (…) are
independent sequences sharing (init, pair).
"""
import autograd.numpy as np

LOG2PI = np.log(2 * np.pi)


def _check(J_node, h_node, pair):
    if np.ndim(h_node) < 2:
        raise ValueError(f"h_node: expected shape (..., T, D), got {np.shape(h_node)}")
    T, D = np.shape(h_node)[-2:]
    if np.shape(J_node) != np.shape(h_node) + (D,):
        raise ValueError(f"J_node: expected shape {np.shape(h_node) + (D,)}, got {np.shape(J_node)}")
    if any(np.shape(P) != (D, D) for P in pair):
        raise ValueError(f"pair: expected three ({D}, {D}) blocks, got {[np.shape(P) for P in pair]}")
    return T, D


def _mv(M, v):  # (..., D, D) @ (..., D) -> (..., D)
    return np.matmul(M, v[..., None])[..., 0]


def _outer(a, b):
    return a[..., :, None] * b[..., None, :]


def pair_potentials(A, Q):
    """(J11, J12, J22) of the transition factor exp(−½ (x' − A x)ᵀ Q⁻¹ (x' − A x))."""
    if np.shape(A) != np.shape(Q) or np.ndim(A) != 2 or np.shape(A)[0] != np.shape(A)[1]:
        raise ValueError(f"A, Q: expected two (D, D) matrices, got {np.shape(A)}, {np.shape(Q)}")
    Qi = np.linalg.inv(Q)
    return np.dot(A.T, np.dot(Qi, A)), -np.dot(A.T, Qi), Qi


def natural_filter(init, pair, J_node, h_node):
    """Information-form Kalman filter. Returns (Jf list of T (..., D, D), hf list of T (..., D),
    Minv list of T−1 (..., D, D) with M_t = J_f,t + J11, logZ (...))."""
    T, D = _check(J_node, h_node, pair)
    J11, J12, J22 = pair
    Jp, hp = init
    Jf, hf, Minv, logZ = [], [], [], 0.0
    for t in range(T):
        Jf.append(Jp + J_node[..., t, :, :])
        hf.append(hp + h_node[..., t, :])
        if t == T - 1:
            break
        # eliminate x_t: ∫ exp(−½ xᵀ M x + xᵀ(h_f − J12 x')) dx = exp(½ (h_f − J12 x')ᵀ M⁻¹ (…) − ½ log|M| + D/2 log 2π)
        M = Jf[t] + J11
        Mi = np.linalg.inv(M)
        Minv.append(Mi)
        Mi_h = _mv(Mi, hf[t])
        logZ = logZ + 0.5 * np.sum(hf[t] * Mi_h, -1) - 0.5 * np.linalg.slogdet(M)[1] + 0.5 * D * LOG2PI
        Jp = J22 - np.matmul(J12.T, np.matmul(Mi, J12))
        hp = -_mv(J12.T, Mi_h)
    logZ = (logZ + 0.5 * np.sum(hf[-1] * np.linalg.solve(Jf[-1], hf[-1][..., None])[..., 0], -1)
            - 0.5 * np.linalg.slogdet(Jf[-1])[1] + 0.5 * D * LOG2PI)
    return Jf, hf, Minv, logZ


def natural_smooth(init, pair, J_node, h_node):
    """RTS smoother. Returns (means (..., T, D), covs (..., T, D, D), cross (..., T−1, D, D) =
    Cov(x_t, x_{t+1}), logZ (...))."""
    Jf, hf, Minv, logZ = natural_filter(init, pair, J_node, h_node)
    J12 = pair[1]
    T = len(Jf)
    P = np.linalg.inv(Jf[-1])
    ms, Ps, cross = [_mv(P, hf[-1])], [P], []
    for t in range(T - 2, -1, -1):
        G = -np.matmul(Minv[t], J12)                                # E[x_t | x_{t+1}] = M⁻¹h_f + G x_{t+1}
        ms.insert(0, _mv(Minv[t], hf[t]) + _mv(G, ms[0]))
        cross.insert(0, np.matmul(G, Ps[0]))
        Ps.insert(0, Minv[t] + np.matmul(cross[0], np.swapaxes(G, -1, -2)))
    bshape = np.shape(h_node)[:-2]
    cross = np.stack(cross, -3) if cross else np.zeros(bshape + (0,) + np.shape(J12))
    return np.stack(ms, -2), np.stack(Ps, -3), cross, logZ


def natural_sample(init, pair, J_node, h_node, eps):
    """Reparameterised joint posterior sample (..., T, D) from eps (..., T, D) ~ N(0, I)
    by backward sampling: x_T = J_f,T⁻¹ h_f,T + chol(J_f,T⁻¹) ε_T,
    x_t = M_t⁻¹ (h_f,t − J12 x_{t+1}) + chol(M_t⁻¹) ε_t. Differentiable (autograd)."""
    if np.shape(eps) != np.shape(h_node):
        raise ValueError(f"eps: expected shape {np.shape(h_node)}, got {np.shape(eps)}")
    Jf, hf, Minv, _ = natural_filter(init, pair, J_node, h_node)
    J12 = pair[1]
    T = len(Jf)
    P = np.linalg.inv(Jf[-1])
    xs = [_mv(P, hf[-1]) + _mv(np.linalg.cholesky(P), eps[..., T - 1, :])]
    for t in range(T - 2, -1, -1):
        mean = _mv(Minv[t], hf[t] - _mv(J12, xs[0]))
        xs.insert(0, mean + _mv(np.linalg.cholesky(Minv[t]), eps[..., t, :]))
    return np.stack(xs, -2)


# --- (A, Q) wrappers ---------------------------------------------------------------------

def filter(init, A, Q, J_node, h_node):
    """Returns (list of filtered (J_f, h_f) per t, logZ)."""
    Jf, hf, _, logZ = natural_filter(init, pair_potentials(A, Q), J_node, h_node)
    return list(zip(Jf, hf)), logZ


def smooth(init, A, Q, J_node, h_node):
    return natural_smooth(init, pair_potentials(A, Q), J_node, h_node)


def sample(rng, init, A, Q, J_node, h_node, n=1):
    """n joint posterior samples (n, T, D) of one sequence (no gradients)."""
    import numpy as onp
    Jn, hn = onp.asarray(J_node), onp.asarray(h_node)
    eps = rng.standard_normal((n,) + hn.shape)
    return natural_sample(init, pair_potentials(A, Q), onp.broadcast_to(Jn, (n,) + Jn.shape),
                          onp.broadcast_to(hn, (n,) + hn.shape), eps)


def dense_information_natural(init, pair, J_node, h_node):
    """The (TD, TD) information matrix and (TD,) vector of one sequence's posterior — for
    brute-force checks."""
    import numpy as onp
    T, D = _check(J_node, h_node, pair)
    J11, J12, J22 = (onp.asarray(a) for a in pair)
    J = onp.zeros((T * D, T * D))
    h = onp.asarray(h_node, float).reshape(-1).copy()
    for t in range(T):
        s = slice(t * D, (t + 1) * D)
        J[s, s] += onp.asarray(J_node[t])
        if t < T - 1:
            s2 = slice((t + 1) * D, (t + 2) * D)
            J[s, s] += J11
            J[s2, s2] += J22
            J[s, s2] += J12
            J[s2, s] += J12.T
    J[:D, :D] += onp.asarray(init[0])
    h[:D] += onp.asarray(init[1])
    return J, h


def dense_information(init, A, Q, J_node, h_node):
    return dense_information_natural(init, pair_potentials(A, Q), J_node, h_node)


def dense_smooth_sample(init, pair, J_node, h_node, eps):
    """The same posterior as `natural_smooth` + `natural_sample`, by dense Gaussian algebra on the
    (TD, TD) information matrix: one batched Cholesky, inverse and solve (~20 autograd
    primitives, O((TD)³)) instead of the T-step loop (~90 primitives per step). For moderate
    TD (≤ a few hundred) this is the fast differentiable path under autograd; the message-passing
    twin is O(T) but pays autograd's per-primitive overhead at every step. The sample is
    x = μ + L⁻ᵀ ε (J = L Lᵀ): the same distribution as `natural_sample`, not the same draw.
    Returns (means (B, T, D), covs (B, T, D, D), cross (B, T−1, D, D), logZ (B,), x (B, T, D))."""
    T, D = _check(J_node, h_node, pair)
    if np.ndim(h_node) != 3 or np.shape(eps) != np.shape(h_node):
        raise ValueError(f"h_node, eps: expected (B, T, D) each, got {np.shape(h_node)}, {np.shape(eps)}")
    B = np.shape(h_node)[0]
    J11, J12, J22 = pair
    first, last = np.eye(T)[0], np.eye(T)[-1]
    chain = (np.kron(np.outer(first, first), init[0]) + np.kron(np.diag(1.0 - last), J11)
             + np.kron(np.diag(1.0 - first), J22) + np.kron(np.eye(T, k=1), J12)
             + np.kron(np.eye(T, k=-1), J12.T))                                       # (TD, TD)
    blocks = np.reshape(np.eye(T)[None, :, None, :, None] * J_node[:, :, :, None, :], (B, T * D, T * D))
    J = chain + blocks
    h = np.reshape(h_node, (B, T * D)) + np.kron(first, init[1])
    L = np.linalg.cholesky(J)
    Sig = np.linalg.inv(J)
    mu = _mv(Sig, h)
    logZ = (0.5 * np.sum(h * mu, -1) - np.sum(np.log(np.diagonal(L, 0, -1, -2)), -1)
            + 0.5 * T * D * LOG2PI)
    x = mu + np.linalg.solve(np.swapaxes(L, -1, -2), np.reshape(eps, (B, T * D))[..., None])[..., 0]
    S5 = np.reshape(Sig, (B, T, D, T, D))
    t = np.arange(T)
    Ps = np.transpose(S5[:, t, :, t, :], (1, 0, 2, 3))                                # (B, T, D, D)
    cross = np.transpose(S5[:, t[:-1], :, t[1:], :], (1, 0, 2, 3))                    # Cov(x_t, x_{t+1})
    return np.reshape(mu, (B, T, D)), Ps, cross, logZ, np.reshape(x, (B, T, D))
