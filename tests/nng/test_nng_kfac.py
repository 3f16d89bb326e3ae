"""Kronecker factors vs the exact Fisher, the two dampings, matrix-normal sampling, K-FAC."""
import numpy as np
import pytest

from refimpl.nng import kfac, mlp
from refimpl.testing import assert_twins_agree, assert_unbiased


def exact_fisher(params, X, tau, activation, layer):
    """E_x E_y~model[vec g vec gᵀ] of one layer, from per-example Jacobians (Gaussian output)."""
    f, cache = mlp.forward(params, X, activation)
    d = f.shape[1]
    F = 0.0
    for k in range(d):                                 # E_y[g gᵀ] = τ Σ_k J_k J_kᵀ
        e = np.zeros_like(f)
        e[:, k] = np.sqrt(tau)
        G = mlp.per_example_grads(cache, mlp.backward(params, cache, e, activation))[layer]
        G = G.reshape(X.shape[0], -1)
        F = F + G.T @ G
    return F / X.shape[0]


def test_linear_layer_kronecker_product_is_the_exact_fisher():
    # s = ā W, Gaussian output: Ds = τ(y − s) with y ~ model, E[Ds Dsᵀ | x] = τ I, so A ⊗ S = F
    rng = np.random.default_rng(0)
    params = mlp.init_params(rng, [4, 3])
    X = rng.standard_normal((50, 4))
    st = kfac.batch_stats(params, X, None, 2.0, rng, "relu", "exact")
    F = exact_fisher(params, X, 2.0, "relu", 0)
    assert_twins_agree(np.kron(st["A"][0], st["S"][0]), F, rtol=1e-12, atol=1e-13, name="A⊗S vs F")


def test_sampled_targets_estimate_S_without_bias():
    rng = np.random.default_rng(1)
    params = mlp.init_params(rng, [3, 5, 2])
    X = rng.standard_normal((20, 3))
    exact = kfac.batch_stats(params, X, None, 1.5, rng, "tanh", "exact")
    draws = np.stack([kfac.batch_stats(params, X, None, 1.5, rng, "tanh", "sampled", ("S",))["S"][0]
                      for _ in range(2000)])
    assert_unbiased(draws, exact["S"][0], n_se=4.5, name="sampled S")


def test_hidden_layer_kronecker_approximation_error_is_visible():
    # with a hidden layer the first layer's factors are a genuine approximation
    rng = np.random.default_rng(2)
    params = mlp.init_params(rng, [3, 6, 2])
    X = rng.standard_normal((200, 3))
    st = kfac.batch_stats(params, X, None, 1.0, rng, "tanh", "exact")
    errs = []
    for l in range(2):
        F = exact_fisher(params, X, 1.0, "tanh", l)
        errs.append(np.linalg.norm(np.kron(st["A"][l], st["S"][l]) - F) / np.linalg.norm(F))
    print(f"relative Frobenius error of A⊗S: layer 1 {errs[0]:.3f}, output layer {errs[1]:.2e}")
    assert errs[1] < 1e-12                 # the output layer is linear-Gaussian: exact
    assert 0.02 < errs[0] < 0.9            # the hidden layer is not (value printed above)


@pytest.mark.parametrize("damping", ["factored", "eigen"])
def test_preconditioner_matches_dense_solve(damping):
    rng = np.random.default_rng(3)
    A = np.cov(rng.standard_normal((5, 40)))
    S = np.cov(rng.standard_normal((3, 40))) * 0.1
    V = rng.standard_normal((5, 3))
    gamma = 0.05
    P = kfac.damped_inverse(kfac.eig_factors(A, S), gamma, damping)
    if damping == "eigen":
        M = np.kron(A, S) + gamma * np.eye(15)
    else:
        pi = np.sqrt((np.trace(A) / 5) / (np.trace(S) / 3))            # K-FAC Sec. 6.3
        M = np.kron(A + pi * np.sqrt(gamma) * np.eye(5), S + np.sqrt(gamma) / pi * np.eye(3))
    ref = np.linalg.solve(M, V.ravel()).reshape(5, 3)
    assert_twins_agree(kfac.precondition(P, V), ref, rtol=1e-10, atol=1e-12, name="precondition")
    assert_twins_agree(kfac.dense_matrix(P), np.linalg.inv(M), rtol=1e-9, atol=1e-11, name="dense")


