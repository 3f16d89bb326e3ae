"""MCMC diagnostics across chains: split-R̂ and effective sample size.

x: (C, S) — C chains of S draws of one scalar.

split-R̂ (Gelman et al., BDA3, eq. (11.4) with split chains): cut every chain in halves
(2C chains of n = S/2), W = mean within-chain variance, B = n · variance of the chain means,
var⁺ = (n − 1)/n W + B/n, R̂ = sqrt(var⁺ / W).

ESS (BDA3 eq. (11.7)-(11.8), Stan's combined-chain estimator with Geyer's initial positive
sequence): ρ̂_t = 1 − (W − mean_c γ̂_{c,t}) / var⁺ with γ̂_{c,t} the chain autocovariances;
sum ρ̂ over consecutive pairs while the pair sums stay positive; ESS = C S / τ̂,
τ̂ = −1 + 2 Σ_t ρ̂_t.

References
----------
A. Gelman et al. Bayesian Data Analysis, 3rd ed., 2013, Sec. 11.4-11.5.
C. Geyer. Practical Markov chain Monte Carlo. Statistical Science 7, 1992.
"""
import numpy as np


def _chains(x):
    x = np.asarray(x, float)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2 or x.shape[1] < 4:
        raise ValueError(f"x: expected draws of shape (C, S) with S >= 4, got shape {x.shape}")
    return x


def split_rhat(x):
    x = _chains(x)
    n = x.shape[1] // 2
    xs = np.concatenate([x[:, :n], x[:, -n:]], axis=0)                       # (2C, n)
    W = xs.var(axis=1, ddof=1).mean()
    B = n * xs.mean(axis=1).var(ddof=1)
    var_plus = (n - 1) / n * W + B / n
    return float(np.sqrt(var_plus / W)) if W > 0 else np.inf


def autocovariance(x):
    """Biased autocovariance of each chain by FFT: (C, S) -> (C, S)."""
    C, S = x.shape
    xc = x - x.mean(axis=1, keepdims=True)
    m = 1 << (2 * S - 1).bit_length()
    fx = np.fft.rfft(xc, n=m, axis=1)
    return np.fft.irfft(fx * np.conj(fx), n=m, axis=1)[:, :S] / S


def ess(x):
    x = _chains(x)
    C, S = x.shape
    acov = autocovariance(x)                                                  # (C, S)
    W = (acov[:, 0] * S / (S - 1)).mean()
    var_plus = W * (S - 1) / S + (x.mean(axis=1).var(ddof=1) if C > 1 else 0.0)
    if var_plus <= 0:
        return float(C * S)
    rho = 1.0 - (W - acov.mean(axis=0)) / var_plus                             # (S,)
    rho[0] = 1.0
    # Geyer's initial positive sequence on pairs P_k = ρ_{2k} + ρ_{2k+1}
    tau, k = 0.0, 0
    while 2 * k + 1 < S:
        P = rho[2 * k] + rho[2 * k + 1]
        if P <= 0:
            break
        tau += P
        k += 1
    tau = -1.0 + 2.0 * tau
    return float(C * S / max(tau, 1.0 / np.log10(max(C * S, 10))))
