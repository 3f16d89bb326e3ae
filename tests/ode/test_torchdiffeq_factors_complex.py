"""torchdiffeq_odeint: torchdiffeq's step rule (options safety / ifactor / dfactor) and complex
states, held against torchdiffeq itself step for step (refimpl.ode.torchdiffeq_control,
refimpl.ode.torchdiffeq_state)."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad

from refimpl.ode import torchdiffeq_odeint as odeint
from refimpl.ode.torchdiffeq_control import optimal_factor
from refimpl.ode.torchdiffeq_state import State

A = np.array([[-0.2, 1.3, 0.0], [-1.3, -0.2, 0.4], [0.0, -0.4, -0.5]])
W = np.array([0.7, -1.1, 0.3]) + 1j * np.array([0.2, 0.5, -0.9])   # complex rates


def _td():
    torch = pytest.importorskip("torch")
    return torch, pytest.importorskip("torchdiffeq")


class Steps:
    """func recording every attempted step (t, dt) through torchdiffeq's callback_step."""

    def __init__(self, f):
        self.f, self.steps = f, []

    def __call__(self, t, y):
        return self.f(t, y)

    def callback_step(self, t, y, dt):
        self.steps.append((float(t), float(dt)))


def _real(t, y, mod):
    return mod.tanh(y @ A.T if mod is np else y @ _torch_a(y)) * mod.cos(t) - 0.1 * y


def _torch_a(y):
    import torch
    return torch.as_tensor(A.T, dtype=y.dtype)


def _cplx(t, y, mod):
    w = W if mod is np else __import__("torch").as_tensor(W)
    return w * y + 0.3j * mod.sin(2 * t) * y ** 2


def _steps_both(rhs, y0, method, options, rtol=1e-6, atol=1e-8, t1=6.0):
    """(refimpl's attempted steps, torchdiffeq's) on [0, t1] from the same first_step."""
    torch, tdq = _td()
    mine = Steps(lambda t, y: rhs(t, y, np))
    odeint(mine, y0, np.array([0.0, t1]), rtol=rtol, atol=atol, method=method,
           options=dict(options, first_step=0.01))
    theirs = Steps(lambda t, y: rhs(t, y, torch))
    tdq.odeint(theirs, torch.as_tensor(y0), torch.tensor([0.0, t1], dtype=torch.float64),
               rtol=rtol, atol=atol, method=method, options=dict(options, first_step=0.01))
    return np.array(mine.steps), np.array(theirs.steps)


def test_optimal_factor_is_torchdiffeqs():
    torch, _ = _td()
    from torchdiffeq._impl.misc import _optimal_step_size
    for safety, ifac, dfac in [(0.9, 10.0, 0.2), (0.5, 1.5, 0.7), (0.95, 3.0, 0.05)]:
        for order in (2, 3, 5, 8):
            for err in (0.0, 1e-9, 0.3, 0.999, 1.0, 1.5, 40.0, 1e12):
                want = float(_optimal_step_size(torch.tensor(1.0, dtype=torch.float64),
                                                torch.tensor(err, dtype=torch.float64),
                                                torch.tensor(safety, dtype=torch.float64), torch.tensor(ifac, dtype=torch.float64),
                                                torch.tensor(dfac, dtype=torch.float64), order))
                got = optimal_factor(err, order, safety, ifac, dfac)
                assert got == pytest.approx(want, rel=1e-15, abs=0), (safety, order, err)


@pytest.mark.parametrize("method, options", [
    ("bosh3", {}),                                                  # the defaults
    ("bosh3", dict(safety=0.6, ifactor=1.8, dfactor=0.6)),
    ("bosh3", dict(safety=0.95, ifactor=4.0, dfactor=0.05)),
    ("dopri8", dict(safety=0.7, ifactor=2.5, dfactor=0.5)),
])
def test_step_sequence_is_torchdiffeqs(method, options):
    # same first step, same error weights (bosh3, dopri8): every attempt, its
    # size and the accept/reject pattern agree with torchdiffeq's until the last steps (refimpl
    # lands on t1, torchdiffeq steps past it). dopri8's error estimate cancels to ~1e-7
    # relative between the two codes' coefficients (refimpl's exact fractions, torchdiffeq's
    # decimals), so its steps agree to 1e-5 only; a wrong rule moves them by O(10 %)
    mine, theirs = _steps_both(_real, np.array([1.0, -0.5, 0.3]), method, options,
                               rtol=1e-7 if method == "dopri8" else 1e-6)
    m = min(len(mine), len(theirs)) - 2
    assert m >= 8
    np.testing.assert_allclose(mine[:m], theirs[:m], rtol=1e-5 if method == "dopri8" else 1e-9,
                               atol=1e-13)
    assert abs(len(mine) - len(theirs)) <= 2


