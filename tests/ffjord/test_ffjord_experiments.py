"""The example runs (smoke test); the experiments keep their public contract (metric keys)
and give meaningful numbers. Experiment runs are `slow`: `pytest tests/ffjord -m slow`."""

import numpy as np
import pytest

from refimpl.experiments import REGISTRY, run_experiment
from refimpl.ffjord.train import _rng_arrays, _rng_state, adam_step


def test_experiments_registered():
    import refimpl.ffjord.experiments  # noqa: F401  (registers on import)
    assert REGISTRY["ffjord-toy"].module == REGISTRY["trace-estimators"].module \
        == "refimpl.ffjord.experiments"


def test_example_quick(run_example):
    r, out = run_example("ffjord_toy.py", out="ffjord.png", timeout=300)
    assert out.exists()
    line = [s for s in r.stdout.splitlines() if "density mass" in s][0]
    mass = float(line.split("[-4, 4]^2")[1].split(";")[0])
    assert 0.95 < mass < 1.001                          # a density, not just any function


def test_adam_step_and_rng_checkpoint_round_trip():
    # Adam's first step moves every coordinate by lr against the gradient's sign
    x, m, v = adam_step(np.zeros(3), np.array([2.0, -0.5, 1e-3]), np.zeros(3), np.zeros(3), 0, 0.1)
    assert np.allclose(x, [-0.1, 0.1, -0.1], rtol=1e-4)
    rng = np.random.default_rng(5)
    rng.standard_normal(7)
    saved = _rng_arrays(rng)
    a = rng.standard_normal(4)
    rng2 = np.random.default_rng(0)
    rng2.bit_generator.state = _rng_state(saved)
    assert np.array_equal(a, rng2.standard_normal(4))


def test_training_resumes_from_checkpoint(tmp_path):
    from refimpl.datasets import toy2d
    from refimpl.experiments import Checkpoint
    from refimpl.ffjord import init_cnf
    from refimpl.ffjord.train import train_cnf
    from autograd.misc import flatten

    def run(n_iter, resume, ck_path):
        blocks = init_cnf(np.random.default_rng(0), 2, (8,), t1=0.5)
        ck = Checkpoint(ck_path, resume=resume, every_s=0.0)
        return train_cnf(blocks, lambda r: toy2d.sample("moons", 32, r), n_iter=n_iter,
                         rng=np.random.default_rng(1), lr=1e-2, rtol=1e-3, atol=1e-3, checkpoint=ck)
    straight, h1 = run(6, False, tmp_path / "a.npz")
    run(3, False, tmp_path / "b.npz")                      # interrupted after 3 steps
    resumed, h2 = run(6, True, tmp_path / "b.npz")
    assert np.array_equal(flatten(straight)[0], flatten(resumed)[0])
    assert np.array_equal(h1["loss"], h2["loss"])


def test_fused_training_step_with_weight_decay_by_hand():
    # one step of train_cnf(fused=True, weight_decay) = Adam on ∇(-mean log p) + wd·θ, where
    # the gradient is the autograd twin's (cnf_log_prob): the fused path and the L2 term
    from autograd import grad
    import autograd.numpy as anp
    from refimpl.ffjord import cnf_log_prob, concatsquash_dynamics, init_cnf
    from autograd.misc import flatten
    from refimpl.ffjord.train import train_cnf
    blocks = init_cnf(np.random.default_rng(0), 2, (6,), t1=0.5)
    x = np.random.default_rng(1).standard_normal((20, 2))
    wd, lr = 3.0, 1e-2                                 # large: flips the sign of some steps
    out, hist = train_cnf(blocks, lambda r: x, n_iter=1, rng=np.random.default_rng(2), lr=lr,
                          rtol=1e-9, atol=1e-9, fused=True, weight_decay=wd)
    flat, unflatten = flatten(blocks)
    g = flatten(grad(lambda bl: -anp.mean(cnf_log_prob(concatsquash_dynamics, bl, x, rtol=1e-9,
                                                       atol=1e-9)))(blocks))[0]
    want = adam_step(flat, g + wd * flat, 0 * flat, 0 * flat, 0, lr)[0]
    assert np.allclose(flatten(out)[0], want, rtol=0, atol=1e-6 * lr)
    assert np.isfinite(hist["nfe"][0]) and hist["nfe"][0] > 0
    assert 0 < hist["cpu_seconds"][0] and np.isfinite(hist["seconds"][0])
    with pytest.raises(ValueError, match="weight_decay"):
        train_cnf(blocks, lambda r: x, n_iter=1, rng=np.random.default_rng(2), weight_decay=-1.0)
    with pytest.raises(ValueError, match="fused"):
        train_cnf(blocks, lambda r: x, n_iter=1, rng=np.random.default_rng(2), fused=True,
                  gradient="backprop")


