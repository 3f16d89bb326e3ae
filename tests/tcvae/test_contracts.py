"""Review tests: the public contract, the two MIGs' conventions kept apart, the sampled MIG's
invariance, the subsampled decomposition's mixture, and the official matrix's columns."""
import inspect

import numpy as np
import pytest
from scipy.stats import norm

import refimpl.tcvae as tcvae
from refimpl.tcvae import (elbo_decomposition, log_importance_weight_matrix, mig_histogram, mig_sampled,
                           official_log_importance_weight_matrix)


def test_public_contract_signatures():
    # issue #20: names, order and defaults are used by users' scripts
    p = inspect.signature(tcvae.mig_histogram).parameters
    assert list(p) == ["codes", "factors", "n_bins"] and p["n_bins"].default == 20
    p = inspect.signature(tcvae.mig_sampled).parameters
    assert list(p)[:4] == ["mean", "log_std", "factors", "rng"]
    assert p["n_samples"].default == 10000 and p["n_samples"].kind is inspect.Parameter.KEYWORD_ONLY
    assert p["factor_subset"].default is None and p["factor_subset"].kind is inspect.Parameter.KEYWORD_ONLY
    assert list(inspect.signature(tcvae.log_importance_weight_matrix).parameters) == ["batch_size", "dataset_size"]
    assert log_importance_weight_matrix(5, 40).shape == (5, 5)


def _imbalanced(reps=10):
    # factor 0: 4 values with frequencies 11:5:3:1; factor 1: 4 equally frequent values;
    # full cross product, so the two are exactly independent in the empirical distribution
    f0 = np.repeat(np.arange(4), [11, 5, 3, 1])
    f = np.array([(a, b) for a in f0 for b in range(4)] * reps, dtype=np.int64)
    p = np.array([11, 5, 3, 1]) / 20
    return f, -np.sum(p * np.log(p))


def test_the_two_migs_normalise_apart():
    # the paper's MIG divides by log|v_k|, disentanglement_lib's by the empirical H(v_k): on an
    # imbalanced factor a perfect code scores H(v_0)/log 4 on the first and 1 on the second
    f, h0 = _imbalanced(reps=50)
    assert mig_histogram(f.astype(float), f) == pytest.approx(1.0, abs=1e-12)
    # each entropy carries ~0.7/sqrt(4000) nats of sampling noise: the MIG's sd is ~0.01
    got = mig_sampled(f.astype(float), np.full(f.shape, np.log(0.01)), f, np.random.default_rng(0),
                      n_samples=4000)
    assert got == pytest.approx((h0 / np.log(4) + 1.0) / 2, abs=0.03)          # ~0.90, not 1


def test_mig_sampled_is_invariant_to_a_positive_affine_map_of_each_latent():
    # z_j -> a_j z_j + b_j maps q(z_j|n) to N(a_j m + b_j, (a_j s)^2): every entropy moves by
    # log a_j, the MIs not at all; with the same draws the estimate is equal to rounding
    rng = np.random.default_rng(4)
    f = np.stack(np.unravel_index(np.arange(6 * 5), (6, 5)), axis=1).repeat(8, 0)
    mean = np.column_stack([f[:, 0] + 0.4 * f[:, 1], f[:, 1], rng.normal(size=len(f))])
    log_std = np.log(0.3) + 0.2 * rng.normal(size=mean.shape)
    a, b = np.array([2.5, 0.2, 7.0]), np.array([-3.0, 10.0, 0.5])
    base = mig_sampled(mean, log_std, f, np.random.default_rng(1), n_samples=150)
    moved = mig_sampled(a * mean + b, log_std + np.log(a), f, np.random.default_rng(1), n_samples=150)
    assert 0.05 < base < 0.95
    assert moved == pytest.approx(base, abs=1e-10)


def test_subsampled_decomposition_keeps_the_full_mixture():
    # n_points < N subsamples only the outer expectation: q(z) stays the mixture over all N
    rng = np.random.default_rng(0)
    N, D, P, S = 9, 2, 4, 3
    mean, log_std = rng.normal(size=(N, D)), rng.normal(scale=0.3, size=(N, D))
    out = elbo_decomposition(mean, log_std, np.random.default_rng(5), n_samples=S, n_points=P)
    r = np.random.default_rng(5)                         # replay the function's draws
    idx = np.sort(r.choice(N, P, replace=False))
    z = mean[idx, None] + np.exp(log_std[idx, None]) * r.standard_normal((P, S, D))
    comp = norm.pdf(z[:, :, None, :], mean[None, None], np.exp(log_std)[None, None])   # (P, S, N, D)
    qz, qzd = comp.prod(-1).mean(2), comp.mean(2)
    tc = np.mean(np.log(qz) - np.log(qzd).sum(-1))
    assert out["tc"] == pytest.approx(tc, rel=1e-10)
    assert out["mi"] + out["tc"] + out["dim_kl"] == pytest.approx(out["kl"], rel=1e-12)


def test_official_matrix_fills_columns_zero_and_one_of_every_row():
    B, N = 7, 100
    M = B - 1
    W = np.exp(official_log_importance_weight_matrix(B, N))
    strat = (N - M) / (N * M)
    np.testing.assert_allclose(W[:, 1], strat)                                 # every row
    np.testing.assert_allclose(np.delete(W[:, 0], M - 1), 1 / N)               # all but row M-1
    np.testing.assert_allclose(W[:, 2:], 1 / M)
    right = np.exp(log_importance_weight_matrix(B, N))
    np.testing.assert_allclose(right[0], W[0])          # they agree on row 0 only
    assert all(not np.allclose(right[i], W[i]) for i in range(1, B))


def test_bad_inputs_name_the_argument():
    f = np.zeros((10, 2), np.int64)
    m = np.zeros((10, 3))
    with pytest.raises(ValueError, match="mean, log_std"):
        mig_sampled(m, m[:, :2], f, np.random.default_rng(0))
    with pytest.raises(ValueError, match="factors"):
        mig_sampled(m, m, f.astype(float), np.random.default_rng(0))
    with pytest.raises(ValueError, match="mean"):
        mig_sampled(m[:, :1], m[:, :1], f, np.random.default_rng(0))
    with pytest.raises(ValueError, match="codes"):
        mig_histogram(m[:, 0], f)
    with pytest.raises(ValueError, match="codes"):
        mig_histogram(m[:, :1], f)
    with pytest.raises(ValueError, match="factors"):
        mig_histogram(m, f.astype(float))
    with pytest.raises(ValueError, match="batch_size"):
        log_importance_weight_matrix(5.5, 40)
    with pytest.raises(ValueError, match="dataset_size"):
        log_importance_weight_matrix(5, 40.5)
