"""Bayes by Backprop (Blundell et al. 2015) and a plain network trained by Adam (MAP).

BBB: mean-field q(w) = Π N(μ_i, σ_i²), σ = softplus(ρ), prior N(0, η), reparameterised
w = μ + σ ⊙ ε. Per data point the minibatch objective is

    L(μ, ρ) = −(1/B) Σ_b log N(y_b | f(x_b; w), 1/τ̄) + (λ/N) KL(q ‖ p)             (BBB eq. (2))
    KL = Σ_i [ (σ_i² + μ_i²) / (2η) − ½ − log σ_i + ½ log η ]

`bbb_objective` is the autograd definition; `bbb_grad` its closed form used for training
(∂L/∂μ = g_w + (λ/N) μ/η, ∂L/∂ρ = (g_w ε + (λ/N)(σ/η − 1/σ)) sigmoid(ρ), with g_w = ∂L/∂w
by backprop); tests hold the two together. Both are optimised by Adam (Kingma & Ba 2015,
Alg. 1), written out because the training loop interleaves the noise-precision update.

References
----------
C. Blundell, J. Cornebise, K. Kavukcuoglu, D. Wierstra. Weight Uncertainty in Neural
    Networks. ICML 2015, Sec. 3.2.
D. Kingma, J. Ba. Adam: A Method for Stochastic Optimization. ICLR 2015, Alg. 1.
"""
import autograd.numpy as anp
import numpy as np
from scipy.special import expit

from . import kfac
from .noisy_adam import check_vi_hyper


def softplus(x):
    return anp.logaddexp(0.0, x)


def _mlp(params, X, activation):
    a = X
    for i, W in enumerate(params):
        s = anp.dot(a, W[:-1]) + W[-1]
        a = s if i == len(params) - 1 else (anp.maximum(s, 0.0) if activation == "relu" else anp.tanh(s))
    return a


def bbb_objective(mu, rho, eps, X, y, tau, N, kl_weight=1.0, prior_var=1.0, activation="relu"):
    """Negative ELBO per data point on one minibatch, autograd-differentiable in (mu, rho)."""
    sig = [softplus(r) for r in rho]
    w = [m + s * e for m, s, e in zip(mu, sig, eps)]
    f = _mlp(w, X, activation)
    loglik = anp.mean(anp.sum(0.5 * anp.log(tau / (2 * np.pi)) - 0.5 * tau * (y - f) ** 2, axis=1))
    kl = sum(anp.sum((s ** 2 + m ** 2) / (2 * prior_var) - 0.5 - anp.log(s) + 0.5 * anp.log(prior_var))
             for m, s in zip(mu, sig))
    return -loglik + kl_weight / N * kl


def bbb_grad(mu, rho, eps, X, y, tau, N, kl_weight=1.0, prior_var=1.0, activation="relu"):
    """Closed-form gradient of `bbb_objective`: (list like mu, list like rho, outputs f)."""
    sig = [np.logaddexp(0.0, r) for r in rho]
    w = [m + s * e for m, s, e in zip(mu, sig, eps)]
    st = kfac.batch_stats(w, X, y, tau, None, activation, "empirical", need=())
    c = kl_weight / N
    g_mu = [-g + c * m / prior_var for g, m in zip(st["grad"], mu)]
    g_rho = [(-g * e + c * (s / prior_var - 1.0 / s)) * expit(r)
             for g, e, s, r in zip(st["grad"], eps, sig, rho)]
    return g_mu, g_rho, st["f"]


class Adam:
    """Adam moments for a list of arrays; `update(params, grads)` returns the new list."""

    def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps, self.k = lr, b1, b2, eps, 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def update(self, params, grads):
        self.k += 1
        out = []
        for i, (p, g) in enumerate(zip(params, grads)):
            self.m[i] = self.b1 * self.m[i] + (1 - self.b1) * g
            self.v[i] = self.b2 * self.v[i] + (1 - self.b2) * g * g
            mhat, vhat = self.m[i] / (1 - self.b1 ** self.k), self.v[i] / (1 - self.b2 ** self.k)
            out.append(p - self.lr * mhat / (np.sqrt(vhat) + self.eps))
        return out


class BBB:
    def __init__(self, params, N, lr=1e-3, kl_weight=1.0, prior_var=1.0, rho_init=-5.0, activation="relu"):
        check_vi_hyper(N, kl_weight, prior_var)
        self.N, self.lam, self.eta, self.activation = int(N), kl_weight, prior_var, activation
        self.mu = [W.copy() for W in params]
        self.rho = [np.full_like(W, rho_init) for W in params]
        self.adam = Adam(self.mu + self.rho, lr=lr)

    def std(self):
        return [np.logaddexp(0.0, r) for r in self.rho]

    def sample(self, rng):
        return [m + s * rng.standard_normal(m.shape) for m, s in zip(self.mu, self.std())]

    def step(self, X, y, tau, rng):
        eps = [rng.standard_normal(m.shape) for m in self.mu]
        g_mu, g_rho, f = bbb_grad(self.mu, self.rho, eps, X, y, tau, self.N, self.lam, self.eta,
                                  self.activation)
        new = self.adam.update(self.mu + self.rho, g_mu + g_rho)
        L = len(self.mu)
        self.mu, self.rho = new[:L], new[L:]
        return f


class AdamMAP:
    """A plain network: Adam on −mean log p + (1/(2Nη))‖w‖² (the MAP estimate); no uncertainty."""

    def __init__(self, params, N, lr=1e-3, prior_var=1.0, activation="relu"):
        self.gamma_in = check_vi_hyper(N, 1.0, prior_var)
        self.mu, self.activation = [W.copy() for W in params], activation
        self.adam = Adam(self.mu, lr=lr)

    def sample(self, rng):
        return self.mu

    def step(self, X, y, tau, rng):
        st = kfac.batch_stats(self.mu, X, y, tau, None, self.activation, "empirical", need=())
        self.mu = self.adam.update(self.mu, [-g + self.gamma_in * w for g, w in zip(st["grad"], self.mu)])
        return st["f"]
