"""PyTorch port of refimpl.dna.wgan (the same networks, channels-last interface), used only
by numerics/bench_wgan.py. Weights are copied from refimpl's parameter dicts:
conv W (K, C, D) -> torch (D, C, K); linear W (I, O) -> torch (O, I)."""
import numpy as np
import torch
import torch.nn.functional as F

RES_SCALE, LAMBDA = 0.3, 10.0


def _t(a):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=True)


def conv_params(p):
    return [_t(np.transpose(p["W"], (2, 1, 0))), _t(p["b"])]


def lin_params(p):
    return [_t(p["W"].T), _t(p["b"])]


def from_refimpl(gen, crit):
    G = {"fc": lin_params(gen["fc"]), "res": [[conv_params(c1), conv_params(c2)] for c1, c2 in gen["res"]],
         "out": conv_params(gen["out"])}
    D = {"inp": conv_params(crit["inp"]), "res": [[conv_params(c1), conv_params(c2)] for c1, c2 in crit["res"]],
         "fc": lin_params(crit["fc"])}
    return G, D


def flat(P):
    out = []
    for v in P.values():
        if isinstance(v, list) and v and isinstance(v[0], list):
            out += [t for blk in v for c in blk for t in c]
        else:
            out += v
    return out


def _conv(h, W, b):                       # h: (B, C, L)
    return F.conv1d(h, W, b, padding=(W.shape[2] - 1) // 2)


def _blocks(res, h):
    for (W1, b1), (W2, b2) in res:
        r = _conv(F.relu(h), W1, b1)
        r = _conv(F.relu(r), W2, b2)
        h = h + RES_SCALE * r
    return h


def generate(G, z):
    dim = G["out"][0].shape[1]
    h = F.linear(z, *G["fc"]).view(z.shape[0], -1, dim).transpose(1, 2)      # (B, dim, L)
    h = _conv(_blocks(G["res"], h), *G["out"])                               # (B, V, L)
    return torch.softmax(h, dim=1).transpose(1, 2)                           # (B, L, V)


def critic(D, x):
    h = _conv(x.transpose(1, 2), *D["inp"])
    h = _blocks(D["res"], h)
    return F.linear(h.transpose(1, 2).reshape(x.shape[0], -1), *D["fc"])[:, 0]


def critic_loss(D, G, x, z, eps):
    fake = generate(G, z)
    e = eps[:, None, None]
    xh = e * x + (1 - e) * fake                                              # differentiable in G too
    g, = torch.autograd.grad(critic(D, xh).sum(), xh, create_graph=True)
    norm = torch.sqrt((g ** 2).sum(dim=(1, 2)) + 1e-20)
    return critic(D, fake).mean() - critic(D, x).mean() + LAMBDA * ((norm - 1) ** 2).mean()


def make_opts(G, D, lr=1e-4):
    return (torch.optim.Adam(flat(G), lr=lr, betas=(0.5, 0.9), eps=1e-8),
            torch.optim.Adam(flat(D), lr=lr, betas=(0.5, 0.9), eps=1e-8))


def iteration(G, D, optG, optD, xs, zs, epss, z_gen):
    d_losses = []
    for x, z, e in zip(xs, zs, epss):
        optD.zero_grad()
        loss = critic_loss(D, G, x, z, e)
        gD = torch.autograd.grad(loss, flat(D))
        for p, g in zip(flat(D), gD):
            p.grad = g
        optD.step()
        d_losses.append(float(loss.detach()))
    optG.zero_grad()
    loss = -critic(D, generate(G, z_gen)).mean()
    gG = torch.autograd.grad(loss, flat(G))
    for p, g in zip(flat(G), gG):
        p.grad = g
    optG.step()
    return d_losses, float(loss.detach())
