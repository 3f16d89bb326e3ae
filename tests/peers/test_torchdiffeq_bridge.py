"""The shim's gradient bridge (``torchdiffeq_shim``) against torchdiffeq itself: the same
problem through torchdiffeq's ``odeint`` / ``odeint_adjoint`` / ``odeint_event`` and through
the shim's, gradients with respect to y0, t and the module's parameters compared (dopri5,
tight tolerances: both solve to ~1e-10, so the gradients agree to ~1e-7)."""
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
torchdiffeq = pytest.importorskip("torchdiffeq")
sys.path.insert(0, str(Path(__file__).parent))
import torchdiffeq_shim as shim  # noqa: E402


class Damped(torch.nn.Module):
    """y' = A tanh(y) + b t: parameters in both terms, explicit time dependence."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.A = torch.nn.Parameter(torch.randn(2, 2, generator=g, dtype=torch.float64) * 0.5)
        self.b = torch.nn.Parameter(torch.tensor([0.3, -0.2], dtype=torch.float64))

    def forward(self, t, y):
        if isinstance(y, tuple):                       # a tuple state: two copies coupled
            return self.forward(t, y[0]), self.forward(t, y[1]) - 0.1 * y[0]
        return torch.tanh(y) @ self.A.T + self.b * t


def grads(lib, fn, tuple_state=False, **kw):
    f = Damped()
    y0 = torch.tensor([1.0, -0.5], dtype=torch.float64, requires_grad=True)
    t = torch.tensor([0.0, 0.3, 1.1, 2.0], dtype=torch.float64, requires_grad=True)
    state = (y0, 2 * y0) if tuple_state else y0
    ys = getattr(lib, fn)(f, state, t, rtol=1e-10, atol=1e-12, **kw)
    w = torch.linspace(-1, 1, 8, dtype=torch.float64).reshape(4, 2)
    loss = sum((w * y).sum() for y in ys) if tuple_state else (w * ys).sum()
    return torch.autograd.grad(loss, [y0, t, f.A, f.b])


@pytest.mark.parametrize("fn", ["odeint", "odeint_adjoint"])
@pytest.mark.parametrize("tuple_state", [False, True])
def test_gradients_match_torchdiffeq(fn, tuple_state):
    want = grads(torchdiffeq, fn, tuple_state)
    got = grads(shim, fn, tuple_state)
    for name, a, b in zip(["y0", "t", "A", "b"], got, want):
        assert torch.allclose(a, b, rtol=1e-6, atol=1e-7), (name, a, b)


def test_adjoint_options_reach_the_backward_solve():
    """adjoint_rtol/atol/method are used: a loose fixed-step adjoint (euler, 10 steps per
    interval) gives a visibly different gradient from the dopri5 one."""
    loose = grads(shim, "odeint_adjoint", adjoint_method="euler",
                  adjoint_options=dict(step_size=0.1))
    tight = grads(shim, "odeint_adjoint")
    assert not torch.allclose(loose[2], tight[2], atol=1e-3)
    assert torch.allclose(loose[2], tight[2], atol=0.2)


def test_event_time_gradient_matches_torchdiffeq():
    """odeint_event through odeint (backprop): d t_event / d(y0, A, b), torchdiffeq's
    implicit-function gradient vs refimpl's."""
    def run(lib):
        f = Damped()
        y0 = torch.tensor([1.0, -0.5], dtype=torch.float64, requires_grad=True)
        t0 = torch.tensor(0.0, dtype=torch.float64)
        te, ys = lib.odeint_event(f, y0, t0, event_fn=lambda t, y: y[0] - 2.0, rtol=1e-10,
                                  atol=1e-12, odeint_interface=lib.odeint)
        return torch.autograd.grad(te + ys[-1].sum(), [y0, f.A, f.b])
    for a, b in zip(run(shim), run(torchdiffeq)):
        assert torch.allclose(a, b, rtol=1e-6, atol=1e-7), (a, b)


def test_float32_outputs_and_gradients_keep_their_dtypes():
    f = Damped().to(torch.float32)
    y0 = torch.tensor([1.0, -0.5], requires_grad=True)
    t = torch.tensor([0.0, 1.0])
    for fn in (shim.odeint, shim.odeint_adjoint):
        ys = fn(f, y0, t)
        assert ys.dtype == torch.float32
        g, = torch.autograd.grad(ys.sum(), [y0])
        assert g.dtype == torch.float32