def test_ffjord_toy_contract_on_a_tiny_config(tmp_path, monkeypatch):
    # the metric keys (issue 25): {set}/nll_minus_entropy for the two sets with a known density
    import refimpl.ffjord.experiments as E
    from refimpl.datasets import toy2d
    monkeypatch.setitem(E.__dict__, "QUICK_TOY", dict(
        E.QUICK_TOY, datasets=("8gaussians", "checkerboard", "moons"), hidden=(8,), n_iter=3,
        n_test=300, grid=8))
    res = run_experiment("ffjord-toy", quick=True, out=tmp_path, progress=False)
    m = res["metrics"]
    for name in ("8gaussians", "checkerboard"):
        assert m[f"{name}/nll_minus_entropy"] == pytest.approx(
            -m[f"{name}/test_loglik"] - toy2d.entropy(name), abs=1e-12)
        assert m[f"{name}/nll_minus_entropy"] > 0         # an untrained flow: KL > 0
    assert "moons/nll_minus_entropy" not in m and "moons/test_loglik" in m
    assert (tmp_path / "ffjord-toy" / "ffjord_toy.png").exists()
    # a resumed run reads the finished sets back from their result checkpoints (no training)
    monkeypatch.setitem(E.__dict__, "train_cnf", None)
    again = run_experiment("ffjord-toy", quick=True, out=tmp_path, progress=False, resume=True)
    assert again["metrics"] == m


@pytest.mark.slow
def test_ffjord_toy_quick(tmp_path):
    res = run_experiment("ffjord-toy", quick=True, out=tmp_path, progress=False)
    m = res["metrics"]
    for name in ("8gaussians", "checkerboard"):
        # the flow beats the best Gaussian on fresh test data (0.5 nats on 8gaussians; the
        # checkerboard is harder in 80 iterations), and the gap to the entropy is positive
        margin = 0.5 if name == "8gaussians" else 0.1
        assert m[f"{name}/test_loglik"] > m[f"{name}/gaussian_baseline_loglik"] + margin
        assert m[f"{name}/nll_minus_entropy"] > -3 * m[f"{name}/nll_minus_entropy_se"]
    assert (tmp_path / "ffjord-toy" / "ffjord_toy.png").exists()


@pytest.mark.slow
def test_trace_estimators_quick(tmp_path):
    res = run_experiment("trace-estimators", quick=True, out=tmp_path, progress=False)
    m = res["metrics"]
    for est in ("gaussian", "rademacher", "bottleneck-gaussian", "bottleneck-rademacher"):
        assert abs(m[f"{est}/loglik_bias_in_se"]) < 4       # unbiased
        assert m[f"{est}/loglik_variance"] > 0
    for est in ("gaussian", "rademacher"):
        # measured variance of log p̂ vs Var[εᵀMε], M = ∫J dt (40 probes x 64 points: ~3 % SE)
        assert abs(m[f"{est}/loglik_variance"] / m[f"{est}/loglik_variance_closed_form"] - 1) < 0.15
    # Rademacher has lower variance than Gaussian (no diagonal term); the bottleneck lower still
    assert m["rademacher/loglik_variance"] < m["gaussian/loglik_variance"]
    assert m["bottleneck-rademacher/loglik_variance"] < m["rademacher/loglik_variance"]
