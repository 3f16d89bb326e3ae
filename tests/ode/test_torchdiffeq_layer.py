"""refimpl.ode.torchdiffeq_odeint against torchdiffeq itself (fixed-step methods to rounding,
adaptive ones to the tolerance), tuple states and tuple tolerances, per-component
tolerances, a user norm, events, and autograd gradients through it."""
import autograd
import numpy as np
import pytest
from scipy.linalg import expm

from refimpl.ode import torchdiffeq_odeint as odeint

A = np.array([[-0.1, 2.0], [-2.0, -0.1]])
Y0 = np.array([1.0, 0.0])
T = np.linspace(0, 5, 11)
EXACT = np.array([expm(A * ti) @ Y0 for ti in T])


def f(t, y):
    return A @ y


def f_nonlinear(t, y):
    # non-autonomous and nonlinear: on linear problems all 4-stage order-4 methods agree
    # (rk4 vs the 3/8 rule would be indistinguishable)
    return A @ y + np.array([np.sin(3 * t) * y[1] ** 2, 0.0])


@pytest.fixture(scope="module")
def td():
    torch = pytest.importorskip("torch")
    torchdiffeq = pytest.importorskip("torchdiffeq")
    At = torch.tensor(A)

    def run(method, options=None, nonlinear=False, **kw):
        def fun(t, y):
            out = At @ y
            if nonlinear:
                out = out + torch.stack([torch.sin(3 * t) * y[1] ** 2, 0 * y[1]])
            return out
        with torch.no_grad():
            return torchdiffeq.odeint(fun, torch.tensor(Y0), torch.tensor(T),
                                      method=method, options=options, **kw).numpy()
    return run


@pytest.mark.parametrize("method", ["euler", "midpoint", "heun2", "heun3", "rk4"])
@pytest.mark.parametrize("options", [None, dict(step_size=0.07),
                                     dict(step_size=0.07, interp="cubic")])
def test_fixed_step_methods_match_torchdiffeq_to_rounding(td, method, options):
    np.testing.assert_allclose(odeint(f_nonlinear, Y0, T, method=method, options=options),
                               td(method, options, nonlinear=True), rtol=0, atol=1e-13)


@pytest.mark.parametrize("method, rtol", [("dopri5", 1e-8), ("dopri8", 1e-8), ("bosh3", 1e-8),
                                          ("fehlberg2", 1e-6), ("adaptive_heun", 1e-6)])
def test_adaptive_methods_meet_the_tolerance_like_torchdiffeq(td, method, rtol):
    # (the order-2 pairs at rtol 1e-6: at 1e-8 adaptive_heun takes ~10^5 steps)
    ys = odeint(f, Y0, T, method=method, rtol=rtol, atol=rtol / 100)
    err = np.abs(ys - EXACT).max()
    err_td = np.abs(td(method, rtol=rtol, atol=rtol / 100) - EXACT).max()
    assert err < 5 * max(err_td, rtol), (err, err_td)
    assert ys.shape == (len(T), 2) and np.array_equal(ys[0], Y0)


def test_tuple_state_tuple_tolerances_and_user_norm(td):
    torch = pytest.importorskip("torch")
    import torchdiffeq
    fun = lambda t, y: (y[1], -y[0])                           # noqa: E731
    y0 = (np.array([1.0]), np.array([0.0]))
    ys = odeint(fun, y0, T, rtol=(1e-6, 1e-9), atol=1e-10)
    assert isinstance(ys, tuple) and ys[0].shape == (len(T), 1)
    np.testing.assert_allclose(ys[0][:, 0], np.cos(T), atol=1e-6)
    with torch.no_grad():
        r = torchdiffeq.odeint(lambda t, y: (y[1], -y[0]),
                               (torch.tensor([1.0], dtype=torch.float64),
                                torch.tensor([0.0], dtype=torch.float64)), torch.tensor(T),
                               rtol=(1e-6, 1e-9), atol=1e-10)
    np.testing.assert_allclose(ys[1][:, 0], r[1].numpy()[:, 0], atol=1e-6)
    np.testing.assert_allclose(ys[1][:, 0], -np.sin(T), atol=1e-6)
    # a user norm sees the scaled error as a tuple; 10 x the mixed norm is stricter
    calls = []

    def maxnorm(x):
        calls.append(type(x))
        return 10 * max(np.abs(v).max() for v in x)
    ys_max = odeint(fun, y0, T, rtol=1e-4, atol=1e-6, options=dict(norm=maxnorm))
    ys_rms = odeint(fun, y0, T, rtol=1e-4, atol=1e-6)
    assert calls and all(c is tuple for c in calls)
    assert np.abs(ys_max[0][:, 0] - np.cos(T)).max() < np.abs(ys_rms[0][:, 0] - np.cos(T)).max()


def test_per_component_tolerance_controls_each_component():
    # decoupled: a slow component held tightly, a fast one (cos 20t) loosely; the steps
    # follow the slow one's tolerance, so the fast one is much less accurate than in a
    # uniformly tight solve while the slow one stays as accurate
    fun = lambda t, y: -0.5 * y + np.array([np.cos(t), np.cos(20 * t)])   # noqa: E731
    t = np.array([0.0, 4.0])
    ref = odeint(fun, Y0, t, rtol=1e-13, atol=1e-13)[-1]
    mixed = odeint(fun, Y0, t, rtol=np.array([1e-9, 1e-2]), atol=np.array([1e-11, 1e-2]))[-1]
    tight = odeint(fun, Y0, t, rtol=1e-9, atol=1e-11)[-1]
    err_mixed, err_tight = np.abs(mixed - ref), np.abs(tight - ref)
    assert err_mixed[0] < 1e-8 and err_tight.max() < 1e-8
    assert err_mixed[1] > 100 * err_tight[1]
    with pytest.raises(ValueError, match="atol"):
        odeint(fun, Y0, t, atol=np.ones(3))


