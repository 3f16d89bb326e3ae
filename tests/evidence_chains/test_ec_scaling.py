"""Claims of the scaling study: the generator at ml-25m's growth path (shape, ids, rating
scale, exact sampling without replacement), the log-log slope, the CPU budget of the
training loops, the peak-memory probe and per-job checkpoints."""
import numpy as np
import pytest

from refimpl.evidence_chains import exp_scaling as S
from refimpl.evidence_chains.data import _draw_distinct_items, synthetic
from refimpl.evidence_chains.experiments import EC_KW
from refimpl.evidence_chains.train import fit
from refimpl.experiments import Config


def test_shape_passes_through_movielens_100k_and_25m():
    assert S.shape_for(10**5) == (943, 1682)
    u, i = S.shape_for(25_000_000)
    assert abs(u - 162_541) <= 2 and abs(i - 59_047) <= 2
    u7, i7 = S.shape_for(10**7)
    assert 60_000 < u7 < 75_000 and 25_000 < i7 < 40_000        # users and items grow together
    with pytest.raises(ValueError, match="n_ratings"):
        S.shape_for(10)


def _check_ratings(d, n, n_users, n_items, min_per_user=20):
    assert len(d) == n and (d.n_users, d.n_items) == (n_users, n_items)
    assert d.users.dtype == np.int64 and d.items.dtype == np.int64
    assert d.users.min() >= 0 and d.users.max() < n_users and d.items.min() >= 0 and d.items.max() < n_items
    counts = np.bincount(d.users, minlength=n_users)
    assert counts.min() >= min_per_user and counts.max() <= n_items // 2
    assert np.unique(d.users * n_items + d.items).size == n              # no repeated (user, item)
    assert set(np.unique(d.ratings).tolist()) == {1.0, 2.0, 3.0, 4.0, 5.0}


def test_generator_at_a_million_ratings():
    U, I = S.shape_for(10**6)
    d = synthetic(np.random.default_rng(0), n_users=U, n_items=I, n_ratings=10**6)
    _check_ratings(d, 10**6, U, I)
    pop = np.bincount(d.items, minlength=I)
    assert pop.max() > 10 * np.median(pop)                              # long-tailed popularity
    assert 3.0 < d.ratings.mean() < 4.0


@pytest.mark.slow
def test_generator_at_ten_million_ratings():
    U, I = S.shape_for(10**7)
    d = synthetic(np.random.default_rng(0), n_users=U, n_items=I, n_ratings=10**7)
    _check_ratings(d, 10**7, U, I)


def test_vectorised_draw_matches_numpy_sequential_sampling():
    """Twin: each user's item set has the law of rng.choice(I, k, replace=False, p=p)
    (sequential weighted sampling): inclusion frequencies agree within 4.5 standard errors."""
    I, k, n = 12, 6, 6000
    p = (np.arange(I) + 1.0) ** -1.5
    p /= p.sum()
    users, items = _draw_distinct_items(np.random.default_rng(0), np.full(n, k), p)
    assert np.array_equal(np.bincount(users, minlength=n), np.full(n, k))
    freq = np.bincount(items, minlength=I) / n
    rng = np.random.default_rng(1)
    ref = np.bincount(np.concatenate([rng.choice(I, k, replace=False, p=p) for _ in range(n)]), minlength=I) / n
    se = np.sqrt(2 * ref * (1 - ref) / n) + 1e-12
    assert np.all(np.abs(freq - ref) < 4.5 * se), (freq, ref)
    # with-replacement frequencies (k p) differ: the test can tell the two laws apart
    assert np.abs(k * p - ref).max() > 10 * se.max()


def test_draw_fills_heavy_users_to_half_the_catalogue():
    p = (np.arange(400) + 20.0) ** -1.1
    counts = np.array([200, 3, 150, 0, 199])
    users, items = _draw_distinct_items(np.random.default_rng(2), counts, p / p.sum())
    assert np.array_equal(np.bincount(users, minlength=5), counts)
    assert np.unique(users * 400 + items).size == counts.sum()


def test_loglog_slope_recovers_a_power_law():
    x = np.array([1e5, 1e6, 3e6, 1e7])
    rng = np.random.default_rng(0)
    y = 3.0 * x ** 1.3 * np.exp(0.01 * rng.standard_normal(4))
    assert S.loglog_slope(x, y) == pytest.approx(1.3, abs=0.02)
    assert S.loglog_slope(x, 5 / x) == pytest.approx(-1.0)
    for bad in ((x, -y), (np.ones(3), np.ones(3)), (x, y[:3])):
        with pytest.raises(ValueError, match="x, y"):
            S.loglog_slope(*bad)


class _FakeClock:
    """Each call advances 0.5 s: one epoch between two calls costs 0.5 s."""
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        self.t += 0.5
        return self.t


@pytest.fixture(scope="module")
def small():
    return synthetic(np.random.default_rng(0), n_users=40, n_items=60, n_ratings=900)


