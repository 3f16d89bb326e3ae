"""odeint(controller="torchdiffeq") reproduces torchdiffeq's odeint (gradient="backprop") and
odeint_adjoint (gradient="adjoint") step for step: the same forward and backward evaluation
counts, outputs and gradients to ~1e-10 (torch sums in its own order, so not bit for bit);
the traced interpolated path passes check_grads; bad arguments raise naming themselves."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from autograd.test_util import check_grads

from refimpl.ode import odeint

torch = pytest.importorskip("torch")
torchdiffeq = pytest.importorskip("torchdiffeq")

TOL = 1e-10


def _params(seed, d=2, h=16):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(d, h)) * 0.8, rng.normal(size=h) * 0.3,
            rng.normal(size=(h, d)) * 0.8, rng.normal(size=d) * 0.1]


def _mlp(xp, t, y, W1, b1, W2, b2, time_dep):
    return xp.tanh(y @ W1 + b1 + time_dep * t) @ W2 + b2


# name: (output times, tuple state, time-dependent, tolerances, y0 differentiated, t differentiated)
CASES = {
    "time-dependent, 5 outputs": (np.array([0., 0.3, 0.7, 1.5, 2.0]), False, 1.0, 1e-6, False, False),
    "autonomous, y0 grad": (np.array([0., 0.5, 1.0, 3.0]), False, 0.0, 1e-7, True, False),
    "backwards in time": (np.array([2.0, 1.2, 0.1, -0.5]), False, 1.0, 1e-6, True, False),
    "tuple state (z, logp)": (np.array([0., 0.4, 1.0]), True, 1.0, 1e-5, False, False),
    "t differentiated": (np.array([0., 0.3, 0.8, 1.6]), False, 1.0, 1e-6, True, True),
}


def _ours(case, params, y0, t, gradient):
    """(outputs, gradients [params..., y0?, t?], info) of refimpl's side."""
    _, tup, td, tol, need_y0, need_t = CASES[case]

    def f(s, y, *p):
        if tup:
            z, _ = y
            return _mlp(anp, s, z, *p, td), -0.1 * anp.sum(z ** 2, axis=1)
        return _mlp(anp, s, y, *p, td)

    def loss(p, y0, t, info):
        y_in = (y0, anp.zeros(len(y0))) if tup else y0
        ys = odeint(f, y_in, t, tuple(p), rtol=tol, atol=tol / 100, gradient=gradient,
                    controller="torchdiffeq", info=info)
        if tup:
            return anp.sum(ys[0] ** 2 * _weights(ys[0])) + anp.sum(ys[1]), ys
        return anp.sum(ys ** 2 * _weights(ys)), ys
    info = {}
    _, ys = loss(params, y0, t, {})
    argnums = (0,) + ((1,) if need_y0 else ()) + ((2,) if need_t else ())
    g = iter(grad(lambda *a: loss(*a)[0], argnums)(params, y0, t, info))
    g_params = list(next(g))
    return ys, g_params + [next(g) if need_y0 else None, next(g) if need_t else None], info


def _weights(ys):
    return np.linspace(0.5, 1.5, np.size(ys)).reshape(np.shape(ys))


class _Func(torch.nn.Module):
    def __init__(self, params, tup, td):
        super().__init__()
        self.ps = torch.nn.ParameterList([torch.nn.Parameter(torch.tensor(p)) for p in params])
        self.tup, self.td, self.n, self.n_vjp = tup, td, 0, 0

    def forward(self, t, y):
        self.n += 1
        if self.tup:
            z, _ = y
            out = (_mlp(torch, t, z, *self.ps, self.td), -0.1 * torch.sum(z ** 2, dim=1))
        else:
            out = _mlp(torch, t, y, *self.ps, self.td)
        first = out[0] if self.tup else out
        if first.requires_grad:                          # counts the VJPs backprop runs
            first.register_hook(lambda g: setattr(self, "n_vjp", self.n_vjp + 1))
        return out


