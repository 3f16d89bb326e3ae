"""Claims behind the Fig. 3c analysis of `neural-ode-nfe` (backward vs forward evaluations)."""
import numpy as np
import pytest
import scipy.integrate
from autograd import grad, jacobian
from autograd.misc import flatten

from refimpl.neural_ode.classifier import DYNAMICS, cross_entropy, init_classifier
from refimpl.neural_ode.nfe_study import (DOPRI_ADJOINT, LOSS_SCALE, SETTINGS_C,
                                          lsoda_nfe, lsoda_reversed_nfe, lsoda_step,
                                          ratio_rows, reversed_nfe, spectral_radius,
                                          trajectory_nfe)
from refimpl.ode import odeint


def _model(seed=0, B=6, P=7, width=5):
    rng = np.random.default_rng(seed)
    X, y = rng.uniform(0, 1, (B, P)), rng.integers(0, 10, B)
    return init_classifier(np.random.default_rng(seed + 1), "odenet", P, width), X, y


def test_lsoda_adjoint_gradient_equals_the_dopri5_adjoint_gradient():
    # the paper's code path (scipy LSODA + autograd's adjoint) is the same gradient
    p, X, y = _model()
    _, _, g_lsoda = lsoda_nfe(p, X, y, 1e-10)
    g_ref = grad(lambda q: cross_entropy("odenet", q, X, y, {"rtol": 1e-11, "atol": 1e-11}))(p)
    a, b = flatten(g_lsoda)[0], flatten(g_ref)[0]
    # both solves are accurate to ~1e-10 relative; 1e-6 leaves room for LSODA's global error
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-6 * np.max(np.abs(b)))


def test_lsoda_step_returns_the_gradient_and_the_counts():
    p, X, y = _model(6)
    g, rec = lsoda_step(X, y, 1e-6)(p, np.array([0, 2, 3]))
    fwd, bwd, g_ref = lsoda_nfe(p, X[[0, 2, 3]], y[[0, 2, 3]], 1e-6)
    assert rec == {"nfe_fwd": fwd, "nfe_bwd": bwd}
    np.testing.assert_array_equal(flatten(g)[0], flatten(g_ref)[0])


def test_lsoda_forward_count_is_scipys_own_count():
    p, X, y = _model(1)
    n_fwd, n_bwd, _ = lsoda_nfe(p, X, y, 1e-6)
    W, b = p["inp"]
    h0 = X @ W + b                                                      # (B, H)
    _, info = scipy.integrate.odeint(
        lambda h, t: DYNAMICS(t, h.reshape(h0.shape), p["mid"]).ravel(), h0.ravel(),
        [0.0, 1.0], rtol=1e-6, atol=1e-6, full_output=True)
    assert n_fwd == info["nfe"][-1] == lsoda_reversed_nfe(p, X, 1e-6)[0]
    assert n_bwd > 0


def test_forward_counts_do_not_depend_on_the_backward_settings():
    p, X, y = _model(2)
    rows = ratio_rows(p, X, y, "init", tols=(1e-6,))
    assert [r["setting"] for r in rows] == list(SETTINGS_C)
    dopri = {r["fwd"] for r in rows if r["setting"] in DOPRI_ADJOINT + ("y_reversed",)}
    lsoda = {r["fwd"] for r in rows if r["setting"] in ("lsoda", "lsoda_y_reversed")}
    assert len(dopri) == 1 and dopri.pop() > 0
    assert len(lsoda) == 1
    assert all(r["bwd"] > 0 and r["ratio"] == r["bwd"] / r["fwd"] for r in rows)


def test_the_adjoint_part_sets_the_step_only_when_it_is_large():
    # a and a_θ scale with the loss, y does not: at ×1e-6 the backward count is that of the
    # unscaled loss (y sets the step); at ×1e3 the adjoint's error makes the backward longer
    p, X, y = _model(3, B=20, width=16)
    by = {r["setting"]: r for r in ratio_rows(p, X, y, "init", tols=(1e-5,))}
    assert by["tiny_adjoint"]["bwd"] == by["mixed"]["bwd"] == by["seminorm"]["bwd"]
    assert by["large_adjoint"]["bwd"] > by["mixed"]["bwd"]
    # a looser backward tolerance takes fewer backward steps, the forward is untouched
    assert by["bwd_tol_x32"]["bwd"] < by["mixed"]["bwd"]
    assert by["bwd_tol_x32"]["fwd"] == by["mixed"]["fwd"]


@pytest.mark.parametrize("tol", [1e-3, 1e-7])
def test_backward_with_a_negligible_adjoint_costs_what_reversing_y_costs(tol):
    # the claim behind panel (c): y alone, solved from y(1) back to y(0), takes the adjoint
    # solve's steps. dopri5: the same count; LSODA: autograd's VJP adds one f(t_1, y_1) for
    # the time gradient, so one more
    p, X, y = _model(4, B=20, width=16)
    by = {r["setting"]: r for r in ratio_rows(p, X, y, "init", tols=(tol,))}
    assert by["tiny_adjoint"]["bwd"] == by["y_reversed"]["bwd"] == reversed_nfe(p, X, tol)[1]
    assert by["lsoda"]["bwd"] == by["lsoda_y_reversed"]["bwd"] + 1
    assert by["lsoda_y_reversed"]["bwd"] == lsoda_reversed_nfe(p, X, tol)[1]


@pytest.mark.parametrize("n_times", [2, 5])
def test_trajectory_loss_counts(n_times):
    # two output times is the classifier's loss on y(1): the same counts as the mixed row
    p, X, y = _model(5)
    fwd, bwd = trajectory_nfe(p, X, y, 1e-5, n_times=n_times)
    row = {r["setting"]: r for r in ratio_rows(p, X, y, "init", tols=(1e-5,))}["mixed"]
    if n_times == 2:
        assert (fwd, bwd) == (row["fwd"], row["bwd"])
    else:
        assert fwd >= row["fwd"] and bwd > 0


def test_spectral_radius_matches_the_autograd_jacobian():
    # the closed-form ∂f/∂h against autograd's Jacobian of the dynamics, image by image
    p, X, _ = _model(7, B=3, width=6)
    ts = (0.0, 0.5, 1.0)
    got = spectral_radius(p, X, ts)
    W, b = p["inp"]
    hs = odeint(DYNAMICS, X @ W + b, np.array(ts), (p["mid"],), rtol=1e-8, atol=1e-8)
    want = [np.mean([np.max(np.abs(np.linalg.eigvals(
        jacobian(lambda z: DYNAMICS(t, z[None], p["mid"])[0])(h_i)))) for h_i in h])
        for t, h in zip(ts, hs)]
    np.testing.assert_allclose(got, want, rtol=1e-10)
