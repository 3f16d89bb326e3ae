import numpy as np
import pytest
from autograd import elementwise_grad

from refimpl.suboptimality.decoder_grad import bernoulli_decoder_loglik_grad
from refimpl.vi.vae import bernoulli_loglik, decoder_logits, init_vae


def _setup(scale=1.0):
    rng = np.random.default_rng(0)
    p = init_vae(rng, 12, 3, hidden=(7, 5))
    p["dec"] = [(scale * W, b) for W, b in p["dec"]]
    x = (rng.random((4, 12)) < 0.4).astype(float)
    z = 2.0 * rng.standard_normal((4, 6, 3))
    return p, x, z


@pytest.mark.parametrize("scale, rows", [(1.0, 128), (8.0, 128), (1.0, 6)])   # 8: saturated logits; 6: blocks
def test_value_and_gradient_match_autograd(scale, rows):
    p, x, z = _setup(scale)
    ll_ref = lambda zz: bernoulli_loglik(x[:, None, :], decoder_logits(p, zz))
    ll, g = bernoulli_decoder_loglik_grad(p["dec"], x, rows=rows)(z)
    np.testing.assert_allclose(ll, ll_ref(z), rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(g, elementwise_grad(ll_ref)(z), rtol=1e-10, atol=1e-10)


def test_shape_errors_name_the_argument():
    p, x, z = _setup()
    with pytest.raises(ValueError, match="x:"):
        bernoulli_decoder_loglik_grad(p["dec"], x[:, :5])
    with pytest.raises(ValueError, match="z:"):
        bernoulli_decoder_loglik_grad(p["dec"], x)(z[:2])
