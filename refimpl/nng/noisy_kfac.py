"""Noisy K-FAC (Zhang et al. 2018, Alg. 2): a matrix-variate Gaussian posterior per layer,

    W_l ~ MN(M_l, (λ/N) [A_l^{γ_in}]^{-1} ⊗ [S_l^{γ_in}]^{-1}),        γ_in = λ / (N η)
    V_l = ∇_{W_l} log p − γ_in W_l                                      (W_l the sample)
    A_l ← (1 − β) A_l + β E[ā āᵀ],  S_l ← (1 − β) S_l + β E[Ds Dsᵀ]     every T_stats steps
    M_l ← M_l + α [A_l^γ]^{-1} V_l [S_l^γ]^{-1},                        γ = γ_in + γ_ex

with the factored Tikhonov damping A^γ = A + π√γ I, S^γ = S + √γ/π I ([NoisyNG eq. 19]); the
eigendecompositions are refreshed every T_inv steps. `damping="eigen"` replaces the factored
damping by the exact one, [A ⊗ S + γ I]^{-1} (then the posterior is no longer exactly
matrix-variate, but it is the one a full-covariance method with a K-FAC Fisher would fit).
Weights use the bias-row convention of `mlp` (W: (d_in+1, d_out)).

KL clipping (optional, `kl_clip=κ`; Ba, Grosse & Martens 2017, Sec. 5): the step is scaled
by ν = min(1, sqrt(κ / (α² Σ_l ⟨Δ_l, V_l⟩))) with Δ_l the preconditioned V_l, bounding the
per-example KL change ½ α² Δᵀ F Δ of the predictive distribution. Early on the factors are
estimated from few batches while the weights are sampled from a prior-wide posterior, and
unclipped steps can diverge. It is not only a warm-up device: with the `nng-uci` settings
(α = 0.03, κ = 0.01, batch 32) about 18% of steps are clipped throughout training on
bostonHousing (measured over 6000 steps), the ones with large minibatch noise in V. Clipping
rescales steps only (the fixed point μ = posterior mean is unchanged); it is a departure
from Alg. 2, which has no clipping; `kl_clip=None` (the default) is Alg. 2.

References
----------
G. Zhang, S. Sun, D. Duvenaud, R. Grosse. Noisy Natural Gradient as Variational
    Inference. ICML 2018, Alg. 2, eq. (19).
J. Martens, R. Grosse. Optimizing Neural Networks with Kronecker-factored Approximate
    Curvature. ICML 2015.
J. Ba, R. Grosse, J. Martens. Distributed Second-Order Optimization using
    Kronecker-Factored Approximations. ICLR 2017.
"""
import numpy as np

from . import kfac
from .noisy_adam import check_vi_hyper


