"""Event-time gradients when ``event_fn`` depends on t explicitly: the implicit-function
derivative needs ``dg/dt = ∂g/∂t + ∂g/∂y · f`` — the ``∂g/∂t`` term matters here only
(the other event tests' ``event_fn`` read y alone)."""
import autograd
import autograd.numpy as anp
import numpy as np
import pytest

from refimpl.ode import torchdiffeq_odeint as odeint


def _event(theta, method):
    # y' = θ, y(0) = 0; event y = 1 - t (a moving threshold): t* = 1/(1+θ), y* = θ/(1+θ).
    # Every method integrates a constant rate exactly, so the closed form holds to rounding.
    opts = None if method == "dopri5" else dict(step_size=0.05)
    return odeint(lambda t, y: theta + 0 * y, anp.array([0.0]) + 0 * theta,
                  np.array([0.0, 2.0]), method=method, options=opts, rtol=1e-10, atol=1e-12,
                  event_fn=lambda t, y: y[0] - (1.0 - t))


@pytest.mark.parametrize("method", ["dopri5", "rk4", "implicit_adams"])
def test_event_time_gradient_with_explicit_time_dependence(method):
    th = 0.7
    t_ev, ys = _event(th, method)
    assert abs(t_ev - 1 / (1 + th)) < 1e-9
    assert abs(ys[1, 0] - th / (1 + th)) < 1e-9
    # dt*/dθ = -1/(1+θ)², dy*/dθ = 1/(1+θ)²; dropping ∂g/∂t gives -t*/θ and 0 instead
    assert autograd.grad(lambda q: _event(q, method)[0])(th) == pytest.approx(
        -1 / (1 + th) ** 2, rel=1e-7)
    assert autograd.grad(lambda q: _event(q, method)[1][1, 0])(th) == pytest.approx(
        1 / (1 + th) ** 2, rel=1e-7)
