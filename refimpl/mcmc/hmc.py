"""Hamiltonian Monte Carlo: leapfrog, dual-averaging step size, multi-chain driver.

One transition (Neal 2011, Fig. 2) with identity mass matrix, q: (D,):

    p ~ N(0, I);   H(q, p) = −log π(q) + ½ pᵀp
    leapfrog (eq. (5.18)-(5.20)):  p ← p + ε/2 ∇log π(q);  q ← q + ε p;  p ← p + ε/2 ∇log π(q)
    accept with probability min(1, exp(H(q, p) − H(q', p')))   (eq. (5.21)).

Warm-up adapts ε by dual averaging (Hoffman & Gelman 2014, Alg. 5 / eq. (6)) towards a
target mean acceptance δ:

    H̄_m = (1 − 1/(m + t₀)) H̄_{m−1} + (δ − α_m)/(m + t₀)
    log ε_m = μ − √m / γ · H̄_m,        μ = log(10 ε₀)
    log ε̄_m = m^{−κ} log ε_m + (1 − m^{−κ}) log ε̄_{m−1}

and sampling uses the final ε̄. With a fixed trajectory length εL, HMC is not ergodic on
a Gaussian whose frequency ω has ωεL ≈ kπ (the chain flips q ↔ −q, Neal 2011, Sec.
5.4.2.2); so by default each transition draws its number of leapfrog steps uniformly
from {⌈L/2⌉, …, L} (`jitter=True`). The driver draws every random number (momenta, the log
uniforms of the accept tests) itself and hands them to a `transition` function, so a
NumPy transition and its numba twin (`bnn.transition_numba`) see the same randomness and
must produce the same chain.

References
----------
R. Neal. MCMC using Hamiltonian dynamics. Handbook of MCMC, 2011, Sec. 5.3.
M. Hoffman, A. Gelman. The No-U-Turn Sampler. JMLR 15, 2014, Alg. 4 and 5.
"""
from dataclasses import dataclass

import numpy as np

from .diagnostics import ess, split_rhat


def leapfrog(logp_grad, q, p, grad, eps, n_steps):
    """n_steps leapfrog steps from (q, p); `grad` = ∇log π(q). Returns q, p, logp, grad."""
    q, p = q.copy(), p.copy()
    logp = None
    # Neal eq. (5.18)-(5.20), half steps of p merged between consecutive steps
    p = p + 0.5 * eps * grad
    for i in range(n_steps):
        q = q + eps * p
        logp, grad = logp_grad(q)
        p = p + (eps if i < n_steps - 1 else 0.5 * eps) * grad
    return q, p, logp, grad


def transition(logp_grad, q, logp, grad, eps, n_steps, p0, log_u):
    """One HMC transition with the given momentum p0 (D,) and log-uniform log_u.

    Returns (q, logp, grad, acceptance probability). A non-finite energy rejects.
    """
    with np.errstate(over="ignore", invalid="ignore"):      # a diverging trajectory is rejected
        q1, p1, logp1, grad1 = leapfrog(logp_grad, q, p0, grad, eps, n_steps)
        # Neal eq. (5.21): log α = min(0, H(q, p) − H(q', p'))
        dH = (logp1 - 0.5 * p1 @ p1) - (logp - 0.5 * p0 @ p0)
    log_alpha = min(0.0, dH) if np.isfinite(dH) else -np.inf
    if log_u < log_alpha:
        return q1, logp1, grad1, float(np.exp(log_alpha))
    return q, logp, grad, float(np.exp(log_alpha))


def find_reasonable_step_size(logp_grad, q, rng, eps=0.1, max_iter=60):
    """Hoffman & Gelman Alg. 4: double or halve ε until one leapfrog step's acceptance
    probability crosses 1/2."""
    logp, grad = logp_grad(q)

    @np.errstate(all="ignore")
    def log_ratio(e):
        p = rng.standard_normal(q.shape)
        _, p1, logp1, _ = leapfrog(logp_grad, q, p, grad, e, 1)
        r = (logp1 - 0.5 * p1 @ p1) - (logp - 0.5 * p @ p)
        return r if np.isfinite(r) else -np.inf

    a = 1.0 if log_ratio(eps) > np.log(0.5) else -1.0
    for _ in range(max_iter):
        if not a * log_ratio(eps) > -a * np.log(2.0):
            break
        eps = eps * 2.0 ** a
    return eps


