"""refimpl.ode.solve_ivp and RK23/RK45/DOP853 against scipy's own, bit for bit (t, y, nfev,
events, sol), plus the scipy behaviours its layer reproduces (complex, vectorized, array rtol,
empty y0, infinite t_span, args errors, step-by-step objects)."""
import itertools

import numpy as np
import pytest
import scipy.integrate as si

import refimpl.ode as ro

METHODS = ["RK23", "RK45", "DOP853"]


def rational(t, y):
    return np.array([y[1] / t, y[1] * (y[0] + 2 * y[1] - 1) / (t * (y[0] - 1))])


def ev1(t, y):
    return y[0] - y[1] ** 0.7


def ev_stop(t, y):
    return t - 7.4


ev_stop.terminal = True


def same_result(r, s, tt=None):
    assert type(r.t) is type(s.t) and np.array_equal(r.t, s.t)
    assert np.array_equal(r.y, s.y) and r.y.dtype == s.y.dtype
    assert (r.nfev, r.njev, r.nlu, r.status, r.message, r.success) == \
        (s.nfev, s.njev, s.nlu, s.status, s.message, s.success)
    if r.t_events is None:
        assert s.t_events is None and s.y_events is None
    else:
        for a, b in zip(r.t_events + r.y_events, s.t_events + s.y_events):
            assert np.array_equal(a, b) and a.shape == b.shape
    if tt is not None:
        assert np.array_equal(r.sol(tt), s.sol(tt))
        assert np.array_equal(r.sol(tt[3]), s.sol(tt[3]))


@pytest.mark.parametrize("method", METHODS)
def test_solve_ivp_identical_to_scipy(method):
    cases = itertools.product([(5, 9), (8, 5)], [False, True], [False, True], [False, True])
    for span, dense, t_eval, events in cases:
        kw = dict(method=method, dense_output=dense)
        if t_eval:
            kw["t_eval"] = np.linspace(*span, 7)
        if events:
            kw["events"] = (ev1, ev_stop)
        y0 = [1 / 3, 2 / 9] if span[0] == 5 else [4 / 9, 20 / 81]
        r = si.solve_ivp(rational, span, y0, **kw)
        s = ro.solve_ivp(rational, span, y0, **kw)
        # sol outside [t0, t1] extrapolates the end segments, as scipy's
        tt = np.linspace(min(span) - 1, max(span) + 1, 30) if dense else None
        same_result(r, s, tt)


@pytest.mark.parametrize("method", METHODS)
def test_complex_vectorized_array_tolerances_identical_to_scipy(method):
    A = np.array([[-0.25 + 0.14j, 0, 0.33 + 0.44j], [0.25 + 0.58j, -0.2 + 0.14j, 0],
                  [0, 0.2 + 0.4j, -0.1 + 0.97j]])
    y0 = np.array([10 + 0j, 20 + 0j, 30 + 0j])
    kw = dict(method=method, t_eval=np.linspace(0, 25, 11), dense_output=True,
              rtol=[1e-4, 1e-5, 1e-6], atol=np.array([1e-6, 1e-7, 1e-8]))
    same_result(si.solve_ivp(lambda t, y: A @ y, (0, 25), y0, **kw),
                ro.solve_ivp(lambda t, y: A @ y, (0, 25), y0, **kw), np.linspace(0, 25, 9))
    fv = lambda t, y: np.vstack((y[1] / t, -y[0] / t))         # noqa: E731  (y: (n, k))
    r = si.solve_ivp(fv, (1, 3), [1.0, 0.5], method=method, vectorized=True)
    s = ro.solve_ivp(fv, (1, 3), [1.0, 0.5], method=method, vectorized=True)
    same_result(r, s)


def test_args_reach_fun_and_events_as_scipy():
    # scipy's test_args problem with an explicit method: events get *args too
    def sys3(t, w, omega, k, zfinal):
        x, y, z = w
        return [-omega * y, omega * x, k * z * (1 - z)]

    def x0(t, w, omega, k, zfinal):
        return w[0]

    def zf(t, w, omega, k, zfinal):
        return w[2] - zfinal
    x0.direction, zf.terminal = -1, True
    z0 = np.exp(-20) / ((1 - 0.99) / 0.99 + np.exp(-20))
    kw = dict(events=[x0, zf], dense_output=True, args=(2, 4, 0.99), method="DOP853",
              rtol=1e-10, atol=1e-13)
    r = si.solve_ivp(sys3, [0, 10], [0, -1, z0], **kw)
    s = ro.solve_ivp(sys3, [0, 10], [0, -1, z0], **kw)
    same_result(r, s, np.linspace(0, 5, 20))
    np.testing.assert_allclose(s.t_events[0], [0.5 * np.pi, 1.5 * np.pi], rtol=1e-9)
    np.testing.assert_allclose(s.t_events[1], [5.0], rtol=1e-8)
    with pytest.raises(TypeError, match="Supplied 'args' cannot be unpacked"):
        ro.solve_ivp(lambda t, y, a: a * y, (0, 1), [1.0], args=-1)


