"""Attacks: budgets and pixel range, loss increase, PGD(1 step, no start) == FGSM, EOT mean,
self-transfer = 1."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.scipy.special import logsumexp

from refimpl import attacks
from refimpl.nn import init_mlp, mlp

D, K, B = 20, 4, 64


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(0)
    params = init_mlp(rng, [D, 16, K], scale=1.0)
    x = rng.uniform(size=(B, D))
    y = rng.integers(0, K, size=B)
    return params, x, y


def logits(params, x):
    return mlp(params, x, activation="relu")


def ce(params, x, y):
    z = logits(params, x)
    return np.asarray(logsumexp(z, axis=1) - z[np.arange(len(y)), y])


ATTACKS = {
    "fgsm": lambda g, x, y, e, n, rng: attacks.fgsm(g, x, y, e, n),
    "pgd": lambda g, x, y, e, n, rng: attacks.pgd(g, x, y, e, n, steps=10, rng=rng),
    "pgd-nostart": lambda g, x, y, e, n, rng: attacks.pgd(g, x, y, e, n, steps=5),
    "eot-pgd": lambda g, x, y, e, n, rng: attacks.pgd(
        attacks.eot(lambda xx, yy, d: g(xx + 0.0 * d, yy), lambda r, b: r.standard_normal((b, 1)), 3, rng),
        x, y, e, n, steps=5, rng=rng),
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
@pytest.mark.parametrize("norm,eps", [("linf", 0.1), ("linf", 0.5), ("l2", 0.5), ("l2", 3.0)])
def test_budget_and_pixel_range(model, name, norm, eps):
    params, x, y = model
    g = attacks.cross_entropy_grad(lambda xx: logits(params, xx))
    xa = ATTACKS[name](g, x, y, eps, norm, np.random.default_rng(1))
    d = xa - x
    size = np.abs(d).max(axis=1) if norm == "linf" else np.linalg.norm(d, axis=1)
    assert size.max() <= eps * (1 + 1e-12)
    assert xa.min() >= 0.0 and xa.max() <= 1.0
    assert size.max() > 0.5 * eps          # the attack actually moved


@pytest.mark.parametrize("norm,eps", [("linf", 0.05), ("l2", 0.3)])
def test_fgsm_and_pgd_increase_the_loss(model, norm, eps):
    params, x, y = model
    g = attacks.cross_entropy_grad(lambda xx: logits(params, xx))
    l0 = ce(params, x, y)
    lf = ce(params, attacks.fgsm(g, x, y, eps, norm), y)
    lp = ce(params, attacks.pgd(g, x, y, eps, norm, steps=20, rng=np.random.default_rng(2)), y)
    assert np.mean(lf > l0) > 0.95 and np.mean(lp > l0) > 0.95
    assert lp.mean() >= lf.mean()          # more steps find at least as much loss on average


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_pgd_one_step_without_start_is_fgsm(model, norm):
    params, x, y = model
    g = attacks.cross_entropy_grad(lambda xx: logits(params, xx))
    a = attacks.fgsm(g, x, y, 0.2, norm)
    b = attacks.pgd(g, x, y, 0.2, norm, steps=1, step_size=0.2)
    np.testing.assert_array_equal(a, b)


def test_cross_entropy_grad_matches_finite_differences(model):
    params, x, y = model
    g = attacks.cross_entropy_grad(lambda xx: logits(params, xx))(x[:3], y[:3])
    e = np.zeros_like(x[:3])
    e[1, 4] = 1e-6
    fd = (ce(params, x[:3] + e, y[:3]).sum() - ce(params, x[:3] - e, y[:3]).sum()) / 2e-6
    assert np.isclose(g[1, 4], fd, rtol=1e-6, atol=1e-9)


def test_eot_gradient_is_the_mean_of_member_gradients(model):
    params, x, y = model
    # members: the model on a randomly shifted input; a draw is the shift (B, D)
    def member(d):
        return attacks.cross_entropy_grad(lambda xx: logits(params, xx + d))

    rng = np.random.default_rng(3)
    draws = [0.1 * rng.standard_normal((B, D)) for _ in range(5)]
    got = attacks.eot_grad(lambda xx, yy, d: member(d)(xx, yy), x, y, draws)
    want = np.mean([member(d)(x, y) for d in draws], axis=0)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    # eot() with a fixed-seed sampler reproduces eot_grad on the same draws
    sample = lambda r, b: 0.1 * r.standard_normal((b, D))  # noqa: E731
    r1, r2 = np.random.default_rng(4), np.random.default_rng(4)
    g_eot = attacks.eot(lambda xx, yy, d: member(d)(xx, yy), sample, 4, r1)(x, y)
    np.testing.assert_allclose(g_eot, attacks.eot_grad(lambda xx, yy, d: member(d)(xx, yy), x, y,
                                                        [sample(r2, B) for _ in range(4)]), rtol=1e-12)


def test_self_transfer_is_one(model):
    params, x, y = model
    g = attacks.cross_entropy_grad(lambda xx: logits(params, xx))
    pred = lambda xx: np.argmax(logits(params, xx), axis=1)  # noqa: E731
    xa = attacks.pgd(g, x, y, 0.5, "linf", steps=10, rng=np.random.default_rng(5))
    rate, n = attacks.transfer_rate(x, xa, y, pred, pred)
    assert n > 0 and rate == 1.0


def test_project_keeps_points_inside(model):
    _, x, _ = model
    far = x + 10.0
    p = attacks.project(far, x, 0.3, "l2")
    assert np.all(np.linalg.norm(p - x, axis=1) <= 0.3 + 1e-12)


def test_bad_input_raises(model):
    params, x, y = model
    g = attacks.cross_entropy_grad(lambda xx: logits(params, xx))
    with pytest.raises(ValueError, match="norm"):
        attacks.fgsm(g, x, y, 0.1, "l1")
    with pytest.raises(ValueError, match="eps"):
        attacks.pgd(g, x, y, -0.1)
    with pytest.raises(ValueError, match="x"):
        attacks.fgsm(g, x + 2.0, y, 0.1)
    with pytest.raises(ValueError, match="draws"):
        attacks.eot_grad(None, x, y, [])


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_random_start_is_uniform_in_the_ball(norm):
    rng = np.random.default_rng(7)
    D, n, eps = 5, 20000, 0.05
    x = np.full((n, D), 0.5)                              # far from the pixel bounds: no clipping
    d = attacks.random_start(rng, x, eps, norm) - x
    if norm == "linf":
        # each coordinate uniform on [-eps, eps]: mean 0, variance eps^2 / 3
        assert np.abs(d).max() <= eps
        # (Var[d^2] = eps^4 (1/5 - 1/9) = 4 eps^4 / 45)
        assert abs(np.mean(d ** 2) / (eps ** 2 / 3) - 1) < 4 * 3 * np.sqrt(4 / 45 / d.size)
    else:
        r = np.linalg.norm(d, axis=1)
        assert r.max() <= eps * (1 + 1e-12)
        # uniform in the ball: (r / eps)^D ~ U(0, 1), mean 1/2, s.e. sqrt(1/12 / n)
        assert abs(np.mean((r / eps) ** D) - 0.5) < 4 * np.sqrt(1 / 12 / n)


def test_fgsm_is_the_closed_form_step(model):
    params, x, y = model
    g = attacks.cross_entropy_grad(lambda xx: logits(params, xx))
    gx = g(x, y)
    np.testing.assert_array_equal(attacks.fgsm(g, x, y, 0.05, "linf"), np.clip(x + 0.05 * np.sign(gx), 0, 1))
    xm = np.full_like(x, 0.5)                             # interior: no clipping for a small L2 step
    gm = g(xm, y)
    np.testing.assert_allclose(attacks.fgsm(g, xm, y, 0.1, "l2"),
                               xm + 0.1 * gm / np.linalg.norm(gm, axis=1, keepdims=True), rtol=1e-14)


def test_transfer_rate_counts_only_digits_both_models_get_right():
    y = np.zeros(6, dtype=int)
    x = np.arange(6.0)[:, None]
    x_adv = x + 10.0
    src = lambda xx: ((xx[:, 0] >= 10) | (xx[:, 0] == 5)).astype(int)          # noqa: E731  wrong on clean 5
    dst = lambda xx: ((xx[:, 0] % 10 < 2) | (xx[:, 0] >= 13)).astype(int)      # noqa: E731  wrong on clean 0, 1
    # both right when clean on 2, 3, 4; all fool the source; the target is fooled on 13, 14
    rate, n = attacks.transfer_rate(x, x_adv, y, src, dst)
    assert n == 3 and rate == 2 / 3


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_projection_is_the_nearest_point_of_the_ball(norm):
    # inside the ball: unchanged; outside: onto the boundary (L2: along d, ||d|| = eps;
    # L∞: each coordinate clipped to ±eps). Pixels kept away from [0, 1]'s edges.
    rng = np.random.default_rng(11)
    x = rng.uniform(0.3, 0.7, size=(4, 10))
    eps = 0.1
    d_in = rng.standard_normal((4, 10))
    d_in *= 0.5 * eps / (np.linalg.norm(d_in, axis=1, keepdims=True) if norm == "l2"
                         else np.abs(d_in).max(axis=1, keepdims=True))
    np.testing.assert_allclose(attacks.project(x + d_in, x, eps, norm), x + d_in, rtol=0, atol=1e-15)
    d_out = 4 * d_in                                   # twice the radius
    got = attacks.project(x + d_out, x, eps, norm) - x
    if norm == "l2":
        np.testing.assert_allclose(np.linalg.norm(got, axis=1), eps, rtol=1e-12)
        np.testing.assert_allclose(got, d_out * eps / np.linalg.norm(d_out, axis=1, keepdims=True),
                                   rtol=1e-12)
    else:
        np.testing.assert_allclose(got, np.clip(d_out, -eps, eps), rtol=1e-12, atol=1e-15)