def test_event_fn_stops_at_first_zero(td):
    torch = pytest.importorskip("torch")
    import torchdiffeq
    ev = lambda t, y: np.array([y[0] - 0.5, y[1] + 2.0])        # noqa: E731
    et, ys = odeint(f, Y0, np.array([0.0, 0.1]), event_fn=ev, rtol=1e-10, atol=1e-12)
    At = torch.tensor(A)
    et_td, ys_td = torchdiffeq.odeint(lambda t, y: At @ y, torch.tensor(Y0),
                                      torch.tensor([0.0, 0.1], dtype=torch.float64),
                                      event_fn=lambda t, y: torch.stack([y[0] - 0.5, y[1] + 2]),
                                      rtol=1e-10, atol=1e-12)
    assert abs(ys[1, 0] - 0.5) < 1e-12 and ys.shape == (2, 2)
    assert abs(et - float(et_td)) < 1e-9
    np.testing.assert_allclose(ys, ys_td.numpy(), atol=1e-9)
    np.testing.assert_allclose(ys[1], expm(A * et) @ Y0, atol=1e-9)
    from scipy.optimize import brentq                         # y0(t) = e^(-t/10) cos 2t
    assert abs(et - brentq(lambda s: np.exp(-0.1 * s) * np.cos(2 * s) - 0.5, 0, 1)) < 1e-9


def test_gradient_through_the_layer_matches_the_exact_one():
    # d/dy0 of |y(5)|² for the linear ODE is 2 expm(A 5)ᵀ expm(A 5) y0
    g = autograd.grad(lambda y0: np.sum(odeint(f, y0, T, rtol=1e-10, atol=1e-12)[-1] ** 2))(Y0)
    M = expm(A * 5.0)
    np.testing.assert_allclose(g, 2 * M.T @ M @ Y0, atol=1e-8)


def test_bad_arguments_name_themselves():
    for kw, match in [(dict(method="adams"), "method"),
                      (dict(method="dop853"), "method"),
                      (dict(options=dict(safety=-0.8)), "safety"),
                      (dict(options=dict(dfactor=float("nan"))), "dfactor"),
                      (dict(method="rk4", options=dict(ifactor=2.0)), "ifactor"),
                      (dict(method="rk4", options=dict(interp="quadratic")), "interp"),
                      (dict(rtol=-1.0), "rtol")]:
        with pytest.raises(ValueError, match=match):
            odeint(f, Y0, T, **kw)


def _ball(params):
    import autograd.numpy as anp
    h0, v0 = params[0], params[1]
    return odeint(lambda t, y: anp.stack([y[1], -9.81 + 0 * y[0]]), anp.stack([h0, v0]),
                  np.array([0.0, 1.0]), event_fn=lambda t, y: y[0], rtol=1e-10, atol=1e-12)


def test_event_time_gradient_closed_form_falling_ball():
    # t* = (v0 + s)/g, s = sqrt(v0² + 2 g h0); v(t*) = -s   [implicit function theorem]
    p, g = np.array([10.0, 3.0]), 9.81
    s = np.sqrt(p[1] ** 2 + 2 * g * p[0])
    et, ys = _ball(p)
    assert abs(et - (p[1] + s) / g) < 1e-12
    np.testing.assert_allclose(autograd.grad(lambda q: _ball(q)[0])(p),
                               [1 / s, (1 + p[1] / s) / g], rtol=1e-8)
    np.testing.assert_allclose(autograd.grad(lambda q: _ball(q)[1][1, 1])(p),
                               [-g / s, -p[1] / s], rtol=1e-8)


def test_event_gradient_check_grads_nonlinear():
    # damped pendulum with a parameter in the dynamics and in the event: first time the
    # angle falls to 0.2 + c; gradient of (t*, y*) against finite differences
    import autograd.numpy as anp
    from autograd.test_util import check_grads

    def loss(q):
        k, c = q[0], q[1]
        fun = lambda t, y: anp.stack([y[1], -anp.sin(y[0]) - k * y[1]])   # noqa: E731
        et, ys = odeint(fun, anp.stack([1.0 + 0 * k, 0.0 * k]), np.array([0.0, 1.0]),
                        event_fn=lambda t, y: y[0] - 0.2 - c, rtol=1e-11, atol=1e-13)
        return et + 0.3 * ys[1, 1]
    check_grads(loss, modes=["rev"], order=1)(np.array([0.3, 0.1]))


def test_gradient_wrt_a_parameter_func_closes_over():
    # y'' = -a y, y(0) = 1: y(1) = cos(sqrt(a)), d/da = -sin(sqrt(a)) / (2 sqrt(a));
    # func returns a list, as torchdiffeq users' tuples/lists often are
    def y1(a):
        return odeint(lambda t, y: [a * y[1], -y[0]], np.array([1.0, 0.0]),
                      np.linspace(0, 1, 3), rtol=1e-10, atol=1e-12)[-1, 0]
    a = 1.7
    assert abs(y1(a) - np.cos(np.sqrt(a))) < 1e-9
    assert abs(autograd.grad(y1)(a) + np.sin(np.sqrt(a)) / (2 * np.sqrt(a))) < 1e-8
