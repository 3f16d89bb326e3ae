"""Claims about the recognition RNN (run backwards in time) and the RNN baseline."""
import numpy as np
from autograd.test_util import check_grads

import pytest
from autograd import grad

from refimpl.neural_ode.rnn import (elman_rnn, init_recognition_rnn, init_rnn_baseline,
                                    init_rnn_cell, recognition_rnn, rnn_baseline_loss,
                                    rnn_baseline_filter, rnn_baseline_predict, run_rnn,
                                    run_rnn_reference, time_gaps)
from refimpl.testing import assert_twins_agree


def _data(rng, B=3, n=6, D=2):
    x = rng.standard_normal((B, n, D))
    t = np.sort(rng.uniform(0, 2, (B, n)), axis=1)
    return x, t


def _manual_fold(params, x, t, order, t0=None):
    # the cell applied by hand, in the given order of observation indices; input gaps
    # t_i − t_{i−1}, the first one from the anchor t0 (0 without one)
    W, b = params["cell"]
    first = np.zeros((t.shape[0], 1)) if t0 is None else t[:, :1] - t0
    gaps = np.concatenate([first, t[:, 1:] - t[:, :-1]], axis=1)
    h = np.zeros((x.shape[0], W.shape[1]))
    for i in order:
        h = np.tanh(np.concatenate([x[:, i], gaps[:, i:i + 1], h], axis=1) @ W + b)
    Wo, bo = params["out"]
    out = h @ Wo + bo
    return out[:, :out.shape[1] // 2], out[:, out.shape[1] // 2:]


def test_recognition_rnn_reads_observations_backwards_in_time():
    rng = np.random.default_rng(0)
    p = init_recognition_rnn(rng, obs_dim=2, latent_dim=4, hidden=25)
    x, t = _data(rng)
    mean, logvar = recognition_rnn(p, x, t)
    assert mean.shape == (3, 4) and logvar.shape == (3, 4)
    rev = _manual_fold(p, x, t, order=range(5, -1, -1))
    np.testing.assert_allclose(mean, rev[0], rtol=1e-12)
    np.testing.assert_allclose(logvar, rev[1], rtol=1e-12)
    fwd = _manual_fold(p, x, t, order=range(6))
    assert np.max(np.abs(mean - fwd[0])) > 1e-3             # the order matters


def test_recognition_rnn_sees_the_offset_of_the_first_observation_from_the_anchor():
    # z_t0 lives at t0; shifting the observations in time relative to t0 must change q(z_t0)
    # (irregular subsampling rarely keeps t0 itself), a common shift without t0 must not
    rng = np.random.default_rng(5)
    p = init_recognition_rnn(rng, obs_dim=2, latent_dim=4, hidden=25)
    x, t = _data(rng)
    t0 = t[:, 0] - rng.uniform(0.1, 0.5, 3)
    mean, logvar = recognition_rnn(p, x, t, t0)
    ref = _manual_fold(p, x, t, order=range(5, -1, -1), t0=t0[:, None])
    np.testing.assert_allclose(mean, ref[0], rtol=1e-12)
    np.testing.assert_allclose(logvar, ref[1], rtol=1e-12)
    shifted = recognition_rnn(p, x, t + 0.3, t0)[0]
    assert np.min(np.max(np.abs(shifted - mean), axis=1)) > 1e-3
    np.testing.assert_allclose(recognition_rnn(p, x, t + 0.3)[0], recognition_rnn(p, x, t)[0],
                               rtol=1e-12)
    np.testing.assert_allclose(recognition_rnn(p, x, t, t[:, 0])[0], recognition_rnn(p, x, t)[0],
                               rtol=1e-12)


def test_run_rnn_states_are_in_input_order():
    rng = np.random.default_rng(1)
    cell = init_recognition_rnn(rng, hidden=5)["cell"]
    u = rng.standard_normal((2, 4, 3))
    hs, last = run_rnn(cell, u, reverse=True)
    np.testing.assert_array_equal(hs[:, 0], last)           # x_0 is read last
    _, only_last = run_rnn(cell, u[:, 3:], reverse=True)
    np.testing.assert_allclose(hs[:, 3], only_last, rtol=1e-14)   # x_{n-1} is read first


def test_time_gaps():
    t = np.array([[0.0, 0.5, 2.0]])
    np.testing.assert_allclose(time_gaps(t), [[0.5, 1.5, 0.0]])
    np.testing.assert_allclose(time_gaps(t, np.array([[3.0]])), [[0.5, 1.5, 1.0]])


def test_rnn_baseline_loss_gradient():
    rng = np.random.default_rng(2)
    p = init_rnn_baseline(rng, hidden=4, dec_hidden=3)
    x, t = _data(rng, B=2, n=4)
    np.random.seed(0)
    check_grads(lambda q: rnn_baseline_loss(q, x, t), modes=["rev"], order=1)(p)


def test_rnn_baseline_prediction_matches_the_training_targets():
    # the training loss predicts x_{i+1} from x_0..x_i; predict() with t_future = [t_{i+1}]
    # must give the same number
    rng = np.random.default_rng(3)
    p = init_rnn_baseline(rng)
    x, t = _data(rng, B=2, n=5)
    for i in range(1, 4):
        pred = rnn_baseline_predict(p, x[:, :i + 1], t[:, :i + 1], np.array([t[0, i + 1]]))
        sigma = 0.3
        loss_i = rnn_baseline_loss(p, x[:1, :i + 2], t[:1, :i + 2], sigma) - \
            rnn_baseline_loss(p, x[:1, :i + 1], t[:1, :i + 1], sigma)
        r = x[0, i + 1] - pred[0, 0]
        expect = 0.5 * np.sum(r ** 2) / sigma ** 2 + 2 * np.log(sigma * np.sqrt(2 * np.pi))
        np.testing.assert_allclose(loss_i, expect, rtol=1e-10)
    out = rnn_baseline_predict(p, x, t, np.array([2.5, 2.6, 2.7]))
    assert out.shape == (2, 3, 2)


def test_rnn_baseline_filter_predicts_each_time_from_the_observations_before_it():
    # brute force per query time: read x_1..x_i (i the last observation before t) with the
    # readable twin, the last gap being t − t_i, and decode; NaN before the first observation
    rng = np.random.default_rng(7)
    p = init_rnn_baseline(rng)
    x, t = _data(rng, B=3, n=5)
    tq = np.sort(np.concatenate([rng.uniform(0, 2.2, 9), t[1]]))          # t[1]: observed times
    out = rnn_baseline_filter(p, x, t, tq)
    assert out.shape == (3, len(tq), 2)
    W, b = p["cell"]
    for s in range(3):
        for q, tt in enumerate(tq):
            k = np.flatnonzero(t[s] < tt)
            if k.size == 0:
                assert np.all(np.isnan(out[s, q]))
                continue
            i = k[-1]
            gaps = np.append(np.diff(t[s, :i + 1]), tt - t[s, i])
            u = np.concatenate([x[s:s + 1, :i + 1], gaps[None, :, None]], axis=2)
            _, h = run_rnn_reference((W, b), u)
            h1, b1 = p["dec"][0]
            h2, b2 = p["dec"][1]
            expect = np.maximum(h @ h1 + b1, 0) @ h2 + b2
            np.testing.assert_allclose(out[s, q], expect[0], rtol=1e-10, atol=1e-12)
    # at an observed time it is the one-step prediction the training loss scores
    one = rnn_baseline_predict(p, x[:, :3], t[:, :3], np.array([t[0, 3]]))
    np.testing.assert_allclose(rnn_baseline_filter(p, x[:1], t[:1], t[0, 3:4])[0], one[0],
                               rtol=1e-10)


# --- the fused Elman kernel and its readable twin -------------------------------------------
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("with_h0", [False, True])
def test_fused_rnn_agrees_with_its_twin_values_and_gradients(reverse, with_h0):
    rng = np.random.default_rng(4)
    cell = init_rnn_cell(rng, 3, 6)
    u = rng.standard_normal((4, 7, 3))
    h0 = rng.standard_normal((4, 6)) if with_h0 else None
    for got, want in zip(run_rnn(cell, u, reverse, h0), run_rnn_reference(cell, u, reverse, h0)):
        assert_twins_agree(got, want, rtol=1e-12, name="run_rnn vs reference")
    w = rng.standard_normal((4, 7, 6))

    def loss(f):
        return lambda W, b, u: np.sum(w * np.tanh(f((W, b), u, reverse, h0)[0]))
    g_fast = grad(loss(run_rnn), argnum=(0, 1, 2))(*cell, u)
    g_ref = grad(loss(run_rnn_reference), argnum=(0, 1, 2))(*cell, u)
    for a, b in zip(g_fast, g_ref):
        assert_twins_agree(a, b, rtol=1e-12, name="BPTT vs autograd")


def test_fused_rnn_vjp_gradient_check():
    rng = np.random.default_rng(5)
    W, b = init_rnn_cell(rng, 2, 4)
    u, h0, w = (rng.standard_normal(s) for s in [(3, 5, 2), (3, 4), (3, 5, 4)])
    np.random.seed(0)
    for reverse in (False, True):
        check_grads(lambda u, W, b, h0: np.sum(w * np.sin(elman_rnn(u, W, b, h0, reverse))),
                    modes=["rev"], order=1)(u, W, b, h0)


def test_rnn_baseline_rollout_feeds_back_each_prediction_with_its_own_time_gap():
    # step k of the extrapolation must equal a one-step prediction after appending the
    # predictions x̂_0..x̂_{k-1} as observations at t_future[:k] (unequal gaps: the
    # fed-back input must carry t_future[k] − t_future[k−1], not 0 or a constant)
    rng = np.random.default_rng(5)
    p = init_rnn_baseline(rng)
    x, t = _data(rng, B=2, n=4)
    t_future = t.max() + np.array([0.1, 0.4, 0.5, 1.3])                 # after every row
    roll = rnn_baseline_predict(p, x, t, t_future)                      # (B, 4, D)
    for k in range(1, len(t_future)):
        x_ext = np.concatenate([x, roll[:, :k]], axis=1)
        t_ext = np.concatenate([t, np.tile(t_future[:k], (2, 1))], axis=1)
        one = rnn_baseline_predict(p, x_ext, t_ext, t_future[k:k + 1])
        np.testing.assert_allclose(roll[:, k], one[:, 0], rtol=1e-12, atol=1e-12)
