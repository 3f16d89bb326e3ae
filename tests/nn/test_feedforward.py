"""MLP shapes, seeding, activations and a gradient check."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.test_util import check_grads

from autograd import grad

from refimpl.nn import ACTIVATIONS, flatten, init_mlp, mlp, n_params
from refimpl.nn.feedforward import relu, relu_reference


def test_shapes_and_parameter_count():
    p = init_mlp(np.random.default_rng(0), [3, 16, 8, 2])
    assert [W.shape for W, _ in p] == [(3, 16), (16, 8), (8, 2)]
    assert mlp(p, np.ones((5, 3))).shape == (5, 2)
    assert mlp(p, np.ones((4, 5, 3))).shape == (4, 5, 2)
    assert n_params(p) == 3 * 16 + 16 + 16 * 8 + 8 + 8 * 2 + 2


def test_seeds_reproduce_and_differ():
    a = flatten(init_mlp(np.random.default_rng(1), [2, 4, 1]))[0]
    b = flatten(init_mlp(np.random.default_rng(1), [2, 4, 1]))[0]
    c = flatten(init_mlp(np.random.default_rng(2), [2, 4, 1]))[0]
    assert np.array_equal(a, b) and not np.allclose(a, c)


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
def test_gradient_check_every_activation(act):
    np.random.seed(0)
    p = init_mlp(np.random.default_rng(0), [3, 5, 2])
    x = np.random.default_rng(1).standard_normal((4, 3)) + 0.3   # away from relu's kink at 0
    check_grads(lambda p, x: anp.sum(mlp(p, x, activation=act) ** 2), modes=["rev"], order=2)(p, x)


def test_activation_values():
    x = np.array([-1000.0, -1.0, 0.0, 2.0, 1000.0])
    assert np.allclose(ACTIVATIONS["softplus"](x), np.log1p(np.exp(np.clip(x, -50, 50))).clip(0) + np.maximum(x - 50, 0))
    assert np.all(np.isfinite(ACTIVATIONS["softplus"](x)))
    assert np.allclose(ACTIVATIONS["elu"](np.array([-1.0, 1.0])), [np.expm1(-1.0), 1.0])


def test_bad_input_named():
    with pytest.raises(ValueError, match="activation"):
        mlp(init_mlp(np.random.default_rng(0), [1, 1]), np.ones((1, 1)), activation="nope")
    with pytest.raises(ValueError, match="sizes"):
        init_mlp(np.random.default_rng(0), [3])


def test_batched_input_matches_rows_and_gradients():
    """N-D batches are flattened to 2-D internally: values equal the per-row MLP, and
    forward- and reverse-mode derivatives still check."""
    p = init_mlp(np.random.default_rng(0), [3, 5, 2])
    x = np.random.default_rng(1).standard_normal((2, 4, 3))
    rows = np.array([[mlp(p, x[i, j]) for j in range(4)] for i in range(2)])
    np.testing.assert_allclose(mlp(p, x), rows, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(mlp(p, x, final_activation="tanh"), np.tanh(rows), rtol=1e-13)
    check_grads(lambda p, x: anp.sum(mlp(p, x) ** 2), modes=["fwd", "rev"], order=2)(p, x)


def test_relu_primitive_is_its_twin():
    """Values equal; gradients equal away from 0; at exactly 0 the primitive's is 0 (torch's)."""
    x = np.array([-2.0, -1e-300, 0.0, 1e-300, 3.0])
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert np.array_equal(relu(x), relu_reference(x))
    g = grad(lambda x: anp.sum(relu(x) * w))(x)
    g_ref = grad(lambda x: anp.sum(relu_reference(x) * w))(x)
    assert np.array_equal(g[[0, 1, 3, 4]], g_ref[[0, 1, 3, 4]]) and g[2] == 0.0
    check_grads(lambda x: relu(x) ** 2, modes=["fwd", "rev"], order=2)(x[[0, 4]])
