"""The continuous adjoint: agreement with autograd's own adjoint (LSODA), seminorm, error vs
tolerance, MLP dynamics on a batch (fast path = plain path), second-order derivatives."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from autograd.builtins import tuple as atuple
from autograd.scipy.integrate import odeint as autograd_odeint
from autograd.test_util import check_grads
from scipy.linalg import expm

from refimpl.ode import init_mlp_dynamics, mlp_dynamics, odeint
from refimpl.ode.adjoint import NORMS

MODES = ["adjoint", "backprop", "checkpoint"]


def _flat(g):
    if isinstance(g, (list, tuple)):
        return np.concatenate([_flat(x) for x in g])
    return np.ravel(g)


def _rel(a, b):
    a, b = _flat(a), _flat(b)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def forced(t, y, A, b):
    """A time-dependent nonlinear system (t enters, so d/dt is non-trivial)."""
    return anp.tanh(anp.dot(A, y)) + b * anp.sin(2.0 * t)


def _forced_problem(seed=0):
    rng = np.random.default_rng(seed)
    return (0.8 * rng.standard_normal((3, 3)), rng.standard_normal(3), rng.standard_normal(3),
            np.array([0.0, 0.7, 1.6]), rng.standard_normal((3, 3)))


def test_agrees_with_autograd_scipy_odeint():
    A, b, y0, t, w = _forced_problem()
    ours = grad(lambda y0, t, A, b: anp.sum(
        odeint(forced, y0, t, (A, b), rtol=1e-11, atol=1e-12) * w), argnum=(0, 1, 2, 3))
    theirs = grad(lambda y0, t, A, b: anp.sum(
        autograd_odeint(lambda y, s, A, b: forced(s, y, A, b), y0, t, atuple((A, b)), rtol=1e-11,
                        atol=1e-12) * w), argnum=(0, 1, 2, 3))
    for g1, g2, name in zip(ours(y0, t, A, b), theirs(y0, t, A, b), ["y0", "t", "A", "b"]):
        assert _rel(g1, g2) < 1e-7, f"d/d{name}: {_rel(g1, g2):.2e}"


def test_gradient_error_falls_as_tolerance_tightens():
    rng = np.random.default_rng(1)
    M, y0 = 0.7 * rng.standard_normal((3, 3)), rng.standard_normal(3)
    w = rng.standard_normal(3)
    exact = expm(M.T * 2.0) @ w                       # ∂/∂y0 of w · e^{2M} y0
    for mode in MODES:
        errs = []
        for tol in [1e-3, 1e-5, 1e-7, 1e-9]:
            g = grad(lambda y0: anp.dot(odeint(lambda t, y, M: anp.dot(M, y), y0,
                                                np.array([0.0, 2.0]), (M,), rtol=tol,
                                                atol=tol * 1e-2, gradient=mode)[-1], w))(y0)
            errs.append(_rel(g, exact))
        assert all(e2 < e1 for e1, e2 in zip(errs, errs[1:])), (mode, errs)
        assert errs[-1] < 1e-4 * errs[0] and errs[-1] < 1e-8, (mode, errs)


def _mlp_problem(seed=2, hidden=(16, 16), batch=8, activation="tanh"):
    rng = np.random.default_rng(seed)
    dyn = mlp_dynamics(activation)
    params = init_mlp_dynamics(rng, 2, hidden)
    params = [(W, 0.3 * rng.standard_normal(b.shape)) for W, b in params]
    return dyn, params, rng.standard_normal((batch, 2)), np.array([0.0, 0.5, 1.0])


@pytest.mark.parametrize("activation", ["tanh", "softplus"])
def test_mlp_dynamics_on_a_batch_all_modes(activation):
    dyn, params, y0, t = _mlp_problem(activation=activation)

    def grads(func, mode, tol=1e-9):
        loss = lambda y0, t, p: anp.sum(odeint(func, y0, t, (p,), rtol=tol, atol=tol,  # noqa
                                               gradient=mode) ** 2)
        return grad(loss, argnum=(0, 1, 2))(y0, t, params)

    fast, plain = grads(dyn, "adjoint"), grads(dyn.reference, "adjoint")
    for a, b in zip(fast, plain):                  # same steps, twin kernels: rounding only
        assert _rel(a, b) < 1e-11
    bp, ck = grads(dyn, "backprop"), grads(dyn, "checkpoint")
    for a, b, c in zip(fast, bp, ck):
        assert _rel(b, c) < 1e-11                  # checkpoint replays backprop
        assert _rel(a, b) < 1e-6                   # continuous vs discrete, tolerance 1e-9


def test_mlp_adjoint_gradient_check():
    dyn, params, y0, t = _mlp_problem(3, hidden=(4,), batch=3)
    np.random.seed(1)
    check_grads(lambda y0, t, p: odeint(dyn, y0, t, (p,), rtol=1e-10, atol=1e-10),
                modes=["rev"], order=1)(y0, t, params)


def test_seminorm_reduces_backward_evaluations_within_tolerance():
    dyn, _, _, _ = _mlp_problem()
    rng = np.random.default_rng(0)
    params = init_mlp_dynamics(rng, 2, (32, 32))
    y0, t = rng.standard_normal((16, 2)), np.array([0.0, 1.0])

    def run(norm, rtol=1e-7, atol=1e-9):
        info = {}
        g = grad(lambda p: anp.sum(odeint(dyn, y0, t, (p,), rtol=rtol, atol=atol,
                                          adjoint_norm=norm, info=info)[-1] ** 2))(params)
        return g, info["nfev_backward"]

    ref, _ = run("mixed", 1e-11, 1e-13)
    g_mixed, n_mixed = run("mixed")
    g_semi, n_semi = run("seminorm")
    assert n_semi < 0.9 * n_mixed, (n_semi, n_mixed)
    # the seminorm leaves a_θ out of error control; the gradient still meets the tolerance
    assert _rel(g_semi, ref) < 1e-6 and _rel(g_mixed, ref) < 1e-6


# --- second order: Hessian-vector products through the solve -------------------------------
def test_hessian_vector_product_linear_system_closed_form():
    """HVP of L(M) = w · e^{M T} y0 along V: adjoint and backprop against a central difference
    of the closed-form gradient (Van Loan block exponential)."""
    rng = np.random.default_rng(4)
    M, V = 0.6 * rng.standard_normal((2, 2)), rng.standard_normal((2, 2))
    y0, w, T = rng.standard_normal(2), rng.standard_normal(2), 1.3

    def exact_grad(M):
        block = np.block([[M.T, np.outer(w, y0)], [np.zeros((2, 2)), M.T]])
        return expm(block * T)[:2, 2:]

    eps = 1e-5
    hvp_exact = (exact_grad(M + eps * V) - exact_grad(M - eps * V)) / (2 * eps)
    for mode in ["adjoint", "backprop"]:
        loss = lambda M: anp.dot(odeint(lambda t, y, M: anp.dot(M, y), y0,   # noqa: E731
                                        np.array([0.0, T]), (M,), rtol=1e-10, atol=1e-12,
                                        gradient=mode)[-1], w)
        hvp = grad(lambda M: anp.sum(grad(loss)(M) * V))(M)
        assert _rel(hvp, hvp_exact) < 1e-6, (mode, _rel(hvp, hvp_exact))


@pytest.mark.parametrize("mode", ["adjoint", "backprop"])
def test_second_order_gradient_check_spiral(mode):
    """Second derivatives in the output times (incl. the resets at t_1) and the matrix A of a
    time-dependent cubic spiral."""
    A = np.array([[-0.1, 2.0], [-2.0, -0.1]])
    f = lambda t, y, A: anp.dot(y ** 3, A) * anp.cos(t)                 # noqa: E731
    np.random.seed(3)
    check_grads(lambda t, A: odeint(f, np.array([1.0, 0.3]), t, (A,), rtol=1e-9, atol=1e-9,
                                    gradient=mode)[-1],
                modes=["rev"], order=2)(np.array([0.0, 0.2, 0.4]), A)


def test_second_order_through_mlp_fast_path_matches_backprop():
    dyn, params, y0, t = _mlp_problem(5, hidden=(8,), batch=4)
    V = [(np.ones_like(W), np.ones_like(b)) for W, b in params]

    def hvp(mode):
        loss = lambda p: anp.sum(odeint(dyn, y0, t, (p,), rtol=1e-9, atol=1e-9,  # noqa
                                        gradient=mode) ** 2)
        return grad(lambda p: sum(anp.sum(g * v) for gl, vl in zip(grad(loss)(p), V)
                                  for g, v in zip(gl, vl)))(params)

    assert _rel(hvp("adjoint"), hvp("backprop")) < 1e-5


def test_checkpoint_refuses_second_order():
    dyn, params, y0, t = _mlp_problem(6, hidden=(4,), batch=2)
    loss = lambda p: anp.sum(odeint(dyn, y0, t, (p,), gradient="checkpoint") ** 2)  # noqa
    with pytest.raises(NotImplementedError, match="first-order"):
        grad(lambda p: anp.sum(grad(loss)(p)[0][0]))(params)
    # a mixed derivative that reaches the solve only through the cotangent (d/dw of dL/dθ
    # for L = Σ w·ys) must refuse too, not fail obscurely or return garbage
    loss_w = lambda p, w: anp.sum(w * odeint(dyn, y0, t, (p,), gradient="checkpoint"))  # noqa
    with pytest.raises(NotImplementedError, match="first-order"):
        grad(lambda w: anp.sum(grad(loss_w)(params, w)[0][0]))(np.ones((len(t),) + y0.shape))


def test_dop853_honours_the_adjoint_norm():
    """dop853's combined 5th/3rd-order error estimate is taken per group too: the seminorm
    drops a_θ from it (fewer backward evaluations), the gradient stays within tolerance."""
    A, b, y0, t, w = _forced_problem(1)

    def run(norm, tol=1e-8):
        info = {}
        g = grad(lambda A, b: anp.sum(odeint(forced, y0, t, (A, b), method="dop853", rtol=tol,
                                             atol=tol, adjoint_norm=norm, info=info) * w),
                 argnum=(0, 1))(A, b)
        return g, info["nfev_backward"]
    ref, _ = run("mixed", 1e-12)
    (g_mixed, n_mixed), (g_semi, n_semi), (g_rms, n_rms) = [run(k) for k in NORMS]
    assert n_semi < n_mixed and n_rms != n_mixed, (n_mixed, n_semi, n_rms)
    for g in (g_mixed, g_semi, g_rms):
        assert _rel(g, ref) < 1e-6


def test_reverse_unstable_problem_adjoint_inaccurate_checkpoint_exact():
    """Fast decaying modes grow like e^{20 t} when the adjoint re-integrates y backwards, so
    the continuous adjoint loses accuracy; checkpointing differentiates the stable forward
    arithmetic and keeps it (numerics/adjoint_accuracy.py shows the full curve)."""
    rng = np.random.default_rng(0)
    A = -np.diag([2.0, 10.0, 20.0]) + 0.3 * rng.standard_normal((3, 3))
    c, y0 = rng.standard_normal(3), rng.standard_normal(3)
    f = lambda t, y, A, c: anp.dot(A, y) + c * anp.cos(3.0 * t)       # noqa: E731

    def g(mode, tol):
        return grad(lambda A: anp.sum(odeint(f, y0, np.array([0.0, 1.0]), (A, c), rtol=tol,
                                             atol=tol, gradient=mode)[-1] ** 2))(A)
    ref = g("backprop", 1e-9)
    assert _rel(g("checkpoint", 1e-7), ref) < 1e-5
    assert _rel(g("adjoint", 1e-7), ref) > 1e-2
