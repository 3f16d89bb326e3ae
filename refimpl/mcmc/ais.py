"""Annealed importance sampling (Neal 2001) with HMC transitions, and bidirectional Monte
Carlo (Grosse, Ghahramani, Adams 2015), as the evaluation code of "Inference Suboptimality
in VAEs" runs them (lxuechen/inference-suboptimality, `ais.py` / `hmc.py`).

Intermediate densities f_t(z) = p(z) p(x|z)^β_t, 0 = β_0 < ... < β_T = 1. Each of C chains
starts from the prior and, for t = 1..T,

    log w += (β_t − β_{t−1}) log p(x | z)          (the weight update, before the move)
    z ← HMC transition leaving f_t invariant     (fresh momentum, L leapfrog steps, MH test)

so E[exp(log w)] = p(x) = Z and log-mean-exp over chains is a stochastic lower bound of
log p(x). Reverse AIS from exact posterior draws, with the schedule run backwards, gives
E[exp(log w_rev)] = 1/Z: −log-mean-exp(log w_rev) is a stochastic upper bound (BDMC).

Step-size adaptation (`adapt=True`, the evaluation code's rule): per chain, ε ← 1.02 ε if the
fraction of accepted transitions since the chain's start exceeds 0.65, else 0.98 ε, clamped
to [1e-4, 0.5]. Because ε then depends on the chain's past, the transitions are not a fixed
sequence of f_t-invariant kernels and the estimator is **only approximately valid AIS**; use
`adapt=False` for an exactly valid estimator (the closed-form tests do). Gradients of log f_t
are clamped to ±1e4 as in the evaluation code.

    res = ais(log_prior, log_lik, z0, sigmoid_schedule(1000), rng)     # z0: (C, D) or (B, C, D)
    res.log_Z                                                           # scalar or (B,)
    lower, upper = bdmc(log_prior, log_lik, z_prior, z_post, betas, rng)

References
----------
R. M. Neal. Annealed importance sampling. Statistics and Computing 11 (2001).
R. Grosse, Z. Ghahramani, R. P. Adams. Sandwiching the marginal likelihood using
    bidirectional Monte Carlo. arXiv:1511.02543 (2015).
Y. Wu, Y. Burda, R. Salakhutdinov, R. Grosse. On the quantitative analysis of decoder-based
    generative models. ICLR 2017 (the sigmoidal schedule).
C. Cremer, X. Li, D. Duvenaud. Inference Suboptimality in Variational Autoencoders. ICML 2018.
"""
from dataclasses import dataclass

import numpy as np
from autograd import elementwise_grad
from scipy.special import expit, logsumexp

__all__ = ["AISResult", "ais", "bdmc", "linear_schedule", "sigmoid_schedule", "hmc_move"]

GRAD_CLAMP = 1e4
EPS_MIN, EPS_MAX = 1e-4, 0.5


@dataclass
class AISResult:
    """log_w: per-chain log weights, shape z0.shape[:-1]; log_Z: log-mean-exp over the chain
    axis (scalar or (B,)); accept_rate: mean acceptance over chains and transitions;
    step_size: final per-chain step sizes (shape z0.shape[:-1])."""
    log_w: np.ndarray
    log_Z: np.ndarray
    accept_rate: float
    step_size: np.ndarray


def linear_schedule(n):
    """β_t = t / n, t = 0..n: (n + 1,)."""
    if int(n) < 1:
        raise ValueError(f"n: expected at least 1 intermediate distribution, got {n}")
    return np.linspace(0.0, 1.0, int(n) + 1)


def sigmoid_schedule(n, delta=4):
    """Sigmoidal schedule (Wu et al. 2017): β_t = (σ(s_t) − σ(s_0)) / (σ(s_n) − σ(s_0)) for
    s_t evenly spaced in [−δ, δ], t = 0..n: (n + 1,), from 0 to 1 exactly."""
    if int(n) < 1:
        raise ValueError(f"n: expected at least 1 intermediate distribution, got {n}")
    if not delta > 0:
        raise ValueError(f"delta: expected > 0, got {delta!r}")
    s = expit(np.linspace(-delta, delta, int(n) + 1))
    return (s - s[0]) / (s[-1] - s[0])


def _value_and_grad(f):
    g = elementwise_grad(f)
    return lambda z: (f(z), g(z))


def hmc_move(z, logf_and_grad, eps, n_leapfrog, rng, start=None):
    """One HMC transition per chain (the evaluation code's `hmc_trajectory` + `accept_reject`).

    z: (..., D); eps: (...) per-chain step sizes; logf_and_grad(z) -> (log f (...), ∇ (..., D));
    start: logf_and_grad(z) if already known (saves one evaluation).
    Returns (new z, accepted (...) bool)."""
    v0 = rng.standard_normal(z.shape)
    lf0, g0 = logf_and_grad(z) if start is None else start
    e = eps[..., None]
    # leapfrog on U = −log f: v ← v − ε/2 ∇U; (z ← z + ε v; v ← v − ε ∇U) ...; v ← v − ε/2 ∇U
    v = v0 + 0.5 * e * np.clip(g0, -GRAD_CLAMP, GRAD_CLAMP)
    zz = z
    for i in range(1, n_leapfrog + 1):
        zz = zz + e * v
        lf, g = logf_and_grad(zz)
        v = v + (e if i < n_leapfrog else 0.5 * e) * np.clip(g, -GRAD_CLAMP, GRAD_CLAMP)
    with np.errstate(over="ignore", invalid="ignore"):
        # H = U + ½|v|²; accept with probability min(1, exp(H_current − H_proposed))
        log_prob = (lf - 0.5 * np.sum(v * v, -1)) - (lf0 - 0.5 * np.sum(v0 * v0, -1))
        log_prob = np.where(np.isfinite(log_prob), log_prob, -np.inf)
    accept = np.log(rng.random(log_prob.shape)) < log_prob
    return np.where(accept[..., None], zz, z), accept


