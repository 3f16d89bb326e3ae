"""Planar CNF training iteration in PyTorch + torchdiffeq, a peer for `numerics/bench_peers.py`
(refimpl: `cnf-vs-nf`'s CNF loss, `refimpl.ffjord.exp_cnf_vs_nf.model_log_prob("cnf", ...)`).

Follows torchdiffeq's `examples/cnf.py` (github.com/rtqichen/torchdiffeq, itself a port of
the gist rtqichen/91924063aa4cc95e7ef30b3a5491cc52): `HyperNetwork` (t -> tanh(fc1) ->
tanh(fc2) -> fc3, split into W, U, G, B with U <- U sigmoid(G)), `CNF.forward` (the M units
on the repeated batch, dz/dt = mean over the units, d(log p)/dt = -trace by one
`autograd.grad` per dimension with create_graph=True, FFJORD's `trace_df_dz`), the tuple state
(z, log p) and `odeint_adjoint(..., rtol=atol=1e-5, method="dopri5")` (the example's
`--adjoint`). Adapted to refimpl's computation: float64; data at t = 0, base N(0, I) at t = 1
(the example maps t1 = 10 -> t0 = 0 with base N(0, 0.1 I)), loss -mean(log N(z(1)) - Δlog p);
weights copied from refimpl's hypernetwork parameters (refimpl stores fc3 with its outputs
grouped per unit, `refimpl.ffjord.planar_hyper`: the permutation is undone here). Never
imported by `refimpl/`.
"""


def step_fn(params, x, t1=1.0, tol=1e-5):
    """params: refimpl's hypernetwork dict (`init_planar_cnf(..., time_dependence="hypernet")`);
    x (B, D). Returns () -> (loss, nfe forward, nfe backward)."""
    import math

    import numpy as np
    import torch
    import torch.nn as nn
    from torchdiffeq import odeint_adjoint
    torch.set_num_threads(1)
    H, M, E = params["A3"].shape
    D = (E - 1) // 3

    def fc3_rows(a):          # (..., M, 3D + 1) per unit -> (..., 3MD + M) as [W | U | G | B]
        return np.concatenate([a[..., :D].reshape(*a.shape[:-2], M * D),
                               a[..., D:2 * D].reshape(*a.shape[:-2], M * D),
                               a[..., 2 * D:3 * D].reshape(*a.shape[:-2], M * D), a[..., 3 * D]], -1)

    class HyperNetwork(nn.Module):                 # examples/cnf.py
        def __init__(self):
            super().__init__()
            self.blocksize = M * D
            self.fc1, self.fc2 = nn.Linear(1, H).double(), nn.Linear(H, H).double()
            self.fc3 = nn.Linear(H, 3 * self.blocksize + M).double()
            with torch.no_grad():
                for lin, W, b in ((self.fc1, params["A1"][None, :], params["c1"]),
                                  (self.fc2, params["A2"], params["c2"]),
                                  (self.fc3, fc3_rows(params["A3"]), fc3_rows(params["c3"]))):
                    lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
                    lin.bias.copy_(torch.from_numpy(b.copy()))

        def forward(self, t):
            p = torch.tanh(self.fc1(t.reshape(1, 1)))
            p = self.fc3(torch.tanh(self.fc2(p))).reshape(-1)
            bs = self.blocksize
            W = p[:bs].reshape(M, D, 1)
            U = p[bs:2 * bs].reshape(M, 1, D) * torch.sigmoid(p[2 * bs:3 * bs].reshape(M, 1, D))
            B = p[3 * bs:].reshape(M, 1, 1)
            return W, B, U

    class CNF(nn.Module):                          # examples/cnf.py
        def __init__(self):
            super().__init__()
            self.hyper_net = HyperNetwork()
            self.nfe = 0

        def forward(self, t, states):
            self.nfe += 1
            z = states[0]
            with torch.set_grad_enabled(True):
                z.requires_grad_(True)
                W, B, U = self.hyper_net(t)
                Z = torch.unsqueeze(z, 0).repeat(M, 1, 1)
                h = torch.tanh(torch.matmul(Z, W) + B)
                dz_dt = torch.matmul(h, U).mean(0)
                trace = 0.
                for i in range(z.shape[1]):                            # trace_df_dz
                    trace += torch.autograd.grad(dz_dt[:, i].sum(), z, create_graph=True)[0][:, i]
            return dz_dt, -trace

    func = CNF()
    xt = torch.from_numpy(np.asarray(x, float).copy())
    ts = torch.tensor([0.0, t1], dtype=torch.float64)

    def step():
        func.zero_grad()
        func.nfe = 0
        z_t, dlogp_t = odeint_adjoint(func, (xt, torch.zeros(len(xt), dtype=torch.float64)), ts,
                                      rtol=tol, atol=tol, method="dopri5")
        z1, dlogp = z_t[-1], dlogp_t[-1]
        logp = -0.5 * (z1 ** 2).sum(1) - 0.5 * D * math.log(2 * math.pi) - dlogp
        loss = -logp.mean()
        nf = func.nfe
        loss.backward()
        return float(loss.detach()), nf, func.nfe - nf
    return step
