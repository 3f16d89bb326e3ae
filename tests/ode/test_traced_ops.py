"""traced_ops: the stage combination and stack primitives against their autograd twins."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from autograd.test_util import check_grads

from refimpl.ode.traced_ops import (lincomb, lincomb_reference, poly_eval, poly_eval_reference,
                                    stack, wsum, wsum_reference)
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


def test_wsum_same_bits_and_gradients_in_the_weights_too():
    coef, ks, w_out = _ks(4)
    assert np.array_equal(wsum(coef, ks), wsum_reference(coef, ks))
    # the weights are traced as well (torchdiffeq's first step size): both gradients
    loss = lambda f: lambda wk: anp.sum(anp.sin(f(wk[0] * 1.7, wk[1])) * w_out)  # noqa: E731
    g_fast, g_ref = grad(loss(wsum))((coef, ks)), grad(loss(wsum_reference))((coef, ks))
    assert_twins_agree(g_fast[0], g_ref[0], rtol=1e-13, atol=1e-14, name="d wsum / d w")
    for a, b in zip(g_fast[1], g_ref[1]):
        assert_twins_agree(a, b, rtol=1e-13, atol=1e-14, name="d wsum / d k_j")
    check_grads(lambda w, *ks: wsum(w, list(ks)), modes=["rev"], order=2)(coef, *ks)


@pytest.mark.parametrize("n_coeffs", [2, 5])
def test_poly_eval_same_bits_and_gradients(n_coeffs):
    _, cs, w_out = _ks(5, m=n_coeffs)
    x = 0.37
    assert np.array_equal(poly_eval(x, cs), poly_eval_reference(x, cs))
    loss = lambda f: lambda xc: anp.sum(anp.sin(f(xc[0] * 1.3, xc[1])) * w_out)  # noqa: E731
    g_fast, g_ref = grad(loss(poly_eval))((x, cs)), grad(loss(poly_eval_reference))((x, cs))
    assert_twins_agree(g_fast[0], g_ref[0], rtol=1e-13, atol=1e-14, name="d poly / d x")
    for a, b in zip(g_fast[1], g_ref[1]):
        assert_twins_agree(a, b, rtol=1e-13, atol=1e-14, name="d poly / d c_j")
    check_grads(lambda x, *cs: poly_eval(x, list(cs)), modes=["rev"], order=2)(x, *cs)


def test_bad_input_names_the_argument():
    coef, ks, _ = _ks(3)
    with pytest.raises(ValueError, match="coef"):
        lincomb(coef[:2], ks)
    with pytest.raises(ValueError, match="arrays"):
        stack([])
    with pytest.raises(ValueError, match="w"):
        wsum(coef[:2], ks)
    with pytest.raises(ValueError, match="coeffs"):
        poly_eval(0.5, ks[:1])
