"""Claims about the ResNet / RK-Net / ODE-Net classifiers of Table 1."""
import numpy as np
import pytest
from autograd.test_util import check_grads

from refimpl import nn
from refimpl.neural_ode.classifier import (KINDS, classifier_logits, cross_entropy, error_rate,
                                           init_classifier, peak_memory_mb)

TIGHT = {"rtol": 1e-10, "atol": 1e-10}


def _data(seed=0, B=4, P=6):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (B, P)), rng.integers(0, 10, B)


@pytest.mark.parametrize("kind", KINDS)
def test_shapes_and_parameter_counts(kind):
    p = init_classifier(np.random.default_rng(0), kind, d_in=6, width=5)
    x, y = _data()
    info = {}
    assert classifier_logits(kind, p, x, info=info).shape == (4, 10)
    middle = 6 * (2 * (5 * 5 + 5)) if kind == "resnet" else (6 * 5 + 5) + (5 * 5 + 5)
    assert nn.n_params(p) == (6 * 5 + 5) + middle + (5 * 10 + 10)
    assert info.get("nfe", info.get("nfev_forward")) > 0


@pytest.mark.parametrize("kind", KINDS)
def test_cross_entropy_gradient(kind):
    p = init_classifier(np.random.default_rng(1), kind, d_in=6, width=5)
    x, y = _data(1)
    kw = None if kind == "resnet" else (TIGHT if kind == "odenet" else {"step_size": 0.5})
    np.random.seed(0)
    check_grads(lambda q: cross_entropy(kind, q, x, y, kw), modes=["rev"], order=1)(p)


def test_cross_entropy_is_the_softmax_negative_log_likelihood():
    p = init_classifier(np.random.default_rng(2), "resnet", d_in=6, width=5)
    x, y = _data(2)
    logits = classifier_logits("resnet", p, x)
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    np.testing.assert_allclose(cross_entropy("resnet", p, x, y), -logp[np.arange(4), y].mean(),
                               rtol=1e-13)
    assert error_rate("resnet", p, x, np.argmax(logits, 1)) == 0.0


def test_rknet_and_odenet_solve_the_same_ode():
    # same weights: RK4 with a small step and tight dopri5 agree to RK4's O(h^4) error
    p = init_classifier(np.random.default_rng(3), "odenet", d_in=6, width=5)
    x, _ = _data(3)
    ode = classifier_logits("odenet", p, x, TIGHT)
    rk = [classifier_logits("rknet", p, x, {"step_size": h}) for h in (0.1, 0.05)]
    e1, e2 = np.max(np.abs(rk[0] - ode)), np.max(np.abs(rk[1] - ode))
    assert e2 < 1e-6 and 10 < e1 / e2 < 22                      # ≈ 2^4 = 16


def test_resnet_with_zero_blocks_is_linear():
    p = init_classifier(np.random.default_rng(4), "resnet", d_in=6, width=5)
    p["mid"] = [[(0 * W, 0 * b) for W, b in blk] for blk in p["mid"]]
    x, _ = _data(4)
    (Wi, bi), (Wo, bo) = p["inp"], p["out"]
    np.testing.assert_allclose(classifier_logits("resnet", p, x), (x @ Wi + bi) @ Wo + bo)


def test_memory_grows_with_rk_steps_but_not_with_adjoint_evaluations():
    p = init_classifier(np.random.default_rng(5), "odenet", d_in=20, width=32)
    x, y = _data(5, B=128, P=20)
    rk2 = peak_memory_mb("rknet", p, x, y, {"step_size": 0.5})
    rk16 = peak_memory_mb("rknet", p, x, y, {"step_size": 1 / 16})
    info_lo, info_hi = {}, {}
    classifier_logits("odenet", p, x, {"rtol": 1e-2, "atol": 1e-2}, info_lo)
    classifier_logits("odenet", p, x, {"rtol": 1e-8, "atol": 1e-8}, info_hi)
    assert info_hi["nfev_forward"] > 2 * info_lo["nfev_forward"]
    ode_lo = peak_memory_mb("odenet", p, x, y, {"rtol": 1e-2, "atol": 1e-2})
    ode_hi = peak_memory_mb("odenet", p, x, y, {"rtol": 1e-8, "atol": 1e-8})
    assert rk16 > 3 * rk2
    assert ode_hi < 1.3 * ode_lo


def test_unknown_kind_raises():
    with pytest.raises(ValueError, match="kind"):
        init_classifier(np.random.default_rng(0), "densenet", 6)


def test_resnet_memory_is_linear_in_depth_and_crossing_is_on_the_line():
    from refimpl.neural_ode.exp_classifier import crossing_depth, resnet_memory_sweep
    x, y = _data(6, B=128, P=20)
    sweep = resnet_memory_sweep(np.random.default_rng(6), x, y, width=32, depths=(4, 8, 16))
    (_, m4), (_, m8), (_, m16) = sweep
    # O(L): each doubling of depth adds twice the previous increment (within 15 %)
    assert m16 - m8 == pytest.approx(2 * (m8 - m4), rel=0.15)
    assert m8 - m4 > 0.5 * (4 * 128 * 32 * 8) / 2 ** 20    # at least one (B, H) array per block
    first, L_cross, slope, icpt = crossing_depth(sweep, m8)
    assert L_cross == pytest.approx(8, abs=1.0) and first == 16
    assert crossing_depth(sweep, 10 * m16)[0] is None


def test_resnet_memory_sweep_rejects_bad_depths():
    from refimpl.neural_ode.exp_classifier import resnet_memory_sweep
    x, y = _data()
    with pytest.raises(ValueError, match="depths"):
        resnet_memory_sweep(np.random.default_rng(0), x, y, 5, depths=(0, 6))
