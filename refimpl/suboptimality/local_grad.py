"""Hand-written gradients of the local bounds that q*_FFG and q*_flow optimise, for speed.

The local optimisers take thousands of Adam steps on a per-datapoint flow whose weights carry
a datapoint axis; through autograd each step pays for ~100 small primitives and for the
VJPs of container access (each builds a zero copy of the whole parameter tree), ~8x the
arithmetic. These functions compute the same value and gradient with plain NumPy: one
forward pass that keeps its activations, one backward pass by the chain rule, and the
decoder's hand-written VJP (`decoder_grad`). Their autograd twins are
`qstar._neg_elbo_sum` and `flow.flow_log_weights`; `tests/suboptimality/test_local_grad.py`
compares value and every gradient leaf with them.

Both return f(params, noise) -> (loss, grad tree) for `qstar.optimize_local(..., value_and_grad=f)`,
loss = −Σ_b (1/S) Σ_s log w_{s,b} (the summed negative S-sample bound of each datapoint b).

Layout inside: (B, S, ·) so every per-datapoint weight (B, in, out) is one batched matmul.
"""
import numpy as np
from scipy.special import expit

from .decoder_grad import bernoulli_decoder_loglik_grad

__all__ = ["log_joint_and_grad", "ffg_value_and_grad", "flow_value_and_grad"]

LOG_2PI = float(np.log(2 * np.pi))


def log_joint_and_grad(dec, x):
    """z (B, S, D) -> (log p(x_b, z) (B, S), ∂/∂z (B, S, D)) for a Bernoulli tanh decoder and
    p(z) = N(0, I)."""
    f = bernoulli_decoder_loglik_grad(dec, x)

    def lj(z):
        ll, g = f(z)
        return ll - 0.5 * np.sum(z * z, -1) - 0.5 * z.shape[-1] * LOG_2PI, g - z
    return lj


def ffg_value_and_grad(lj):
    """For params (mean (B, D), log_std (B, D)) and noise eps (S, B, D):
    ELBO_b = (1/S) Σ_s log p(x_b, mean + σ ε_s) + Σ_d log σ_d + (D/2)(1 + log 2π)."""
    def f(params, eps):
        mean, log_std = params
        e = np.swapaxes(eps, 0, 1)                                     # (B, S, D)
        sd = np.exp(log_std)
        S, D = e.shape[1], e.shape[2]
        val, g = lj(mean[:, None] + sd[:, None] * e)
        ent = np.sum(log_std, -1) + 0.5 * D * (1.0 + LOG_2PI)
        loss = -np.sum(val.mean(1) + ent)
        g_mean = -g.mean(1)
        g_log_std = -(np.mean(g * e, 1) * sd + 1.0)
        return loss, (g_mean, g_log_std)
    return f


def _mlp_fwd(layers, h):
    (W1, b1), (W2, b2) = layers
    a = np.tanh(h @ W1 + b1[:, None])                                  # (B, S, H)
    return a, a @ W2 + b2[:, None]                                     # (B, S, 2D)


def _mlp_bwd(layers, h, a, g_out):
    """Gradients of the two layers and of the input h, given ∂/∂out (B, S, 2D)."""
    (W1, b1), (W2, b2) = layers
    gW2 = np.swapaxes(a, 1, 2) @ g_out
    g_pre = (g_out @ np.swapaxes(W2, 1, 2)) * (1.0 - a * a)
    gW1 = np.swapaxes(h, 1, 2) @ g_pre
    return [(gW1, g_pre.sum(1)), (gW2, g_out.sum(1))], g_pre @ np.swapaxes(W1, 1, 2)