def _anneal(log_prior, log_lik, z, betas, rng, n_leapfrog, step_size, adapt, log_lik_grad):
    betas = np.asarray(betas, float)
    lead = z.shape[:-1]
    log_w = np.zeros(lead)
    eps = np.full(lead, float(step_size))
    n_acc = np.zeros(lead)
    lp_g = _value_and_grad(log_prior)
    ll_g = _value_and_grad(log_lik) if log_lik_grad is None else log_lik_grad
    ll, gll = ll_g(z)
    if np.shape(ll) != lead or np.shape(gll) != z.shape:
        raise ValueError(f"log_lik: expected one value per chain, shape {lead} (and a gradient of shape {z.shape}), "
                         f"got {np.shape(ll)} (and {np.shape(gll)})")
    for t in range(1, len(betas)):
        log_w = log_w + (betas[t] - betas[t - 1]) * ll               # the weight update, at the current z
        b = betas[t]

        last = {}

        def logf_and_grad(zz, b=b):
            a, ga = lp_g(zz)
            c, gc = ll_g(zz)
            last["ll"], last["g"] = c, gc                             # hmc_move's last call is at the proposal
            return a + b * c, ga + b * gc

        a0, ga0 = lp_g(z)
        z, acc = hmc_move(z, logf_and_grad, eps, n_leapfrog, rng, start=(a0 + b * ll, ga0 + b * gll))
        # log p(x|z) and its gradient at the new z without another decoder pass
        ll, gll = np.where(acc, last["ll"], ll), np.where(acc[..., None], last["g"], gll)
        n_acc += acc
        if adapt:
            eps = np.clip(eps * np.where(n_acc / t > 0.65, 1.02, 0.98), EPS_MIN, EPS_MAX)
    return log_w, n_acc.mean() / max(len(betas) - 1, 1), eps, z


def _check(z, betas, name):
    z = np.asarray(z, float)
    if z.ndim not in (2, 3):
        raise ValueError(f"{name}: expected (C, D) or (B, C, D) (chains on axis -2), got shape {z.shape}")
    if not np.all(np.isfinite(z)):
        raise ValueError(f"{name}: expected finite starting points, got {np.sum(~np.isfinite(z))} non-finite values")
    betas = np.asarray(betas, float)
    if betas.ndim != 1 or betas.size < 2 or betas[0] != 0.0 or betas[-1] != 1.0 or np.any(np.diff(betas) <= 0):
        raise ValueError("betas: expected an increasing schedule from 0 to 1 (at least 2 values), got "
                         f"{betas[:3]}...{betas[-2:]} of length {betas.size}")
    return z, betas


def _check_step(n_leapfrog, step_size):
    if np.ndim(step_size) != 0 or not float(step_size) > 0 or int(n_leapfrog) < 1:
        raise ValueError(f"n_leapfrog, step_size: expected an integer >= 1 and a scalar > 0, got {n_leapfrog!r}, "
                         f"{step_size!r}")


def ais(log_prior, log_lik, z0, betas, rng, *, n_leapfrog=10, step_size=0.01, adapt=True, log_lik_grad=None):
    """Forward AIS from prior draws z0 (C, D) or (B, C, D) to p(z|x) ∝ p(z) p(x|z).

    log_prior, log_lik: (..., D) -> (...) (autograd-differentiable, row-wise independent),
    or pass `log_lik_grad(z) -> (log_lik, ∇log_lik)` (e.g. a hand-written decoder VJP; then
    `log_lik` itself is not called).
    Returns AISResult; log_Z is a stochastic lower bound of log p(x) (module docstring)."""
    z0, betas = _check(z0, betas, "z0")
    _check_step(n_leapfrog, step_size)
    log_w, acc, eps, _ = _anneal(log_prior, log_lik, z0, betas, rng, int(n_leapfrog), step_size, adapt,
                                 log_lik_grad)
    C = z0.shape[-2]
    return AISResult(log_w, logsumexp(log_w, axis=-1) - np.log(C), float(acc), eps)


def bdmc(log_prior, log_lik, z_prior, z_post, betas, rng, **ais_kwargs):
    """(lower, upper) stochastic bounds of log p(x): forward AIS from `z_prior`, reverse AIS
    from exact posterior draws `z_post` (data simulated from the model) along the reversed
    schedule, upper = −log-mean-exp of the reverse log weights. Shapes as `ais`."""
    fwd = ais(log_prior, log_lik, z_prior, betas, rng, **ais_kwargs)
    z_post, betas = _check(z_post, betas, "z_post")
    kw = dict(n_leapfrog=10, step_size=0.01, adapt=True, log_lik_grad=None)
    kw.update(ais_kwargs)
    log_w, _, _, _ = _anneal(log_prior, log_lik, z_post, betas[::-1], rng, int(kw["n_leapfrog"]),
                             kw["step_size"], kw["adapt"], kw["log_lik_grad"])
    C = z_post.shape[-2]
    upper = -(logsumexp(log_w, axis=-1) - np.log(C))
    return fwd.log_Z, upper
