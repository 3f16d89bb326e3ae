"""traced_ops: the stage combination and stack primitives against their autograd twins."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from autograd.test_util import check_grads

from refimpl.ode.traced_ops import lincomb, lincomb_reference, stack
from refimpl.testing import assert_twins_agree


def _ks(seed, m=4, n=6):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(m), [rng.standard_normal(n) for _ in range(m)], rng.standard_normal(n)


def test_lincomb_equals_the_sum_and_its_gradient():
    coef, ks, w = _ks(0)
    assert_twins_agree(lincomb(coef, ks), lincomb_reference(coef, ks), rtol=1e-14, atol=1e-14,
                       name="lincomb")
    # weight each k differently, so a VJP that returned g for every k (or coef[0] g) fails
    loss = lambda f: lambda ks: anp.sum(anp.sin(f(coef, [k * (j + 1) for j, k in enumerate(ks)])) * w)  # noqa: E731
    g_fast, g_ref = grad(loss(lincomb))(ks), grad(loss(lincomb_reference))(ks)
    for a, b in zip(g_fast, g_ref):
        assert_twins_agree(a, b, rtol=1e-13, atol=1e-14, name="d lincomb / d k_j")
    check_grads(lambda *ks: lincomb(coef, list(ks)), modes=["rev"], order=2)(*ks)


def test_stack_equals_anp_stack_and_its_gradient():
    _, ks, _ = _ks(1)
    W = np.random.default_rng(2).standard_normal((len(ks), ks[0].size))
    assert np.array_equal(stack(ks), np.stack(ks))
    loss = lambda f: lambda ks: anp.sum(anp.tanh(f(ks)) * W)  # noqa: E731
    for a, b in zip(grad(loss(stack))(ks), grad(loss(anp.stack))(ks)):
        assert_twins_agree(a, b, rtol=1e-14, atol=1e-15, name="d stack / d k_j")
    check_grads(lambda *ks: stack(list(ks)) ** 2, modes=["rev"], order=2)(*ks)


def test_bad_input_names_the_argument():
    coef, ks, _ = _ks(3)
    with pytest.raises(ValueError, match="coef"):
        lincomb(coef[:2], ks)
    with pytest.raises(ValueError, match="arrays"):
        stack([])
