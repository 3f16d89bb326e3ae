"""Events with the implicit RK and Adams methods (refimpl.ode.fixed_events through
torchdiffeq_odeint): known event times, the interpolant's root, torchdiffeq's own numbers."""
import numpy as np
import pytest

from refimpl.ode import torchdiffeq_odeint as odeint

IMPLICIT = ["implicit_euler", "implicit_midpoint", "trapezoid", "gl4", "gl6", "radauIIA3",
            "radauIIA5", "sdirk2", "trbdf2", "explicit_adams", "implicit_adams"]


@pytest.mark.parametrize("method", IMPLICIT)
def test_decay_reaches_half_at_log2(method):
    # y' = -y, y(0) = 1: y = 1/2 at t = ln 2 (t[1] = 0.3 only sets the direction: doubling)
    tol = 5e-3 if method == "implicit_euler" else 1e-5
    # explicit_adams: max_order 5 (AB4); torchdiffeq's default 12 (AB11) is unstable at
    # h λ = -0.01 (y' = -y grows to 38 by t = 1.2, in torchdiffeq as here)
    opts = dict(max_order=5) if method == "explicit_adams" else {}
    t, ys = odeint(lambda s, y: -y, np.array([1.0]), np.array([0.0, 0.3]), method=method,
                   options=dict(step_size=0.01, interp="cubic", **opts),
                   event_fn=lambda s, y: y[0] - 0.5)
    assert abs(t - np.log(2)) < tol
    assert abs(ys[-1, 0] - 0.5) < 1e-12                    # the event holds on the interpolant
    np.testing.assert_array_equal(ys[0], [1.0])


def test_oscillator_zero_crossing_backwards():
    # y = (cos t, -sin t) from t = 0 backwards: y0 = cos t crosses 0 at t = -π/2
    f = lambda s, y: np.array([y[1], -y[0]])                 # noqa: E731
    t, ys = odeint(f, np.array([1.0, 0.0]), np.array([0.0, -1.0]), method="gl6",
                   options=dict(step_size=0.05, interp="cubic"), event_fn=lambda s, y: y[0])
    assert abs(t + np.pi / 2) < 1e-7 and abs(ys[-1, 1] - 1.0) < 1e-7


def test_linear_interp_root_is_the_chord_root():
    # with interp="linear" the event time is the root of the chord through the bracket's ends
    h, c = 0.1, 0.5
    t, ys = odeint(lambda s, y: -y, np.array([1.0]), np.array([0.0, 1.0]),
                   method="implicit_euler", options=dict(step_size=h),
                   event_fn=lambda s, y: y[0] - c)
    k = np.arange(12)
    y_grid = (1 / (1 + h)) ** k                               # implicit Euler on y' = -y
    j = np.argmax(y_grid <= c)
    ta, ya, yb = (j - 1) * h, y_grid[j - 1], y_grid[j]
    assert abs(t - (ta + h * (c - ya) / (yb - ya))) < 1e-12


def test_tuple_state_and_several_events():
    f = lambda s, y: (-y[0], 2 * y[1])                       # noqa: E731
    ev = lambda s, y: np.array([y[0][0] - 0.1, y[1][0] - 3.0])   # second fires: t = ln(3)/2
    t, (a, b) = odeint(f, (np.array([1.0]), np.array([1.0])), np.array([0.0, 0.5]),
                       method="radauIIA5", options=dict(step_size=0.01, interp="cubic"),
                       event_fn=ev)
    assert abs(t - np.log(3) / 2) < 1e-8 and a.shape == (2, 1) and abs(b[-1, 0] - 3) < 1e-12


@pytest.mark.parametrize("method", ["explicit_adams", "implicit_adams", "gl4"])
def test_same_event_as_torchdiffeq(method):
    torch = pytest.importorskip("torch")
    td = pytest.importorskip("torchdiffeq")
    f = lambda s, y: np.cos(s) * y - 0.3                     # noqa: E731
    opts = dict(step_size=0.01, interp="cubic", max_order=6) if "adams" in method else \
        dict(step_size=0.01, interp="cubic")                # (AB11 would amplify rounding)
    t, ys = odeint(f, np.array([1.0]), np.array([0.0, 0.2]), method=method, options=opts,
                   event_fn=lambda s, y: y[0] - 0.4)
    if method == "gl4":        # torchdiffeq 0.2.5 has no implicit RK family: a tight reference
        ref, _ = odeint(f, np.array([1.0]), np.array([0.0, 0.2]), method="dopri5", rtol=1e-12,
                        atol=1e-12, event_fn=lambda s, y: y[0] - 0.4)
        assert abs(t - ref) < 1e-7
        return
    tt, yt = td.odeint(lambda s, y: torch.cos(s) * y - 0.3, torch.tensor([1.0], dtype=torch.float64),
                       torch.tensor([0.0, 0.2], dtype=torch.float64), method=method,
                       options=opts, event_fn=lambda s, y: y[0] - 0.4)
    assert abs(t - float(tt)) < 1e-8                         # torchdiffeq bisects to atol = 1e-9
    assert abs(ys[-1, 0] - float(yt[-1, 0])) < 1e-8


def test_event_errors_name_themselves():
    kw = dict(method="gl4", event_fn=lambda s, y: y[0] - 0.5)
    with pytest.raises(ValueError, match="step_size"):
        odeint(lambda s, y: -y, np.array([1.0]), np.array([0.0, 1.0]), **kw)
    with pytest.raises(ValueError, match="max_num_steps"):
        odeint(lambda s, y: -y, np.array([1.0]), np.array([0.0, 1.0]),
               options=dict(step_size=0.1, max_num_steps=30), method="gl4",
               event_fn=lambda s, y: y[0] + 1.0)           # never fires