def flow_value_and_grad(lj):
    """For params {"flow": local flow (weights (B, in, out), learned q(v_0) "v0"), "mean",
    "log_std"} and noise (eps_z, eps_v) (S, B, D): the bound of `flow.flow_log_weights`
    ([Suboptimality Sec. 3.2])."""
    def f(params, noise):
        fl, mean, log_std = params["flow"], params["mean"], params["log_std"]
        ez, ev = (np.swapaxes(n, 0, 1) for n in noise)                 # (B, S, D)
        S, D = ez.shape[1], ez.shape[2]
        sd = np.exp(log_std)[:, None]
        v_log_std = fl["v0"]["log_std"]                                 # learned q(v_0) = N(m_b, s_b)
        vsd = np.exp(v_log_std)[:, None]
        z, v = mean[:, None] + sd * ez, fl["v0"]["mean"][:, None] + vsd * ev
        cache, logdet = [], 0.0
        for f1, f2 in zip(fl["f1"], fl["f2"]):
            a1, o1 = _mlp_fwd(f1, z)
            s1 = expit(o1[..., :D])
            v_new = v * s1 + o1[..., D:]                               # v ← v ⊙ σ1(z) + μ1(z)
            a2, o2 = _mlp_fwd(f2, v_new)
            s2 = expit(o2[..., :D])
            z_new = z * s2 + o2[..., D:]                               # z ← z ⊙ σ2(v) + μ2(v)
            logdet = logdet - np.sum(np.logaddexp(0.0, -o1[..., :D]) + np.logaddexp(0.0, -o2[..., :D]), -1)   # Σ log σ
            cache.append((z, v, a1, s1, v_new, a2, s2))
            z, v = z_new, v_new
        ar, orr = _mlp_fwd(fl["r"], z)
        r_ls, r_m = orr[..., :D], orr[..., D:]
        u = (v - r_m) * np.exp(-r_ls)
        log_r = np.sum(-0.5 * u * u - r_ls, -1) - 0.5 * D * LOG_2PI
        log_q = (np.sum(-0.5 * ez * ez - log_std[:, None] - 0.5 * ev * ev - v_log_std[:, None], -1) - D * LOG_2PI
                 - logdet)
        ll, g_ll = lj(z)
        w = ll + log_r - log_q                                          # (B, S)
        loss = -np.sum(w.mean(1))
        gw = -1.0 / S                                                   # ∂loss/∂w, every (b, s)
        # r(v_K | z_K): ∂log_r/∂r_ls = u² − 1, ∂/∂r_m = u e^{−r_ls}, ∂/∂v_K = −u e^{−r_ls}
        ue = u * np.exp(-r_ls)
        g_r, g_z_from_r = _mlp_bwd(fl["r"], z, ar, gw * np.concatenate([u * u - 1.0, ue], -1))
        gz = gw * g_ll + g_z_from_r
        gv = -gw * ue
        g_f1, g_f2 = [], []
        for (f1, f2), (z0, v0, a1, s1, v_new, a2, s2) in zip(list(zip(fl["f1"], fl["f2"]))[::-1], cache[::-1]):
            # z_new = z0 ⊙ s2 + m2; w has +log s2 (through −log q): ∂/∂a2 = gz z0 s2(1−s2) + gw (1 − s2)
            g_o2 = np.concatenate([gz * z0 * s2 * (1.0 - s2) + gw * (1.0 - s2), gz], -1)
            g2, g_vn = _mlp_bwd(f2, v_new, a2, g_o2)
            gv = gv + g_vn
            gz = gz * s2
            g_o1 = np.concatenate([gv * v0 * s1 * (1.0 - s1) + gw * (1.0 - s1), gv], -1)
            g1, g_z0 = _mlp_bwd(f1, z0, a1, g_o1)
            gz = gz + g_z0
            gv = gv * s1
            g_f1.append(g1)
            g_f2.append(g2)
        # z_0 = mean + σ ε_z, v_0 = m + s ε_v; −log q has +Σ log σ and +Σ log s directly
        g_mean = gz.sum(1)
        g_log_std = np.sum(gz * sd * ez, 1) + gw * S
        g_v0 = {"mean": gv.sum(1), "log_std": np.sum(gv * vsd * ev, 1) + gw * S}
        return loss, {"flow": {"f1": g_f1[::-1], "f2": g_f2[::-1], "r": g_r, "v0": g_v0}, "mean": g_mean,
                      "log_std": g_log_std}
    return f
