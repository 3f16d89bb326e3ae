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


# --- closed-form densities and entropies (the ffjord-toy metric {set}/nll_minus_entropy) ---

def test_quadrature_entropy_of_gaussians_matches_closed_form():
    # N(m, diag(s1², s2²)): H = log(2πe s1 s2), whatever the mean
    m, s = np.array([0.7, -0.4]), np.array([0.35, 0.8])

    def logp(x):
        return np.sum(-0.5 * ((x - m) / s) ** 2 - np.log(np.sqrt(2 * np.pi) * s), axis=1)
    H, mass = toy2d.quadrature_entropy(logp, lim=6.0, n=400)
    assert mass == pytest.approx(1.0, abs=1e-9)
    assert H == pytest.approx(np.log(2 * np.pi * np.e * s[0] * s[1]), abs=1e-9)


def test_eight_gaussians_density_and_entropy():
    x = toy2d.sample("8gaussians", 100000, np.random.default_rng(5))
    lp = toy2d.log_density("8gaussians", x)
    H = toy2d.entropy("8gaussians")
    sigma = 0.5 / 1.414
    H1 = np.log(2 * np.pi * np.e * sigma ** 2)                 # one component
    assert H1 < H < H1 + np.log(8)
    assert H1 + np.log(8) - H < 0.02                          # well separated: nearly log 8 more
    # twin: Monte Carlo -E[log p] on the generator's samples (sd of -log p ≈ 1: SE ≈ 0.003)
    assert -lp.mean() == pytest.approx(H, abs=4 * lp.std() / np.sqrt(len(lp)))
    # the density is normalised
    assert toy2d.quadrature_entropy(lambda z: toy2d.log_density("8gaussians", z), 6.0, 300)[1] \
        == pytest.approx(1.0, abs=1e-9)


def test_checkerboard_density_and_entropy():
    x = toy2d.sample("checkerboard", 20000, np.random.default_rng(6))
    lp = toy2d.log_density("checkerboard", x)
    assert np.all(lp == -np.log(32.0))                         # every sample on the support
    assert toy2d.entropy("checkerboard") == np.log(32.0)
    # a white cell and a point outside have zero density; the mass on a grid is 1
    assert np.all(toy2d.log_density("checkerboard", np.array([[1.0, -1.0], [4.5, 0.5]])) == -np.inf)
    H, mass = toy2d.quadrature_entropy(lambda z: toy2d.log_density("checkerboard", z), 4.0, 400)
    assert mass == pytest.approx(1.0, abs=1e-12) and H == pytest.approx(np.log(32.0), abs=1e-9)


def test_density_bad_input():
    with pytest.raises(ValueError, match="name"):
        toy2d.log_density("moons", np.zeros((3, 2)))
    with pytest.raises(ValueError, match="name"):
        toy2d.entropy("rings")
    with pytest.raises(ValueError, match="x:"):
        toy2d.log_density("8gaussians", np.zeros(3))
    with pytest.raises(ValueError, match="n:"):
        toy2d.quadrature_entropy(lambda z: z[:, 0], 1.0, 1)
