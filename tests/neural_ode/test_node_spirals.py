"""Claims about the spiral data of the Neural ODE experiments."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from refimpl.neural_ode.spirals import (SPIRAL_A, archimedean_spirals, cubic_spiral_rhs,
                                        cubic_spiral_trajectory, nested_subsamples,
                                        subsample_observations)


def test_archimedean_shapes_half_clockwise_and_seed_reproduces():
    d = archimedean_spirals(np.random.default_rng(0), n_spirals=40, n_total=400, n_window=50)
    assert d["ts"].shape == (100,) and d["x_true"].shape == (40, 100, 2)
    assert d["x_obs"].shape == (40, 100, 2) and d["ts"][0] == 0.0
    assert d["clockwise"].sum() == 20
    e = archimedean_spirals(np.random.default_rng(0), n_spirals=40, n_total=400, n_window=50)
    for k in d:
        np.testing.assert_array_equal(d[k], e[k])
    f = archimedean_spirals(np.random.default_rng(1), n_spirals=40, n_total=400, n_window=50)
    assert not np.array_equal(d["x_obs"], f["x_obs"])


def test_archimedean_noise_has_the_requested_std():
    d = archimedean_spirals(np.random.default_rng(1), n_spirals=200, noise_std=0.3)
    r = (d["x_obs"] - d["x_true"]).ravel()                  # 80 000 N(0, 0.09) draws
    se = 0.3 * np.sqrt(2.0 / r.size)                        # s.e. of the sample std
    assert abs(r.std() - 0.3) < 5 * se and abs(r.mean()) < 5 * 0.3 / np.sqrt(r.size)


def test_archimedean_curves_follow_the_authors_formulas():
    # counter-clockwise: |x - (5, 0)| = b θ with θ = t;
    # clockwise: |x + (5, 0)| = 50 b / (6π + 1 - t)
    stop, n_total, W, b = 6 * np.pi, 1000, 100, 0.3
    d = archimedean_spirals(np.random.default_rng(2), n_spirals=30, noise_std=0.0)
    grid = np.linspace(0, stop, n_total)
    for k in range(30):
        x = d["x_true"][k]
        if d["clockwise"][k]:
            r = np.linalg.norm(x + [5.0, 0.0], axis=1)
            theta = stop + 1.0 - 50 * b / r                 # the grid times of the window
        else:
            r = np.linalg.norm(x - [5.0, 0.0], axis=1)
            theta = r / b
        np.testing.assert_allclose(np.diff(theta), grid[1] - grid[0], rtol=1e-9)
        i0 = int(round(theta[0] / (grid[1] - grid[0])))
        assert W <= i0 <= n_total - 2 * W                   # window fits, start not at the edge
    np.testing.assert_array_equal(d["x_obs"], d["x_true"])


def test_training_windows_follow_the_authors_draw_over_the_whole_curve():
    # n_extrapolate=0: W-point windows with t0 uniform on [W, n_total - W), as the authors'
    # generate_spiral2d; every admissible start occurs, none outside
    n_total, W = 60, 10
    d = archimedean_spirals(np.random.default_rng(4), n_spirals=4000, n_total=n_total,
                            n_window=W, n_extrapolate=0, noise_std=0.0, b=0.3)
    assert d["ts"].shape == (W,) and d["x_true"].shape == (4000, W, 2)
    grid = np.linspace(0, 6 * np.pi, n_total)
    r = np.where(d["clockwise"], np.linalg.norm(d["x_true"][:, 0] + [5.0, 0.0], axis=1),
                 np.linalg.norm(d["x_true"][:, 0] - [5.0, 0.0], axis=1))
    theta = np.where(d["clockwise"], 6 * np.pi + 1.0 - 15.0 / r, r / 0.3)
    t0 = np.round(theta / (grid[1] - grid[0])).astype(int)
    assert set(t0) == set(range(W, n_total - W))
    e = archimedean_spirals(np.random.default_rng(4), n_spirals=5, n_total=n_total, n_window=W,
                            n_extrapolate=7)
    assert e["x_true"].shape == (5, W + 7, 2)
    with pytest.raises(ValueError, match="n_extrapolate"):
        archimedean_spirals(np.random.default_rng(0), n_spirals=2, n_extrapolate=-1)


def test_subsample_observations_sorted_unique_in_range():
    idx = subsample_observations(np.random.default_rng(3), 50, 100, 30)
    assert idx.shape == (50, 30)
    assert np.all(np.diff(idx, axis=1) > 0) and idx.min() >= 0 and idx.max() < 100
    full = subsample_observations(np.random.default_rng(3), 5, 100, 100)
    np.testing.assert_array_equal(full, np.tile(np.arange(100), (5, 1)))
    with pytest.raises(ValueError, match="n_obs"):
        subsample_observations(np.random.default_rng(3), 5, 100, 101)


def test_nested_subsamples_are_nested_sorted_and_uniform():
    sets = nested_subsamples(np.random.default_rng(5), 4000, 20, (3, 7, 20))
    for n, idx in sets.items():
        assert idx.shape == (4000, n) and np.all(np.diff(idx, axis=1) > 0)
    for a, b in ((3, 7), (7, 20)):
        for row_a, row_b in zip(sets[a], sets[b]):
            assert set(row_a) <= set(row_b)
    # each grid point is observed with probability n / W (4000 rows: s.e. ≈ 0.007)
    freq = np.bincount(sets[7].ravel(), minlength=20) / 4000
    np.testing.assert_allclose(freq, 7 / 20, atol=0.04)
    with pytest.raises(ValueError, match="ns"):
        nested_subsamples(np.random.default_rng(0), 2, 10, (3, 11))


def test_archimedean_rejects_bad_sizes():
    with pytest.raises(ValueError, match="n_total"):
        archimedean_spirals(np.random.default_rng(0), n_spirals=2, n_total=200, n_window=100)
    with pytest.raises(ValueError, match="n_spirals"):
        archimedean_spirals(np.random.default_rng(0), n_spirals=0)


def test_cubic_spiral_matches_scipy():
    t, y = cubic_spiral_trajectory(n_points=200, t_end=10.0)
    ref = solve_ivp(lambda s, v: cubic_spiral_rhs(s, v), (0, 10), [2.0, 0.0], method="DOP853",
                    t_eval=t, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y, ref.y.T, atol=1e-8)
    np.testing.assert_array_equal(cubic_spiral_rhs(0.0, np.array([1.0, 0.0])), SPIRAL_A[0])
