"""refimpl.ode.torchdiffeq_adjoint: torchdiffeq's adjoint backward on NumPy arrays, held to
autograd's backpropagation through the same solver (``torchdiffeq_odeint``) and to the
closed form of a linear ODE."""
import autograd.numpy as anp
import numpy as np
import pytest
import scipy.linalg
from autograd import grad, make_vjp

from refimpl.ode import torchdiffeq_odeint
from refimpl.ode.torchdiffeq_adjoint import adjoint_norm, adjoint_vjp

T = np.array([0.0, 0.405, 1.003, 1.5])             # off the 0.01 grid but at the ends


def f(t, y, A, b):                                   # y: (2,), A: (2, 2), b: (2,)
    return anp.tanh(anp.dot(A, y)) + b * anp.sin(t)


def vjp_of(A, b, counter=None):
    """vjp(t, y, v, need_t) of f by autograd, as ``adjoint_vjp`` takes it."""
    def vjp(t, y, v, need_t):
        if counter is not None:
            counter[0] += 1
        g, fv = make_vjp(lambda args: f(*args))((t, y, A, b))
        gt, gy, gA, gb = g(v)
        return fv, (gt if need_t else 0.0), gy, [gA, gb]
    return vjp


def setup(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=2), rng.normal(size=(2, 2)), rng.normal(size=2), rng.normal(size=(4, 2))


@pytest.mark.parametrize("method,tol,t_scale", [("dopri5", 1e-6, 1), ("rk4", 1e-8, 1e3),
                                                ("gl4", 1e-8, 1e3)])
def test_adjoint_matches_backprop(method, tol, t_scale):
    """Same cotangents (y0, t, A, b) as autograd through the solver: to the tolerance for
    the adaptive dopri5; on a fixed grid (step 0.01) to the O(h^4) error of the backward
    solve (the adjoint discretises the continuous adjoint; backprop differentiates the
    discrete forward solve), the time gradients to that of the grid's cubic Hermite
    interpolant, whose slope is f's to O(h^3) (the output times fall between grid points)."""
    y0, A, b, W = setup()
    opts = {"step_size": 0.01, "interp": "cubic"} if method != "dopri5" else {}
    kw = dict(rtol=1e-10, atol=1e-12, method=method, options=opts)

    def loss(y0, t, A, b):
        return anp.sum(W * torchdiffeq_odeint(lambda s, y: f(s, y, A, b), y0, t, **kw))
    want = [grad(loss, k)(y0, T, A, b) for k in range(4)]
    ys = torchdiffeq_odeint(lambda s, y: f(s, y, A, b), y0, T, **kw)
    g_y0, g_t, (g_A, g_b) = adjoint_vjp(lambda s, y: f(s, y, A, b), vjp_of(A, b), T, ys, W,
                                        [A, b], **kw)
    for got, exp, scale in zip([g_y0, g_t, g_A, g_b], want, [1, t_scale, 1, 1]):
        np.testing.assert_allclose(got, exp, atol=tol * scale, rtol=tol * scale)


def test_linear_closed_form():
    """y' = M y: dL/dy0 = Σ_i expm(M t_i)ᵀ w_i and dL/dt_i = w_i · M y(t_i) (i >= 1)."""
    M = np.array([[-0.3, 1.0], [-1.0, -0.2]])
    y0, W = np.array([1.0, 0.5]), setup()[3]
    ys = np.stack([scipy.linalg.expm(M * ti) @ y0 for ti in T])

    def vjp(t, y, v, need_t):
        return M @ y, 0.0, M.T @ v, []
    g_y0, g_t, _ = adjoint_vjp(lambda s, y: M @ y, vjp, T, ys, W, rtol=1e-11, atol=1e-13)
    want = sum(scipy.linalg.expm(M * ti).T @ w for ti, w in zip(T, W))
    np.testing.assert_allclose(g_y0, want, rtol=1e-8)
    dt = np.array([w @ (M @ y) for w, y in zip(W, ys)])
    np.testing.assert_allclose(g_t[1:], dt[1:], rtol=1e-12)
    np.testing.assert_allclose(g_t[0], -dt[1:].sum(), rtol=1e-8)  # y0 is fixed: t0 moves the rest


def test_seminorm_saves_evaluations():
    """Kidger, Chen & Lyons (2021): leaving a_θ out of the step control takes fewer
    backward evaluations when a_θ is what limits the step. y' = b sin(5t) with a small b:
    y's error is ~|b|, a = w is constant, a_b = -∫ w sin(5t) dt is O(1). Both norms give
    dL/db = Σ_i w_i (1 - cos(5 t_i)) / 5 to the tolerance."""
    b, W = np.array([1e-3, -2e-3]), setup(1)[3]
    fb = lambda s, y: b * np.sin(5 * s)                                  # noqa: E731

    def vjp(s, y, v, need_t):
        n[0] += 1
        return fb(s, y), 0.0, np.zeros(2), [v * np.sin(5 * s)]
    ys = np.stack([b * (1 - np.cos(5 * ti)) / 5 for ti in T])
    want = sum(w * (1 - np.cos(5 * ti)) / 5 for ti, w in zip(T, W))
    out = {}
    for kind in ("default", "seminorm"):
        n = [0]
        _, _, (g_b,) = adjoint_vjp(fb, vjp, T, ys, W, [b], rtol=1e-8, atol=1e-8,
                                   options={"norm": kind}, t_grad=False)
        out[kind] = n[0]
        np.testing.assert_allclose(g_b, want, atol=1e-6)
    assert out["seminorm"] < out["default"] / 2, out


def test_norms_and_bad_input():
    parts = (np.array(-3.0), np.ones(2), 2 * np.ones(2), 5 * np.ones(3))
    assert adjoint_norm()(parts) == 5.0 and adjoint_norm("seminorm")(parts) == 3.0
    with pytest.raises(ValueError, match="norm"):
        adjoint_norm("l1")
    with pytest.raises(ValueError, match="grad_ys"):
        adjoint_vjp(None, None, T, np.zeros((4, 2)), np.zeros((3, 2)))
