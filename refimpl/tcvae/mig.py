"""Mutual information gap, histogram estimator (disentanglement_lib `mig.py`)."""
import numpy as np


def _discrete_mi(a, b):
    # a, b (N,) nonnegative ints -> MI in nats from the empirical joint
    joint = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(joint, (a, b), 1.0)
    joint /= joint.sum()
    pa, pb = joint.sum(1, keepdims=True), joint.sum(0, keepdims=True)
    nz = joint > 0
    return float(np.sum(joint[nz] * np.log(joint[nz] / (pa @ pb)[nz])))


def mig_histogram(codes, factors, n_bins=20):
    """[TCVAE eq. 6] MIG with disentanglement_lib's choices: encoder means `codes` (N, D)
    binned into `n_bins` equal-width bins per latent, discrete MI, normalised by the
    empirical entropy of each factor `factors` (N, K) ints, averaged over all factors."""
    codes = np.asarray(codes, dtype=float)
    factors = np.asarray(factors)
    if codes.ndim != 2:
        raise ValueError(f"codes: expected (N, D), got shape {codes.shape}")
    if factors.ndim != 2 or factors.shape[0] != codes.shape[0] or factors.dtype.kind not in "iu":
        raise ValueError(f"factors: expected integer (N, K) with N={codes.shape[0]}, "
                         f"got {factors.dtype} {factors.shape}")
    if codes.shape[1] < 2:
        raise ValueError(f"codes: expected at least 2 latents, got {codes.shape[1]}")
    binned = np.empty(codes.shape, dtype=np.int64)
    for d in range(codes.shape[1]):
        edges = np.histogram_bin_edges(codes[:, d], bins=n_bins)
        binned[:, d] = np.digitize(codes[:, d], edges[:-1]) - 1   # as np.histogram's bins
    gaps = []
    for k in range(factors.shape[1]):
        v = np.unique(factors[:, k], return_inverse=True)[1].ravel()
        h = _discrete_mi(v, v)                                    # empirical entropy H(v_k)
        if h <= 0:
            continue
        mi = np.sort([_discrete_mi(binned[:, d], v) for d in range(codes.shape[1])])
        gaps.append((mi[-1] - mi[-2]) / h)
    return float(np.mean(gaps)) if gaps else 0.0
