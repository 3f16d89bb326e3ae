"""The locally optimal factorised Gaussian q*_FFG(z|x): one q per datapoint, optimised from
scratch until its bound stops improving, vectorised over datapoints.

[Suboptimality Sec. 3] the approximation gap is log p(x) − L[q*], where q* is the best member
of the variational family for this x; the amortisation gap is L[q*] − L[q], q the encoder's.
q* is found as the evaluation code does (lxuechen/inference-suboptimality,
`optimize_local_gaussian`): Adam (lr 1e-3) on the negative ELBO, the average loss compared
every `check_every` = 100 steps, stop after `patience` = 10 checks without improvement.
All B datapoints optimise at once (their losses are independent, so the gradient of the
summed loss is each datapoint's own gradient); the stopping rule watches the batch mean.

    mean, log_std, info = optimize_local_ffg(log_joint, mean0, log_std0, rng)
    elbo, iwae = bounds_ffg(log_joint, mean, log_std, rng, n=5000)     # same 5000 draws

`log_joint(z)` maps (S, B, D) -> (S, B): log p(x_b, z_{s,b}) for datapoint b.
"""
import numpy as np
from autograd import grad
from scipy.special import logsumexp

__all__ = ["optimize_local_ffg", "bounds_ffg", "log_normal_diag"]

LOG_2PI = float(np.log(2 * np.pi))


def log_normal_diag(z, mean, log_std):
    """log N(z; mean, diag exp(2 log_std)) summed over the last axis."""
    import autograd.numpy as anp
    return anp.sum(-0.5 * ((z - mean) * anp.exp(-log_std)) ** 2 - log_std - 0.5 * LOG_2PI, axis=-1)


def _neg_elbo_sum(params, log_joint, eps):
    """−Σ_b ELBO_b with S samples: params (mean (B, D), log_std (B, D)), eps (S, B, D)."""
    import autograd.numpy as anp
    mean, log_std = params
    z = mean + anp.exp(log_std) * eps
    # ELBO_b = E[log p(x_b, z) − log q(z|x_b)] (the entropy in closed form: lower variance)
    ent = anp.sum(log_std, axis=-1) + 0.5 * mean.shape[-1] * (1.0 + LOG_2PI)
    return -anp.sum(anp.mean(log_joint(z), axis=0) + ent)


def optimize_local_ffg(log_joint, mean0, log_std0, rng, *, lr=1e-3, n_samples=10, check_every=100, patience=10,
                       max_steps=50_000):
    """Optimise a diagonal Gaussian per datapoint from (mean0, log_std0) (B, D).

    Returns (mean, log_std, info) with info = dict(steps, stopped (bool: by the rule, not
    the step cap), history (mean loss per check))."""
    mean0, log_std0 = np.asarray(mean0, float), np.asarray(log_std0, float)
    if mean0.ndim != 2 or mean0.shape != log_std0.shape:
        raise ValueError(f"mean0, log_std0: expected equal shapes (B, D), got {mean0.shape}, {log_std0.shape}")
    if check_every < 1 or patience < 1 or max_steps < check_every:
        raise ValueError(f"check_every, patience, max_steps: expected >= 1, >= 1, >= check_every, got "
                         f"{check_every}, {patience}, {max_steps}")
    g = grad(_neg_elbo_sum)
    x = [mean0.copy(), log_std0.copy()]
    m = [np.zeros_like(a) for a in x]
    v = [np.zeros_like(a) for a in x]
    b1, b2, e = 0.9, 0.999, 1e-8
    B = mean0.shape[0]
    best, since, acc, hist = np.inf, 0, 0.0, []
    step = 0
    while step < max_steps:
        eps = rng.standard_normal((n_samples,) + mean0.shape)
        gr = g(x, log_joint, eps)
        acc += float(_neg_elbo_sum(x, log_joint, eps)) / B
        step += 1
        for k in range(2):                       # Adam (Kingma & Ba 2015, Alg. 1)
            m[k] = b1 * m[k] + (1 - b1) * gr[k]
            v[k] = b2 * v[k] + (1 - b2) * gr[k] ** 2
            x[k] = x[k] - lr * (m[k] / (1 - b1 ** step)) / (np.sqrt(v[k] / (1 - b2 ** step)) + e)
        if step % check_every == 0:
            avg = acc / check_every
            hist.append(avg)
            acc = 0.0
            if avg < best:
                best, since = avg, 0
            else:
                since += 1
                if since >= patience:
                    return x[0], x[1], dict(steps=step, stopped=True, history=hist)
    return x[0], x[1], dict(steps=step, stopped=False, history=hist)


def bounds_ffg(log_joint, mean, log_std, rng, n=5000, chunk=500):
    """(ELBO (B,), IWAE-n (B,)) of q = N(mean, diag exp(2 log_std)) from the same n draws."""
    B, D = np.shape(mean)
    lw = []
    for lo in range(0, n, chunk):
        s = min(chunk, n - lo)
        z = mean + np.exp(log_std) * rng.standard_normal((s, B, D))
        lw.append(np.asarray(log_joint(z)) - log_normal_diag(z, mean, log_std))
    lw = np.concatenate(lw, axis=0)                                    # (n, B)
    return lw.mean(0), logsumexp(lw, axis=0) - np.log(n)
