"""Claims about the evaluation of `latent-ode-spirals` (issue #25): the candidate RMSEs,
the masks they average over, and the protocol's settings."""
import numpy as np
import pytest

from refimpl.experiments import Config
from refimpl.neural_ode.exp_latent import (evaluate, rmse, run_protocol, settings,
                                           window_masks)
from refimpl.neural_ode.latent_ode import init_latent_ode
from refimpl.neural_ode.rnn import init_rnn_baseline
from refimpl.neural_ode.spirals import archimedean_spirals, nested_subsamples


def test_rmse_is_per_coordinate_and_masked():
    pred, true = np.zeros((2, 3, 2)), np.zeros((2, 3, 2))
    true[0, 1] = [3.0, 4.0]                                   # one point 5 away
    assert rmse(pred, true) == pytest.approx(np.sqrt(25 / 12))
    mask = np.zeros((2, 3), bool)
    mask[0, 1] = True
    assert rmse(pred, true, mask) == pytest.approx(np.sqrt(25 / 2))
    pred[1, 2] = np.nan
    assert rmse(pred, true, mask) == pytest.approx(np.sqrt(25 / 2))
    with pytest.raises(ValueError, match="pred"):
        rmse(pred, true)


def test_window_masks():
    idx = np.array([[2, 5, 6], [0, 1, 9]])
    obs, interp = window_masks(idx, 10)
    np.testing.assert_array_equal(np.flatnonzero(obs[0]), [2, 5, 6])
    np.testing.assert_array_equal(np.flatnonzero(interp[0]), [3, 4, 7, 8, 9])
    np.testing.assert_array_equal(np.flatnonzero(interp[1]), [2, 3, 4, 5, 6, 7, 8])


def test_evaluate_scores_each_definition_on_its_own_points():
    # a model's error is planted where each definition looks: the extrapolation RMSE must
    # not see the window, the window RMSEs must not see the extrapolation
    s = settings(True, n_total=60, n_window=10, n_extrapolate=6, n_test=5)
    data = archimedean_spirals(np.random.default_rng(0), n_spirals=5, n_total=60, n_window=10,
                               n_extrapolate=6, noise_std=0.3)
    idx = nested_subsamples(np.random.default_rng(1), 5, 10, (4,))[4]
    rng = np.random.default_rng(2)
    m, x_ode, z, x_rnn = evaluate(init_latent_ode(rng), init_rnn_baseline(rng), data, idx,
                                  data["ts"], s)
    assert x_ode.shape == (5, 16, 2) and x_rnn.shape == (5, 6, 2) and z.shape[:2] == (16, 5)
    truth = data["x_true"]
    assert m["rmse"]["latent_ode"] == pytest.approx(rmse(x_ode[:, 10:], truth[:, 10:]))
    assert m["rmse"]["rnn"] == pytest.approx(rmse(x_rnn, truth[:, 10:]))
    obs, interp = window_masks(idx, 10)
    assert m["obs_rmse"]["latent_ode"] == pytest.approx(rmse(x_ode[:, :10], truth[:, :10], obs))
    assert m["interp_rmse"]["latent_ode"] == pytest.approx(
        rmse(x_ode[:, :10], truth[:, :10], interp))
    assert m["recon_rmse"]["latent_ode"] == pytest.approx(rmse(x_ode[:, :10], truth[:, :10]))
    # all observed: no interpolation points, no interp key
    full = np.tile(np.arange(10), (5, 1))
    m2 = evaluate(init_latent_ode(rng), init_rnn_baseline(rng), data, full, data["ts"], s)[0]
    assert "interp_rmse" not in m2 and "obs_rmse" in m2


def test_settings_overrides_and_unknown_names():
    s = settings(False, n_total=500)
    assert s["n_total"] == 500 and s["ode_iters"] == settings(False)["ode_iters"]
    assert settings(True)["ode_iters"] < settings(False)["ode_iters"]
    with pytest.raises(ValueError, match="overrides"):
        settings(True, n_totl=500)


def test_run_protocol_uses_one_test_set_and_nested_observations(tmp_path):
    # a tiny run: every n is scored on the same spirals (targets), with nested sets
    s = settings(True, n_train=8, n_test=4, ode_iters=2, rnn_iters=2, batch=4, ns=(3, 6),
                 n_total=60, n_window=10, n_extrapolate=5)
    cfg = Config("latent-ode-spirals", quick=True, out=tmp_path, progress_enabled=False)
    metrics, fig_data, data = run_protocol(cfg, s)
    a, b = fig_data[3]["idx"], fig_data[6]["idx"]
    assert all(set(r) <= set(q) for r, q in zip(a, b))
    assert data["x_true"].shape == (4, 15, 2)
    for n in (3, 6):
        assert np.isfinite(metrics[f"n{n}/latent_ode/rmse"])
        assert np.isfinite(metrics[f"n{n}/rnn/interp_rmse"])


