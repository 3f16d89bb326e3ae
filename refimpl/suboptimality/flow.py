"""The paper's flow posterior: an auxiliary-variable flow on (z, v) with a reverse model.

[Suboptimality Sec. 3.2] With an auxiliary v ∈ R^D, q(z_0, v_0 | x) = N(z_0; μ(x), σ(x))·q(v_0 | x, z_0)
and each of K steps

    v ← v ⊙ σ_1(z) + μ_1(z),        z ← z ⊙ σ_2(v) + μ_2(v)

(σ_i = sigmoid of an MLP output, μ_i the other half of it; each half-step is triangular, so
log |det ∂(z_K, v_K)/∂(z_0, v_0)| = Σ_k Σ_d [log σ_1 + log σ_2]). With a reverse model
r(v_K | x, z_K) = N(v_K; μ_r, σ_r) the bound on log p(x) is

    L = E[ log p(x, z_K) + log r(v_K | x, z_K) − log q(z_K, v_K | x) ],
    log q(z_K, v_K | x) = log q(z_0 | x) + log q(v_0 | x, z_0) − Σ log σ.

Two uses, as in the evaluation code (lxuechen/inference-suboptimality):
- **amortised** (the flow encoder; `ctx_dim` = C): every MLP also reads encoder features
  h(x) (C,) — μ_i, σ_i are functions of (z, x) and (v, x), r = r(v_K | x, z_K), and
  q(v_0 | x, z_0) is an MLP of (z_0, h(x)) ("qv"). Conditioning on x enters the first layer
  as W [z; h(x)] = W_z z + W_h h(x) (`W_h` is the third entry of the first layer).
- **local** (q*_flow; `n_local` = B): one flow per datapoint, so x is implicit in the
  weights (W: (B, in, out)); q(v_0) = N(v_0; m_b, s_b) with learned per-datapoint (m_b, s_b)
  ("v0": {"mean", "log_std"}, (B, D) each).
Without either (`ctx_dim=None`, `n_local=None`): q(v_0) = N(0, I), r(v_K | z_K) (a flow on z alone).

Every MLP is in → H → 2D, tanh (the evaluation code uses ELU and two hidden layers for
q(v_0|·) and r; one tanh layer here, which the hand-written gradients of `local_grad` share).
"""
import autograd.numpy as anp
import numpy as np
from autograd.scipy.special import expit

__all__ = ["init_flow", "flow_forward", "flow_log_weights", "flow_terms"]

LOG_2PI = float(np.log(2 * np.pi))


def _dense(h, W, b):
    # h (..., B, i); W (i, o) shared or (B, i, o) per datapoint
    if W.ndim == 3:
        # batched matmul over the datapoint axis (6x faster than einsum, with autograd's VJPs)
        if h.ndim == 2:                                                # (B, i)
            return anp.matmul(h[:, None, :], W)[:, 0, :] + b
        lead = h.shape[:-2]
        hs = anp.reshape(h, (-1,) + h.shape[-2:])                      # (S, B, i)
        out = anp.swapaxes(anp.matmul(anp.swapaxes(hs, 0, 1), W), 0, 1)   # (S, B, o)
        return anp.reshape(out, lead + out.shape[-2:]) + b
    return anp.dot(h, W) + b


def _mlp(layers, h, ctx=None):
    """h (..., B, in) -> (..., B, 2D); a first layer (W, b, W_h) also reads ctx = h(x) (B, C)."""
    first, (W2, b2) = layers[0], layers[1]
    pre = _dense(h, first[0], first[1])                                # (..., B, H)
    if len(first) == 3:
        if ctx is None:
            raise ValueError("ctx: this flow conditions on encoder features h(x) (built with ctx_dim); "
                             "pass ctx (B, C)")
        pre = pre + anp.dot(ctx, first[2])                             # + W_h h(x): (B, H), broadcast over samples
    return _dense(anp.tanh(pre), W2, b2)


