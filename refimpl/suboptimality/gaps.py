"""VAEs with factorised-Gaussian or flow encoders, and the paper's decomposition of the
inference gap.

[Suboptimality Sec. 3] (its [Suboptimality Table 2] in shape) for a trained model and datapoint x:

    log p̂(x) = max(AIS, IWAE-n under q, under q*_FFG, under q*_flow)   (so log p̂ ≥ every L)
    approximation gap = log p̂(x) − L[q*],   amortization gap = L[q*] − L[q],
    inference gap = log p̂(x) − L[q] = their sum,

each L the ELBO of its q from the same n draws as its IWAE; q* of the encoder's own family
(q*_FFG for the FFG-trained model, q*_flow for the flow-trained one), the other reported.

Models: p(z) = N(0, I); Bernoulli decoder D → hidden → pixels; encoder pixels → hidden → 2D
(`refimpl.vi.vae` networks, tanh); the flow encoder adds the amortised auxiliary flow of
`flow.py` on top of its Gaussian, conditioned on x through the encoder's last hidden layer
h(x) (q(v_0|x, z_0), the coupling networks and r(v_K|x, z_K) all read it; the evaluation code
feeds a projection of that layer, `x_info`). Warm-up anneals **only the entropy term** (the paper's
Sec. 5): the training bound is E[log p(x|z) + log p(z) − w·log q(z|x)], w from 0 to 1 over
`warmup` iterations (for the flow, w multiplies log q(z_K, v_K|x) − log r(v_K|x, z_K)).
"""
import time

import autograd.numpy as anp
import numpy as np
from autograd import grad
from autograd.misc.optimizers import adam

from ..mcmc.ais import ais, sigmoid_schedule
from ..nn import init_mlp, mlp2d
from ..vi.vae import bernoulli_loglik, decoder_logits, init_vae
from .decoder_grad import bernoulli_decoder_loglik_grad
from .flow import flow_log_weights, flow_terms, init_flow
from .local_grad import flow_value_and_grad, log_joint_and_grad
from .qstar import bounds_ffg, log_normal_diag, optimize_local

__all__ = ["init_model", "encode", "log_joint_fn", "train_vae", "local_flow", "evaluate_gaps"]

LOG_2PI = float(np.log(2 * np.pi))


def init_model(rng, x_dim, z_dim, hidden=(200, 200), kind="ffg", flow_steps=2, flow_hidden=200, x_mean=None,
               enc_hidden=None):
    """VAE parameters: decoder z_dim → reversed(hidden) → x_dim, encoder x_dim → enc_hidden
    (default `hidden`) → 2 z_dim ([Suboptimality Table 3]'s wider encoder: a larger
    `enc_hidden`), plus the amortised flow for kind="flow" (hidden `flow_hidden`, as the
    evaluation code's 200), conditioned on the encoder's last hidden layer."""
    if kind not in ("ffg", "flow"):
        raise ValueError(f"kind: expected 'ffg' or 'flow', got {kind!r}")
    p = init_vae(rng, x_dim, z_dim, hidden=hidden, x_mean=x_mean)
    if enc_hidden is not None:
        enc_hidden = tuple(int(h) for h in enc_hidden)
        if not enc_hidden or min(enc_hidden) < 1:
            raise ValueError(f"enc_hidden: expected a non-empty tuple of positive widths, got {enc_hidden!r}")
        p["enc"] = init_mlp(rng, [x_dim, *enc_hidden, 2 * z_dim])
    if kind == "flow":
        p["flow"] = init_flow(rng, z_dim, n_steps=flow_steps, hidden=flow_hidden, ctx_dim=p["enc"][-1][0].shape[0])
    return p


def encode(params, x):
    """(mean, log_std, h(x)): the encoder's q(z_0|x) (B, D) each = `refimpl.vi.vae.encoder`,
    and its last hidden layer h(x) (B, H), the features the amortised flow conditions on."""
    *hidden, (W, b) = params["enc"]
    h = x
    for Wi, bi in hidden:
        h = anp.tanh(anp.dot(h, Wi) + bi)                              # (B, H_l)
    out = anp.dot(h, W) + b                                            # (B, 2D)
    D = out.shape[-1] // 2
    return out[..., :D], out[..., D:], h


