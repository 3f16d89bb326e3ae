"""Review findings pinned: the stopping rule's logic, the entropy-only warm-up, the schedule."""
import numpy as np
import pytest
from autograd.test_util import check_grads
from scipy.special import expit

from refimpl.mcmc.ais import sigmoid_schedule
from refimpl.suboptimality.flow import flow_terms
from refimpl.suboptimality.gaps import _train_bound, encode, init_model, log_joint_fn
from refimpl.suboptimality.qstar import log_normal_diag, optimize_local


def _chunk(c):
    """100 losses with mean c whose last value (c − 200) is far from the mean."""
    return [c + 200.0] + [c] * 98 + [c - 200.0]


@pytest.mark.parametrize("k", [1, 3])
def test_stopping_rule_stops_patience_checks_after_the_last_improving_average(k):
    """Averages improve for k checks, then stay equal: the rule stops `patience` checks later.
    Comparing the last loss instead of the 100-step average, or flipping the comparison, stops
    at another step."""
    vals = iter([v for i in range(1, k + 1) for v in _chunk(10.0 - i)] + _chunk(10.0 - k) * 50)
    _, info = optimize_local(lambda p, noise: noise + 0.0 * p["w"][0], {"w": np.zeros(1)}, lambda r: next(vals),
                             np.random.default_rng(0), check_every=100, patience=4)
    assert info["stopped"] and info["steps"] == 100 * (k + 4)
    np.testing.assert_allclose(info["history"], [10.0 - i for i in range(1, k + 1)] + [10.0 - k] * 4)


def test_warm_up_anneals_only_the_entropy_term():
    rng = np.random.default_rng(0)
    x = (rng.random((3, 6)) < 0.4).astype(float)
    for kind in ("ffg", "flow"):
        p = init_model(rng, 6, 2, hidden=(5,), kind=kind, flow_hidden=4)
        p["enc"] = [(W, 0.3 * rng.standard_normal(b.shape)) for W, b in p["enc"]]    # non-zero biases
        ez, ev = rng.standard_normal((4, 3, 2)), rng.standard_normal((4, 3, 2))
        from refimpl.vi.vae import encoder
        mean, log_std, h = encode(p, x)
        np.testing.assert_allclose(np.concatenate([mean, log_std], -1), np.concatenate(encoder(p, x), -1),
                                   rtol=1e-13)
        lj = log_joint_fn(p, x)
        if kind == "flow":
            a, b = flow_terms(p["flow"], lj, mean, log_std, ez, ev, h)
        else:
            z = mean + np.exp(log_std) * ez
            a, b = lj(z), log_normal_diag(z, mean, log_std)
        assert _train_bound(p, x, ez, ev, 0.0) == pytest.approx(np.mean(a), rel=1e-12)      # log p(x, z) only
        assert _train_bound(p, x, ez, ev, 1.0) - _train_bound(p, x, ez, ev, 0.5) == pytest.approx(
            -0.5 * np.mean(b), rel=1e-10)
        check_grads(lambda q: _train_bound(q, x, ez, ev, 0.7), modes=["rev"], order=1)(p)


def test_sigmoid_schedule_interior_value():
    b = sigmoid_schedule(4, delta=4)
    s = expit(np.array([-4.0, -2.0, 0.0, 2.0, 4.0]))
    np.testing.assert_allclose(b, (s - s[0]) / (s[-1] - s[0]), rtol=1e-14)
    assert b[2] == pytest.approx(0.5, abs=1e-14) and b[1] == pytest.approx((expit(-2) - expit(-4)) /
                                                                        (expit(4) - expit(-4)), rel=1e-14)
