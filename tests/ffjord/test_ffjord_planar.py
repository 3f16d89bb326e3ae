"""Planar CNF / planar NF (issue 8): exact traces, invertibility, twins, gradients, targets."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import jacobian
from autograd.test_util import check_grads

from refimpl.ffjord import log_prob
from refimpl.ffjord.planar import (TARGETS, _planar_nf_prim, init_planar_cnf, init_planar_nf,
                                   planar_cnf_dynamics, planar_nf_fast, planar_nf_forward,
                                   planar_u_hat, target_energy)
from refimpl.testing import assert_twins_agree


def _randomise(p, rng, scale=0.7):
    return {k: v + scale * rng.standard_normal(np.shape(v)) for k, v in p.items()}


def test_planar_cnf_trace_matches_autograd_jacobian():
    rng = np.random.default_rng(0)
    p = _randomise(init_planar_cnf(rng, dim=3, M=5), rng)
    z, t = rng.standard_normal((4, 3)), 0.37
    f, div = planar_cnf_dynamics.with_exact_divergence(t, z, p)
    assert_twins_agree(f, planar_cnf_dynamics(t, z, p), name="f")
    for b in range(4):
        J = jacobian(lambda zz: planar_cnf_dynamics(t, zz[None], p)[0])(z[b])   # (D, D)
        assert abs(div[b] - np.trace(J)) < 1e-12 * max(1.0, abs(np.trace(J)))


def test_planar_cnf_log_prob_integrates_to_one():
    # a CNF density is normalised: ∫ p(x) dx = 1 on a grid wide enough to hold the mass
    rng = np.random.default_rng(1)
    p = _randomise(init_planar_cnf(rng, dim=2, M=4), rng, 0.5)
    xs = np.linspace(-7, 7, 121)
    X, Y = np.meshgrid(xs, xs)
    lp = log_prob(planar_cnf_dynamics, p, np.stack([X.ravel(), Y.ravel()], 1), t1=1.0,
                  rtol=1e-7, atol=1e-7)
    mass = np.sum(np.exp(lp)) * (xs[1] - xs[0]) ** 2
    assert abs(mass - 1.0) < 2e-3


def test_u_hat_constraint_and_nf_log_det():
    rng = np.random.default_rng(2)
    w, u = rng.standard_normal((50, 3)), 3.0 * rng.standard_normal((50, 3))
    assert np.all(np.sum(w * planar_u_hat(w, u), 1) >= -1.0)
    # large wᵀu: m(x) - x -> -1, so û -> u - w/‖w‖²·1 (R&M App. A.1 as written)
    ww = np.array([[1.0, 0.0]])
    assert np.allclose(planar_u_hat(ww, np.array([[30.0, 2.0]])), [[29.0, 2.0]], atol=1e-10)
    p = init_planar_nf(rng, dim=3, K=4, scale=1.5)
    p["b"] = rng.standard_normal(4)
    z = rng.standard_normal((5, 3))
    zk, logdet = planar_nf_forward(p, z)
    for b in range(5):
        J = jacobian(lambda zz: planar_nf_forward(p, zz[None])[0][0])(z[b])
        assert abs(logdet[b] - np.log(abs(np.linalg.det(J)))) < 1e-12


def test_planar_nf_fast_twin_and_vjp():
    rng = np.random.default_rng(3)
    p = init_planar_nf(rng, dim=2, K=6, scale=1.5)
    p["b"] = rng.standard_normal(6)
    z = rng.standard_normal((7, 2))
    a, b = planar_nf_fast(p, z), planar_nf_forward(p, z)
    assert_twins_agree(a[0], b[0], name="z_K")
    assert_twins_agree(a[1], b[1], name="log det")
    U = planar_u_hat(p["w"], p["u"])
    check_grads(_planar_nf_prim, modes=["rev"], order=1)(p["w"], U, p["b"], z)
    check_grads(lambda pp, zz: planar_nf_fast(pp, zz)[1], modes=["rev"], order=1)(p, z)


def test_targets_are_finite_and_match_table_1():
    z = np.array([[2.0, 0.0], [0.0, 0.0], [1.0, np.sin(np.pi / 2)]])
    U1 = target_energy("U1", z)
    # U1 at (2, 0): ring term 0, log(1 + exp(-½(4/0.6)²)) ≈ 0
    assert abs(U1[0] + np.log1p(np.exp(-0.5 * (4 / 0.6) ** 2))) < 1e-12
    assert target_energy("U2", z)[2] == 0.0        # z2 = w1(z) = sin(π/2)
    for name in TARGETS:
        assert np.all(np.isfinite(target_energy(name, np.random.default_rng(0).normal(size=(100, 2)))))


def test_bad_input():
    with pytest.raises(ValueError, match="name"):
        target_energy("U9", np.zeros((2, 2)))
    with pytest.raises(ValueError, match="z"):
        target_energy("U1", np.zeros((2, 3)))
    with pytest.raises(ValueError, match="rng"):
        init_planar_cnf(0, 2, 3)
    with pytest.raises(ValueError, match="K"):
        init_planar_nf(np.random.default_rng(0), 2, 0)


def test_cnf_vs_nf_objectives_and_registration():
    import refimpl.ffjord.experiments  # noqa: F401
    from refimpl.experiments import REGISTRY
    from refimpl.ffjord.exp_cnf_vs_nf import kl_loss, log_partition
    assert "cnf-vs-nf" in REGISTRY
    # log Z of U2 in closed form: ∫ exp(-½((z2 - w1)/0.4)²) dz2 = 0.4 √(2π), times the z1 range
    assert abs(log_partition("U2", lim=6.0) - np.log(12 * 0.4 * np.sqrt(2 * np.pi))) < 1e-6
    # KL(q‖p) = loss + log Z ≥ 0 (up to Monte Carlo error) for an untrained flow
    rng = np.random.default_rng(4)
    z0 = rng.standard_normal((4000, 2))
    for kind, p in (("nf", init_planar_nf(rng, 2, 3)), ("cnf", init_planar_cnf(rng, 2, 3))):
        assert kl_loss(kind, p, "U1", z0, 1e-5) + log_partition("U1") > 0


@pytest.mark.slow
def test_cnf_vs_nf_quick_run(tmp_path):
    from refimpl.experiments import run_experiment
    res = run_experiment("cnf-vs-nf", quick=True, out=tmp_path, progress=False)
    m = res["metrics"]
    for prob in ("U1", "U2", "U3", "moons", "circles"):
        for k in ("cnf", "nf"):
            for s in (1, 32, 64):
                assert np.isfinite(m[f"{prob}/{k}_{s}/loss"])
    for prob in ("U1", "U2", "U3"):
        for k in ("cnf", "nf"):                     # more capacity fits the target better
            assert m[f"{prob}/{k}_32/loss"] < m[f"{prob}/{k}_1/loss"]
