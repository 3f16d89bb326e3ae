"""The example runs; the experiments run end to end (slow) and report their metric keys."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from refimpl.nng import uci_run
from refimpl.nng.regression import GammaNoise, evaluate

ROOT = Path(__file__).resolve().parents[2]


def test_example_quick(run_example):
    r, out = run_example("noisy_natural_gradient.py", out="nng.png", timeout=120)
    assert "max relative covariance error" in r.stdout and out.exists()


def test_evaluate_matches_a_direct_computation():
    # one posterior sample: LL is the Gaussian log density in original units
    rng = np.random.default_rng(0)
    f, y = rng.standard_normal(5), rng.standard_normal(5)
    rmse, ll = evaluate(f[None], np.array([4.0]), y, y_mean=3.0, y_std=2.0)
    assert np.isclose(rmse, 2.0 * np.sqrt(np.mean((f - y) ** 2)))
    yo, mo, sd = 3.0 + 2.0 * y, 3.0 + 2.0 * f, 2.0 / np.sqrt(4.0)
    direct = np.mean(-0.5 * np.log(2 * np.pi * sd ** 2) - 0.5 * ((yo - mo) / sd) ** 2)
    assert np.isclose(ll, direct, rtol=1e-12)
    # S identical samples give the same log-mean-exp
    assert np.isclose(evaluate(np.repeat(f[None], 7, 0), np.full(7, 4.0), y, 3.0, 2.0)[1], ll, rtol=1e-12)


def test_gamma_noise_fixed_point_is_the_conjugate_update():
    noise = GammaNoise(N=100, a0=1.0, b0=0.01)
    for _ in range(2000):
        noise.update(0.25, rho=0.01)
    # a = a0 + N/2, b = b0 + N/2 * mse  (Bishop eq. (10.29)-(10.30))
    assert np.isclose(noise.mean(), (1.0 + 50) / (0.01 + 50 * 0.25), rtol=1e-6)
    with pytest.raises(ValueError, match="tau0"):
        GammaNoise(10, tau0=-1.0)


def test_fit_rejects_bad_batches_and_non_finite_data():
    # a negative batch size used to loop forever inside `minibatches` without yielding
    from refimpl.nng import NoisyAdam, fit, mlp
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 2)), rng.standard_normal(20)
    opt = NoisyAdam(mlp.init_params(rng, [2, 1]), 20)
    for bs in (0, -1):
        with pytest.raises(ValueError, match="batch_size"):
            fit(opt, X, y, rng, 5, bs)
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        fit(opt, X, y, rng, 5, 4)
    # a diverging optimizer stops with the iteration instead of returning NaN parameters
    class Diverging:
        k = 0

        def step(self, Xb, yb, tau, rng):
            self.k += 1
            return np.full((len(Xb), 1), np.inf if self.k > 3 else 0.0)
    with pytest.raises(FloatingPointError, match="iteration 3 of 10"):
        fit(Diverging(), X[:3], y[:3], rng, 10, 3)


def test_synthetic_splits_are_standardised():
    sp = uci_run.synthetic_splits(np.random.default_rng(0), n_splits=3)
    assert len(sp) == 3
    assert np.allclose(sp[0]["X_train"].mean(0), 0, atol=1e-12) and np.isclose(sp[0]["y_train"].std(), 1)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["nng-uci", "nng-toy-regression"])
def test_experiment_quick_runs(tmp_path, name):
    r = subprocess.run([sys.executable, "-m", "refimpl", "run", name, "--quick", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    res = json.loads((tmp_path / name / "results.json").read_text())
    if name == "nng-uci":
        for m in ("bbb", "noisy_adam", "noisy_kfac"):
            for k in ("rmse", "rmse_se", "ll", "ll_se"):
                assert f"synthetic/{m}/{k}" in res["metrics"]
    else:
        for m in ("bbb", "noisy_adam", "noisy_kfac"):
            assert res["metrics"][f"{m}/var_ratio_to_hmc"] > 0
        assert 0.5 < res["metrics"]["hmc/accept_rate"] < 1.0


def test_variance_closeness_anchors():
    from refimpl.nng.toy import closeness
    rng = np.random.default_rng(1)
    f = rng.standard_normal((500, 30))
    assert closeness(f, f) == (1.0, 0.0)                      # identical: ratio 1, rms 0
    ratio, rms = closeness(2 * f, f)                           # twice the sd everywhere
    assert np.isclose(ratio, 4.0) and np.isclose(rms, np.log(4.0))


def test_uci_loader_takes_all_seven_sets_with_published_rows(tmp_path):
    """Every UCI folder of the shared data (kin8nm, power-plant included) is in DATASETS,
    has a PBP row, and `_load_splits` picks up exactly the folders present."""
    import types
    from refimpl.nng import experiments as ex, uci_run
    assert set(uci_run.DATASETS) == set(uci_run.PBP)
    assert {"kin8nm", "power-plant"} <= set(uci_run.DATASETS)
    # the first five keep their positions (their rng streams, hence the committed results)
    assert uci_run.DATASETS[:5] == ("bostonHousing", "concrete", "energy", "wine-quality-red", "yacht")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    for ds in ("kin8nm", "power-plant"):
        d = tmp_path / ds
        d.mkdir()
        np.savetxt(d / "data.txt", np.c_[X, X @ [1.0, -1.0, 0.5]])
        (d / "index_features.txt").write_text("0\n1\n2\n")
        (d / "index_target.txt").write_text("3\n")
        (d / "n_splits.txt").write_text("1\n")
        (d / "index_train_0.txt").write_text("\n".join(map(str, range(36))))
        (d / "index_test_0.txt").write_text("\n".join(map(str, range(36, 40))))
    out = ex._load_splits(types.SimpleNamespace(data_dir=tmp_path), 20)
    assert sorted(out) == ["kin8nm", "power-plant"] and len(out["kin8nm"]) == 1