def init_flow(rng, D, n_steps=2, hidden=50, n_local=None, scale=0.01, ctx_dim=None):
    """Flow parameters. n_local = B: per-datapoint weights and a learned q(v_0) per datapoint
    (the local q*_flow); ctx_dim = C: an amortised flow conditioned on encoder features (C,).
    The last layers start near zero, so the flow starts near v ← v/2, z ← z/2 (σ ≈ 1/2) and
    q(v_0|·), r start near N(0, I)."""
    if n_local is not None and ctx_dim is not None:
        raise ValueError("n_local, ctx_dim: a local flow conditions on x through its own weights; give one of them")
    lead = () if n_local is None else (int(n_local),)

    def mlp(d_in=D):
        first = (rng.standard_normal(lead + (d_in, hidden)) / np.sqrt(d_in), np.zeros(lead + (hidden,)))
        if ctx_dim is not None:
            first = first + (rng.standard_normal((int(ctx_dim), hidden)) / np.sqrt(ctx_dim),)
        return [first, (scale * rng.standard_normal(lead + (hidden, 2 * D)), np.zeros(lead + (2 * D,)))]
    p = {"f1": [mlp() for _ in range(n_steps)], "f2": [mlp() for _ in range(n_steps)], "r": mlp()}
    if n_local is not None:
        p["v0"] = {"mean": np.zeros((int(n_local), D)), "log_std": np.zeros((int(n_local), D))}
    elif ctx_dim is not None:
        p["qv"] = mlp()
    return p


def flow_forward(params, z, v, ctx=None):
    """(z_K, v_K, log|det|): z, v (..., B, D) -> same shapes and (..., B)."""
    logdet = 0.0
    for f1, f2 in zip(params["f1"], params["f2"]):
        a1, m1 = anp.split(_mlp(f1, z, ctx), 2, axis=-1)          # halves (split: a cheap VJP)
        s1 = expit(a1)
        v = v * s1 + m1                                        # v ← v ⊙ σ1(z) + μ1(z)
        a2, m2 = anp.split(_mlp(f2, v, ctx), 2, axis=-1)
        s2 = expit(a2)
        z = z * s2 + m2                                        # z ← z ⊙ σ2(v) + μ2(v)
        # log σ(a) = −log(1 + e^{−a}) (finite for every a, as the evaluation code's logit − softplus)
        logdet = logdet - anp.sum(anp.logaddexp(0.0, -a1) + anp.logaddexp(0.0, -a2), axis=-1)
    return z, v, logdet


def _log_normal(x, mean, log_std):
    return anp.sum(-0.5 * ((x - mean) * anp.exp(-log_std)) ** 2 - log_std - 0.5 * LOG_2PI, axis=-1)


def _q_v0(params, z0, ctx):
    """(mean, log std) of q(v_0 | x, z_0): (..., B, D) or broadcastable."""
    if "qv" in params:                                         # amortised: an MLP of (z_0, h(x))
        log_std, mean = anp.split(_mlp(params["qv"], z0, ctx), 2, axis=-1)
        return mean, log_std
    if "v0" in params:                                         # local: learned per datapoint
        return params["v0"]["mean"], params["v0"]["log_std"]
    return 0.0, 0.0


def flow_log_weights(params, log_joint, mean, log_std, eps_z, eps_v, ctx=None):
    """Per-sample log w = log p(x, z_K) + log r(v_K|x, z_K) − log q(z_K, v_K|x): (S, B).

    mean, log_std (B, D) of q(z_0|x); eps_z, eps_v (S, B, D) standard normal noise;
    log_joint (S, B, D) -> (S, B); ctx (B, C) the encoder features for an amortised flow
    built with ctx_dim. Mean over S is the bound; logsumexp − log S its IWAE."""
    lj, neg_ent = flow_terms(params, log_joint, mean, log_std, eps_z, eps_v, ctx)
    return lj - neg_ent


def flow_terms(params, log_joint, mean, log_std, eps_z, eps_v, ctx=None):
    """(log p(x, z_K), log q(z_K, v_K|x) − log r(v_K|x, z_K)), each (S, B): the bound's two
    parts, so training can anneal the second (the paper's warm-up)."""
    z0 = mean + anp.exp(log_std) * eps_z
    v_mean, v_log_std = _q_v0(params, z0, ctx)
    v0 = v_mean + anp.exp(v_log_std) * eps_v
    zK, vK, logdet = flow_forward(params, z0, v0, ctx)
    r_log_std, r_mean = anp.split(_mlp(params["r"], zK, ctx), 2, axis=-1)
    log_r = _log_normal(vK, r_mean, r_log_std)           # r(v_K | x, z_K)
    # log q(z_K, v_K | x) = log q(z_0|x) + log q(v_0|x, z_0) − Σ log σ   [Suboptimality Sec. 3.2]
    log_q = _log_normal(z0, mean, log_std) + _log_normal(v0, v_mean, v_log_std) - logdet
    return log_joint(zK), log_q - log_r
