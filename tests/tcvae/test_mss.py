import numpy as np
import pytest
from scipy.special import logsumexp

from refimpl.tcvae import (log_importance_weight_matrix, official_log_importance_weight_matrix,
                           log_qz_mws, log_qz_mss)


def test_weight_matrix_rows_against_definition():
    B, N = 6, 50
    M = B - 1
    W = np.exp(log_importance_weight_matrix(B, N))
    for i in range(B):
        assert W[i, i] == pytest.approx(1 / N)
        assert W[i, (i + 1) % B] == pytest.approx((N - M) / (N * M))
        others = [j for j in range(B) if j not in (i, (i + 1) % B)]
        np.testing.assert_allclose(W[i, others], 1 / M)
        assert W[i].sum() == pytest.approx(1.0, rel=1e-14)


def test_official_matrix_known_defect():
    # KNOWN DEFECT of rtqichen/beta-tcvae _log_importance_weight_matrix: column 0 not diagonal
    B, N = 6, 50
    M = B - 1
    W = np.exp(official_log_importance_weight_matrix(B, N))
    strat = (N - M) / (N * M)
    np.testing.assert_allclose(W[:, 0], [1 / N] * (M - 1) + [strat, 1 / N])
    np.testing.assert_allclose(W[:M - 1, 1], strat)
    # z_i's own component gets 1/M (or strat) instead of 1/N for i >= 1
    assert W[2, 2] == pytest.approx(1 / M) and W[1, 1] == pytest.approx(strat)
    assert W[M - 1].sum() == pytest.approx(1 + (N - 2 * M) / (N * M))
    assert not np.allclose(W.sum(1), 1.0)


def test_mss_unbiased_for_qz_and_defect_moves_it():
    rng = np.random.default_rng(0)
    N, D, B = 12, 2, 5
    M = B - 1
    mean, log_std = rng.normal(size=(N, D)), rng.normal(scale=0.3, size=(N, D)) - 0.5
    star = 3
    z = mean[star] + np.exp(log_std[star]) * rng.normal(size=D)
    lp = (-0.5 * ((z - mean) / np.exp(log_std)) ** 2 - log_std - 0.5 * np.log(2 * np.pi)).sum(1)
    exact = np.exp(logsumexp(lp) - np.log(N))
    est, est_bad = [], []
    for _ in range(4000):
        others = rng.choice(np.delete(np.arange(N), star), size=M, replace=False)
        batch = np.concatenate([others[:2], [star], others[2:]])   # row 2 is z's own sample
        zb = np.repeat(z[None], B, 0)
        lq, _ = log_qz_mss(zb, mean[batch], log_std[batch], N)
        est.append(np.exp(lq[2]))
        lq_bad, _ = log_qz_mss(zb, mean[batch], log_std[batch], N,
                               official_log_importance_weight_matrix(B, N))
        est_bad.append(np.exp(lq_bad[2]))
    est, est_bad = np.array(est), np.array(est_bad)
    se = est.std() / np.sqrt(len(est))
    assert abs(est.mean() - exact) < 4 * se
    # the official matrix gives z_2's own term 1/M (1/N goes to column 0): biased
    assert abs(est_bad.mean() - exact) > 4 * est_bad.std() / np.sqrt(len(est_bad))


def test_mws_non_overlap_bias():
    # far-apart, narrow posteriors: MWS's TC estimate = (D - 1) log M exactly in the limit
    rng = np.random.default_rng(1)
    B, D, N = 8, 4, 1000
    mean = rng.normal(scale=100.0, size=(B, D))
    log_std = np.full((B, D), -5.0)
    z = mean + np.exp(log_std) * rng.normal(size=(B, D))
    lqz, lprod = log_qz_mws(z, mean, log_std, N)
    lp = (-0.5 * ((z - mean) / np.exp(log_std)) ** 2 - log_std - 0.5 * np.log(2 * np.pi))
    # true: log q(z_i) = log q(z_i|n_i) - log N; prod_d q(z_id) = prod_d q(z_id|n_i) / N
    tc_est = np.mean(lqz - lprod)
    tc_true = np.mean((lp.sum(1) - np.log(N)) - (lp - np.log(N)).sum(1))
    assert tc_est - tc_true == pytest.approx((D - 1) * np.log(B), abs=1e-6)


def test_bad_input():
    with pytest.raises(ValueError, match="batch_size"):
        log_importance_weight_matrix(1, 10)
    with pytest.raises(ValueError, match="dataset_size"):
        log_importance_weight_matrix(5, 3)