def test_cholesky_factored_inverse_matches_the_eigendecomposition():
    rng = np.random.default_rng(6)
    A = np.cov(rng.standard_normal((6, 40)))
    S = np.cov(rng.standard_normal((4, 40))) * 0.01
    P_eig = kfac.damped_inverse(kfac.eig_factors(A, S), 0.03, "factored")
    P_chol = kfac.factored_inverse(A, S, 0.03)
    for k in ("Ainv", "Sinv"):
        assert_twins_agree(P_chol[k], P_eig[k], rtol=1e-12, atol=0, name=k)
        assert np.array_equal(P_chol[k], P_chol[k].T)
    with pytest.raises(np.linalg.LinAlgError, match="damping"):
        kfac.factored_inverse(np.zeros((3, 3)), np.eye(2), 0.0)


def test_kfac_factored_steps_match_the_eigendecomposition_path():
    # the optimizer (Cholesky refresh) against the same update written with damped_inverse
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 2))
    params = mlp.init_params(rng, [3, 5, 2])
    ref = [W.copy() for W in params]
    opt = kfac.KFAC(lr=0.1, damping=0.05, weight_decay=0.01, beta=0.2, T_inv=2, fisher="exact",
                    activation="tanh")
    A = S = None
    for k in range(5):
        opt.step(params, X, y, 2.0, rng)
        st = kfac.batch_stats(ref, X, y, 2.0, rng, "tanh", "exact")
        A = st["A"] if A is None else [0.8 * a + 0.2 * b for a, b in zip(A, st["A"])]
        S = st["S"] if S is None else [0.8 * a + 0.2 * b for a, b in zip(S, st["S"])]
        if k % 2 == 0:
            P = [kfac.damped_inverse(kfac.eig_factors(a, s), 0.05) for a, s in zip(A, S)]
        ref = [W + 0.1 * kfac.precondition(p, g - 0.01 * W) for W, p, g in zip(ref, P, st["grad"])]
    for W, R in zip(params, ref):
        assert_twins_agree(W, R, rtol=1e-11, atol=1e-13, name="K-FAC step")


def test_matrix_normal_sample_covariance():
    rng = np.random.default_rng(4)
    A = np.cov(rng.standard_normal((3, 30)))
    S = np.cov(rng.standard_normal((2, 30)))
    M = rng.standard_normal((3, 2))
    for damping in ("factored", "eigen"):
        P = kfac.damped_inverse(kfac.eig_factors(A, S), 0.1, damping)
        W = np.stack([kfac.sample_matrix_normal(P, M, 0.5, rng).ravel() for _ in range(20000)])
        C = 0.25 * kfac.dense_matrix(P)
        check_mean_and_covariance(W, M, C)


def check_mean_and_covariance(W, M, C):
    assert_unbiased(W, M.ravel(), n_se=4.5, name="MN mean")
    outer = (W - M.ravel())[:, :, None] * (W - M.ravel())[:, None, :]
    assert_unbiased(outer.reshape(len(W), -1), C.ravel(), n_se=4.5, name="MN covariance")


def test_kfac_step_is_newton_on_linear_gaussian_regression():
    # Fisher = Hessian for a linear-Gaussian model: one step with α = 1 and exact
    # (eigen) damping γ = ω lands on the ridge solution
    rng = np.random.default_rng(5)
    X = rng.standard_normal((100, 4))
    y = X @ rng.standard_normal((4, 2)) + 0.1 * rng.standard_normal((100, 2))
    params = mlp.init_params(rng, [4, 2])
    tau, wd = 3.0, 0.01
    opt = kfac.KFAC(lr=1.0, damping=wd, weight_decay=wd, damping_mode="eigen", fisher="exact")
    opt.step(params, X, y, tau, rng)
    Xb = mlp.homog(X)
    W_star = np.linalg.solve(tau * Xb.T @ Xb / 100 + wd * np.eye(5), tau * Xb.T @ y / 100)
    assert_twins_agree(params[0], W_star, rtol=1e-9, atol=1e-12, name="K-FAC Newton step")


def test_kfac_bad_input():
    with pytest.raises(ValueError, match="damping_mode"):
        kfac.KFAC(damping_mode="diag")
    with pytest.raises(ValueError, match="beta"):
        kfac.KFAC(beta=0.0)
    with pytest.raises(ValueError, match="T_inv"):
        kfac.KFAC(T_inv=0)
