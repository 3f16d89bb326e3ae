"""The eight toy generators: shapes, seeding, rough moments."""
import numpy as np
import pytest

from refimpl.datasets import toy2d


@pytest.mark.parametrize("name", toy2d.NAMES)
def test_shape_seed_reproducibility(name):
    for n in (1, 7, 1000):
        assert toy2d.sample(name, n, np.random.default_rng(0)).shape == (n, 2)
    a = toy2d.sample(name, 500, np.random.default_rng(1))
    b = toy2d.sample(name, 500, np.random.default_rng(1))
    c = toy2d.sample(name, 500, np.random.default_rng(2))
    assert np.array_equal(a, b) and not np.allclose(a, c)
    assert a.dtype == np.float64 and np.all(np.isfinite(a))


# Moments of FFJORD's generators (derived from their definitions): symmetric sets have mean
# ≈ 0; rings has radii 3*(.25,.5,.75,1) so E|x|² = 9*(.0625+.25+.5625+1)/4 + 2*.08² ≈ 4.23;
# 8gaussians: E|x|² = (16 + 2*.25)/1.414² ≈ 8.25.
@pytest.mark.parametrize("name,mean_sq", [("rings", 4.232), ("8gaussians", 8.252)])
def test_second_moment(name, mean_sq):
    x = toy2d.sample(name, 50000, np.random.default_rng(3))
    assert np.abs(x.mean(0)).max() < 0.05
    assert np.mean(np.sum(x ** 2, 1)) == pytest.approx(mean_sq, rel=0.02)


def test_checkerboard_occupies_alternate_cells():
    x = toy2d.sample("checkerboard", 20000, np.random.default_rng(4))
    cells = (np.floor(x[:, 0] / 2) + np.floor(x[:, 1] / 2)) % 2
    assert np.all(cells == 0) and np.abs(x).max() <= 4.0


def test_bad_input():
    with pytest.raises(ValueError, match="name"):
        toy2d.sample("nope", 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="n:"):
        toy2d.sample("moons", 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="rng"):
        toy2d.sample("moons", 3, 0)
