"""torchdiffeq's `examples/latent_ode.py` training iteration, as a peer for
`numerics/bench_peers.py` (the latent ODE row).

Copied from the example (github.com/rtqichen/torchdiffeq, examples/latent_ode.py, MIT
licence, (c) Ricky T. Q. Chen; read at commit 657943a): `LatentODEfunc` (ELU MLP
latent_dim → nhidden → nhidden → latent_dim, counting its evaluations), `RecognitionRNN`
(i2h = Linear on cat(x, h), tanh, h2o applied at every step), `Decoder` (ReLU MLP),
`log_normal_pdf`, `normal_kl`, and the body of the training loop (zero_grad; the RNN read
backwards over every observation; z0 = ε exp(logvar / 2) + μ; odeint(func, z0, samp_ts);
decode; loss = mean(−log p(x | z) + KL); backward; Adam step). The example is a script (its
module scope parses arguments and draws data), so the classes are copied, not imported.

Adapted: float64 everywhere (the example calls `.float()`; `log_normal_pdf`'s constant
log 2π is taken in the input's dtype, as a float32 constant would alone move the loss by
~1e-8 relative); the weights are copied from refimpl's (transposed: torch's Linear stores
W as (out, in)); the data, the observation times and ε are passed in (the example draws its
spirals with `generate_spiral2d` and ε with `torch.randn` every iteration); `odeint` takes
the tolerances and gradient mode as arguments (the example: torchdiffeq's defaults
rtol 1e-7, atol 1e-9, backprop through the solver unless `--adjoint True`). Never imported
by `refimpl/`.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim


class LatentODEfunc(nn.Module):                       # examples/latent_ode.py

    def __init__(self, latent_dim=4, nhidden=20):
        super(LatentODEfunc, self).__init__()
        self.elu = nn.ELU(inplace=True)
        self.fc1 = nn.Linear(latent_dim, nhidden)
        self.fc2 = nn.Linear(nhidden, nhidden)
        self.fc3 = nn.Linear(nhidden, latent_dim)
        self.nfe = 0

    def forward(self, t, x):
        self.nfe += 1
        out = self.fc1(x)
        out = self.elu(out)
        out = self.fc2(out)
        out = self.elu(out)
        out = self.fc3(out)
        return out


class RecognitionRNN(nn.Module):                      # examples/latent_ode.py

    def __init__(self, latent_dim=4, obs_dim=2, nhidden=25, nbatch=1):
        super(RecognitionRNN, self).__init__()
        self.nhidden = nhidden
        self.nbatch = nbatch
        self.i2h = nn.Linear(obs_dim + nhidden, nhidden)
        self.h2o = nn.Linear(nhidden, latent_dim * 2)

    def forward(self, x, h):
        combined = torch.cat((x, h), dim=1)
        h = torch.tanh(self.i2h(combined))
        out = self.h2o(h)
        return out, h

    def initHidden(self):
        return torch.zeros(self.nbatch, self.nhidden, dtype=torch.float64)   # float64


class Decoder(nn.Module):                             # examples/latent_ode.py

    def __init__(self, latent_dim=4, obs_dim=2, nhidden=20):
        super(Decoder, self).__init__()
        self.relu = nn.ReLU(inplace=True)
        self.fc1 = nn.Linear(latent_dim, nhidden)
        self.fc2 = nn.Linear(nhidden, obs_dim)

    def forward(self, z):
        out = self.fc1(z)
        out = self.relu(out)
        out = self.fc2(out)
        return out


def log_normal_pdf(x, mean, logvar):                  # examples/latent_ode.py (dtype of x)
    const = torch.from_numpy(np.array([2. * np.pi])).to(x.dtype).to(x.device)
    const = torch.log(const)
    return -.5 * (const + logvar + (x - mean) ** 2. / torch.exp(logvar))


def normal_kl(mu1, lv1, mu2, lv2):                    # examples/latent_ode.py
    v1 = torch.exp(lv1)
    v2 = torch.exp(lv2)
    lstd1 = lv1 / 2.
    lstd2 = lv2 / 2.

    kl = lstd2 - lstd1 + ((v1 + (mu1 - mu2) ** 2.) / (2. * v2)) - .5
    return kl


def _copy(lin, W, b):
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(np.asarray(W, float).T.copy()))
        lin.bias.copy_(torch.from_numpy(np.asarray(b, float).copy()))


def step_fn(params, samp_trajs, samp_ts, epsilon, noise_std=0.3, lr=0.01, rtol=1e-7,
            atol=1e-9, adjoint=False):
    """The example's training iteration on copies of refimpl-layout weights.

    params: {"rec": {"cell": (W (obs+H, H), b), "out": (W (H, 2L), b)},
             "dyn": [(W, b)] x 3 (L → nh → nh → L), "dec": [(W, b)] x 2};
    samp_trajs (B, T, obs), samp_ts (T,), epsilon (B, L): the noise of z0 (fixed).
    Returns a closure () -> (loss before the step, nfe forward, nfe backward); each call
    runs one iteration (zero_grad, forward, backward, Adam step), so the weights move."""
    from torchdiffeq import odeint, odeint_adjoint
    torch.set_num_threads(1)
    solve = odeint_adjoint if adjoint else odeint
    (Wc, bc), (Wo, bo) = params["rec"]["cell"], params["rec"]["out"]
    obs_dim, nhidden_rnn = Wc.shape[0] - Wc.shape[1], Wc.shape[1]
    latent_dim, nhidden = params["dyn"][0][0].shape
    samp_trajs = torch.from_numpy(np.asarray(samp_trajs, float))
    samp_ts = torch.from_numpy(np.asarray(samp_ts, float))
    epsilon = torch.from_numpy(np.asarray(epsilon, float))
    nspiral = samp_trajs.shape[0]

    func = LatentODEfunc(latent_dim, nhidden).double()
    rec = RecognitionRNN(latent_dim, obs_dim, nhidden_rnn, nspiral).double()
    dec = Decoder(latent_dim, obs_dim, params["dec"][0][0].shape[1]).double()
    for lin, (W, b) in zip((func.fc1, func.fc2, func.fc3), params["dyn"]):
        _copy(lin, W, b)
    _copy(rec.i2h, Wc, bc)
    _copy(rec.h2o, Wo, bo)
    for lin, (W, b) in zip((dec.fc1, dec.fc2), params["dec"]):
        _copy(lin, W, b)
    opt_params = (list(func.parameters()) + list(dec.parameters()) + list(rec.parameters()))
    optimizer = optim.Adam(opt_params, lr=lr)

    def step():                                     # the body of the example's training loop
        optimizer.zero_grad()
        func.nfe = 0
        # backward in time to infer q(z_0)
        h = rec.initHidden()
        for t in reversed(range(samp_trajs.size(1))):
            obs = samp_trajs[:, t, :]
            out, h = rec.forward(obs, h)
        qz0_mean, qz0_logvar = out[:, :latent_dim], out[:, latent_dim:]
        z0 = epsilon * torch.exp(.5 * qz0_logvar) + qz0_mean

        # forward in time and solve ode for reconstructions
        pred_z = solve(func, z0, samp_ts, rtol=rtol, atol=atol).permute(1, 0, 2)
        pred_x = dec(pred_z)
        nf = func.nfe

        # compute loss
        noise_std_ = torch.zeros(pred_x.size(), dtype=pred_x.dtype) + noise_std
        noise_logvar = 2. * torch.log(noise_std_)
        logpx = log_normal_pdf(
            samp_trajs, pred_x, noise_logvar).sum(-1).sum(-1)
        pz0_mean = pz0_logvar = torch.zeros(z0.size(), dtype=z0.dtype)
        analytic_kl = normal_kl(qz0_mean, qz0_logvar,
                                pz0_mean, pz0_logvar).sum(-1)
        loss = torch.mean(-logpx + analytic_kl, dim=0)
        loss.backward()
        optimizer.step()
        return float(loss.detach()), nf, func.nfe - nf
    return step
