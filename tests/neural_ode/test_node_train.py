"""Claims about the resumable optimizer of the Neural ODE experiments."""
import numpy as np
import pytest
from autograd import grad

from refimpl.neural_ode.train import Optimizer

TARGET = {"a": np.array([1.0, -2.0]), "b": [np.array(3.0)]}


def _loss(p):
    return np.sum((p["a"] - TARGET["a"]) ** 2) + np.sum((p["b"][0] - TARGET["b"][0]) ** 2)


@pytest.mark.parametrize("kind", ["adam", "rmsprop"])
def test_optimizer_minimises_a_quadratic(kind):
    opt = Optimizer({"a": np.zeros(2), "b": [np.array(0.0)]}, kind, lr=0.05)
    for _ in range(1000):
        opt.step(grad(_loss)(opt.params))
    assert _loss(opt.params) < 1e-3


def test_adam_matches_autograd_adam():
    from autograd.misc.optimizers import adam
    x0 = {"a": np.zeros(2), "b": [np.array(0.0)]}
    ref = adam(lambda p, i: grad(_loss)(p), x0, num_iters=25, step_size=0.1)
    opt = Optimizer(x0, "adam", lr=0.1)
    for _ in range(25):
        opt.step(grad(_loss)(opt.params))
    np.testing.assert_allclose(opt.params["a"], ref["a"], rtol=1e-12)


def test_state_round_trip_continues_identically():
    a = Optimizer({"a": np.zeros(2), "b": [np.array(0.0)]}, "adam", lr=0.1)
    for _ in range(5):
        a.step(grad(_loss)(a.params))
    b = Optimizer({"a": np.ones(2), "b": [np.array(1.0)]}, "adam", lr=0.1)
    b.load(a.state())
    for _ in range(5):
        a.step(grad(_loss)(a.params))
        b.step(grad(_loss)(b.params))
    np.testing.assert_array_equal(a.x, b.x)
    assert b.t == 10
