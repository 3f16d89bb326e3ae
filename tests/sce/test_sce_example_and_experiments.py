"""The example runs; the experiments run end to end (slow) and report their contract keys."""
from pathlib import Path

import pytest

from refimpl.experiments import run_experiment

MNIST = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mnist5k"


def test_example_quick(run_example):
    r, out = run_example("sce.py", out="sce.png", timeout=120)
    assert "ensemble/EOT" in r.stdout and out.exists()


@pytest.mark.slow
def test_robustness_quick_keys_and_contract(tmp_path):
    data = MNIST if MNIST.is_dir() else None
    res = run_experiment("sce-robustness", quick=True, out=tmp_path, data_dir=data, progress=False)
    m = res["metrics"]
    for model in ("base", "ensemble", "ensemble_eot"):
        assert f"{model}/clean/acc" in m
        for norm, eps in (("linf", "0.1"), ("linf", "0.2"), ("l2", "1"), ("l2", "2")):
            assert 0.0 <= m[f"{model}/{norm}/eps{eps}/acc"] <= 1.0
    assert m["n_test"] >= 200 and m["eot_draws"] >= 10
    if data is not None:
        assert m["base/clean/acc"] > 0.85
    # the per-example worst case is never above any single attack
    assert m["ensemble_worst/linf/eps0.1/acc"] <= min(m["ensemble/linf/eps0.1/acc"], m["ensemble_eot/linf/eps0.1/acc"])


@pytest.mark.slow
def test_transferability_and_detection_quick(tmp_path):
    m = run_experiment("sce-transferability", quick=True, out=tmp_path, progress=False)["metrics"]
    assert m["self/transfer_min"] == 1.0 and abs(m["self/cosine_min"] - 1.0) < 1e-12
    assert -1.0 <= m["corr/pearson"] <= 1.0
    d = run_experiment("sce-detection", quick=True, out=tmp_path, progress=False)["metrics"]
    assert abs(d["clean_vs_clean/auc"] - 0.5) < 4 * d["auc_null_se"]
    assert all(0.0 <= d[f"{a}/linf/eps0.1/auc"] <= 1.0 for a in ("nonadaptive", "adaptive"))
