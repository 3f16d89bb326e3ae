"""Events in `solve` (refimpl.ode.events): known event times, scipy's t_events bit for bit,
terminal counts, directions, and the dense output of a run cut short by a terminal event."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp as scipy_solve_ivp

from refimpl.ode import solve
from refimpl.ode.events import EPS, find_active_events, prepare_events

G = 9.81
SCIPY_NAMES = {"dopri5": "RK45", "bosh3": "RK23", "dop853": "DOP853"}


def ball(t, y):
    return np.array([y[1], -G])


def ground(t, y):
    return y[0]


def oscillator(t, y):
    return np.array([y[1], -y[0]])


def crossing(t, y):
    return y[0]


@pytest.mark.parametrize("method", ["dopri5", "bosh3", "dop853"])
@pytest.mark.parametrize("controller", ["default", "scipy"])
def test_falling_ball_hits_the_ground_at_sqrt_2h_over_g(method, controller):
    # the solution is a quadratic: every interpolant here is exact, so the root carries
    # only brentq's tolerance (4 eps relative) and rounding
    h0 = 10.0
    ground.terminal, ground.direction = True, -1
    s = solve(ball, (0, 10), [h0, 0.0], method=method, controller=controller, events=ground)
    t_star = np.sqrt(2 * h0 / G)
    assert s.status == 1 and s.message == "A termination event occurred."
    assert len(s.t_events[0]) == 1
    assert abs(s.t_events[0][0] - t_star) <= 8 * EPS * t_star + 1e-14
    assert s.t[-1] == s.t_events[0][0]
    assert abs(s.y[-1, 0]) < 1e-12 and s.y_events[0].shape == (1, 2)
    np.testing.assert_allclose(s.y[-1, 1], -G * t_star, rtol=1e-13)


@pytest.mark.parametrize("method", ["dopri5", "dop853"])
def test_oscillator_zero_crossings_at_pi_half_plus_k_pi(method):
    s = solve(oscillator, (0, 20), [1.0, 0.0], method=method, rtol=1e-11, atol=1e-13,
              events=crossing)
    k = np.arange(len(s.t_events[0]))
    assert len(k) == 6                                         # π/2 + kπ < 20
    np.testing.assert_allclose(s.t_events[0], np.pi / 2 + k * np.pi, rtol=0, atol=1e-9)
    np.testing.assert_allclose(s.y_events[0][:, 1], -np.cos(k * np.pi), atol=1e-9)
    assert s.status == 0 and s.t[-1] == 20


def test_direction_selects_rising_or_falling_crossings():
    def rising(t, y):
        return y[0]
    rising.direction = 1

    def falling(t, y):
        return y[0]
    falling.direction = -1
    s = solve(oscillator, (0, 20), [1.0, 0.0], rtol=1e-10, atol=1e-12,
              events=[rising, falling, crossing])
    # cos t falls through 0 at π/2 + 2kπ and rises at 3π/2 + 2kπ
    np.testing.assert_allclose(s.t_events[0], 3 * np.pi / 2 + 2 * np.pi * np.arange(3), atol=1e-8)
    np.testing.assert_allclose(s.t_events[1], np.pi / 2 + 2 * np.pi * np.arange(3), atol=1e-8)
    assert np.array_equal(np.sort(np.concatenate(s.t_events[:2])), s.t_events[2])


@pytest.mark.parametrize("method", ["dopri5", "bosh3", "dop853"])
@pytest.mark.parametrize("terminal", [False, 3])
@pytest.mark.parametrize("t_span", [(0, 20), (20, 0)])
def test_t_events_identical_to_scipy_solve_ivp(method, terminal, t_span):
    def ev(t, y, w):
        return y[0] - 0.1 * w

    def ev2(t, y, w):
        return y[1]
    ev.terminal = terminal
    ev2.direction = -1
    t_eval = np.linspace(*t_span, 17)
    kw = dict(rtol=1e-3, atol=1e-6, events=[ev, ev2], args=(1.0,), dense_output=True,
              t_eval=t_eval)
    f = lambda t, y, w: oscillator(t, y) * w                  # noqa: E731
    r = scipy_solve_ivp(f, t_span, [1.0, 0.0], method=SCIPY_NAMES[method], **kw)
    s = solve(f, t_span, [1.0, 0.0], method=method, controller="scipy", **kw)
    assert r.status == s.status
    for i in range(2):
        assert np.array_equal(r.t_events[i], s.t_events[i])
        assert np.array_equal(r.y_events[i], s.y_events[i])
    assert np.array_equal(r.t, s.t) and np.array_equal(r.y.T, s.y)
    assert r.nfev == s.nfev
    tt = np.linspace(r.t[0], r.t[-1], 50)
    np.testing.assert_allclose(s.sol(tt), r.sol(tt).T, rtol=0, atol=1e-15)


@pytest.mark.parametrize("controller", ["default", "scipy"])
def test_terminal_run_keeps_the_last_steps_polynomial(controller):
    # the cut step's polynomial still spans the whole step: sol agrees with the uncut run
    ev = lambda t, y: y[0] - 0.3                               # noqa: E731
    full = solve(oscillator, (0, 3), [1.0, 0.0], controller=controller, dense_output=True,
                 events=ev)
    ev.terminal = True
    cut = solve(oscillator, (0, 3), [1.0, 0.0], controller=controller, dense_output=True,
                events=ev)
    t_stop = cut.t_events[0][0]
    assert t_stop == full.t_events[0][0] and cut.t[-1] == t_stop
    tt = np.linspace(0, t_stop, 101)
    np.testing.assert_array_equal(cut.sol(tt), full.sol(tt))
    np.testing.assert_allclose(cut.sol(t_stop), cut.y[-1], rtol=0, atol=1e-15)
    assert cut.nfev < full.nfev


def test_terminal_count_and_bad_terminal():
    ev = lambda t, y: y[0]                                     # noqa: E731
    ev.terminal = 4
    s = solve(oscillator, (0, 100), [1.0, 0.0], events=ev)
    assert len(s.t_events[0]) == 4 and s.status == 1
    np.testing.assert_allclose(s.t[-1], 3.5 * np.pi, rtol=1e-6)
    for bad in (-1, 3.5):
        ev.terminal = bad
        with pytest.raises(ValueError, match="terminal"):
            solve(oscillator, (0, 1), [1.0, 0.0], events=ev)


def test_events_at_fixed_steps_on_the_cubic_hermite():
    # rk4 at h = 0.01: the root of the step's cubic Hermite, within its O(h^4) error
    s = solve(oscillator, (0, 20), [1.0, 0.0], method="rk4", step_size=0.01, events=crossing)
    np.testing.assert_allclose(s.t_events[0], np.pi / 2 + np.pi * np.arange(6), atol=1e-8)
    crossing.terminal = 2
    try:
        s = solve(oscillator, (0, 20), [1.0, 0.0], method="rk4", step_size=0.01,
                  events=crossing, dense_output=True)
    finally:
        crossing.terminal = False
    assert s.status == 1 and s.t[-1] == s.t_events[0][-1]
    assert abs(s.t[-1] - 1.5 * np.pi) < 1e-8 and abs(s.y[-1, 0]) < 1e-12
    np.testing.assert_allclose(s.sol(s.t[-1]), s.y[-1], atol=1e-15)


def test_events_refused_where_not_supported():
    with pytest.raises(ValueError, match="events"):
        solve(oscillator, (0, 1), [1.0, 0.0], controller="hairer", events=crossing)


def test_find_active_events_sign_rules():
    g, g_new = [-1.0, 1.0, 0.0, 2.0], [1.0, -1.0, 1.0, 3.0]
    assert list(find_active_events(g, g_new, np.array([0, 0, 0, 0]))) == [0, 1, 2]
    assert list(find_active_events(g, g_new, np.array([1, 1, 1, 1]))) == [0, 2]
    assert list(find_active_events(g, g_new, np.array([-1, -1, -1, -1]))) == [1]
    _, max_ev, _ = prepare_events([crossing])
    assert np.isinf(max_ev[0])


@pytest.mark.parametrize("t_span, first", [((0, 2), 0.9), ((2, 0), 1.1)])
def test_two_terminal_events_in_one_step_the_earlier_wins(t_span, first):
    # y' = 0: one step covers [0, 2]; both roots fall in it, in the direction of integration
    # the earlier one ends the run and the later one is not reported
    e1 = lambda t, y: t - 0.9                                  # noqa: E731
    e2 = lambda t, y: t - 1.1                                  # noqa: E731
    e1.terminal = e2.terminal = True
    s = solve(lambda t, y: 0 * y, t_span, [1.0], events=[e1, e2], first_step=2.0)
    assert s.n_accepted == 1 and s.t[-1] == first
    assert [len(te) for te in s.t_events] == ([1, 0] if first == 0.9 else [0, 1])