def log_joint_fn(params, x):
    """z (S, B, D) -> log p(x_b, z) (S, B) for the batch x (B, P). The decoder runs on the
    (S·B, D) rows through `refimpl.nn.mlp2d` (= `refimpl.vi.vae.decoder_logits`, tanh, with
    plain-matmul VJPs)."""
    def lj(z):
        S, B, D = z.shape
        logits = anp.reshape(mlp2d(params["dec"], anp.reshape(z, (S * B, D)), "tanh"), (S, B, -1))
        return anp.sum(-0.5 * z ** 2 - 0.5 * LOG_2PI, axis=-1) + bernoulli_loglik(x, logits)
    return lj


def _train_bound(params, x, eps_z, eps_v, w):
    mean, log_std, h = encode(params, x)
    lj = log_joint_fn(params, x)
    if "flow" in params:
        a, b = flow_terms(params["flow"], lj, mean, log_std, eps_z, eps_v, h)
        return anp.mean(a - w * b)
    z = mean + anp.exp(log_std) * eps_z
    return anp.mean(lj(z) - w * log_normal_diag(z, mean, log_std))


def train_vae(X, rng, *, kind="ffg", z_dim=20, hidden=(200, 200), iters=2000, batch_size=100, lr=1e-3, warmup=500,
              params=None, enc_hidden=None, flow_hidden=200):
    """Adam on minibatches of X (N, P) in {0, 1}; returns (params, seconds)."""
    N, P = X.shape
    if params is None:
        params = init_model(rng, P, z_dim, hidden, kind, x_mean=X.mean(0), enc_hidden=enc_hidden,
                            flow_hidden=flow_hidden)
    seed = int(rng.integers(2 ** 31))

    def loss(p, i):
        r = np.random.default_rng([seed, i])
        x = X[r.integers(N, size=batch_size)]
        w = 1.0 if warmup == 0 else min(1.0, i / warmup)
        return -_train_bound(p, x, r.standard_normal((1, batch_size, z_dim)), r.standard_normal((1, batch_size, z_dim)),
                             w)
    t0 = time.perf_counter()
    params = adam(grad(loss), params, num_iters=iters, step_size=lr)
    return params, time.perf_counter() - t0


def local_flow(params, x, rng, *, flow_steps=2, flow_hidden=50, n_samples=10, hand_grad=True, **stop):
    """q*_flow: a flow per datapoint (own q(z_0), q(v_0), flow and r weights), optimised from
    scratch with the stopping rule. Returns (flow params, mean, log_std, info). hand_grad:
    the hand-written gradient of `local_grad` (False: autograd through `flow_log_weights`)."""
    B, D = x.shape[0], params["dec"][0][0].shape[0]
    lj = log_joint_fn(params, x)
    p0 = {"flow": init_flow(rng, D, n_steps=flow_steps, hidden=flow_hidden, n_local=B),
          "mean": np.zeros((B, D)), "log_std": np.zeros((B, D))}

    def neg(p, noise):
        return -anp.sum(anp.mean(flow_log_weights(p["flow"], lj, p["mean"], p["log_std"], *noise), axis=0))
    vg = flow_value_and_grad(log_joint_and_grad(params["dec"], x)) if hand_grad else None
    p, info = optimize_local(neg, p0, lambda r: (r.standard_normal((n_samples, B, D)),
                                                r.standard_normal((n_samples, B, D))), rng,
                             value_and_grad_fn=vg, **stop)
    return p["flow"], p["mean"], p["log_std"], info


def _flow_bounds(flow, lj, mean, log_std, rng, n, chunk=500, ctx=None):
    lw = np.concatenate([flow_log_weights(flow, lj, mean, log_std, rng.standard_normal((min(chunk, n - lo),) + mean.shape),
                                          rng.standard_normal((min(chunk, n - lo),) + mean.shape), ctx)
                         for lo in range(0, n, chunk)], axis=0)
    from scipy.special import logsumexp
    return lw.mean(0), logsumexp(lw, axis=0) - np.log(n)


