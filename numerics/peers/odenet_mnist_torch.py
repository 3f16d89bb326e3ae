"""torchdiffeq's `examples/odenet_mnist.py` ODE-Net training step at refimpl's classifier size,
as a peer for `numerics/bench_peers.py` (the ODE-Net classifier row).

From the example (github.com/rtqichen/torchdiffeq, examples/odenet_mnist.py, MIT licence,
(c) Ricky T. Q. Chen; read at commit 657943a): `ODEBlock` (integration time [0, 1],
odeint(odefunc, x, integration_time, rtol=tol, atol=tol), out[1], nfe counted by the
dynamics), the time-concatenating layer of `ConcatConv2d` (t prepended as a channel:
cat([t 1, x])), the model as nn.Sequential(downsampling, ODEBlock, head), nn.CrossEntropyLoss,
and the iteration body (zero_grad, logits, loss, backward, optimizer step).

Changed to refimpl's `odenet-classifier` (`refimpl/neural_ode/classifier.py`,
`exp_classifier.py`): fully connected layers instead of convolutions — the input layer
Linear(196, 64) on 14 x 14 images instead of the conv downsampling; the dynamics
`ConcatLinear(64, 64)` (t prepended, as ConcatConv2d), tanh, Linear(64, 64) instead of
GroupNorm/ReLU/ConcatConv2d x 2 (refimpl's `mlp_dynamics("tanh")`: t enters the first
layer only); the head Linear(64, 10) instead of norm/ReLU/pool/flatten/fc; Adam(lr 3e-3)
instead of SGD with momentum and the step schedule; tol 1e-3 (the example's default) and
odeint_adjoint (the example's `--adjoint True`; refimpl's ODE-Net uses the adjoint);
float64; weights copied from refimpl's. Never imported by `refimpl/`.
"""
import numpy as np
import torch
import torch.nn as nn


class ConcatLinear(nn.Module):
    """ConcatConv2d of the example with a Linear layer: the time prepended to the input."""

    def __init__(self, dim_in, dim_out):
        super(ConcatLinear, self).__init__()
        self._layer = nn.Linear(dim_in + 1, dim_out)

    def forward(self, t, x):
        tt = torch.ones_like(x[:, :1]) * t
        ttx = torch.cat([tt, x], 1)
        return self._layer(ttx)


class ODEfunc(nn.Module):

    def __init__(self, dim):
        super(ODEfunc, self).__init__()
        self.fc1 = ConcatLinear(dim, dim)
        self.act = nn.Tanh()
        self.fc2 = nn.Linear(dim, dim)
        self.nfe = 0

    def forward(self, t, x):
        self.nfe += 1
        out = self.fc1(t, x)
        out = self.act(out)
        out = self.fc2(out)
        return out


class ODEBlock(nn.Module):                            # examples/odenet_mnist.py

    def __init__(self, odefunc, odeint, tol):
        super(ODEBlock, self).__init__()
        self.odefunc = odefunc
        self.odeint, self.tol = odeint, tol
        self.integration_time = torch.tensor([0, 1]).double()

    def forward(self, x):
        self.integration_time = self.integration_time.type_as(x)
        out = self.odeint(self.odefunc, x, self.integration_time, rtol=self.tol, atol=self.tol)
        return out[1]

    @property
    def nfe(self):
        return self.odefunc.nfe

    @nfe.setter
    def nfe(self, value):
        self.odefunc.nfe = value


def _copy(lin, W, b):
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(np.asarray(W, float).T.copy()))
        lin.bias.copy_(torch.from_numpy(np.asarray(b, float).copy()))


def step_fn(params, x, y, tol=1e-3, lr=3e-3, adjoint=True):
    """One training step of the model on copies of refimpl's `init_classifier("odenet")`
    weights {"inp": (W (P, H), b), "mid": [(W (H+1, H), b), (W (H, H), b)], "out": (W, b)}
    (refimpl's first dynamics layer has t as its LAST input row; here t is prepended).
    x (B, P), y (B,) int labels. Returns a closure () -> (loss before the step, nfe forward,
    nfe backward); each call runs one step (the weights move)."""
    from torchdiffeq import odeint, odeint_adjoint
    torch.set_num_threads(1)
    (Wi, bi), (W1, b1), (W2, b2), (Wo, bo) = params["inp"], *params["mid"], params["out"]
    H = Wi.shape[1]
    func = ODEfunc(H)
    block = ODEBlock(func, odeint_adjoint if adjoint else odeint, tol)
    inp, head = nn.Linear(Wi.shape[0], H), nn.Linear(H, Wo.shape[1])
    model = nn.Sequential(inp, block, head).double()
    _copy(inp, Wi, bi)
    _copy(func.fc1._layer, np.concatenate([W1[H:], W1[:H]]), b1)     # t row first
    _copy(func.fc2, W2, b2)
    _copy(head, Wo, bo)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    xt = torch.from_numpy(np.asarray(x, float))
    yt = torch.from_numpy(np.asarray(y, np.int64))

    def step():                                     # the example's iteration body
        optimizer.zero_grad()
        block.nfe = 0
        logits = model(xt)
        loss = criterion(logits, yt)
        nf = block.nfe
        loss.backward()
        optimizer.step()
        return float(loss.detach()), nf, block.nfe - nf
    return step
