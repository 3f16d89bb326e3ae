"""Numba kernel of the LDS smoother (`lds.smooth` is its readable autograd twin; the tests
compare them). Forward values only: gradients go through the twin."""
import numba
import numpy as np

LOG2PI = np.log(2 * np.pi)


@numba.njit(cache=True)
def _smooth_kernel(J0, h0, A, Q, J_node, h_node):
    T, D = h_node.shape
    Qi = np.linalg.inv(Q)
    J11 = A.T @ Qi @ A
    J12 = -(A.T @ Qi)
    Pf = np.zeros((T, D, D))
    mf = np.zeros((T, D))
    Jp, hp = J0.copy(), h0.copy()
    logZ = 0.0
    for t in range(T):
        Jf = Jp + J_node[t]
        hf = hp + h_node[t]
        Pf[t] = np.linalg.inv(Jf)
        mf[t] = Pf[t] @ hf
        if t == T - 1:
            logZ += 0.5 * hf @ mf[t] - 0.5 * np.log(np.linalg.det(Jf)) + 0.5 * D * LOG2PI
            break
        M = Jf + J11
        Minv = np.linalg.inv(M)
        Minv_h = Minv @ hf
        logZ += 0.5 * hf @ Minv_h - 0.5 * np.log(np.linalg.det(M)) + 0.5 * D * LOG2PI
        Jp = Qi - J12.T @ Minv @ J12
        hp = -(J12.T @ Minv_h)
    ms = np.zeros((T, D))
    Ps = np.zeros((T, D, D))
    cross = np.zeros((max(T - 1, 0), D, D))
    ms[T - 1] = mf[T - 1]
    Ps[T - 1] = Pf[T - 1]
    for t in range(T - 2, -1, -1):
        Ppred = A @ Pf[t] @ A.T + Q
        G = Pf[t] @ A.T @ np.linalg.inv(Ppred)
        ms[t] = mf[t] + G @ (ms[t + 1] - A @ mf[t])
        Ps[t] = Pf[t] + G @ (Ps[t + 1] - Ppred) @ G.T
        cross[t] = G @ Ps[t + 1]
    return ms, Ps, cross, logZ


def smooth(init, A, Q, J_node, h_node):
    """Same contract as `lds.smooth` (float64 arrays, no autograd)."""
    f = lambda a: np.ascontiguousarray(np.asarray(a, dtype=np.float64))
    T, D = np.shape(h_node)
    if np.shape(J_node) != (T, D, D):
        raise ValueError(f"J_node: expected shape {(T, D, D)}, got {np.shape(J_node)}")
    return _smooth_kernel(f(init[0]), f(init[1]), f(A), f(Q), f(J_node), f(h_node))