def test_each_n_is_trained_and_scored_independently_of_the_others(tmp_path):
    # the per-n random streams are keyed by n and the observation sets are one nested draw,
    # so a run of ns=(6,) reproduces the n = 6 numbers of a run of ns=(3, 6) exactly (the
    # study composes its n = 50 column this way)
    kw = dict(n_train=8, n_test=4, ode_iters=2, rnn_iters=2, batch=4, n_total=60, n_window=10,
              n_extrapolate=5)
    cfg = Config("latent-ode-spirals", quick=True, out=tmp_path, progress_enabled=False)
    both = run_protocol(cfg, settings(True, ns=(3, 6), **kw))[0]
    cfg2 = Config("latent-ode-spirals", quick=True, out=tmp_path / "b", progress_enabled=False)
    (tmp_path / "b").mkdir()
    alone = run_protocol(cfg2, settings(True, ns=(6,), **kw))[0]
    assert alone and all(both[k] == v for k, v in alone.items())


def test_learning_curve_checkpoints_do_not_change_training(tmp_path):
    # the study's learning curve (numerics/latent_ode_curve.py) trains in chunks, fit
    # continuing from the optimizer's step: the final parameters must be those of one
    # uninterrupted run, and the curve must be recorded at the requested iterations
    from autograd.misc import flatten

    from refimpl.neural_ode.exp_latent import _gather, _train_latent_ode
    s = settings(True, n_train=8, ode_iters=5, batch=4, n_total=60, n_window=10)
    tr = archimedean_spirals(np.random.default_rng(0), n_spirals=8, n_total=60, n_window=10,
                             n_extrapolate=0)
    idx = nested_subsamples(np.random.default_rng(1), 8, 10, (4,))[4]

    def run(sub, **kw):
        (tmp_path / sub).mkdir()
        cfg = Config("latent-ode-spirals", quick=True, out=tmp_path / sub, progress_enabled=False)
        return _train_latent_ode(cfg, "t", 4, _gather(tr["x_obs"], idx), idx, tr["ts"], s, **kw)
    whole, _ = run("a")
    chunked, hist = run("b", curve_at=(2, 4, 9), curve_fn=lambda p: {"x": flatten(p)[0]})
    final = flatten(whole)[0]
    assert np.array_equal(flatten(chunked)[0], final)
    assert [it for it, _ in hist["curve"]] == [2, 4, 5]
    assert np.array_equal(hist["curve"][-1][1]["x"], final)
    assert not np.array_equal(hist["curve"][0][1]["x"], final)


def test_wider_rnn_baselines_are_trained_at_their_width_on_the_same_streams(tmp_path):
    # rnn_wide: each width is trained and scored as `n{n}/rnn{h}/…`; at the protocol's own
    # width it must reproduce the `rnn` numbers exactly (same streams, same data), and a
    # different width must give different numbers (the width override is not dropped)
    kw = dict(n_train=8, n_test=4, ode_iters=2, rnn_iters=3, batch=4, ns=(4,), n_total=60,
              n_window=10, n_extrapolate=5, rnn_hidden=25, rnn_wide=(25, 7))
    cfg = Config("latent-ode-spirals", quick=True, out=tmp_path, progress_enabled=False)
    m = run_protocol(cfg, settings(True, **kw))[0]
    rnn_keys = [k for k in m if k.startswith("n4/rnn/")]
    assert rnn_keys and all(m[k] == m[k.replace("/rnn/", "/rnn25/")] for k in rnn_keys)
    assert m["n4/rnn7/rmse"] != m["n4/rnn/rmse"] and "n4/rnn7/final_nll" in m
    with pytest.raises(ValueError, match="curve_fn"):
        from refimpl.neural_ode.exp_latent import _train_latent_ode
        _train_latent_ode(cfg, "t", 4, None, None, None, settings(True, **kw), curve_at=(1,))


def test_outer_and_inner_extrapolation_rmse_split_the_test_spirals():
    # radius: the distance of the noise-free point from its curve's centre ((−5, 0) clockwise,
    # (+5, 0) counter-clockwise); rmse_outer / rmse_inner split the spirals by the radius at
    # the last extrapolation point, so their squared errors add up to the whole RMSE's
    from refimpl.neural_ode.exp_latent import OUTER_RADIUS
    data = archimedean_spirals(np.random.default_rng(3), n_spirals=40, n_total=300,
                               n_window=20, n_extrapolate=20, noise_std=0.3)
    centre = np.where(data["clockwise"][:, None], -5.0, 5.0)
    r = np.hypot(data["x_true"][..., 0] - centre, data["x_true"][..., 1])
    np.testing.assert_allclose(data["radius"], r, rtol=1e-12)
    outer = data["radius"][:, -1] >= OUTER_RADIUS
    assert outer.any() and (~outer).any()
    s = settings(True, n_total=300, n_window=20, n_extrapolate=20, n_test=40)
    idx = nested_subsamples(np.random.default_rng(4), 40, 20, (8,))[8]
    rng = np.random.default_rng(5)
    m, x_ode, _, x_rnn = evaluate(init_latent_ode(rng), init_rnn_baseline(rng), data, idx,
                                  data["ts"], s)
    for model in ("latent_ode", "rnn"):
        whole = 40 * m["rmse"][model] ** 2
        parts = (outer.sum() * m["rmse_outer"][model] ** 2
                 + (~outer).sum() * m["rmse_inner"][model] ** 2)
        assert parts == pytest.approx(whole, rel=1e-10)
    truth = data["x_true"][:, 20:]
    assert m["rmse_outer"]["rnn"] == pytest.approx(rmse(x_rnn[outer], truth[outer]))
