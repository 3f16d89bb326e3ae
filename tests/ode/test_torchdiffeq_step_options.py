"""torchdiffeq's adaptive-step options on refimpl.ode.torchdiffeq_odeint: step_t, jump_t,
min_step, max_step and the step callbacks (refimpl.ode.traced.integrate)."""
import numpy as np
import pytest

from refimpl.ode import torchdiffeq_odeint as odeint

T = np.array([0.0, 1.0])


class Recorder:
    """func with torchdiffeq's step callbacks, recording every evaluation and callback."""

    def __init__(self, f):
        self.f, self.evals, self.steps, self.acc, self.rej = f, [], [], [], []

    def __call__(self, t, y):
        self.evals.append(float(t))
        return self.f(t, y)

    def callback_step(self, t, y, h):
        self.steps.append((float(t), float(h)))

    def callback_accept_step(self, t, y, h):
        self.acc.append((float(t), float(h)))

    def callback_reject_step(self, t, y, h):
        self.rej.append((float(t), float(h)))


def _jump(t, y):                          # f jumps at t = 0.5: y(1) = y0 + 0.5 (-1) + 0.5 (3)
    return np.full_like(y, -1.0 if t < 0.5 else 3.0)


@pytest.mark.parametrize("method", ["dopri5", "bosh3", "adaptive_heun", "dopri8", "tsit5"])
def test_jump_t_gives_the_exact_piecewise_solution_with_fewer_evaluations(method):
    plain, jumped = Recorder(_jump), Recorder(_jump)
    y_plain = odeint(plain, np.array([1.0]), T, method=method)
    y = odeint(jumped, np.array([1.0]), T, method=method, options=dict(jump_t=[0.5]))
    assert abs(y[-1, 0] - 2.0) < 1e-13                   # RK is exact on each constant piece
    assert len(jumped.evals) < len(plain.evals)
    assert abs(y_plain[-1, 0] - 2.0) > abs(y[-1, 0] - 2.0)
    # f is seen on both sides of 0.5, never at it (torchdiffeq's Perturb.PREV / NEXT)
    assert 0.5 not in jumped.evals
    assert np.nextafter(0.5, 0) in jumped.evals and np.nextafter(0.5, 1) in jumped.evals
    assert not jumped.rej                                 # nothing to reject: no jump inside


def test_jump_t_backwards():
    y = odeint(_jump, np.array([2.0]), T[::-1].copy(), options=dict(jump_t=[0.5]))
    assert abs(y[-1, 0] - 1.0) < 1e-13


def test_step_t_lands_on_the_times():
    rec = Recorder(lambda t, y: np.cos(3 * t) * y)
    odeint(rec, np.array([1.0]), np.array([0.0, 2.0]), options=dict(step_t=[0.3, 1.234567]))
    starts = [t for t, _ in rec.acc]
    assert 0.3 in starts and 1.234567 in starts           # exactly, as step boundaries
    # accepted steps chain from t0 to t1; every attempt is accepted or rejected
    ends = np.array(starts) + np.array([h for _, h in rec.acc])
    np.testing.assert_allclose(ends[:-1], starts[1:], rtol=0, atol=1e-15)
    assert abs(ends[-1] - 2.0) < 1e-15 and starts[0] == 0.0
    assert len(rec.steps) == len(rec.acc) + len(rec.rej)


def test_step_and_jump_t_must_not_share_a_time():
    with pytest.raises(ValueError, match="step_t and jump_t"):
        odeint(_jump, np.array([1.0]), T, options=dict(step_t=[0.5], jump_t=[0.5]))


def test_min_and_max_step():
    f = lambda t, y: np.array([[0, 1], [-1, 0]]) @ y        # noqa: E731
    big, small = Recorder(f), Recorder(f)
    y = odeint(big, np.array([1.0, 0.0]), np.array([0.0, 8.0]), options=dict(min_step=2.0))
    hs = [abs(h) for _, h in big.acc]
    assert min(hs[:-1]) >= 2.0 and not big.rej            # every step >= min_step is accepted
    assert abs(y[-1, 0] - np.cos(8)) > 1e-4               # ... at the cost of the tolerance
    odeint(small, np.array([1.0, 0.0]), np.array([0.0, 8.0]), options=dict(max_step=0.1))
    assert max(abs(h) for _, h in small.acc) <= 0.1 * 1.01   # the last-step stretch: <= 1 %
    assert len(small.acc) >= 80


def test_callbacks_count_attempts():
    # a first step far too large forces rejections
    rec = Recorder(lambda t, y: -50 * (y - np.cos(t)))
    odeint(rec, np.array([0.0]), T, options=dict(first_step=0.9))
    assert rec.rej and rec.rej[0] == (0.0, 0.9)
    assert len(rec.steps) == len(rec.acc) + len(rec.rej)
    assert rec.steps[0] == (0.0, 0.9)


def test_bad_step_options_name_themselves():
    for opts, match in [(dict(min_step=-1.0), "min_step"), (dict(step_t=[[0.2]]), "step_t"),
                        (dict(jump_t=[np.nan]), "jump_t")]:
        with pytest.raises(ValueError, match=match):
            odeint(_jump, np.array([1.0]), T, options=opts)
    with pytest.raises(ValueError, match="jump_t"):
        odeint(_jump, np.array([1.0]), T, options=dict(jump_t=[0.5]),
               event_fn=lambda t, y: y - 1.5)
