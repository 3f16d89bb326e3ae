"""Gradients through the event time with torchdiffeq's implicit RK and Adams methods
(refimpl.ode.fixed_events.traced_event): autograd against central finite differences of the
forward event time and state, and the closed form for a problem the methods solve exactly."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad

from refimpl.ode import torchdiffeq_odeint as odeint

T = np.array([0.0, 1.0])


def _event(theta, method, interp="linear", step=0.05):
    """A projectile with quadratic drag, launched at (h0, v0), drag c: lands when y[0] = 0.
    Returns t* + 0.3 v(t*) (event time and state both carry gradient)."""
    h0, v0, c = theta[0], theta[1], theta[2]
    f = lambda t, y: anp.stack([y[1], -9.81 - c * y[1] * anp.abs(y[1]) + 0.1 * anp.sin(t)])  # noqa: E731
    t_ev, ys = odeint(f, anp.stack([h0, v0]), T, method=method, rtol=1e-12, atol=1e-12,
                      options=dict(step_size=step, interp=interp), event_fn=lambda t, y: y[0])
    return t_ev + 0.3 * ys[-1, 1]


def _fd(fun, x, eps=1e-6):
    return np.array([(fun(x + eps * e) - fun(x - eps * e)) / (2 * eps) for e in np.eye(len(x))])


@pytest.mark.parametrize("method, interp", [
    ("implicit_euler", "linear"), ("trapezoid", "cubic"), ("gl4", "linear"),
    ("radauIIA5", "cubic"), ("sdirk2", "linear"), ("implicit_adams", "cubic"),
    ("explicit_adams", "linear")])
def test_event_gradient_matches_finite_differences(method, interp):
    theta = np.array([2.0, 1.5, 0.05])
    loss = lambda th: _event(th, method, interp)                          # noqa: E731
    g = grad(loss)(theta)
    fd = _fd(lambda th: float(loss(th)), theta)
    np.testing.assert_allclose(g, fd, rtol=2e-6, atol=1e-8)
    assert np.all(np.abs(g) > 1e-3)                          # every parameter matters


def test_event_gradient_closed_form_when_the_method_is_exact():
    # a ball without drag: y(t) is quadratic and trapezoid / gl4 integrate it exactly, the
    # cubic interpolant reproduces it: t* = (v0 + s)/g, s = sqrt(v0^2 + 2 g h0)
    gr, h0, v0 = 9.81, 2.0, 1.5
    for method in ("trapezoid", "gl4"):
        def t_star(p):
            f = lambda t, y: anp.stack([y[1], -gr + 0 * y[0]])            # noqa: E731
            t_ev, _ = odeint(f, anp.stack([p[0], p[1]]), T, method=method,
                             options=dict(step_size=0.1, interp="cubic"),
                             event_fn=lambda t, y: y[0])
            return t_ev
        s = np.sqrt(v0 ** 2 + 2 * gr * h0)
        assert t_star(np.array([h0, v0])) == pytest.approx((v0 + s) / gr, rel=1e-13)
        np.testing.assert_allclose(grad(t_star)(np.array([h0, v0])),
                                   [1 / s, (1 + v0 / s) / gr], rtol=1e-10)


def test_forward_values_unchanged_by_tracing():
    theta = np.array([2.0, 1.5, 0.05])
    traced = []
    grad(lambda th: traced.append(_event(th, "radauIIA3")) or traced[-1])(theta)
    plain = _event(theta, "radauIIA3")
    assert abs(float(traced[0]._value) - plain) < 1e-14
