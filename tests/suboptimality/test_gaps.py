"""The decomposition's bookkeeping: log p̂ dominates every bound, the gaps sum exactly."""
import numpy as np
import pytest

from refimpl.suboptimality.gaps import evaluate_gaps, init_model, train_vae


@pytest.mark.parametrize("kind", ["ffg", "flow"])
def test_gaps_sum_and_log_px_dominates(kind):
    rng = np.random.default_rng(0)
    X = (rng.random((60, 16)) < 0.3).astype(float)
    params, _ = train_vae(X, rng, kind=kind, z_dim=2, hidden=(8,), iters=30, batch_size=10, warmup=10)
    g = evaluate_gaps(params, X[:3], rng, n_bound=200, ais_dists=20, ais_chains=4,
                      stop=dict(lr=1e-2, check_every=20, patience=2, max_steps=200),
                      flow_local=dict(flow_steps=1, flow_hidden=4))
    for k in ("iwae_q", "elbo_q", "elbo_qstar_ffg", "elbo_qstar_flow", "ais"):
        assert np.all(g["log_px"] >= g[k] - 1e-12), k
    np.testing.assert_allclose(g["approximation_gap"] + g["amortization_gap"], g["inference_gap"], rtol=1e-12)
    own = g["elbo_qstar_flow"] if kind == "flow" else g["elbo_qstar_ffg"]
    np.testing.assert_allclose(g["log_px"] - own, g["approximation_gap"], rtol=1e-12)
    assert g["log_px"].shape == (3,) and np.all(g["approximation_gap"] >= 0)


def test_init_model_names_a_bad_kind():
    with pytest.raises(ValueError, match="kind"):
        init_model(np.random.default_rng(0), 4, 2, kind="iaf")