def _peer(case, params, y0, t, gradient):
    _, tup, td, tol, need_y0, need_t = CASES[case]
    m = _Func(params, tup, td)
    yt = torch.tensor(y0, requires_grad=need_y0)
    tt = torch.tensor(t, requires_grad=need_t)
    y_in = (yt, torch.zeros(len(y0), dtype=torch.float64)) if tup else yt
    solver = torchdiffeq.odeint if gradient == "backprop" else torchdiffeq.odeint_adjoint
    ys = solver(m, y_in, tt, rtol=tol, atol=tol / 100, method="dopri5")
    nfev_fwd = m.n
    if tup:
        loss = torch.sum(ys[0] ** 2 * torch.tensor(_weights(ys[0].detach().numpy()))) \
            + torch.sum(ys[1])
    else:
        loss = torch.sum(ys ** 2 * torch.tensor(_weights(ys.detach().numpy())))
    loss.backward()
    nfev_bwd = m.n_vjp if gradient == "backprop" else m.n - nfev_fwd
    g = [p.grad.numpy() for p in m.ps]
    g += [yt.grad.numpy() if need_y0 else None, tt.grad.numpy() if need_t else None]
    ys = tuple(v.detach().numpy() for v in ys) if tup else ys.detach().numpy()
    return ys, g, nfev_fwd, nfev_bwd


def _rel(a, b):
    return np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max()


@pytest.mark.parametrize("gradient", ["backprop", "adjoint"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_counts_outputs_and_gradients_match_torchdiffeq(case, gradient):
    t, tup, _, _, need_y0, need_t = CASES[case]
    params = _params(1)
    y0 = np.random.default_rng(2).normal(size=(5, 2))
    ys, g, info = _ours(case, params, y0, t, gradient)
    ys_p, g_p, nf_p, nb_p = _peer(case, params, y0, t, gradient)
    assert info["nfev_forward"] == nf_p
    assert info["nfev_backward"] == nb_p
    for a, b in zip(ys if tup else [ys], ys_p if tup else [ys_p]):
        assert _rel(a, b) < TOL
    for k, (a, b) in enumerate(zip(g, g_p)):
        if b is not None:
            assert _rel(a, b) < TOL, f"gradient {k}"


@pytest.mark.parametrize("wrt", [0, 1, 2])
def test_check_grads_on_the_interpolated_traced_path(wrt):
    """Interior outputs come from the quartic (x = (t_i - t_k)/dt); d/dt_i, d/dy0 and
    d/dθ through it and through the traced first step (tight tolerance: the later step
    sizes are constants, which finite differences see only at the tolerance's level)."""
    t = np.array([0.0, 0.37, 0.81, 1.3])
    params = _params(5, h=6)
    y0 = np.random.default_rng(6).normal(size=(3, 2))

    def f(s, y, W1, b1, W2, b2):
        return _mlp(anp, s, y, W1, b1, W2, b2, 1.0)

    def out(params, y0, t):
        ys = odeint(f, y0, t, tuple(params), rtol=1e-11, atol=1e-11, gradient="backprop",
                    controller="torchdiffeq")
        return ys[1:3]                                   # interior outputs: interpolated
    args = [params, y0, t]
    check_grads(lambda x: out(*(args[:wrt] + [x] + args[wrt + 1:])), modes=["rev"],
                order=1)(args[wrt])


@pytest.mark.parametrize("kwargs, name", [
    (dict(controller="torchdifeq"), "controller"),
    (dict(controller="torchdiffeq", method="tsit5"), "method"),
    (dict(controller="torchdiffeq", gradient="checkpoint"), "gradient"),
    (dict(controller="torchdiffeq", output="clip"), "output"),
    (dict(controller="torchdiffeq", step_size=0.1), "step_size"),
])
def test_bad_arguments_name_themselves(kwargs, name):
    with pytest.raises(ValueError, match=name):
        odeint(lambda t, y: -y, np.ones(2), np.array([0.0, 1.0]), **kwargs)


@pytest.mark.parametrize("gradient", ["backprop", "adjoint"])
def test_float32_state_stays_float32_with_torchdiffeqs_steps(gradient):
    """torchdiffeq's mixed precision: the state (and tableau, dt in the stages) in float32,
    times in float64; the outputs stay float32 and the step count is torchdiffeq's (values
    to float32 rounding, ~5e-6 here: the two sum their stages in different orders)."""
    y0 = np.linspace(1.0, 2.0, 3).astype(np.float32)
    t = np.array([0.0, 0.5, 1.0])
    calls = [0]

    def g(s, y):
        calls[0] += 1
        return -y * (1 + s)
    info = {}
    ys = odeint(lambda s, y: -y * (1 + s), y0, t, rtol=1e-4, atol=1e-6, gradient=gradient,
                controller="torchdiffeq", info=info)
    ref = torchdiffeq.odeint(g, torch.tensor(y0), torch.tensor(t), rtol=1e-4, atol=1e-6)
    assert ys.dtype == np.float32
    assert info["nfev_forward"] == calls[0]
    np.testing.assert_allclose(ys, ref.numpy(), rtol=3e-5)
