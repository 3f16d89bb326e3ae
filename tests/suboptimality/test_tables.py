"""The gap tables and the BDMC validation: what they compute, on tiny models."""
from types import SimpleNamespace

import numpy as np
import pytest

from refimpl.suboptimality.bdmc_validation import sandwich, simulate
from refimpl.suboptimality.gaps import init_model, log_joint_fn, train_vae
from refimpl.suboptimality.posteriors import quadrature_posterior
from refimpl.suboptimality.qstar import _flatten
from refimpl.suboptimality.tables import KEYS, PAPER_TABLE2_MNIST, gap_table


def _cfg():
    return SimpleNamespace(quick=True, data_dir=None, rng=lambda *k: np.random.default_rng([7, *k]))


TINY = dict(size=14, n_train=60, z_dim=2, hidden=(8,), iters=20, warmup=5, n_eval=3, n_bound=200, ais_dists=30,
            ais_chains=4, stop=dict(lr=1e-2, check_every=20, patience=2, max_steps=200),
            flow_local=dict(flow_steps=1, flow_hidden=4))


def test_gap_table_keys_are_means_of_the_per_datapoint_decomposition():
    metrics, per, info = gap_table(_cfg(), c=TINY)
    for kind in ("ffg", "flow"):
        for k in KEYS:
            assert metrics[f"{kind}_trained/{k}"] == pytest.approx(np.mean(per[kind][k]), rel=1e-12)
        own = "elbo_qstar_flow" if kind == "flow" else "elbo_qstar_ffg"   # the encoder's own family
        assert metrics[f"{kind}_trained/approximation_gap"] == pytest.approx(
            metrics[f"{kind}_trained/log_px"] - metrics[f"{kind}_trained/{own}"], rel=1e-10)
        assert metrics[f"{kind}_trained/amortization_gap"] == pytest.approx(
            metrics[f"{kind}_trained/{own}"] - metrics[f"{kind}_trained/elbo_q"], rel=1e-10)
        assert info[kind]["stages"].keys() == {"q", "qstar_ffg", "qstar_flow", "ais"}


def test_paper_columns_are_internally_consistent():
    for col in PAPER_TABLE2_MNIST.values():
        own = col["elbo_qstar_flow"] if col is PAPER_TABLE2_MNIST["flow_trained"] else col["elbo_qstar_ffg"]
        assert col["log_px"] - own == pytest.approx(col["approximation_gap"], abs=0.011)
        assert own - col["elbo_q"] == pytest.approx(col["amortization_gap"], abs=0.011)
        assert col["approximation_gap"] + col["amortization_gap"] == pytest.approx(col["inference_gap"], abs=0.011)


def test_wider_encoder_changes_only_the_encoder():
    rng = np.random.default_rng(0)
    p = init_model(rng, 16, 3, hidden=(8,), enc_hidden=(20, 12))
    assert [W.shape for W, _ in p["enc"]] == [(16, 20), (20, 12), (12, 6)]
    assert [W.shape for W, _ in p["dec"]] == [(3, 8), (8, 16)]
    with pytest.raises(ValueError, match="enc_hidden"):
        init_model(rng, 16, 3, enc_hidden=())


def test_bdmc_sandwich_brackets_the_quadrature_evidence_and_narrows():
    """A 2-D latent decoder: log p(x) by grid quadrature is exact enough to check the sandwich."""
    rng = np.random.default_rng(3)
    X = (rng.random((80, 12)) < 0.3).astype(float)
    params, _ = train_vae(X, rng, kind="ffg", z_dim=2, hidden=(10,), iters=60, batch_size=20, warmup=10)
    x, z = simulate(params, 4, np.random.default_rng(4))
    assert set(np.unique(x)) <= {0.0, 1.0} and z.shape == (4, 2)
    exact = quadrature_posterior(log_joint_fn(params, x), 4)["log_px"]
    lo_s, up_s = sandwich(params, x, z, 5, np.random.default_rng(5), chains=8)
    lo, up = sandwich(params, x, z, 300, np.random.default_rng(6), chains=8)
    # stochastic bounds (8 chains, adaptive HMC): each within MC error, the means on the right side
    assert np.all(np.abs(lo - exact) < 0.15) and np.all(np.abs(up - exact) < 0.15)
    assert np.mean(lo) <= np.mean(exact) + 0.02 and np.mean(up) >= np.mean(exact) - 0.02
    assert np.mean(up - lo) < 0.1 < np.mean(up_s - lo_s)
    # reverse chains started away from the posterior give no upper bound: the start matters
    _, up_wrong = sandwich(params, x, 3 * np.random.default_rng(9).standard_normal((4, 2)), 5,
                           np.random.default_rng(5), chains=8)
    assert np.mean(up_wrong) < np.mean(exact) - 0.5


