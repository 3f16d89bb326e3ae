"""Full-covariance noisy natural gradient (Zhang et al. 2018, Sec. 3.1) for small networks.

    θ ~ N(μ, (λ/N) [F + γ_in I]^{-1}),                      γ_in = λ / (N η)
    F ← (1 − β) F + β E_b[g_b g_bᵀ]                          (exact-Fisher moving average)
    μ ← μ + α [F + γ I]^{-1} (∇ log p − γ_in θ),             γ = γ_in + γ_ex

θ is the row-major concatenation of the layers (`mlp.flatten_layers`), g_b the per-example
gradient of log p(y_b | x_b, θ) with the target sampled from the model ("sampled"), its
closed-form expectation ("exact", Gaussian likelihood) or the observed target
("empirical"). Cholesky factors are refreshed every T_inv steps. Optional KL clipping as in
`noisy_kfac` (step scaled by min(1, sqrt(κ / (α² Δᵀ v))), Δ the preconditioned v).

References
----------
G. Zhang, S. Sun, D. Duvenaud, R. Grosse. Noisy Natural Gradient as Variational
    Inference. ICML 2018, eq. (10)-(12).
"""
import numpy as np
from scipy.linalg import cho_factor, cho_solve, solve_triangular

from . import kfac, mlp
from .noisy_adam import check_vi_hyper


def per_example_fisher(params, X, y, tau, rng, activation="relu", fisher="sampled"):
    """(mean gradient (P,), E_b[g g^T] (P, P), outputs (B, d)) in closed form."""
    B = X.shape[0]
    f, cache = mlp.forward(params, X, activation)
    sig = kfac.fisher_signals(f, y, tau, rng, fisher)                       # (K, B, d)
    Ds = mlp.backward(params, cache, np.concatenate([(tau * (y - f))[None], sig]), activation)
    grad = mlp.flatten_layers([G / B for G in mlp.grads_from_Ds(cache, [D[0] for D in Ds])])
    F = 0.0
    for k in range(1, sig.shape[0] + 1):
        Gk = np.concatenate([g.reshape(B, -1) for g in mlp.per_example_grads(cache, [D[k] for D in Ds])],
                            axis=1)                                         # (B, P)
        F = F + Gk.T @ Gk / B
    return grad, F, f


class FullCovNNG:
    """State of full-covariance noisy NG; θ flat, `sample` returns a layer list."""

    def __init__(self, params, N, lr=1e-2, beta=0.01, kl_weight=1.0, prior_var=1.0, gamma_ex=0.0,
                 T_inv=1, fisher="sampled", activation="relu", kl_clip=None):
        kfac.check_mode("fisher", fisher, kfac.FISHER_MODES)
        if kl_clip is not None and not kl_clip > 0:
            raise ValueError(f"kl_clip: expected None or a positive number, got {kl_clip!r}")
        if not 0 < beta <= 1:
            raise ValueError(f"beta: expected a moving-average weight in (0, 1], got {beta!r}")
        if int(T_inv) < 1:
            raise ValueError(f"T_inv: expected a positive integer, got {T_inv!r}")
        self.kl_clip = kl_clip
        self.gamma_in = check_vi_hyper(N, kl_weight, prior_var)
        self.gamma = self.gamma_in + gamma_ex
        self.N, self.lam, self.lr, self.beta, self.T_inv = int(N), kl_weight, lr, beta, int(T_inv)
        self.fisher, self.activation = fisher, activation
        self.like = [W.copy() for W in params]
        self.mu = mlp.flatten_layers(params)
        self.F = None
        self.k = 0

    def _refresh(self):
        I = np.eye(self.mu.size)
        self.L_in = np.linalg.cholesky(self.F + self.gamma_in * I)             # lower
        self.cho = cho_factor(self.F + self.gamma * I)

    def covariance(self):
        return self.lam / self.N * np.linalg.inv(self.F + self.gamma_in * np.eye(self.mu.size))

    def sample_flat(self, rng):
        # θ = μ + sqrt(λ/N) L^{-T} ε has covariance (λ/N) (L Lᵀ)^{-1}
        eps = rng.standard_normal(self.mu.size)
        return self.mu + np.sqrt(self.lam / self.N) * solve_triangular(self.L_in, eps, lower=True, trans="T")

    def sample(self, rng):
        return mlp.unflatten_layers(self.sample_flat(rng), self.like)

    def step(self, X, y, tau, rng):
        if self.F is None:
            _, self.F, _ = per_example_fisher(mlp.unflatten_layers(self.mu, self.like), X, y, tau, rng,
                                              self.activation, self.fisher)
            self._refresh()
        theta = self.sample_flat(rng)
        grad, Fb, f = per_example_fisher(mlp.unflatten_layers(theta, self.like), X, y, tau, rng,
                                         self.activation, self.fisher)
        self.F = (1 - self.beta) * self.F + self.beta * Fb
        self.k += 1
        if self.k % self.T_inv == 0:
            self._refresh()
        v = grad - self.gamma_in * theta
        delta = cho_solve(self.cho, v)                    # [F + γ I]^{-1} v
        nu = 1.0
        if self.kl_clip is not None and delta @ v > 0:
            nu = min(1.0, np.sqrt(self.kl_clip / (self.lr ** 2 * (delta @ v))))
        self.mu = self.mu + nu * self.lr * delta
        return f

    @property
    def mean_params(self):
        return mlp.unflatten_layers(self.mu, self.like)
