"""The MLP-dynamics fast path: fused kernels vs the plain autograd MLP (twins), gradient checks."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from autograd.test_util import check_grads

from refimpl.nn import init_mlp_dynamics, mlp_dynamics
from refimpl.testing import assert_twins_agree


def _setup(seed, activation, time_input=True, batch=7, dim=3, hidden=(16, 16)):
    rng = np.random.default_rng(seed)
    dyn = mlp_dynamics(activation, time_input=time_input)
    params = init_mlp_dynamics(rng, dim, hidden, time_input=time_input)
    params = [(W, 0.5 * rng.standard_normal(b.shape)) for W, b in params]   # nonzero biases
    y = rng.standard_normal((batch, dim))
    a = rng.standard_normal((batch, dim))
    return dyn, params, y, a, 0.37


@pytest.mark.parametrize("activation", ["tanh", "softplus", "elu"])
@pytest.mark.parametrize("time_input", [True, False])
def test_forward_twins_agree(activation, time_input):
    dyn, params, y, _, t = _setup(0, activation, time_input)
    assert_twins_agree(dyn(t, y, params), dyn.reference(t, y, params), rtol=1e-12, atol=1e-14,
                       name="fused vs nn.mlp forward")
    assert_twins_agree(dyn(t, y[2], params), dyn.reference(t, y[2], params), rtol=1e-12,
                       atol=1e-14, name="unbatched forward")
    assert dyn(t, y[2], params).shape == (y.shape[1],)


@pytest.mark.parametrize("activation", ["tanh", "softplus", "elu"])
def test_fused_vjp_equals_autograd_of_reference(activation):
    dyn, params, y, a, t = _setup(1, activation)
    f, g_y, g_params, g_t = dyn.f_and_vjp(t, y, params, a)
    ref = grad(lambda tyl: anp.sum(dyn.reference(tyl[0], tyl[1], tyl[2]) * a))((t, y, params))
    assert_twins_agree(f, dyn.reference(t, y, params), rtol=1e-12, atol=1e-14, name="f")
    assert_twins_agree(g_t, ref[0], rtol=1e-12, atol=1e-13, name="a·∂f/∂t")
    assert_twins_agree(g_y, ref[1], rtol=1e-12, atol=1e-13, name="a·∂f/∂y")
    for (gW, gb), (rW, rb) in zip(g_params, ref[2]):
        assert_twins_agree(gW, rW, rtol=1e-12, atol=1e-13, name="a·∂f/∂W")
        assert_twins_agree(gb, rb, rtol=1e-12, atol=1e-13, name="a·∂f/∂b")


@pytest.mark.parametrize("activation", ["tanh", "softplus", "elu"])
def test_primitive_vjp_matches_reference_gradient(activation):
    dyn, params, y, a, t = _setup(2, activation)
    loss = lambda f: lambda tyl: anp.sum(f(tyl[0], tyl[1], tyl[2]) * a)   # noqa: E731
    g_fast = grad(loss(dyn))((t, y, params))
    g_ref = grad(loss(dyn.reference))((t, y, params))
    assert_twins_agree(g_fast[0], g_ref[0], rtol=1e-12, atol=1e-13, name="t")
    assert_twins_agree(g_fast[1], g_ref[1], rtol=1e-12, atol=1e-13, name="y")
    for (gW, gb), (rW, rb) in zip(g_fast[2], g_ref[2]):
        assert_twins_agree(gW, rW, rtol=1e-12, atol=1e-13, name="W")
        assert_twins_agree(gb, rb, rtol=1e-12, atol=1e-13, name="b")


@pytest.mark.parametrize("activation", ["tanh", "softplus", "elu"])
def test_gradient_checks_second_order(activation):
    dyn, small, y, a, t = _setup(3, activation, batch=3, dim=2, hidden=(4, 4))
    np.random.seed(0)
    check_grads(lambda t, y, p: dyn(t, y, p), modes=["rev"], order=2)(t, y, small)
    # the fused VJP kernel is itself differentiable (needed for HVPs through the adjoint)
    check_grads(lambda t, y, p: dyn.f_and_vjp(t, y, p, a)[1], modes=["rev"], order=1)(t, y, small)


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="activation"):
        mlp_dynamics("relu")
    dyn, params, y, _, t = _setup(4, "tanh")
    with pytest.raises(ValueError, match="params"):
        dyn(t, y[:, :2], params)