def test_the_options_change_the_steps():
    # a smaller ifactor caps the growth of the steps: more of them
    y0, T = np.array([1.0, -0.5, 0.3]), np.array([0.0, 6.0])
    counts = {}
    for name, opts in [("default", {}), ("slow growth", dict(ifactor=1.2)),
                       ("safe", dict(safety=0.3))]:
        rec = Steps(lambda t, y: _real(t, y, np))
        odeint(rec, y0, T, method="bosh3", options=opts)
        counts[name] = len(rec.steps)
    assert counts["slow growth"] > counts["default"] and counts["safe"] > counts["default"]


# --- complex states --------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["bosh3", "dopri8"])
def test_complex_step_sequence_is_torchdiffeqs(method):
    # torchdiffeq integrates complex tensors with the modulus in the error ratio; refimpl the
    # (real, imaginary) pair with the same ratio: the same steps
    y0 = np.array([1.0 + 0.5j, -0.3j, 0.8])
    mine, theirs = _steps_both(_cplx, y0, method, dict(safety=0.8),
                               rtol=1e-7 if method == "dopri8" else 1e-6, t1=3.0)
    m = min(len(mine), len(theirs)) - 2
    assert m >= 8
    np.testing.assert_allclose(mine[:m], theirs[:m], rtol=1e-5 if method == "dopri8" else 1e-9,
                               atol=1e-13)


@pytest.mark.parametrize("method, tol", [("dopri5", 1e-9), ("tsit5", 1e-9), ("rk4", 1e-6),
                                         ("implicit_euler", None), ("implicit_adams", 1e-9)])
def test_complex_linear_ode_closed_form(method, tol):
    t = np.linspace(0.0, 2.0, 9)
    y0 = np.array([1.0 + 1.0j, 0.5 - 2.0j, 3.0])
    ys = odeint(lambda s, y: W * y, y0, t, rtol=1e-10, atol=1e-12, method=method,
                options=None if method in ("dopri5", "tsit5") else dict(step_size=0.01))
    exact = np.exp(np.outer(t, W)) * y0
    assert ys.dtype == np.complex128 and ys.shape == (9, 3)
    err = np.abs(ys - exact).max()
    assert err < (tol or 5e-2) and err > 0
    if method == "implicit_euler":                      # first order: the error halves with h
        ys2 = odeint(lambda s, y: W * y, y0, t, method=method, options=dict(step_size=0.005))
        assert 1.8 < err / np.abs(ys2 - exact).max() < 2.2


def test_complex_matches_torchdiffeq_outputs_and_fixed_steps_to_rounding():
    torch, tdq = _td()
    y0 = np.array([1.0 + 0.5j, -0.3j, 0.8])
    t = np.linspace(0.0, 2.0, 7)
    f = lambda s, y: _cplx(s, y, np)                                    # noqa: E731
    g = lambda s, y: _cplx(s, y, torch)                                 # noqa: E731
    ys = odeint(f, y0, t, method="rk4", options=dict(step_size=0.05))
    ref = tdq.odeint(g, torch.as_tensor(y0), torch.as_tensor(t), method="rk4",
                     options=dict(step_size=0.05)).numpy()
    np.testing.assert_allclose(ys, ref, rtol=1e-13, atol=1e-14)
    ys = odeint(f, y0, t, rtol=1e-9, atol=1e-11)
    ref = tdq.odeint(g, torch.as_tensor(y0), torch.as_tensor(t), rtol=1e-9, atol=1e-11).numpy()
    np.testing.assert_allclose(ys, ref, rtol=1e-7, atol=1e-9)