def test_flatten_round_trips_nested_containers():
    tree = {"b": [(np.arange(3.0), np.ones((2, 2)))], "a": np.zeros(1), "c": (np.full((1, 2), 5.0),)}
    flat, unflatten = _flatten(tree)
    assert flat.shape == (3 + 4 + 1 + 2,)
    back = unflatten(flat * 2)
    assert isinstance(back["b"], list) and isinstance(back["b"][0], tuple) and isinstance(back["c"], tuple)
    np.testing.assert_array_equal(back["b"][0][1], 2 * np.ones((2, 2)))
    np.testing.assert_array_equal(back["c"][0], np.full((1, 2), 10.0))


def test_every_evidence_estimate_of_the_decomposition_agrees_with_quadrature():
    """2-D latent: AIS and the IWAE bounds of evaluate_gaps against grid quadrature of log p(x)."""
    from refimpl.suboptimality.gaps import evaluate_gaps
    rng = np.random.default_rng(11)
    X = (rng.random((80, 12)) < 0.3).astype(float)
    params, _ = train_vae(X, rng, kind="ffg", z_dim=2, hidden=(10,), iters=60, batch_size=20, warmup=10)
    x = X[:4]
    exact = quadrature_posterior(log_joint_fn(params, x), 4)["log_px"]
    g = evaluate_gaps(params, x, np.random.default_rng(12), n_bound=2000, ais_dists=200, ais_chains=8,
                      stop=dict(lr=1e-2, check_every=20, patience=3), flow_local=dict(flow_steps=1, flow_hidden=4))
    np.testing.assert_allclose(g["ais"], exact, atol=0.2)             # 8 chains: Monte Carlo error ~0.1
    np.testing.assert_allclose(g["log_px"], exact, atol=0.05)          # the max: IWAE under q* is tight
    assert np.all(g["iwae_q"] <= exact + 0.05) and np.all(g["iwae_q"] >= exact - 0.3)
    assert np.all(g["elbo_qstar_ffg"] <= exact + 0.02) and np.all(g["elbo_q"] <= exact + 0.02)


def test_local_adam_is_autograd_adam_step_for_step():
    from autograd import grad
    from autograd.misc.optimizers import adam
    from refimpl.suboptimality.qstar import optimize_local
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    f = lambda p, _=None: 0.5 * p["w"] @ A @ p["w"] - p["w"].sum() + np.sum(p["b"] ** 4)
    p0 = {"w": np.array([1.0, -2.0]), "b": np.array([0.5])}
    ours, info = optimize_local(f, p0, lambda r: None, np.random.default_rng(0), lr=0.1, check_every=7,
                                patience=10 ** 6, max_steps=7 * 9)
    ref = adam(grad(lambda p, i: f(p)), p0, num_iters=63, step_size=0.1)
    assert info["steps"] == 63 and not info["stopped"]
    np.testing.assert_allclose(ours["w"], ref["w"], rtol=1e-12)
    np.testing.assert_allclose(ours["b"], ref["b"], rtol=1e-12)


def test_columns_in_forked_processes_give_the_serial_results():
    """The full runs put each column in its own process: same seeds, same numbers."""
    c = dict(TINY, flow_hidden=4)
    _, serial, _ = gap_table(_cfg(), c=c)
    _, forked, _ = gap_table(_cfg(), c=dict(c, processes=2))
    for kind in ("ffg", "flow"):
        for k in KEYS:
            np.testing.assert_array_equal(forked[kind][k], serial[kind][k])


def test_encoder_capacity_fits_only_the_own_family_q_star():
    from refimpl.suboptimality.tables import run_columns
    cols = run_columns(_cfg(), dict(TINY, flow_hidden=4, own_qstar_only=True),
                       [("standard", None, "ffg"), ("wider", (12,), "flow")])
    g_ffg, g_flow = cols[("standard", "ffg")][0], cols[("wider", "flow")][0]
    assert "elbo_qstar_ffg" in g_ffg and "elbo_qstar_flow" not in g_ffg
    assert "elbo_qstar_flow" in g_flow and "elbo_qstar_ffg" not in g_flow
    np.testing.assert_allclose(g_flow["approximation_gap"], g_flow["log_px"] - g_flow["elbo_qstar_flow"])
    assert np.all(g_flow["log_px"] >= g_flow["iwae_q"])


def _columns_in_a_daemon(q):
    try:
        _, per, _ = gap_table(_cfg(), c=dict(TINY, flow_hidden=4, processes=2))
        q.put(per["ffg"]["log_px"])
    except Exception as e:                                         # report, do not hang the parent
        q.put(repr(e))


def test_columns_run_serially_inside_a_pool_worker():
    """`refimpl tour --jobs` runs experiments in daemonic workers, which may not fork a pool."""
    import multiprocessing
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_columns_in_a_daemon, args=(q,), daemon=True)
    p.start()
    got = q.get(timeout=1800)                                      # a hang guard only
    p.join()
    assert not isinstance(got, str), got
    _, serial, _ = gap_table(_cfg(), c=dict(TINY, flow_hidden=4))
    np.testing.assert_array_equal(got, serial["ffg"]["log_px"])
