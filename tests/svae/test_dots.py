"""The bouncing-dot video: constant speed, reflecting walls, the official sizes and period;
the per-frame VAE baseline's prediction repeats the last latent."""
import numpy as onp
import pytest

from refimpl.svae import exp_lds, lds_svae
from refimpl.svae.dots import make_dot_data


def test_dot_moves_at_constant_speed_between_walls():
    noisy, clean = make_dot_data(onp.random.default_rng(0), T=500.0, num_steps=5000)
    assert noisy.shape == clean.shape == (5000, 20)
    grid = onp.linspace(-1, 1, 20)
    # sub-pixel position: the bump's weighted centre, away from the walls where it is clipped
    pos = (clean * grid).sum(1) / clean.sum(1)
    step = onp.abs(onp.diff(pos))
    inner = (onp.abs(pos[1:]) < 0.6) & (onp.abs(pos[:-1]) < 0.6)
    onp.testing.assert_allclose(step[inner], 0.75 * 2 * 500 / 4999, rtol=0.02)   # v · 2 · dt
    assert pos.max() > 0.8 and pos.min() < -0.8
    # reflecting walls: period 2·2/(2v) time units = 26.7 frames (autocorrelation peak)
    c = pos - pos.mean()
    ac = [onp.dot(c[:-k], c[k:]) for k in range(1, 40)]
    assert abs((onp.argmax(ac[15:]) + 16) - 26.7) <= 1
    onp.testing.assert_allclose((noisy - clean).std(), 0.1, rtol=0.02)
    with pytest.raises(ValueError, match="render_sigma"):
        make_dot_data(onp.random.default_rng(0), render_sigma=0.0)


def test_vae_prediction_repeats_last_latent_and_rmse():
    rng = onp.random.default_rng(1)
    nets = lds_svae.init_nets(rng, 20, 3, (8,))
    y = rng.random((10, 20))
    r = exp_lds.vae_reconstruct_predict(nets, y, 4)
    assert r.shape == (10, 20)
    onp.testing.assert_allclose(r[4:], onp.broadcast_to(r[3], (6, 20)))
    onp.testing.assert_allclose(exp_lds.rmse_per_frame(onp.zeros((2, 4)), onp.array([[1.0] * 4, [3.0] * 4])), 2.0)
