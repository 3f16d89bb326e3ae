"""Log posterior of a one-hidden-layer Bayesian regression network, NumPy and numba twins,
and the numba HMC transition on it (the fast path of `hmc.sample` for the NNG baselines).

θ: (P,) = [row-major W1 (D+1, H), row-major W2 (H+1, 1)], bias rows last (the layout of
`refimpl.nng.mlp.flatten_layers`). With a known noise precision τ and prior N(0, 1/α):

    log π(θ) = −τ/2 Σ_n (y_n − f(x_n; θ))² − α/2 ‖θ‖²  + const,
    f(x; θ) = φ([x, 1] W1) · W2[:H] + W2[H].

References
----------
R. Neal. Bayesian Learning for Neural Networks. Springer 1996, Ch. 3 (HMC for BNNs).
"""
import numpy as np
from numba import njit

from .hmc import transition as _transition_numpy


def bnn_logp_grad(theta, X, y, tau, prior_prec, H, relu=True):
    """NumPy twin: (log π(θ), ∇ log π(θ)). X: (N, D), y: (N,)."""
    N, D = X.shape
    W1 = theta[:(D + 1) * H].reshape(D + 1, H)
    W2 = theta[(D + 1) * H:]                                         # (H + 1,)
    s = X @ W1[:D] + W1[D]                                           # (N, H)
    a = np.maximum(s, 0.0) if relu else np.tanh(s)
    r = y - (a @ W2[:H] + W2[H])                                     # (N,)
    logp = -0.5 * tau * r @ r - 0.5 * prior_prec * theta @ theta
    g = tau * r                                                      # ∂/∂f, (N,)
    Ds = np.outer(g, W2[:H]) * ((s > 0) if relu else (1 - a * a))    # (N, H)
    gW1 = np.concatenate([X.T @ Ds, Ds.sum(0)[None]], axis=0)        # (D + 1, H)
    gW2 = np.concatenate([a.T @ g, [g.sum()]])                       # (H + 1,)
    return logp, np.concatenate([gW1.ravel(), gW2]) - prior_prec * theta


@njit(cache=True, fastmath=False)
def bnn_logp_grad_numba(theta, X, y, tau, prior_prec, H, relu):
    N, D = X.shape
    o2 = (D + 1) * H
    grad = np.zeros(theta.size)
    s = np.empty(H)
    a = np.empty(H)
    logp = 0.0
    for n in range(N):
        f = theta[o2 + H]
        for h in range(H):
            v = theta[D * H + h]
            for d in range(D):
                v += X[n, d] * theta[d * H + h]
            s[h] = v
            a[h] = (v if v > 0.0 else 0.0) if relu else np.tanh(v)
            f += a[h] * theta[o2 + h]
        r = y[n] - f
        logp -= 0.5 * tau * r * r
        g = tau * r
        grad[o2 + H] += g
        for h in range(H):
            grad[o2 + h] += g * a[h]
            dphi = (1.0 if s[h] > 0.0 else 0.0) if relu else 1.0 - a[h] * a[h]
            ds = g * theta[o2 + h] * dphi
            grad[D * H + h] += ds
            for d in range(D):
                grad[d * H + h] += ds * X[n, d]
    for i in range(theta.size):
        logp -= 0.5 * prior_prec * theta[i] * theta[i]
        grad[i] -= prior_prec * theta[i]
    return logp, grad


@njit(cache=True, fastmath=False)
def transition_numba(q, logp, grad, eps, n_steps, p0, log_u, X, y, tau, prior_prec, H, relu):
    """Numba twin of `hmc.transition` on `bnn_logp_grad_numba` (same arithmetic order)."""
    q1 = q.copy()
    p = p0 + 0.5 * eps * grad
    logp1, grad1 = logp, grad
    for i in range(n_steps):
        q1 = q1 + eps * p
        logp1, grad1 = bnn_logp_grad_numba(q1, X, y, tau, prior_prec, H, relu)
        p = p + (eps if i < n_steps - 1 else 0.5 * eps) * grad1
    dH = (logp1 - 0.5 * np.dot(p, p)) - (logp - 0.5 * np.dot(p0, p0))
    log_alpha = -np.inf
    if np.isfinite(dH):
        log_alpha = min(0.0, dH)
    if log_u < log_alpha:
        return q1, logp1, grad1, np.exp(log_alpha)
    return q.copy(), logp, grad, np.exp(log_alpha)


class BNNPosterior:
    """The BNN target with both twins: `logp_grad` (NumPy), `logp_grad_numba`, and
    `transition(backend)` for `hmc.sample(..., transition_fn=...)`."""

    def __init__(self, X, y, tau, prior_var, H, activation="relu"):
        X, y = np.ascontiguousarray(X, float), np.ascontiguousarray(np.ravel(y), float)
        if X.ndim != 2 or X.shape[0] != y.shape[0]:
            raise ValueError(f"X, y: expected (N, D) and (N,), got {X.shape} and {y.shape}")
        if activation not in ("relu", "tanh"):
            raise ValueError(f"activation: expected 'relu' or 'tanh', got {activation!r}")
        self.X, self.y, self.tau, self.prior_prec = X, y, float(tau), 1.0 / float(prior_var)
        self.H, self.relu = int(H), activation == "relu"
        self.dim = (X.shape[1] + 1) * self.H + self.H + 1

    def logp_grad(self, theta):
        return bnn_logp_grad(theta, self.X, self.y, self.tau, self.prior_prec, self.H, self.relu)

    def logp_grad_numba(self, theta):
        return bnn_logp_grad_numba(theta, self.X, self.y, self.tau, self.prior_prec, self.H, self.relu)

    def transition(self, backend="numba"):
        if backend == "numpy":
            return lambda q, lp, g, e, L, p, u: _transition_numpy(self.logp_grad, q, lp, g, e, L, p, u)
        if backend == "numba":
            args = (self.X, self.y, self.tau, self.prior_prec, self.H, self.relu)
            return lambda q, lp, g, e, L, p, u: transition_numba(q, lp, g, float(e), int(L), p, float(u), *args)
        raise ValueError(f"backend: expected 'numpy' or 'numba', got {backend!r}")

    def predict(self, thetas, Xs):
        """f(Xs; θ_s) for thetas (S, P): (S, n)."""
        D, H = self.X.shape[1], self.H
        W1 = thetas[:, :(D + 1) * H].reshape(-1, D + 1, H)
        W2 = thetas[:, (D + 1) * H:]
        s = np.einsum("nd,sdh->snh", Xs, W1[:, :D]) + W1[:, D][:, None]
        a = np.maximum(s, 0.0) if self.relu else np.tanh(s)
        return np.einsum("snh,sh->sn", a, W2[:, :H]) + W2[:, H][:, None]
