"""LDS message passing in information form (readable autograd version).

Model: x_1 ~ N(μ₀, Σ₀), x_{t+1} = A x_t + w_t, w_t ~ N(0, Q), plus node potentials
(J_node (T, D, D), h_node (T, D)) from the recognition network. The posterior is the Gaussian
exp(−½ xᵀ J x + hᵀ x − logZ) with block-tridiagonal J:

    J_tt   = J_node,t + [t = 1] Σ₀⁻¹ + [t < T] AᵀQ⁻¹A + [t > 1] Q⁻¹,
    J_t,t+1 = −AᵀQ⁻¹,   h_t = h_node,t + [t = 1] Σ₀⁻¹μ₀.

`logZ` below is this Gaussian's normalised log partition (`expfam.gaussian` convention, with the
(TD/2) log 2π), computed by eliminating x_1, x_2, … in turn (the Kalman filter in
information form); `smooth` returns the RTS marginals; `sample` draws jointly by backward
sampling. Cost O(T D³) against O((TD)³) for the dense solve.
"""
import autograd.numpy as np

LOG2PI = np.log(2 * np.pi)


def _check(J_node, h_node, A, Q):
    T, D = np.shape(h_node)
    if np.shape(J_node) != (T, D, D):
        raise ValueError(f"J_node: expected shape {(T, D, D)}, got {np.shape(J_node)}")
    if np.shape(A) != (D, D) or np.shape(Q) != (D, D):
        raise ValueError(f"A, Q: expected ({D}, {D}), got {np.shape(A)}, {np.shape(Q)}")
    return T, D


def pair_potentials(A, Q):
    """(J11, J12, J22) of the transition factor exp(−½ (x' − A x)ᵀ Q⁻¹ (x' − A x))."""
    Qi = np.linalg.inv(Q)
    return np.dot(A.T, np.dot(Qi, A)), -np.dot(A.T, Qi), Qi


def filter(init, A, Q, J_node, h_node):
    """Information-form Kalman filter. init = (J0, h0) = (Σ₀⁻¹, Σ₀⁻¹μ₀).
    Returns (list of filtered (J_f, h_f) per t, logZ)."""
    T, D = _check(J_node, h_node, A, Q)
    J11, J12, J22 = pair_potentials(A, Q)
    Jp, hp = init
    out, logZ = [], 0.0
    for t in range(T):
        Jf, hf = Jp + J_node[t], hp + h_node[t]
        out.append((Jf, hf))
        if t == T - 1:
            break
        # eliminate x_t: M = J_f + J11; the x_t integral contributes ½ h_fᵀM⁻¹h_f − ½ log|M| + D/2 log 2π
        M = Jf + J11
        Minv_h = np.linalg.solve(M, hf)
        Minv_J12 = np.linalg.solve(M, J12)
        logZ = logZ + 0.5 * np.dot(hf, Minv_h) - 0.5 * np.linalg.slogdet(M)[1] + 0.5 * D * LOG2PI
        Jp = J22 - np.dot(J12.T, Minv_J12)
        hp = -np.dot(J12.T, Minv_h)
    logZ = logZ + 0.5 * np.dot(hf, np.linalg.solve(Jf, hf)) - 0.5 * np.linalg.slogdet(Jf)[1] + 0.5 * D * LOG2PI
    return out, logZ


def smooth(init, A, Q, J_node, h_node):
    """RTS smoother. Returns (means (T, D), covs (T, D, D), cross (T−1, D, D) = Cov(x_t, x_{t+1}),
    logZ)."""
    filt, logZ = filter(init, A, Q, J_node, h_node)
    T = len(filt)
    Pf = [np.linalg.inv(J) for J, _ in filt]
    mf = [np.dot(P, h) for P, (_, h) in zip(Pf, filt)]
    ms, Ps, cross = [mf[-1]], [Pf[-1]], []
    for t in range(T - 2, -1, -1):
        Ppred = np.dot(A, np.dot(Pf[t], A.T)) + Q
        G = np.linalg.solve(Ppred, np.dot(A, Pf[t])).T           # P_t Aᵀ P_pred⁻¹
        m = mf[t] + np.dot(G, ms[0] - np.dot(A, mf[t]))
        P = Pf[t] + np.dot(G, np.dot(Ps[0] - Ppred, G.T))
        cross.insert(0, np.dot(G, Ps[0]))
        ms.insert(0, m)
        Ps.insert(0, P)
    return np.stack(ms), np.stack(Ps), (np.stack(cross) if cross else np.zeros((0,) + np.shape(A))), logZ


def sample(rng, init, A, Q, J_node, h_node, n=1):
    """Joint posterior samples (n, T, D) by backward sampling:
    x_T ~ filtered, x_t | x_{t+1} has information (J_f + J11, h_f − J12 x_{t+1})."""
    import numpy as onp
    filt, _ = filter(init, A, Q, J_node, h_node)
    J11, J12, _ = (onp.asarray(a) for a in pair_potentials(A, Q))
    T, D = len(filt), onp.shape(h_node)[1]
    x = onp.zeros((n, T, D))

    def draw(J, h):  # h: (n, D)
        L = onp.linalg.cholesky(J)
        eps = rng.standard_normal((n, D))
        return onp.linalg.solve(J, h.T).T + onp.linalg.solve(L.T, eps.T).T
    Jf, hf = (onp.asarray(a) for a in filt[-1])
    x[:, -1] = draw(Jf, onp.tile(hf, (n, 1)))
    for t in range(T - 2, -1, -1):
        Jf, hf = (onp.asarray(a) for a in filt[t])
        x[:, t] = draw(Jf + J11, hf[None] - x[:, t + 1] @ J12.T)
    return x


def dense_information(init, A, Q, J_node, h_node):
    """The (TD, TD) information matrix and (TD,) vector of the posterior — for brute-force checks."""
    import numpy as onp
    T, D = _check(J_node, h_node, A, Q)
    J11, J12, J22 = (onp.asarray(a) for a in pair_potentials(A, Q))
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