def test_degenerate_cases_as_scipy():
    for span in [(0, 10), (0, np.inf)]:                       # empty state
        r = si.solve_ivp(lambda t, y: y, span, np.zeros(0), dense_output=True)
        s = ro.solve_ivp(lambda t, y: y, span, np.zeros(0), dense_output=True)
        same_result(r, s)
        assert s.sol([1, 2]).shape == (0, 2)
    r = si.solve_ivp(lambda t, y: -y, (4, 4), [2.0, 3.0], dense_output=True)
    s = ro.solve_ivp(lambda t, y: -y, (4, 4), [2.0, 3.0], dense_output=True)
    same_result(r, s, np.array([3.0, 4, 5, 6]))
    # infinite t_span with a terminal event: the ball thrown up comes down
    hit = lambda t, y: y[0]                                   # noqa: E731
    hit.terminal, hit.direction = True, -1
    kw = dict(events=hit, dense_output=True)
    same_result(si.solve_ivp(lambda t, y: [y[1], -9.8], (0, np.inf), [0, 5.0], **kw),
                ro.solve_ivp(lambda t, y: [y[1], -9.8], (0, np.inf), [0, 5.0], **kw))
    for bad, match in [(dict(method="BDF"), "implicit"), (dict(method="XX"), "method"),
                       (dict(t_eval=[[0, 1]]), "1-dimensional"),
                       (dict(t_eval=[0, 2]), "within"), (dict(t_eval=[0.5, 0.2]), "sorted")]:
        with pytest.raises(ValueError, match=match):
            ro.solve_ivp(lambda t, y: y, (0, 1), [1.0], **bad)
    with pytest.raises(ValueError, match="must be finite"):
        ro.solve_ivp(lambda t, y: y, (0, 1), [np.nan])
    with pytest.warns(UserWarning, match="At least one element of `rtol`"):
        s = ro.solve_ivp(lambda t, y: y, (0, 1), [1.0, 1.0], rtol=[1e-1, 1e-17])
    with pytest.warns(UserWarning, match="At least one element of `rtol`"):
        r = si.solve_ivp(lambda t, y: y, (0, 1), [1.0, 1.0], rtol=[1e-1, 1e-17])
    same_result(r, s)                                         # the floor 100 eps is applied


@pytest.mark.parametrize("method", METHODS)
def test_step_objects_step_as_scipys(method):
    r_cls, s_cls = getattr(si, method), getattr(ro, method)
    r = r_cls(rational, 5, [1 / 3, 2 / 9], 9, rtol=1e-5, atol=1e-8, max_step=0.7)
    s = s_cls(rational, 5, [1 / 3, 2 / 9], 9, rtol=1e-5, atol=1e-8, max_step=0.7)
    assert s.step_size is None and s.status == "running" and r.h_abs == s.h_abs
    while r.status == "running":
        assert r.step() == s.step()
        assert (r.t, r.t_old, r.status, r.nfev, r.step_size) == \
            (s.t, s.t_old, s.status, s.nfev, s.step_size)
        assert np.array_equal(r.y, s.y)
        tt = np.linspace(r.t_old - 0.1, r.t + 0.1, 5)
        assert np.array_equal(r.dense_output()(tt), s.dense_output()(tt))
    with pytest.raises(RuntimeError):
        s.step()
    tiny = s_cls(rational, 5, [1 / 3, 2 / 9], 9, max_step=1e-20)
    tiny.step()
    assert tiny.step() == tiny.TOO_SMALL_STEP and tiny.status == "failed"
    with pytest.warns(UserWarning, match="no effect"):
        s_cls(rational, 5, [1 / 3, 2 / 9], 9, jac=None)


def test_failures_return_status_minus_one_as_scipy():
    # step-size floor hit by max_step=1e-20, and a blow-up (y' = y², singular at t = 1)
    for fun, span, y0, kw in [(lambda t, y: [y[1] / t, -y[0]], (5, 9), [1, 2],
                               dict(max_step=1e-20)),
                              (lambda t, y: y ** 2, (0, 2), [1.0], {})]:
        r = si.solve_ivp(fun, span, y0, **kw)
        s = ro.solve_ivp(fun, span, y0, **kw)
        assert s.status == -1 and not s.success
        same_result(r, s)
