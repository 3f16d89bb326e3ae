"""Claims about the amortized VAE / IWAE (refimpl.vi.vae, refimpl.vi.train).

1. Shapes: encoder (B, X) -> (B, Dz) twice; decoder_logits (..., Dz) -> (..., X).
2. The "total" VAE and IWAE surrogates pass check_grads in all parameters.
3. Only the encoder's gradient depends on the estimator: decoder gradients of "stl" and
   "dreg" equal those of "total" exactly (same noise).
   For the VAE objective, "dreg" (DReG of each one-sample term, w̃ = 1) equals "stl"
   exactly in value and in every parameter's gradient.
4. `iwae_loglik` with k = 1 is an unbiased estimate of the ELBO, and grows with k.
5. Training with each estimator increases the bound on a tiny binary data set.
"""
import numpy as np
import pytest
from autograd import grad
from autograd.misc import flatten
from autograd.test_util import check_grads

from refimpl.vi.train import fit_vae
from refimpl.vi.vae import bernoulli_loglik, decoder_logits, encoder, init_vae, iwae_loglik, vae_surrogate

X_DIM, Z_DIM, B = 12, 2, 5


def _setup(seed=0):
    rng = np.random.default_rng(seed)
    # 4 binary prototypes with 5% flipped pixels: structure a 2-d latent can capture
    protos = rng.random((4, X_DIM)) < 0.5
    X = np.logical_xor(protos[rng.integers(0, 4, 40)], rng.random((40, X_DIM)) < 0.05).astype(float)
    return rng, X, init_vae(rng, X_DIM, Z_DIM, hidden=(8,), x_mean=X.mean(0))


def test_shapes_and_bernoulli_loglik():
    rng, X, p = _setup()
    m, s = encoder(p, X[:B])
    assert m.shape == s.shape == (B, Z_DIM)
    assert decoder_logits(p, rng.standard_normal((3, B, Z_DIM))).shape == (3, B, X_DIM)
    logits = rng.standard_normal(X_DIM)
    prob = 1 / (1 + np.exp(-logits))
    direct = np.sum(X[0] * np.log(prob) + (1 - X[0]) * np.log(1 - prob))
    assert abs(bernoulli_loglik(X[0], logits) - direct) < 1e-12


def test_bernoulli_loglik_extreme_logits_and_gradient():
    """The stable softplus: finite and exact at |logit| = 800 and 0, gradient x - sigmoid(l)."""
    x = np.array([1.0, 0.0, 1.0, 0.0, 1.0])
    logits = np.array([800.0, -800.0, -800.0, 0.0, 3.0])
    expect = -800.0 - np.log(2.0) + 3.0 - np.log1p(np.exp(3.0))
    assert abs(bernoulli_loglik(x, logits) - expect) < 1e-12
    g = grad(lambda l: bernoulli_loglik(x, l))(logits)
    np.testing.assert_allclose(g, x - 0.5 * (1 + np.tanh(logits / 2)), atol=1e-15)
    check_grads(lambda l: bernoulli_loglik(x[3:], l), modes=["rev"], order=2)(logits[3:] + 0.1)


@pytest.mark.parametrize("objective", ["vae", "iwae"])
def test_total_surrogate_check_grads(objective):
    rng, X, p = _setup(1)
    eps = rng.standard_normal((3, B, Z_DIM))
    flat, unflat = flatten(p)
    np.random.seed(0)
    check_grads(lambda f: vae_surrogate(unflat(f), X[:B], eps, objective, "total"), modes=["rev"], order=1)(flat)


@pytest.mark.parametrize("objective,estimator", [("vae", "stl"), ("iwae", "stl"), ("iwae", "dreg")])
def test_decoder_gradient_independent_of_estimator(objective, estimator):
    rng, X, p = _setup(2)
    eps = rng.standard_normal((4, B, Z_DIM))
    g_tot = grad(vae_surrogate)(p, X[:B], eps, objective, "total")
    g_est = grad(vae_surrogate)(p, X[:B], eps, objective, estimator)
    np.testing.assert_allclose(flatten(g_est["dec"])[0], flatten(g_tot["dec"])[0], rtol=1e-11, atol=1e-13)
    assert np.max(np.abs(flatten(g_est["enc"])[0] - flatten(g_tot["enc"])[0])) > 1e-6


def test_vae_dreg_is_stl():
    rng, X, p = _setup(5)
    eps = rng.standard_normal((4, B, Z_DIM))
    v = {e: vae_surrogate(p, X[:B], eps, "vae", e) for e in ("stl", "dreg", "total")}
    np.testing.assert_allclose(v["dreg"], v["total"], rtol=1e-13)
    np.testing.assert_allclose(v["stl"], v["total"], rtol=1e-13)
    g = {e: flatten(grad(vae_surrogate)(p, X[:B], eps, "vae", e))[0] for e in ("stl", "dreg", "total")}
    np.testing.assert_allclose(g["dreg"], g["stl"], rtol=1e-11, atol=1e-13)
    assert np.max(np.abs(g["dreg"] - g["total"])) > 1e-6               # not trivially "total"


def test_iwae_loglik_k1_unbiased_for_elbo_and_increasing_in_k():
    rng, X, p = _setup(3)
    x = X[:B]
    m, s = encoder(p, x)
    # closed-form-entropy ELBO with many samples as the reference
    ref = vae_surrogate(p, x, rng.standard_normal((20000, B, Z_DIM)), "vae", "analytic") * B
    one = np.stack([iwae_loglik(p, x, 1, rng).sum() for _ in range(2000)])
    se = one.std(ddof=1) / np.sqrt(len(one))
    assert abs(one.mean() - ref) < 4 * se + 1e-3
    ll = [iwae_loglik(p, x, k, np.random.default_rng(9)).sum() for k in (1, 10, 1000)]
    assert ll[0] < ll[2] and ll[1] < ll[2] + 0.5


@pytest.mark.parametrize("objective,estimator", [("vae", "total"), ("vae", "stl"), ("iwae", "dreg")])
def test_training_improves_the_bound(objective, estimator):
    rng, X, p = _setup(4)
    _, _, hist = fit_vae(p, X, objective=objective, estimator=estimator, K=3, n_epochs=30, batch_size=10,
                         step_size=3e-2, make_rng=lambda e: np.random.default_rng(100 + e))
    assert np.mean(hist[-5:]) > np.mean(hist[:5]) + 1.0


def test_bad_input_names_the_argument():
    rng, X, p = _setup(6)
    eps = rng.standard_normal((2, B, Z_DIM))
    with pytest.raises(ValueError, match="objective"):
        vae_surrogate(p, X[:B], eps, "elbo", "total")
    with pytest.raises(ValueError, match="estimator"):
        vae_surrogate(p, X[:B], eps, "iwae", "score")
    with pytest.raises(ValueError, match="eps"):
        vae_surrogate(p, X[:B], eps[0], "vae", "dreg")
    kw = dict(objective="vae", estimator="stl", n_epochs=1, step_size=1e-2,
              make_rng=lambda e: np.random.default_rng(e))
    with pytest.raises(ValueError, match="batch_size"):
        fit_vae(p, X, K=1, batch_size=len(X) + 1, **kw)
    with pytest.raises(ValueError, match="K"):
        fit_vae(p, X, K=0, batch_size=10, **kw)
