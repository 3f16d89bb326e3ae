"""`objective.recognize`: the net's output halves are the node potential's mean and log-variance,
so the potential (J, h) = (diag e^{−log σ²}, e^{−log σ²}·mean) has J⁻¹h = mean (a network that
emitted h = mean would agree only where the precision is 1, as it is at initialisation)."""
import numpy as onp

from refimpl.svae import objective


def test_node_potentials_have_the_nets_mean_and_variance():
    rng = onp.random.default_rng(0)
    params = objective.init_net(rng, 3, 4, (6,), mlp_scale=1.0)   # a large MLP: precisions far from 1
    x = rng.standard_normal((7, 3))
    out = objective.net(params, x)
    J, h = objective.recognize(params, x)
    prec = onp.exp(-out[:, 2:])
    assert onp.abs(onp.log(prec)).max() > 0.5
    onp.testing.assert_allclose(J, prec[:, :, None] * onp.eye(2), rtol=1e-12)
    onp.testing.assert_allclose(onp.linalg.solve(J, h[..., None])[..., 0], out[:, :2], rtol=1e-10)
