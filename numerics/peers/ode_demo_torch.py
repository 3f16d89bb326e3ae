"""torchdiffeq's `examples/ode_demo.py` training iteration, adapted as a peer for
`numerics/bench_peers.py` (the spiral dynamics fit, `neural-ode-spiral` in refimpl).

Taken from the example (github.com/rtqichen/torchdiffeq, examples/ode_demo.py): `ODEFunc`
(nn.Sequential(Linear(2, 50), Tanh, Linear(50, 2)) applied to y**3), the batch of
`get_batch` (batch_y0 = true_y[s], batch_t = t[:batch_time], batch_y = the next batch_time
observations of every start s) and the iteration body (zero_grad, odeint, mean |pred - y|,
backward). Adapted: float64; the weights are copied from refimpl's (the example draws
N(0, 0.1²) weights, zero biases: the same distribution as `init_spiral_model`); the data and
the start indices are passed in (the example regenerates the trajectory in float32 and draws
s with np.random.choice); odeint_adjoint (the example's `--adjoint`) with refimpl's
tolerances (`neural-ode-spiral`: rtol 1e-6, atol 1e-8; the example passes none, so torchdiffeq's
defaults 1e-7 / 1e-9). The module scope of the example (argparse, the data solve, the plot
set-up) is not imported. Never imported by `refimpl/`.
"""


def step_fn(params, t, y, start, batch_time, rtol=1e-6, atol=1e-8, adjoint=True):
    """One iteration of the example. params: refimpl [(W (2, 50), b), (W (50, 2), b)];
    t (N,), y (N, 2): the observed trajectory; start (M,) window starts. Returns a closure
    () -> (loss, flat gradient in refimpl's layout W1, b1, W2, b2, nfe forward, nfe backward)."""
    import numpy as np
    import torch
    import torch.nn as nn
    from torchdiffeq import odeint, odeint_adjoint
    torch.set_num_threads(1)
    solve = odeint_adjoint if adjoint else odeint

    class ODEFunc(nn.Module):                      # examples/ode_demo.py (init replaced by a copy)
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(2, 50), nn.Tanh(), nn.Linear(50, 2)).double()
            with torch.no_grad():
                for lin, (W, b) in zip(self.net[::2], params):
                    lin.weight.copy_(torch.from_numpy(W.T.copy()))
                    lin.bias.copy_(torch.from_numpy(b.copy()))
            self.nfe = 0

        def forward(self, t, y):
            self.nfe += 1
            return self.net(y ** 3)

    func = ODEFunc()
    true_y, tt = torch.from_numpy(np.asarray(y, float)), torch.from_numpy(np.asarray(t, float))
    s = torch.from_numpy(np.asarray(start, np.int64))
    batch_y0 = true_y[s]                                                    # (M, D)
    batch_t = tt[:batch_time]                                               # (T)
    batch_y = torch.stack([true_y[s + i] for i in range(batch_time)], dim=0)  # (T, M, D)
    lins = func.net[::2]

    def step():
        func.zero_grad()
        func.nfe = 0
        pred_y = solve(func, batch_y0, batch_t, rtol=rtol, atol=atol, method="dopri5")
        loss = torch.mean(torch.abs(pred_y - batch_y))
        nf = func.nfe
        loss.backward()
        g = np.concatenate([np.concatenate([lin.weight.grad.numpy().T.ravel(), lin.bias.grad.numpy()])
                            for lin in lins])
        return float(loss.detach()), g, nf, func.nfe - nf
    return step
