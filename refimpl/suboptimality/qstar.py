"""The locally optimal factorised Gaussian q*_FFG(z|x): one q per datapoint, optimised from
scratch until its bound stops improving, vectorised over datapoints.

[Suboptimality Sec. 3] the approximation gap is log p(x) − L[q*], where q* is the best member
of the variational family for this x; the amortisation gap is L[q*] − L[q], q the encoder's.
q* is found with the evaluation code's optimiser and rule (lxuechen/inference-suboptimality,
`optimize_local_gaussian`): Adam (lr 1e-3) on the negative ELBO, the average loss compared
every `check_every` = 100 steps, stop after `patience` = 10 checks without improvement (the
evaluation code's `sentinel > 10` stops after 11). Two differences: all B datapoints optimise
at once (their losses are independent, so the gradient of the summed loss is each
datapoint's own gradient) and the rule watches the batch *sum* of the losses, where the
evaluation code runs one datapoint at a time with its own rule (and 100 samples a step, here
`n_samples` = 10): a datapoint still improving keeps the whole batch going, and the batch
stops only when the sum has stopped improving.

    mean, log_std, info = optimize_local_ffg(log_joint, mean0, log_std0, rng)
    elbo, iwae = bounds_ffg(log_joint, mean, log_std, rng, n=5000)     # same 5000 draws

`log_joint(z)` maps (S, B, D) -> (S, B): log p(x_b, z_{s,b}) for datapoint b.
"""
import numpy as np
from autograd import grad, value_and_grad
from scipy.special import logsumexp

from .local_grad import ffg_value_and_grad

__all__ = ["optimize_local", "optimize_local_ffg", "bounds_ffg", "log_normal_diag"]

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


class _Leaf(tuple):
    """Where an array of the tree sits in the flat vector: (index, shape)."""
    i = property(lambda self: self[0])
    shape = property(lambda self: self[1])

    def __new__(cls, i, shape):
        return tuple.__new__(cls, (i, shape))


def _flatten(tree):
    """(flat vector, unflatten) for nested dicts (sorted keys) / lists / tuples of arrays."""
    leaves = []

    def walk(t):
        if isinstance(t, dict):
            return {k: walk(t[k]) for k in sorted(t)}
        if isinstance(t, (list, tuple)):
            return type(t)(walk(u) for u in t)
        a = np.asarray(t, float)
        leaves.append(a)
        return _Leaf(len(leaves) - 1, a.shape)
    skeleton = walk(tree)
    sizes = np.cumsum([0] + [a.size for a in leaves])
    flat = np.concatenate([a.ravel() for a in leaves]) if leaves else np.zeros(0)

    def unflatten(v):
        def build(t):
            if isinstance(t, dict):
                return {k: build(u) for k, u in t.items()}
            if isinstance(t, _Leaf):
                return v[sizes[t.i]:sizes[t.i + 1]].reshape(t.shape)
            return type(t)(build(u) for u in t)
        return build(skeleton)
    return flat, unflatten


def optimize_local(neg_bound_sum, params0, draw_noise, rng, *, lr=1e-3, check_every=100, patience=10,
                   max_steps=50_000, value_and_grad_fn=None):
    """Adam on neg_bound_sum(params, noise) from params0 (any autograd container), with the
    evaluation code's stopping rule. draw_noise(rng) -> the noise of one step. Returns
    (params, info) with info = dict(steps, stopped (by the rule, not the cap), history).
    `value_and_grad_fn(params, noise) -> (value, grad tree)` replaces autograd (e.g. the
    hand-written gradients of `local_grad`); neg_bound_sum is then unused and may be None."""
    if check_every < 1 or patience < 1 or max_steps < check_every:
        raise ValueError(f"check_every, patience, max_steps: expected >= 1, >= 1, >= check_every, got "
                         f"{check_every}, {patience}, {max_steps}")
    # a plain tree walk (autograd.misc.flatten's unflatten runs a backward pass per call)
    x, unflatten = _flatten(params0)
    # differentiate w.r.t. the container and flatten the gradient off the tape: slicing a flat
    # vector on the tape costs one full-size add.at per parameter array in the backward pass
    vg_tree = value_and_grad(neg_bound_sum) if value_and_grad_fn is None else value_and_grad_fn

    def vg(xf, noise):
        val, g = vg_tree(unflatten(xf), noise)
        return val, _flatten(g)[0]
    m, v, tmp = np.zeros_like(x), np.zeros_like(x), np.empty_like(x)
    b1, b2, e = 0.9, 0.999, 1e-8
    best, since, acc, hist, step = np.inf, 0, 0.0, [], 0
    while step < max_steps:
        noise = draw_noise(rng)
        val, gr = vg(x, noise)
        acc += float(val)
        step += 1
        # Adam (Kingma & Ba 2015, Alg. 1), in place (the vector holds every datapoint's q):
        # m ← b1 m + (1−b1) g; v ← b2 v + (1−b2) g²; x ← x − lr m̂ / (√v̂ + e)
        m *= b1
        m += (1 - b1) * gr
        np.multiply(gr, gr, out=gr)
        v *= b2
        v += (1 - b2) * gr
        np.sqrt(v, out=tmp)
        tmp *= 1.0 / np.sqrt(1 - b2 ** step)
        tmp += e
        np.divide(m, tmp, out=tmp)
        tmp *= lr / (1 - b1 ** step)
        x -= tmp
        if step % check_every == 0:
            hist.append(acc / check_every)
            acc = 0.0
            if hist[-1] < best:
                best, since = hist[-1], 0
            else:
                since += 1
                if since >= patience:
                    return unflatten(x), dict(steps=step, stopped=True, history=hist)
    return unflatten(x), dict(steps=step, stopped=False, history=hist)


def optimize_local_ffg(log_joint, mean0, log_std0, rng, *, lr=1e-3, n_samples=10, check_every=100, patience=10,
                       max_steps=50_000, log_joint_grad=None):
    """Optimise a diagonal Gaussian per datapoint from (mean0, log_std0) (B, D).

    `log_joint_grad` (z (B, S, D) -> (log p(x, z), ∂/∂z), `local_grad.log_joint_and_grad`)
    switches to the hand-written gradient `local_grad.ffg_value_and_grad` (same noise, same value).

    Returns (mean, log_std, info) with info = dict(steps, stopped (bool: by the rule, not
    the step cap), history (mean loss per check, summed over datapoints))."""
    mean0, log_std0 = np.asarray(mean0, float), np.asarray(log_std0, float)
    if mean0.ndim != 2 or mean0.shape != log_std0.shape:
        raise ValueError(f"mean0, log_std0: expected equal shapes (B, D), got {mean0.shape}, {log_std0.shape}")
    (mean, log_std), info = optimize_local(
        lambda p, eps: _neg_elbo_sum(p, log_joint, eps), (mean0.copy(), log_std0.copy()),
        lambda r: r.standard_normal((n_samples,) + mean0.shape), rng, lr=lr, check_every=check_every,
        patience=patience, max_steps=max_steps,
        value_and_grad_fn=None if log_joint_grad is None else ffg_value_and_grad(log_joint_grad))
    return mean, log_std, info


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
