"""Numba kernel of the information-form LDS smoother (`lds.natural_smooth` is its readable
autograd twin; the tests compare them). Forward values only: gradients go through the twin.
Used where no gradient is needed (evaluation, prediction, the benchmark)."""
import numba
import numpy as np

from .lds import pair_potentials

LOG2PI = np.log(2 * np.pi)


@numba.njit(cache=True)
def _smooth_kernel(J0, h0, J11, J12, J22, J_node, h_node):
    T, D = h_node.shape
    Jf = np.zeros((T, D, D))
    hf = np.zeros((T, D))
    Minv = np.zeros((max(T - 1, 0), D, D))
    Jp, hp = J0.copy(), h0.copy()
    logZ = 0.0
    for t in range(T):
        Jf[t] = Jp + J_node[t]
        hf[t] = hp + h_node[t]
        if t == T - 1:
            break
        M = Jf[t] + J11
        Minv[t] = np.linalg.inv(M)
        Mi_h = Minv[t] @ hf[t]
        logZ += 0.5 * hf[t] @ Mi_h - 0.5 * np.log(np.linalg.det(M)) + 0.5 * D * LOG2PI
        Jp = J22 - J12.T @ Minv[t] @ J12
        hp = -(J12.T @ Mi_h)
    P = np.linalg.inv(Jf[T - 1])
    logZ += 0.5 * hf[T - 1] @ P @ hf[T - 1] - 0.5 * np.log(np.linalg.det(Jf[T - 1])) + 0.5 * D * LOG2PI
    ms = np.zeros((T, D))
    Ps = np.zeros((T, D, D))
    cross = np.zeros((max(T - 1, 0), D, D))
    ms[T - 1] = P @ hf[T - 1]
    Ps[T - 1] = P
    for t in range(T - 2, -1, -1):
        G = -(Minv[t] @ J12)
        ms[t] = Minv[t] @ hf[t] + G @ ms[t + 1]
        cross[t] = G @ Ps[t + 1]
        Ps[t] = Minv[t] + cross[t] @ G.T
    return ms, Ps, cross, logZ


def natural_smooth(init, pair, J_node, h_node):
    """Same contract as `lds.natural_smooth` (float64 arrays, no autograd); leading batch axes
    of J_node, h_node are looped over."""
    f = lambda a: np.ascontiguousarray(np.asarray(a, dtype=np.float64))
    h_node, J_node = f(h_node), f(J_node)
    if h_node.ndim < 2 or J_node.shape != h_node.shape + h_node.shape[-1:]:
        raise ValueError(f"J_node, h_node: expected (..., T, D, D) and (..., T, D), got "
                         f"{J_node.shape}, {h_node.shape}")
    args = (f(init[0]), f(init[1])) + tuple(f(P) for P in pair)
    if h_node.ndim == 2:
        return _smooth_kernel(*args, J_node, h_node)
    lead = h_node.shape[:-2]
    outs = [_smooth_kernel(*args, Jn, hn) for Jn, hn in
            zip(J_node.reshape((-1,) + J_node.shape[-3:]), h_node.reshape((-1,) + h_node.shape[-2:]))]
    return tuple(np.stack([o[k] for o in outs]).reshape(lead + np.shape(outs[0][k])) for k in range(4))


def smooth(init, A, Q, J_node, h_node):
    """Same contract as `lds.smooth`."""
    return natural_smooth(init, pair_potentials(np.asarray(A, float), np.asarray(Q, float)), J_node, h_node)
