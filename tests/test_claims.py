"""Claims about the claims table: verdicts follow the metrics, and the report opens on it."""
import json

from refimpl.claims import CLAIMS, evaluate, verdict
from refimpl.experiments import run_experiment


def test_verdicts():
    assert verdict([True, True]) == "yes"
    assert verdict([False]) == "no"
    assert verdict([True, False]) == "partly"


def test_latent_ode_claim_follows_the_metrics():
    m = {"n30/latent_ode/rmse": 0.2, "n30/rnn/rmse": 0.4,
         "n100/latent_ode/rmse": 0.3, "n100/rnn/rmse": 0.2}
    (row,) = evaluate("latent-ode-spirals", m)
    assert row["reproduced"] == "partly"
    assert row["ours"].index("n30") < row["ours"].index("n100")      # natural order
    m["n100/latent_ode/rmse"] = 0.1
    assert evaluate("latent-ode-spirals", m)[0]["reproduced"] == "yes"
    m["n30/latent_ode/rmse"] = m["n100/latent_ode/rmse"] = 0.5
    assert evaluate("latent-ode-spirals", m)[0]["reproduced"] == "no"


def test_claims_without_their_metrics_are_left_out():
    assert evaluate("latent-ode-spirals", {"other/metric": 1.0}) == []
    assert evaluate("no-such-experiment", {"a": 1.0}) == []


def test_larger_is_better_claims_compare_the_right_way():
    m = {"k1/vae/stl/test_loglik": -86.4, "k1/vae/total/test_loglik": -86.76}
    assert evaluate("stl-vae", m)[0]["reproduced"] == "yes"
    m["k1/vae/stl/test_loglik"] = -87.0
    assert evaluate("stl-vae", m)[0]["reproduced"] == "no"


def test_every_declared_claim_names_a_registered_experiment():
    from refimpl import experiments as ex
    assert set(CLAIMS) <= set(ex.discover())


def test_results_json_and_report_carry_the_claims(tmp_path):
    from refimpl import experiments as ex
    from refimpl.report import write_report

    @ex.experiment("test-claims", paper="Paper X (2018)", artefact="(test)", quick_seconds=0)
    def exp(cfg):
        return {"metrics": {"a": 1.0}, "claims": [
            {"claim": "a is one", "paper_value": "1", "ours": "1.0", "reproduced": "yes"}]}
    try:
        res = run_experiment("test-claims", out=tmp_path, progress=False)
    finally:
        ex.REGISTRY.pop("test-claims", None)
    on_disk = json.loads((tmp_path / "test-claims" / "results.json").read_text())
    assert on_disk["claims"][0]["reproduced"] == "yes"
    md, page = write_report([("test-claims", res, None)], tmp_path, quick=True, elapsed=1.0)
    text = md.read_text()
    assert text.index("The papers' claims") < text.index("## test-claims")
    html = page.read_text()
    assert "<nav>" in html and "id='p-paper-x--2018" in html and "a is one" in html
