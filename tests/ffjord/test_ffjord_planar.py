"""Planar CNF / planar NF (issue 8): exact traces, invertibility, twins, gradients, targets."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad, jacobian, make_vjp
from autograd.test_util import check_grads

from refimpl.ffjord import flow, log_prob
from refimpl.ffjord.planar import (TARGETS, init_planar_cnf, planar_cnf_augmented,
                                   planar_cnf_augmented_fast, planar_cnf_dynamics, planar_cnf_flow,
                                   target_energy)
from refimpl.ffjord.planar_nf import (_nf_backward, _nf_layers, _planar_nf_prim, init_planar_nf,
                                      planar_nf_fast, planar_nf_forward, planar_u_hat)
from refimpl.ffjord.planar_hyper import hyper_theta
from refimpl.ffjord.planar_kernels import nf_backward_kernel, nf_forward_kernel
from refimpl.testing import assert_twins_agree


def _randomise(p, rng, scale=0.7):
    return {k: v + scale * rng.standard_normal(np.shape(v)) for k, v in p.items()}


# both time dependences of θ(t): affine, and Chen et al.'s hypernetwork (small hidden width)
TD = pytest.mark.parametrize("td", [{}, {"time_dependence": "hypernet", "hidden": 4}],
                             ids=["affine", "hypernet"])


@TD
def test_planar_cnf_trace_matches_autograd_jacobian(td):
    rng = np.random.default_rng(0)
    p = _randomise(init_planar_cnf(rng, dim=3, M=5, **td), rng)
    z, t = rng.standard_normal((4, 3)), 0.37
    f, div = planar_cnf_dynamics.with_exact_divergence(t, z, p)
    assert_twins_agree(f, planar_cnf_dynamics(t, z, p), name="f")
    for b in range(4):
        J = jacobian(lambda zz: planar_cnf_dynamics(t, zz[None], p)[0])(z[b])   # (D, D)
        assert abs(div[b] - np.trace(J)) < 1e-12 * max(1.0, abs(np.trace(J)))


@TD
def test_planar_cnf_augmented_is_f_and_minus_exact_trace(td):
    # Chen et al. Thm. 1 on the flat state [z, Δlog p]: the last column is -Tr(∂f/∂z)
    rng = np.random.default_rng(5)
    p = _randomise(init_planar_cnf(rng, dim=3, M=4, **td), rng)
    y, t = rng.standard_normal((3, 4)), -0.6
    out = planar_cnf_augmented(t, y, p)                                   # (B, D + 1)
    assert_twins_agree(out[:, :-1], planar_cnf_dynamics(t, y[:, :-1], p), name="f")
    for b in range(3):
        J = jacobian(lambda zz: planar_cnf_dynamics(t, zz[None], p)[0])(y[b, :-1])
        assert abs(out[b, -1] + np.trace(J)) < 1e-12 * max(1.0, abs(np.trace(J)))


@TD
def test_planar_cnf_fused_vjp_matches_autograd_twin(td):
    # the hand-written f_and_vjp (for the hypernetwork: chained through its MLP by hand) vs
    # autograd's VJP of the readable definition, all arguments
    rng = np.random.default_rng(6)
    p = _randomise(init_planar_cnf(rng, dim=2, M=7, **td), rng)
    y, a, t = rng.standard_normal((5, 3)), rng.standard_normal((5, 3)), 0.45
    vjp, f_ref = make_vjp(lambda y_, p_, t_: planar_cnf_augmented(t_, y_, p_), argnum=(0, 1, 2))(y, p, t)
    g_y_ref, g_p_ref, g_t_ref = vjp(a)
    f, g_y, g_p, g_t = planar_cnf_augmented.f_and_vjp(t, y, p, a)
    assert_twins_agree(f, f_ref, name="f")
    assert_twins_agree(g_y, g_y_ref, name="aᵀ∂f/∂y")
    assert sorted(g_p) == sorted(p)
    for k in p:
        assert_twins_agree(g_p[k], g_p_ref[k], name=f"aᵀ∂f/∂{k}")
    assert_twins_agree(np.array(g_t), np.array(g_t_ref), name="aᵀ∂f/∂t")


@TD
def test_planar_cnf_fused_vjp_is_differentiable_again(td):
    # f_and_vjp is written in autograd.numpy: Hessian-vector products through the adjoint
    rng = np.random.default_rng(7)
    p = _randomise(init_planar_cnf(rng, dim=2, M=3, **td), rng)
    y, a = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    key = "A2" if td else "W0"
    np.random.seed(0)
    check_grads(lambda yy, pp, aa: planar_cnf_augmented.f_and_vjp(0.3, yy, pp, aa)[2][key],
                modes=["rev"], order=1)(y, p, a)


@TD
def test_planar_cnf_fast_path_is_plain_numpy_and_matches_definition(td):
    # untraced: the fused plain-NumPy path (no autograd boxes, the same numbers); traced:
    # the autograd.numpy definition, so gradients flow through `planar_cnf_augmented_fast`
    rng = np.random.default_rng(9)
    p = _randomise(init_planar_cnf(rng, dim=2, M=16, **td), rng)
    y, a, t = rng.standard_normal((6, 3)), rng.standard_normal((6, 3)), 0.8
    f = planar_cnf_augmented_fast(t, y, p)
    assert type(f) is np.ndarray
    assert_twins_agree(f, planar_cnf_augmented(t, y, p), name="f")
    fast, ref = planar_cnf_augmented_fast.f_and_vjp(t, y, p, a), planar_cnf_augmented.f_and_vjp(t, y, p, a)
    assert type(fast[1]) is np.ndarray and all(type(v) is np.ndarray for v in fast[2].values())
    assert_twins_agree(fast[0], ref[0], name="f")
    assert_twins_agree(fast[1], ref[1], name="aᵀ∂f/∂y")
    for k in p:
        assert_twins_agree(fast[2][k], ref[2][k], name=f"aᵀ∂f/∂{k}")
    assert_twins_agree(np.array(fast[3]), np.array(ref[3]), name="aᵀ∂f/∂t")
    np.random.seed(2)
    check_grads(lambda yy, pp: planar_cnf_augmented_fast(t, yy, pp), modes=["rev"], order=1)(y, p)


def test_nf_kernels_match_numpy_twins():
    # numba forward/reverse sweeps vs the NumPy loops in planar.py, ~1e-12 relative
    rng = np.random.default_rng(10)
    K, B, D = 9, 11, 3
    W, u, b = rng.standard_normal((K, D)), 1.5 * rng.standard_normal((K, D)), rng.standard_normal(K)
    U = planar_u_hat(W, u)
    z = rng.standard_normal((B, D))
    zs, hs, dets, c = _nf_layers(W, U, b, z)
    zs_k, hs_k, dets_k, c_k = nf_forward_kernel(W, U, b, z)
    assert_twins_agree(zs_k, np.stack(zs), name="z_0..z_K")
    assert_twins_agree(hs_k, np.stack(hs), name="h")
    assert_twins_agree(dets_k, np.stack(dets), name="det")
    assert_twins_agree(c_k, c, name="wᵀû")
    gz, gl = rng.standard_normal((B, D)), rng.standard_normal(B)
    ref = _nf_backward(W, U, zs, hs, dets, c, gz, gl)
    out = nf_backward_kernel(W, U, zs_k, hs_k, dets_k, c_k, gz, gl)
    for name, x, y in zip(("gW", "gû", "gb", "gz"), out, ref):
        assert_twins_agree(x, y, name=name)
    # and the NumPy reverse sweep is autograd's VJP of R&M eqs. (10)-(13) with û given
    def f(W_, U_, b_, z_):
        logdet = 0.0
        for k in range(K):
            h = anp.tanh(anp.dot(z_, W_[k]) + b_[k])
            logdet = logdet + anp.log(anp.abs(1.0 + (1.0 - h ** 2) * anp.dot(W_[k], U_[k])))
            z_ = z_ + h[:, None] * U_[k]
        return anp.sum(z_ * gz) + anp.sum(logdet * gl)
    g_auto = grad(f, (0, 1, 2, 3))(W, U, b, z)
    for name, x, y in zip(("gW", "gû", "gb", "gz"), ref, g_auto):
        assert_twins_agree(x, y, name=name)


@TD
def test_planar_cnf_flow_matches_generic_flow_and_gradients(td):
    # fused flat-state path vs `flow` (tuple state, autograd VJP per stage): same ODE, so the
    # values and adjoint gradients agree to the solver tolerance
    rng = np.random.default_rng(8)
    p = _randomise(init_planar_cnf(rng, dim=2, M=6, **td), rng, 0.5)
    z0 = rng.standard_normal((20, 2))
    tol = dict(rtol=1e-10, atol=1e-10)
    z_a, d_a = planar_cnf_flow(p, z0, t0=0.0, t1=1.0, **tol)
    z_b, d_b = flow(planar_cnf_dynamics, p, z0, t0=0.0, t1=1.0, **tol)
    assert np.max(np.abs(z_a - z_b)) < 1e-8 and np.max(np.abs(d_a - d_b)) < 1e-8

    def loss(path):
        def L(pp, zz):
            z, d = path(pp, zz)
            return anp.mean(anp.sum(z ** 2, axis=1) + d)
        return L
    fast = loss(lambda pp, zz: planar_cnf_flow(pp, zz, t1=1.0, **tol))
    slow = loss(lambda pp, zz: flow(planar_cnf_dynamics, pp, zz, t1=1.0, **tol))
    g_fast, g_slow = grad(fast, (0, 1))(p, z0), grad(slow, (0, 1))(p, z0)
    for k in p:
        assert np.max(np.abs(g_fast[0][k] - g_slow[0][k])) < 1e-7 * (1 + np.max(np.abs(g_slow[0][k])))
    assert np.max(np.abs(g_fast[1] - g_slow[1])) < 1e-7
    # and the adjoint with the fused VJP against central differences
    np.random.seed(1)
    check_grads(fast, modes=["rev"], order=1)(p, z0[:4])


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
    with pytest.raises(ValueError, match="time_dependence.*'hyper'"):
        init_planar_cnf(np.random.default_rng(0), 2, 3, time_dependence="hyper")
    with pytest.raises(ValueError, match="hidden"):
        init_planar_cnf(np.random.default_rng(0), 2, 3, time_dependence="hypernet", hidden=0)
    with pytest.raises(ValueError, match="z"):
        planar_cnf_flow(init_planar_cnf(np.random.default_rng(0), 2, 3, time_dependence="hypernet"),
                        np.zeros((4, 3)))


def test_hypernet_init_matches_affine_theta0_and_paper_layout():
    # θ(0) of the hypernetwork: w, b as the affine θ0, u σ(g)/M with the affine U0's scale;
    # the MLP is t -> H -> H -> (M, 3D + 1) (torchdiffeq HyperNetwork, outputs grouped per unit)
    rng = np.random.default_rng(11)
    M, D, H = 400, 2, 32
    p = init_planar_cnf(rng, dim=D, M=M, scale=0.1, time_dependence="hypernet", hidden=H)
    assert {k: np.shape(v) for k, v in p.items()} == {"A1": (H,), "c1": (H,), "A2": (H, H), "c2": (H,),
                                                      "A3": (H, M, 3 * D + 1), "c3": (M, 3 * D + 1)}
    q = dict(p, A3=np.zeros_like(p["A3"]))                # θ(t) = the output biases c3
    W, U, b = hyper_theta(0.5, q)
    for x, sd, name in ((W, 1 / np.sqrt(D), "w"), (U, 0.1 / np.sqrt(M), "u σ(g)/M"), (b, 1.0, "b")):
        x = np.ravel(x)      # sample variance of n N(0, sd²) draws: SE ≈ sd² √(2/n)
        assert abs(np.var(x) - sd ** 2) < 4 * sd ** 2 * np.sqrt(2 / x.size), name


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
    for kind, p in (("nf", init_planar_nf(rng, 2, 3)), ("cnf", init_planar_cnf(rng, 2, 3)),
                    ("cnf", init_planar_cnf(rng, 2, 3, time_dependence="hypernet"))):
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
    # Chen et al. Figs. 4-5: the CNF with M units (hypernetwork θ(t), as the paper) matches or
    # beats the NF with K = M layers. Full run (numerics/results/full_runs/cnf-vs-nf): 10 of
    # the 10 (problem, size ∈ {32, 64}) pairs, moons within 0.006 nats (a tie). This quick run
    # (seed 0, 150 NF / 60 CNF iterations): 7 of 10, margins ≥ 0.15 on U1, moons and circles,
    # while U2 at 32 and 64 and U3 at 64 favour the NF.
    for prob in ("U1", "moons", "circles"):
        for s in (32, 64):
            assert m[f"{prob}/cnf_{s}/loss"] < m[f"{prob}/nf_{s}/loss"] - 0.05, (prob, s)
    wins = [m[f"{prob}/cnf_{s}/loss"] < m[f"{prob}/nf_{s}/loss"]
            for prob in ("U1", "U2", "U3", "moons", "circles") for s in (32, 64)]
    assert sum(wins) >= 7, wins


# --- Chen et al. Fig. 5: stages of the transformation base -> data (cnf_vs_nf_plots) ----------

def _stage_models(rng):
    nf = dict(init_planar_nf(rng, 2, 8, scale=1.0), b=rng.standard_normal(8))   # b = 0: odd map
    cnf = _randomise(init_planar_cnf(rng, dim=2, M=4), rng, 0.5)
    hyp = init_planar_cnf(rng, 2, 4, scale=1.0, time_dependence="hypernet", hidden=4)
    return (("nf", nf), ("cnf", cnf), ("cnf", hyp))


def test_stage_log_prob_ends_are_base_and_final_density():
    from refimpl.ffjord.cnf import standard_normal_logprob
    from refimpl.ffjord.cnf_vs_nf_plots import stage_log_prob
    from refimpl.ffjord.exp_cnf_vs_nf import model_log_prob
    rng = np.random.default_rng(10)
    y = 1.5 * rng.standard_normal((20, 2))
    for kind, p in _stage_models(rng):
        # f = 1: the trained model's density (same solve); f = 0: the base N(0, I)
        assert_twins_agree(stage_log_prob(kind, p, y, 1.0, tol=1e-6),
                           model_log_prob(kind, p, y, 1e-6), name=f"{kind} f=1")
        assert_twins_agree(stage_log_prob(kind, p, y, 0.0), standard_normal_logprob(y),
                           name=f"{kind} f=0")
        # an intermediate stage differs from both ends (the test can fail)
        mid = stage_log_prob(kind, p, y, 0.5, tol=1e-6)
        assert np.max(np.abs(mid - model_log_prob(kind, p, y, 1e-6))) > 1e-3
    with pytest.raises(ValueError, match="f"):
        stage_log_prob("cnf", p, y, 1.5)


def _moments(y):
    return np.stack([y[:, 0], y[:, 1], y[:, 0] ** 2, y[:, 0] * y[:, 1], y[:, 1] ** 2], 1)  # (B, 5)


def test_stage_densities_integrate_to_one_and_match_their_samples():
    from refimpl.ffjord.cnf_vs_nf_plots import stage_log_prob, stage_samples
    from refimpl.testing import assert_unbiased
    rng = np.random.default_rng(11)
    xs = np.linspace(-7, 7, 121)
    X, Y = np.meshgrid(xs, xs)
    g, dA = np.stack([X.ravel(), Y.ravel()], 1), (xs[1] - xs[0]) ** 2
    eps = rng.standard_normal((4000, 2))
    for kind, p in _stage_models(rng):
        zs = stage_samples(kind, p, eps, (0.2, 0.6), tol=1e-7)      # (2, 4000, 2)
        for f, z in zip((0.2, 0.6), zs):
            dens = np.exp(stage_log_prob(kind, p, g, f, tol=1e-7)) * dA
            assert abs(np.sum(dens) - 1.0) < 2e-3, (kind, f)
            # the samples of stage f have the moments of its density (4 standard errors)
            assert_unbiased(_moments(z), dens @ _moments(g), name=f"{kind} f={f} moments")


def test_stage_samples_invert_the_flow():
    from refimpl.ffjord.cnf_vs_nf_plots import nf_inverse, stage_samples
    rng = np.random.default_rng(12)
    eps = rng.standard_normal((200, 2))
    (_, nf), (_, cnf), _ = _stage_models(rng)
    x = nf_inverse(nf, eps)                               # F_K ∘ ... ∘ F_1(x) = eps
    assert_twins_agree(planar_nf_fast(nf, x)[0], eps, rtol=1e-10, atol=1e-12, name="nf inverse")
    assert np.max(np.abs(x - eps)) > 0.1
    z = stage_samples("cnf", cnf, eps, (0.25, 1.0), tol=1e-9)  # z(0.75), z(0)
    for t, zt in ((0.75, z[0]), (0.0, z[1])):
        back = planar_cnf_flow(cnf, zt, t0=t, t1=1.0, rtol=1e-9, atol=1e-9)[0]
        assert np.max(np.abs(back - eps)) < 1e-6, t


def test_cnf_vs_nf_resume_reloads_models(tmp_path, monkeypatch):
    import refimpl.ffjord.exp_cnf_vs_nf as E
    from refimpl.experiments import run_experiment
    tiny = dict(E.QUICK, n_iter_nf=4, n_iter_cnf=2, batch=16, n_eval=64, n_fig=100, grid=6)
    monkeypatch.setattr(E, "QUICK", tiny)
    monkeypatch.setattr(E, "SIZES", (1, 2))
    first = run_experiment("cnf-vs-nf", quick=True, out=tmp_path, progress=False)
    folder = tmp_path / "cnf-vs-nf"
    assert (folder / "checkpoint-models.npz").exists()
    assert "cnf_vs_nf_fig5.png" in first["figures"]

    def no_training(*a, **k):
        raise AssertionError("--resume retrained a checkpointed model")
    monkeypatch.setattr(E, "train", no_training)
    (folder / "cnf_vs_nf_fig5.png").unlink()
    again = run_experiment("cnf-vs-nf", quick=True, out=tmp_path, progress=False, resume=True)
    assert again["metrics"] == first["metrics"]
    assert again["tables"] == first["tables"]
    assert (folder / "cnf_vs_nf_fig5.png").exists()
    with pytest.raises(AssertionError, match="retrained"):     # without --resume: trains anew
        run_experiment("cnf-vs-nf", quick=True, out=tmp_path, progress=False)