class DualAveraging:
    """Step-size adaptation state (Hoffman & Gelman 2014, Alg. 5, their default constants)."""

    def __init__(self, eps0, target=0.8, gamma=0.05, t0=10.0, kappa=0.75):
        self.mu, self.target, self.gamma, self.t0, self.kappa = np.log(10 * eps0), target, gamma, t0, kappa
        self.Hbar, self.log_eps_bar, self.m, self.log_eps = 0.0, 0.0, 0, np.log(eps0)

    def update(self, accept_prob):
        self.m += 1
        m = self.m
        self.Hbar = (1 - 1 / (m + self.t0)) * self.Hbar + (self.target - accept_prob) / (m + self.t0)
        self.log_eps = self.mu - np.sqrt(m) / self.gamma * self.Hbar
        w = m ** (-self.kappa)
        self.log_eps_bar = w * self.log_eps + (1 - w) * self.log_eps_bar
        return np.exp(self.log_eps)

    @property
    def final(self):
        return float(np.exp(self.log_eps_bar))


@dataclass
class HMCResult:
    samples: np.ndarray        # (C, S, D) post-warm-up draws
    logp: np.ndarray           # (C, S)
    accept_rate: np.ndarray    # (C,) mean acceptance probability after warm-up
    step_size: np.ndarray      # (C,) adapted ε per chain
    n_leapfrog: int            # the maximum number of leapfrog steps per transition

    def diagnostics(self, f=None):
        """Acceptance, ESS and split-R̂ of each coordinate of f(samples) (default: samples)."""
        x = self.samples if f is None else f(self.samples)              # (C, S, K)
        x = x.reshape(x.shape[0], x.shape[1], -1)
        e = np.array([ess(x[:, :, k]) for k in range(x.shape[2])])
        r = np.array([split_rhat(x[:, :, k]) for k in range(x.shape[2])])
        return {"accept_rate": float(self.accept_rate.mean()), "step_size": float(self.step_size.mean()),
                "ess_min": float(e.min()), "ess_median": float(np.median(e)),
                "rhat_max": float(r.max()), "ess": e, "rhat": r}


def sample(logp_grad, q0, rng, n_warmup=500, n_samples=500, n_leapfrog=20, target_accept=0.8,
           step_size=None, transition_fn=None, progress=None, jitter=True):
    """Run C chains from q0 (C, D): dual-averaging warm-up, then n_samples draws each.

    logp_grad(q) -> (log π(q), ∇log π(q)). transition_fn(q, logp, grad, eps, L, p0, log_u)
    defaults to the NumPy `transition`; pass a numba twin to go fast.
    """
    q0 = np.atleast_2d(np.asarray(q0, float))
    if q0.ndim != 2 or not np.all(np.isfinite(q0)):
        raise ValueError(f"q0: expected finite initial states of shape (C, D), got shape {q0.shape}")
    if int(n_leapfrog) < 1 or int(n_samples) < 1 or int(n_warmup) < 0:
        raise ValueError(f"n_leapfrog, n_samples, n_warmup: expected >= 1, >= 1, >= 0, "
                         f"got {n_leapfrog!r}, {n_samples!r}, {n_warmup!r}")
    if not 0 < target_accept < 1:
        raise ValueError(f"target_accept: expected a probability in (0, 1), got {target_accept!r}")
    lo = (int(n_leapfrog) + 1) // 2 if jitter else int(n_leapfrog)
    n_steps = lambda: int(rng.integers(lo, int(n_leapfrog) + 1))
    step = transition_fn or (lambda q, lp, g, e, L, p, u: transition(logp_grad, q, lp, g, e, L, p, u))
    C, D = q0.shape
    out = np.empty((C, n_samples, D))
    out_lp = np.empty((C, n_samples))
    acc, eps_final = np.empty(C), np.empty(C)
    for c in range(C):
        q = q0[c].copy()
        logp, grad = logp_grad(q)
        eps = step_size or find_reasonable_step_size(logp_grad, q, rng)
        da = DualAveraging(eps, target_accept)
        for i in range(n_warmup):
            q, logp, grad, a = step(q, logp, grad, eps, n_steps(), rng.standard_normal(D), np.log(rng.uniform()))
            eps = da.update(a)
        eps = da.final if n_warmup > 0 else eps
        a_sum = 0.0
        for i in range(n_samples):
            q, logp, grad, a = step(q, logp, grad, eps, n_steps(), rng.standard_normal(D), np.log(rng.uniform()))
            out[c, i], out_lp[c, i] = q, logp
            a_sum += a
        acc[c], eps_final[c] = a_sum / n_samples, eps
        if progress is not None:
            progress.update(c + 1)
    return HMCResult(out, out_lp, acc, eps_final, int(n_leapfrog))