def evaluate_gaps(params, x, rng, *, n_bound=5000, ais_dists=1000, ais_chains=16, stop=None, flow_local=None,
                  qstar=("ffg", "flow")):
    """The decomposition for the datapoints x (B, P): a dict of (B,) arrays and stage times.
    qstar: which local optima to fit (both by default; the gaps use the encoder's own family,
    so that one is required); a q* left out has no `elbo_qstar_*` entry and no part in log p̂."""
    own_kind = "flow" if "flow" in params else "ffg"
    if own_kind not in qstar or not set(qstar) <= {"ffg", "flow"}:
        raise ValueError(f"qstar: expected a subset of ('ffg', 'flow') holding the encoder's own family "
                         f"{own_kind!r}, got {qstar!r}")
    stop = dict(stop or {})
    flow_local = dict(flow_local or {})
    t, out, steps, stopped = {}, {}, {}, {}
    lj = log_joint_fn(params, x)
    B = x.shape[0]
    mean, log_std, h = encode(params, x)
    t0 = time.perf_counter()
    if own_kind == "flow":
        elbo_q, iwae_q = _flow_bounds(params["flow"], lj, mean, log_std, rng, n_bound, ctx=h)
    else:
        elbo_q, iwae_q = bounds_ffg(lj, mean, log_std, rng, n_bound)
    t["q"] = time.perf_counter() - t0
    iwaes = [iwae_q]
    if "ffg" in qstar:
        t0 = time.perf_counter()
        from .qstar import optimize_local_ffg
        m_ffg, s_ffg, info = optimize_local_ffg(lj, np.zeros_like(mean), np.zeros_like(mean), rng,
                                                log_joint_grad=log_joint_and_grad(params["dec"], x), **stop)
        out["elbo_qstar_ffg"], iwae = bounds_ffg(lj, m_ffg, s_ffg, rng, n_bound)
        iwaes.append(iwae)
        steps["ffg"], stopped["ffg"] = info["steps"], info["stopped"]
        t["qstar_ffg"] = time.perf_counter() - t0
    if "flow" in qstar:
        t0 = time.perf_counter()
        fl, m_fl, s_fl, info = local_flow(params, x, rng, **flow_local, **stop)
        out["elbo_qstar_flow"], iwae = _flow_bounds(fl, lj, m_fl, s_fl, rng, n_bound)
        iwaes.append(iwae)
        steps["flow"], stopped["flow"] = info["steps"], info["stopped"]
        t["qstar_flow"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    D = mean.shape[1]
    z0 = rng.standard_normal((B, ais_chains, D))

    def log_prior(z):
        return anp.sum(-0.5 * z ** 2 - 0.5 * LOG_2PI, axis=-1)

    def log_lik(z):                                       # z (B, C, D): datapoint b's chains
        return bernoulli_loglik(x[:, None, :], decoder_logits(params, z))
    # the hand-written decoder VJP (tested against autograd) instead of autograd's tape
    a = ais(log_prior, log_lik, z0, sigmoid_schedule(ais_dists), rng,
            log_lik_grad=bernoulli_decoder_loglik_grad(params["dec"], x))
    t["ais"] = time.perf_counter() - t0
    log_px = np.max(np.stack([a.log_Z] + iwaes), axis=0)
    own = out[f"elbo_qstar_{own_kind}"]
    return dict(out, log_px=log_px, ais=a.log_Z, elbo_q=elbo_q, iwae_q=iwae_q, approximation_gap=log_px - own,
                amortization_gap=own - elbo_q, inference_gap=log_px - elbo_q, seconds=t,
                local_steps=tuple(steps.get(k) for k in ("ffg", "flow")),
                local_stopped=tuple(stopped.get(k) for k in ("ffg", "flow")), ais_accept=a.accept_rate)
