"""Closed-form per-example quantities against autograd; the BBB gradient against autograd."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from autograd.test_util import check_grads

from refimpl.nng import bbb, kfac, mlp
from refimpl.testing import assert_twins_agree


def _ag_loglik(params, x, y, tau, activation):
    # log N(y | f(x), 1/τ) for ONE example, written with autograd (the definition)
    a = x[None]
    for i, W in enumerate(params):
        s = anp.dot(a, W[:-1]) + W[-1]
        a = s if i == len(params) - 1 else (anp.maximum(s, 0.0) if activation == "relu" else anp.tanh(s))
    return anp.sum(0.5 * anp.log(tau / (2 * np.pi)) - 0.5 * tau * (y - a[0]) ** 2)


def _problem(rng, sizes=(3, 5, 4, 2), B=7):
    params = mlp.init_params(rng, list(sizes))
    params = [W + 0.3 * rng.standard_normal(W.shape) for W in params]      # non-zero biases
    return params, rng.standard_normal((B, sizes[0])), rng.standard_normal((B, sizes[-1]))


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_per_example_gradients_match_autograd(activation):
    rng = np.random.default_rng(0)
    params, X, y = _problem(rng)
    tau = 2.5
    f, cache = mlp.forward(params, X, activation)
    Ds = mlp.backward(params, cache, tau * (y - f), activation)
    G = mlp.per_example_grads(cache, Ds)
    g_ag = grad(_ag_loglik)
    for b in range(X.shape[0]):
        ref = g_ag(params, X[b], y[b], tau, activation)
        for l in range(len(params)):
            assert_twins_agree(G[l][b], ref[l], rtol=1e-12, atol=1e-13, name=f"grad b={b} l={l}")
    # the batch sum and the closed-form sum of squares are the sums of the per-example ones
    for l, (Gs, Sq) in enumerate(zip(mlp.grads_from_Ds(cache, Ds), mlp.sum_sq_grads(cache, Ds))):
        assert_twins_agree(Gs, G[l].sum(0), rtol=1e-12, atol=1e-13, name="sum")
        assert_twins_agree(Sq, (G[l] ** 2).sum(0), rtol=1e-12, atol=1e-13, name="sum of squares")


def test_exact_fisher_signal_is_the_expected_outer_product():
    # "exact" backprops √τ e_k; Σ_k of the outer products is E_y[g gᵀ] = τ J Jᵀ per example
    rng = np.random.default_rng(1)
    params, X, y = _problem(rng, B=3)
    tau = 3.0
    st = kfac.batch_stats(params, X, y, tau, rng, "tanh", "exact", need=("S", "sq"))
    P_sq = [0.0 for _ in params]
    for b in range(X.shape[0]):
        for k in range(y.shape[1]):                  # row k of the output Jacobian
            J = grad(lambda p: _ag_out(p, X[b])[k])(params)
            for l in range(len(params)):
                P_sq[l] = P_sq[l] + tau * J[l] ** 2
    for l in range(len(params)):
        assert_twins_agree(st["sq"][l], P_sq[l] / X.shape[0], rtol=1e-12, atol=1e-14, name="diag Fisher")


def _ag_out(params, x):
    a = x[None]
    for i, W in enumerate(params):
        s = anp.dot(a, W[:-1]) + W[-1]
        a = s if i == len(params) - 1 else anp.tanh(s)
    return a[0]


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_bbb_closed_form_gradient_matches_autograd(activation):
    rng = np.random.default_rng(2)
    params, X, y = _problem(rng, sizes=(3, 6, 1), B=9)
    mu = params
    rho = [rng.normal(-2.0, 0.5, W.shape) for W in params]
    eps = [rng.standard_normal(W.shape) for W in params]
    args = (eps, X, y, 4.0, 50, 0.7, 2.0, activation)
    g_mu, g_rho, _ = bbb.bbb_grad(mu, rho, *args)
    a_mu, a_rho = grad(bbb.bbb_objective, (0, 1))(mu, rho, *args)
    for l in range(len(mu)):
        assert_twins_agree(g_mu[l], a_mu[l], rtol=1e-11, atol=1e-13, name="dL/dmu")
        assert_twins_agree(g_rho[l], a_rho[l], rtol=1e-11, atol=1e-13, name="dL/drho")


def test_bbb_objective_gradient_check():
    # the ELBO terms (likelihood, KL) by central differences along random directions
    np.random.seed(0)
    rng = np.random.default_rng(3)
    params, X, y = _problem(rng, sizes=(2, 4, 1), B=5)
    rho = [np.full(W.shape, -1.0) for W in params]
    eps = [rng.standard_normal(W.shape) for W in params]
    f = lambda m, r: bbb.bbb_objective(m, r, eps, X, y, 3.0, 20, 1.0, 1.5, "tanh")
    check_grads(f, modes=["rev"], order=2)(params, rho)


def test_bad_input_names_the_argument():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="activation"):
        mlp.forward(mlp.init_params(rng, [2, 1]), np.zeros((1, 2)), "gelu")
    with pytest.raises(ValueError, match="sizes"):
        mlp.init_params(rng, [3])
    with pytest.raises(ValueError, match="fisher"):
        kfac.batch_stats(mlp.init_params(rng, [2, 1]), np.zeros((1, 2)), np.zeros((1, 1)), 1.0, rng,
                         "relu", "observed")
