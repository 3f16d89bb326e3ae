"""The example script runs (smoke test); the experiments are registered and (slow) their
quick runs report the metric keys of the issue."""

import pytest


def test_example_runs_quick(run_example):
    r, out = run_example("neural_ode_spiral.py", out="spiral.png", timeout=120)
    assert "mean |error|" in r.stdout and out.exists()


def test_experiments_are_registered():
    from refimpl.experiments import discover
    names = discover()
    for name in ("neural-ode-spiral", "neural-ode-nfe", "latent-ode-spirals", "odenet-classifier"):
        assert name in names


CONTRACT = {
    "latent-ode-spirals": [f"n{n}/{m}/rmse" for n in (30, 50, 100) for m in ("latent_ode", "rnn")],
    "odenet-classifier": [f"{k}/{q}" for k in ("resnet", "rknet", "odenet")
                          for q in ("test_error", "params", "peak_mem_mb", "nfe")],
    "neural-ode-nfe": ["fig3/nfe_fwd_first10pct", "fig3/bwd_over_fwd_training_median"],
    "neural-ode-spiral": ["spiral/test_mae", "spiral/vector_field_rel_error"],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_quick_runs_report_the_contract_keys(name, tmp_path):
    from refimpl.experiments import run_experiment
    res = run_experiment(name, quick=True, out=tmp_path, progress=False)
    for key in CONTRACT[name]:
        assert res["metrics"][key] is not None, key
    for fig in res["figures"]:
        assert (tmp_path / name / fig).exists()