def test_complex_error_ratio_is_torchdiffeqs():
    torch, _ = _td()
    from torchdiffeq._impl.misc import _compute_error_ratio, _rms_norm
    rng = np.random.default_rng(0)
    y0 = rng.standard_normal(5) + 1j * rng.standard_normal(5)
    S = State(y0)
    flat = lambda c: np.concatenate([c.real, c.imag])                   # noqa: E731
    err, y1 = [rng.standard_normal(5) + 1j * rng.standard_normal(5) for _ in range(2)]
    rtol, atol = 1e-3, rng.uniform(1e-4, 1e-2, 5)
    want = float(_compute_error_ratio(*(torch.as_tensor(np.asarray(v)) for v in (err, rtol, atol, y0, y1)),
                                      _rms_norm))
    got = S.ratio_fn(rtol, atol)(flat(err), flat(y0), flat(y1))
    assert got == pytest.approx(want, rel=1e-14)


def test_complex_tuple_state_and_gradient():
    # a tuple with a complex element: every element comes back complex (torch.cat promotes)
    t = np.array([0.0, 1.0])
    ys = odeint(lambda s, y: (W * y[0], -y[1]), (np.array([1.0 + 0j, 2.0, 1j]),
                                                 np.array([1.0])), t, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ys[0][-1], np.exp(W) * [1, 2, 1j], rtol=1e-8)
    np.testing.assert_allclose(ys[1][-1], [np.exp(-1.0)], rtol=1e-8)
    assert ys[1].dtype == np.complex128

    # d/dw of Re y(1) for y' = (w + i) y, y(0) = 1: Re(exp(w + i)) = exp(w) cos 1
    def loss(w):
        y = odeint(lambda s, y: (w + 1j) * y, np.array([1.0 + 0j]), t, rtol=1e-10, atol=1e-12)
        return anp.real(y[-1, 0])
    assert grad(loss)(0.3) == pytest.approx(np.exp(0.3) * np.cos(1.0), rel=1e-7)


def test_scipy_solver_refuses_complex():
    with pytest.raises(ValueError, match="complex"):
        odeint(lambda s, y: 1j * y, np.array([1.0 + 0j]), np.array([0.0, 1.0]),
               method="scipy_solver", options=dict(solver="RK45"))


def test_event_search_uses_the_options():
    # the event search (solve with TorchdiffeqRule) takes torchdiffeq's rule too: a small
    # ifactor costs more evaluations and finds the same event time
    out = {}
    for name, opts in [("default", {}), ("slow growth", dict(ifactor=1.2))]:
        calls = []
        f = lambda t, y: calls.append(t) or np.array([y[1], -9.81])        # noqa: E731
        t_ev, _ = odeint(f, np.array([2.0, 1.5]), np.array([0.0, 5.0]), method="bosh3",
                         event_fn=lambda t, y: y[0], options=opts)
        out[name] = (t_ev, len(calls))
    s = np.sqrt(1.5 ** 2 + 2 * 9.81 * 2.0)
    for t_ev, _ in out.values():
        assert t_ev == pytest.approx((1.5 + s) / 9.81, rel=1e-9)
    assert out["slow growth"][1] > out["default"][1]


def test_complex_state_event_time_and_its_gradient():
    # y = exp(i w t): Re y = cos(w t) first vanishes at t* = pi / (2 w), dt*/dw = -pi / (2 w^2)
    def t_star(w, method="dopri5", options=None):
        t, ys = odeint(lambda s, y: 1j * w * y, np.array([1.0 + 0j]), np.array([0.0, 1.0]),
                       event_fn=lambda s, y: anp.real(y[0]), rtol=1e-10, atol=1e-12,
                       method=method, options=options)
        assert ys.dtype == np.complex128
        return t
    assert t_star(2.0) == pytest.approx(np.pi / 4, abs=1e-10)
    assert grad(t_star)(2.0) == pytest.approx(-np.pi / 8, rel=1e-8)
    gl4 = lambda w: t_star(w, "gl4", dict(step_size=0.01, interp="cubic"))   # noqa: E731
    assert gl4(2.0) == pytest.approx(np.pi / 4, abs=1e-8)
    assert grad(gl4)(2.0) == pytest.approx(-np.pi / 8, rel=1e-6)