class NoisyKFAC:
    """State of noisy K-FAC on a bias-row MLP."""

    def __init__(self, params, N, lr=1e-2, beta=0.01, kl_weight=1.0, prior_var=1.0, gamma_ex=1e-3,
                 T_stats=1, T_inv=20, damping="factored", fisher="sampled", activation="relu", kl_clip=None):
        kfac.check_mode("damping", damping, kfac.DAMPING_MODES)
        kfac.check_mode("fisher", fisher, kfac.FISHER_MODES)
        if not 0 < beta <= 1:
            raise ValueError(f"beta: expected a moving-average weight in (0, 1], got {beta!r}")
        if int(T_inv) < 1 or int(T_stats) < 1:
            raise ValueError(f"T_inv, T_stats: expected positive integers, got {T_inv!r}, {T_stats!r}")
        self.gamma_in = check_vi_hyper(N, kl_weight, prior_var)
        self.gamma = self.gamma_in + gamma_ex
        self.N, self.lam, self.lr, self.beta = int(N), kl_weight, lr, beta
        self.T_stats, self.T_inv, self.damping = int(T_stats), int(T_inv), damping
        if kl_clip is not None and not kl_clip > 0:
            raise ValueError(f"kl_clip: expected None or a positive number, got {kl_clip!r}")
        self.fisher, self.activation, self.kl_clip = fisher, activation, kl_clip
        self.mu = [W.copy() for W in params]
        self.A = self.S = self.P_in = self.P = None
        self.k = 0

    def _refresh(self):
        E = [kfac.eig_factors(A, S) for A, S in zip(self.A, self.S)]
        # one eigendecomposition per factor serves both dampings
        self.P_in = [kfac.damped_inverse(e, self.gamma_in, self.damping, ("sqrt",)) for e in E]  # covariance
        self.P = [kfac.damped_inverse(e, self.gamma, self.damping, ("inverse",)) for e in E]     # mean update

    def sample(self, rng):
        """W_l ~ MN(M_l, (λ/N)[A^{γ_in}]^{-1} ⊗ [S^{γ_in}]^{-1}) through the factor eigenbases."""
        scale = np.sqrt(self.lam / self.N)
        return [kfac.sample_matrix_normal(P, M, scale, rng) for P, M in zip(self.P_in, self.mu)]

    def covariance(self, l):
        """Dense posterior covariance of layer l's row-major vec(W_l) (small layers only)."""
        return self.lam / self.N * kfac.dense_matrix(self.P_in[l])

    def step(self, X, y, tau, rng):
        """One pass of the loop of Alg. 2 (lines 4-13, in the paper's order); returns the loss.

        Both intervals test the counter after its increment, as Alg. 2 does: with T_stats = 1
        (every caller in this repository) statistics are taken every step.
        """
        if self.A is None:
            # [NoisyNG Alg. 2 l. 1] initialise {S_l}, {A_l}: here from the first batch, at the mean
            st0 = kfac.batch_stats(self.mu, X, y, tau, rng, self.activation, self.fisher)
            self.A, self.S = st0["A"], st0["S"]
            self._refresh()
        # [NoisyNG Alg. 2 l. 4] k ← k + 1
        self.k += 1
        # [NoisyNG Alg. 2 l. 5] W_l ~ MN(M_l, (λ/N)[A_l^{γ_in}]^{-1}, [S_l^{γ_in}]^{-1})
        W = self.sample(rng)
        # [NoisyNG Alg. 2 l. 6] if k ≡ 0 (mod T_stats)
        need = ("A", "S") if self.k % self.T_stats == 0 else ()
        st = kfac.batch_stats(W, X, y, tau, rng, self.activation, self.fisher, need)
        if need:
            # [NoisyNG Alg. 2 l. 7] update the factors {S_l}, {A_l} by [NoisyNG eq. 18]
            kfac.ema_update(self.A, st["A"], self.beta)
            kfac.ema_update(self.S, st["S"], self.beta)
        # [NoisyNG Alg. 2 l. 9–10] if k ≡ 0 (mod T_inv): the damped inverses of [NoisyNG eq. 19]
        if self.k % self.T_inv == 0:
            self._refresh()
        # [NoisyNG Alg. 2 l. 12] V_l = ∇_{W_l} log p(y | x, w) − γ_in W_l
        V = [g - self.gamma_in * w for g, w in zip(st["grad"], W)]
        Delta = [kfac.precondition(P, v) for P, v in zip(self.P, V)]
        nu = 1.0
        if self.kl_clip is not None:                 # Ba et al. 2017, Sec. 5 (not in Alg. 2)
            q = self.lr ** 2 * sum(np.sum(d * v) for d, v in zip(Delta, V))
            nu = min(1.0, np.sqrt(self.kl_clip / q)) if q > 0 else 1.0
        # [NoisyNG Alg. 2 l. 13] M_l ← M_l + α [A_l^γ]^{-1} V_l [S_l^γ]^{-1}
        self.mu = [mu + nu * self.lr * d for mu, d in zip(self.mu, Delta)]
        return st["f"]
