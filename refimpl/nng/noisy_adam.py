"""Noisy Adam (Zhang et al. 2018, Alg. 1): a diagonal-Gaussian posterior fitted by noisy
natural gradient with an Adam-like diagonal Fisher estimate.

    w ~ N(μ, (λ/N) diag(f + γ_in)^{-1}),              γ_in = λ / (N η)
    v = ∇ log p − γ_in w
    m ← β₁ m + (1 − β₁) v
    f ← β₂ f + (1 − β₂) (∇ log p)²
    μ ← μ + α (m / (1 − β₁^k)) / (f + γ),             γ = γ_in + γ_ex

Unlike Adam there is no square root on f, and only m is bias-corrected (f starts at the
first minibatch's estimate instead of 0, which needs no correction). ∇ log p is the
minibatch mean of per-example gradients. What "(∇ log p)²" estimates is the `fisher`
option: "sampled" (default) — the mean of per-example squared gradients with targets
sampled from the model, an unbiased estimate of the true Fisher diagonal; "exact" — its
closed-form expectation (Gaussian likelihood); "empirical" — per-example with the
observed targets; "batch" — the square of the minibatch mean gradient, Alg. 1 read
literally (it estimates diag(F)/B + (mean gradient)², so the posterior is ~B times too wide).

References
----------
G. Zhang, S. Sun, D. Duvenaud, R. Grosse. Noisy Natural Gradient as Variational
    Inference. ICML 2018, Alg. 1 and Sec. 3.2.
"""
import numpy as np

from . import kfac, mlp

FISHER_MODES = kfac.FISHER_MODES + ("batch",)


def check_vi_hyper(N, kl_weight, prior_var):
    if int(N) < 1:
        raise ValueError(f"N: expected the training-set size (a positive integer), got {N!r}")
    if not kl_weight > 0:
        raise ValueError(f"kl_weight: expected λ > 0, got {kl_weight!r}")
    if not prior_var > 0:
        raise ValueError(f"prior_var: expected η > 0, got {prior_var!r}")
    # [NoisyNG Sec. 3]: intrinsic damping γ_in = λ / (N η)
    return kl_weight / (N * prior_var)


class NoisyAdam:
    """State of noisy Adam on a bias-row MLP (`mlp.init_params` container)."""

    def __init__(self, params, N, lr=1e-3, beta1=0.9, beta2=0.999, kl_weight=1.0, prior_var=1.0,
                 gamma_ex=0.0, fisher="sampled", activation="relu"):
        kfac.check_mode("fisher", fisher, FISHER_MODES)
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(f"beta1, beta2: expected decay rates in [0, 1), got {beta1!r}, {beta2!r}")
        self.gamma_in = check_vi_hyper(N, kl_weight, prior_var)
        self.N, self.lam, self.lr, self.b1, self.b2 = int(N), kl_weight, lr, beta1, beta2
        self.gamma = self.gamma_in + gamma_ex
        self.fisher, self.activation = fisher, activation
        self.mu = [W.copy() for W in params]
        self.m = [np.zeros_like(W) for W in params]
        self.f = None
        self.k = 0

    def std(self):
        """Posterior standard deviations sqrt((λ/N) / (f + γ_in)), list like params."""
        return [np.sqrt(self.lam / self.N / (f + self.gamma_in)) for f in self.f]

    def sample(self, rng):
        return [mu + s * rng.standard_normal(mu.shape) for mu, s in zip(self.mu, self.std())]

    def _fisher_diag(self, st):
        if self.fisher == "batch":
            return [g * g for g in st["grad"]]
        return st["sq"]

    def step(self, X, y, tau, rng):
        if self.f is None:                         # f from the first batch, at the mean
            st0 = kfac.batch_stats(self.mu, X, y, tau, rng, self.activation,
                                   "sampled" if self.fisher == "batch" else self.fisher, ("sq",))
            self.f = self._fisher_diag(st0)
        w = self.sample(rng)                        # [NoisyNG Alg. 1 l. 3]
        mode = "sampled" if self.fisher == "batch" else self.fisher
        st = kfac.batch_stats(w, X, y, tau, rng, self.activation, mode, ("sq",))
        fd = self._fisher_diag(st)
        self.k += 1
        for l in range(len(w)):
            v = st["grad"][l] - self.gamma_in * w[l]                 # [NoisyNG Alg. 1 l. 4]
            self.m[l] = self.b1 * self.m[l] + (1 - self.b1) * v       # [NoisyNG Alg. 1 l. 5]
            self.f[l] = self.b2 * self.f[l] + (1 - self.b2) * fd[l]   # [NoisyNG Alg. 1 l. 6]
            m_tilde = self.m[l] / (1 - self.b1 ** self.k)            # [NoisyNG Alg. 1 l. 7]
            self.mu[l] = self.mu[l] + self.lr * m_tilde / (self.f[l] + self.gamma)   # [NoisyNG Alg. 1 l. 8–9]
        return st["f"]