@pytest.mark.parametrize("method", ["sgd", "als"])
def test_mf_budget_stops_on_the_clock(small, method):
    mf, epochs, spent, first = S.train_mf_budget(small, np.random.default_rng(0), method, 1.7, clock=_FakeClock())
    assert (epochs, spent, first) == (4, 2.0, 0.5)                     # 3 epochs = 1.5 s < 1.7: one more
    mf1, epochs1, _, _ = S.train_mf_budget(small, np.random.default_rng(0), method, 1e-9, clock=_FakeClock())
    assert epochs1 == 1                                                  # at least one epoch
    with pytest.raises(ValueError, match="budget_s"):
        S.train_mf_budget(small, np.random.default_rng(0), method, 0.0)
    with pytest.raises(ValueError, match="method"):
        S.train_mf_budget(small, np.random.default_rng(0), "adam", 1.0)


def test_chains_fit_stops_on_its_cpu_budget(small):
    _, _, hist = fit(small, np.random.default_rng(0), epochs=100, batch_size=100, max_seconds=0.0,
                     n_proto=(5, 5), dim=4, hidden=8)
    assert hist[-1]["step"] == 1                                         # 900 steps asked, budget spent


def test_peak_memory_probe_sees_an_allocation():
    base, how = S._reset_peak()
    if how != "VmHWM":
        pytest.skip("needs Linux /proc/self/clear_refs")
    junk = [np.ones(1000) for _ in range(20_000)]                        # 160 MB of small blocks, freed:
    del junk                                                             # the heap keeps them unless trimmed
    base, how = S._reset_peak()
    a = np.ones(40 * 2**20 // 8)                                         # 40 MB, touched
    a.sum()
    del a
    assert S._peak_kb(how) - base > 35 * 1024
    base2, _ = S._reset_peak()                                           # the reset forgets it
    assert S._peak_kb(how) - base2 < 10 * 1024


def test_jobs_are_checkpointed_and_resumed(tmp_path, monkeypatch):
    knobs = dict(sizes=(3000, 6000), budget_s=0.05, budget_sizes=(6000,), cost_budget_s=0.01, n_eval=200,
                 time_steps=1, batch=50, isolate=False)
    calls = []
    real = S.run_job

    def counting(spec):
        calls.append((spec["method"], spec["n_ratings"], spec["budget_s"]))
        return real(spec) if spec["method"] != "evidence_chains" else {
            **real({**spec, "method": "mf_sgd"}), "method": "evidence_chains", "n_params": 1,
            "mf_n_params": 1, "predictions_per_s": 1.0}                     # fast stand-in

    monkeypatch.setattr(S, "run_job", counting)
    cfg = Config(name="evidence-chains-scaling", quick=True, out=tmp_path, progress_enabled=False)
    cost, budget, _ = S.run_scaling(cfg, knobs, EC_KW, {})
    assert len(calls) == 9 and sorted(cost) == sorted((N, m) for N in (3000, 6000) for m in S.METHODS)
    assert sorted(budget) == sorted((6000, m) for m in S.METHODS)
    assert [c[2] for c in calls] == [0.01] * 6 + [0.05] * 3              # cost jobs first
    metrics, rows, slopes = S.summarise(cost, budget, knobs)
    assert np.isfinite(metrics["slope/mf_als/epoch_s"]) and 0.5 < metrics["n6000/mf_sgd/rmse"] < 1.5
    assert "n3000/mf_sgd/rmse" not in metrics and len(rows) == 6 and len(slopes) == 3
    (tmp_path / "checkpoint-budget-6000-mf_als.npz").unlink()            # as if killed before the last job
    calls.clear()
    cfg2 = Config(name="evidence-chains-scaling", quick=True, out=tmp_path, resume=True, progress_enabled=False)
    cost2, budget2, _ = S.run_scaling(cfg2, knobs, EC_KW, {})
    assert calls == [("mf_als", 6000, 0.05)]
    assert budget2[6000, "mf_sgd"] == budget[6000, "mf_sgd"] and cost2 == cost
    c3, b3 = S.read_jobs(tmp_path)                                       # the log of a run cut short
    assert c3 == cost and b3[6000, "mf_sgd"] == budget[6000, "mf_sgd"]
    part = S.write_partial(tmp_path, EC_KW, {}, knobs={**knobs, "budget_sizes": (6000, 3000)})
    assert "mf_als N=3000" in part["notes"] and (tmp_path / "scaling.png").exists()
    assert part["metrics"]["n6000/mf_sgd/rmse"] == budget[6000, "mf_sgd"]["rmse"]


def test_summary_slopes_of_tiny_costs():
    """Sub-millisecond epochs keep their slope (a floor meant for zero memory must not flatten them)."""
    cost = {(N, m): dict(n_users=1, n_items=1, s_per_1e5=1e-4 * (N / 1e4) ** 0.2,
                         epoch_s=1e-6 * (N / 1e4) ** 1.2, peak_mb=0.0, n_params=1, mf_n_params=1,
                         predictions_per_s=1.0)
            for N in (10**4, 10**5) for m in S.METHODS}
    metrics, rows, slopes = S.summarise(cost, {}, {})
    assert metrics["slope/mf_sgd/epoch_s"] == pytest.approx(1.2)
    assert metrics["slope/mf_sgd/s_per_1e5"] == pytest.approx(0.2)
    assert metrics["slope/mf_sgd/peak_mb"] == pytest.approx(0.0) and rows[0][-1] == "-"
