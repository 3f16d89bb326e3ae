"""The BNN log posterior and HMC transition: NumPy and numba twins, finite differences."""
import numpy as np
import pytest

from refimpl.mcmc import BNNPosterior, sample
from refimpl.nng import mlp
from refimpl.testing import assert_twins_agree


@pytest.fixture(scope="module", params=["relu", "tanh"])
def target(request):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 2))
    y = np.sin(X[:, 0]) + 0.1 * rng.standard_normal(30)
    return BNNPosterior(X, y, tau=25.0, prior_var=1.0, H=8, activation=request.param)


def test_logp_matches_the_nng_network_and_twins_agree(target):
    rng = np.random.default_rng(1)
    theta = rng.standard_normal(target.dim)
    lp, g = target.logp_grad(theta)
    lp2, g2 = target.logp_grad_numba(theta)
    assert_twins_agree(lp, lp2, rtol=1e-12, name="log π")
    assert_twins_agree(g, g2, rtol=1e-12, atol=1e-12 * np.abs(g).max(), name="∇ log π")
    # same network as refimpl.nng.mlp (same flattening)
    params = mlp.unflatten_layers(theta, mlp.init_params(rng, [2, 8, 1]))
    f, _ = mlp.forward(params, target.X, "relu" if target.relu else "tanh")
    ref = -0.5 * target.tau * np.sum((target.y - f[:, 0]) ** 2) - 0.5 * target.prior_prec * theta @ theta
    assert_twins_agree(lp, ref, rtol=1e-12, name="log π vs mlp")
    assert_twins_agree(target.predict(theta[None], target.X)[0], f[:, 0], rtol=1e-12, atol=1e-13, name="predict")


def test_gradient_by_central_differences(target):
    rng = np.random.default_rng(2)
    theta = rng.standard_normal(target.dim)
    _, g = target.logp_grad(theta)
    h = 1e-6
    for _ in range(5):
        v = rng.standard_normal(target.dim)
        fd = (target.logp_grad(theta + h * v)[0] - target.logp_grad(theta - h * v)[0]) / (2 * h)
        assert abs(fd - g @ v) <= 1e-6 * (abs(g @ v) + np.abs(g).max())


def test_numba_and_numpy_chains_agree(target):
    # identical randomness through the driver; fixed step size, no warm-up
    rng = np.random.default_rng(3)
    theta0 = 0.5 * rng.standard_normal((1, target.dim))
    runs = [sample(target.logp_grad, theta0, np.random.default_rng(4), n_warmup=0, n_samples=15,
                   n_leapfrog=10, step_size=0.01, transition_fn=target.transition(b)) for b in ("numpy", "numba")]
    assert runs[0].accept_rate[0] > 0.3                      # the chain moves
    assert_twins_agree(runs[0].samples, runs[1].samples, rtol=1e-12, atol=1e-12, name="HMC chains")
    with pytest.raises(ValueError, match="backend"):
        target.transition("cuda")
