"""PyTorch port of the evaluation code's AIS (lxuechen/inference-suboptimality: `ais.py`
`ais_trajectory`, `hmc.py` `hmc_trajectory` / `accept_reject`), for numerics/bench_ais.py.
Written from the structure of that code (read, not copied); never imported by refimpl.

Per intermediate distribution t (j = 1..T): log w += log f_t(z) − log f_{t−1}(z) (two decoder
passes, as the original); fresh momentum; L leapfrog steps on U = −log f_t with gradients
clamped to ±1e4 (L + 1 gradient evaluations); accept/reject on H = U + ½|v|² (two more
passes); per-chain ε × 1.02 if accept_hist / j > 0.65 else × 0.98, clamped to [1e-4, 0.5].
Chains are the rows of a (B·C, D) batch; log p(x) = log-mean-exp over each datapoint's C.
"""
import math

import torch

LOG_2PI = math.log(2 * math.pi)


class Decoder(torch.nn.Module):
    """tanh MLP with the weights of refimpl's `params["dec"]` ([(W (in, out), b)])."""

    def __init__(self, dec):
        super().__init__()
        self.layers = torch.nn.ModuleList()
        for W, b in dec:
            lin = torch.nn.Linear(W.shape[0], W.shape[1], dtype=torch.float64)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W.T.copy()))
                lin.bias.copy_(torch.from_numpy(b.copy()))
            lin.requires_grad_(False)
            self.layers.append(lin)

    def forward(self, z):
        h = z
        for i, lin in enumerate(self.layers):
            h = lin(h)
            if i < len(self.layers) - 1:
                h = torch.tanh(h)
        return h


def log_normal_std(z):
    return -0.5 * (z * z).sum(1) - 0.5 * z.shape[1] * LOG_2PI


def log_bernoulli(logit, x):
    return -torch.nn.functional.binary_cross_entropy_with_logits(logit, x, reduction="none").sum(1)


def hmc_trajectory(z0, v0, grad_U, eps, L=10):
    e = eps.view(-1, 1)
    z = z0
    v = v0 - 0.5 * e * grad_U(z)
    for i in range(1, L + 1):
        z = z + e * v
        if i < L:
            v = v - e * grad_U(z)
    v = v - 0.5 * e * grad_U(z)
    return z.detach(), (-v).detach()


def accept_reject(z0, v0, z, v, eps, accept_hist, j, U):
    K = lambda u: 0.5 * (u * u).sum(1)                        # noqa: E731
    with torch.no_grad():
        prob = torch.exp(K(v0) + U(z0) - K(v) - U(z))
    accept = (prob > torch.rand(prob.shape, dtype=prob.dtype)).to(z.dtype)
    z = z * accept.view(-1, 1) + z0 * (1 - accept.view(-1, 1))
    accept_hist = accept_hist + accept
    crit = (accept_hist / j > 0.65).to(z.dtype)
    eps = (eps * (1.02 * crit + 0.98 * (1 - crit))).clamp(1e-4, 0.5)
    return z, eps, accept_hist


def ais_trajectory(decoder, x, z0, schedule, L=10, eps0=0.01, return_state=False):
    """x (B, P) repeated per chain; z0 (B, C, D) prior draws -> (log p(x) (B,), acceptance);
    return_state: also the per-chain log weights (B, C) and final step sizes (B, C)."""
    B, C, D = z0.shape
    xb = x.repeat_interleave(C, 0)                             # row b·C + c: datapoint b
    z = z0.reshape(B * C, D).clone()

    def log_f(zz, t):
        return log_normal_std(zz) + t * log_bernoulli(decoder(zz), xb)

    eps = torch.full((B * C,), eps0, dtype=z.dtype)
    hist = torch.zeros(B * C, dtype=z.dtype)
    logw = torch.zeros(B * C, dtype=z.dtype)
    for j, (t0, t1) in enumerate(zip(schedule[:-1], schedule[1:]), 1):
        with torch.no_grad():
            logw += log_f(z, t1) - log_f(z, t0)
        v0 = torch.randn_like(z)

        def U(zz, t1=t1):
            return -log_f(zz, t1)

        def grad_U(zz, t1=t1):
            zz = zz.detach().requires_grad_(True)
            g, = torch.autograd.grad(U(zz).sum(), zz)
            return g.clamp(-1e4, 1e4)
        zp, vp = hmc_trajectory(z, v0, grad_U, eps, L)
        z, eps, hist = accept_reject(z, v0, zp, vp, eps, hist, j, U)
    lw = logw.view(B, C)
    out = (torch.logsumexp(lw, 1) - math.log(C), float(hist.mean() / (len(schedule) - 1)))
    return out + (lw, eps.view(B, C)) if return_state else out
