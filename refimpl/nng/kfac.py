"""K-FAC for dense layers: Kronecker factors, damping, preconditioning, a K-FAC optimizer.

For a layer s = ā W (W: (d_in+1, d_out), bias row last) the per-example gradient is
G_b = ā_b Ds_bᵀ, so with row-major vec, vec(G_b) = ā_b ⊗ Ds_b and the Fisher block

    F = E[vec G vec Gᵀ] = E[ā āᵀ ⊗ Ds Dsᵀ] ≈ E[ā āᵀ] ⊗ E[Ds Dsᵀ] = A ⊗ S      (K-FAC eq. (1))

where Ds is the gradient of log p(y|x) with y *sampled from the model* (the true Fisher),
per example. Three Fisher modes for the output signal (for a Gaussian likelihood):
"sampled" (y ~ p(y|x, w), the paper's choice), "exact" (the expectation over y in closed
form: E[Ds_L Ds_Lᵀ] = τ I, one backprop of √τ e_k per output k) and "empirical" (observed y).

Damping. Both schemes are computed from one eigendecomposition per factor,
A = Q_A diag(e_A) Q_Aᵀ and S = Q_S diag(e_S) Q_Sᵀ, so that for a damping γ

    [F + damping]^{-1} vec V  =  Q_A [(Q_Aᵀ V Q_S) / D(γ)] Q_Sᵀ

with D(γ)_{ij} = (e_A,i + π√γ)(e_S,j + √γ/π)   ("factored", K-FAC Sec. 6.3, [NoisyNG eq. 19]),
     π = sqrt((tr A / d_A) / (tr S / d_S)),
or   D(γ)_{ij} = e_A,i e_S,j + γ                 ("eigen": exact Tikhonov, (A⊗S + γI)^{-1}).
A matrix-variate sample with covariance (λ/N)[A⊗S + damping]^{-1} is
M + sqrt(λ/N) Q_A [E / sqrt(D(γ))] Q_Sᵀ with E iid N(0, 1). For the factored damping D is an
outer product, so `damped_inverse` precomputes [A^γ]^{-1}, [S^γ]^{-1} and their square roots
at each refresh and a step costs two matrix products per layer, [A^γ]^{-1} V [S^γ]^{-1}.
The deterministic `KFAC` never samples, so with factored damping it refreshes the two inverses
by Cholesky (`factored_inverse`, the same matrices up to rounding): for d ≈ 100 an eigh costs
~5 Cholesky inversions, and at T_inv = 20 the eigh refresh alone costs about as much as three
SGD steps of a 2x100 MLP at batch 32 (numerics/bench_kfac.py). Noisy K-FAC keeps the
eigendecomposition: one per factor serves both dampings and the sampling square roots.

References
----------
J. Martens, R. Grosse. Optimizing Neural Networks with Kronecker-factored Approximate
    Curvature. ICML 2015 (eq. (1), Sec. 6.3 factored Tikhonov damping).
G. Zhang, S. Sun, D. Duvenaud, R. Grosse. Noisy Natural Gradient as Variational
    Inference. ICML 2018 (Sec. 3.3, Alg. 2).
"""
import numpy as np
from scipy.linalg import lapack

from . import mlp

FISHER_MODES = ("sampled", "exact", "empirical")
DAMPING_MODES = ("factored", "eigen")


def check_mode(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{name}: expected one of {allowed}, got {value!r}")


# --- per-batch statistics ------------------------------------------------------------

def fisher_signals(f, y, tau, rng, fisher):
    """Output signals whose backprop gives the Fisher statistics: (K, B, d_L).

    Gaussian likelihood log p(y|f) = ½ log τ − τ/2 (y − f)², ∂/∂f = τ (y − f).
    sampled: y_s = f + ε/√τ  ->  √τ ε (K = 1); empirical: τ (y − f) (K = 1);
    exact: √τ e_k for each output k (K = d_L), since E_y[τ²(y−f)(y−f)ᵀ] = τ I.
    """
    check_mode("fisher", fisher, FISHER_MODES)
    B, d = f.shape
    if fisher == "sampled":
        return (np.sqrt(tau) * rng.standard_normal((B, d)))[None]
    if fisher == "empirical":
        return (tau * (y - f))[None]
    return np.sqrt(tau) * np.broadcast_to(np.eye(d)[:, None, :], (d, B, d))


def batch_stats(params, X, y, tau, rng, activation="relu", fisher="sampled", need=("A", "S")):
    """Everything the optimizers need from one minibatch, in closed form.

    X: (B, d_0); y: (B, d_L) (None: statistics only); tau: noise precision. Returns a dict with
      grad: list of (d_in+1, d_out), the batch *mean* of ∇_W log p(y_b | x_b, W);
      f:    (B, d_L) network outputs;
      A:    list of (d_in+1, d_in+1), E[ā āᵀ] over the batch       (if "A" in need);
      S:    list of (d_out, d_out),   E[Ds Dsᵀ] under `fisher`       (if "S" in need);
      sq:   list of (d_in+1, d_out),  E[(ā Dsᵀ)²] under `fisher`     (if "sq" in need).
    """
    B = X.shape[0]
    f, cache = mlp.forward(params, X, activation)
    g_obs = tau * (y - f) if y is not None else np.zeros_like(f)    # (B, d_L); y=None: factors only
    out = {"f": f}
    if ("S" in need) or ("sq" in need):
        sig = fisher_signals(f, y, tau, rng, fisher)         # (K, B, d_L)
        Ds = mlp.backward(params, cache, np.concatenate([g_obs[None], sig]), activation)
        Ds_obs = [D[0] for D in Ds]
        if "S" in need:
            # S_l = E_b[Σ_k Ds_{kb} Ds_{kb}ᵀ] (K = 1 except for the exact Fisher)
            Dk = [D[1:].reshape(-1, D.shape[-1]) for D in Ds]         # (K B, d_l)
            out["S"] = [D.T @ D / B for D in Dk]
        if "sq" in need:
            per_k = [mlp.sum_sq_grads(cache, [D[k] for D in Ds]) for k in range(1, sig.shape[0] + 1)]
            out["sq"] = [sum(pk[i] for pk in per_k) / B for i in range(len(params))]
    else:
        Ds_obs = mlp.backward(params, cache, g_obs, activation)
    out["grad"] = [G / B for G in mlp.grads_from_Ds(cache, Ds_obs)]
    if "A" in need:
        out["A"] = [ab.T @ ab / B for ab in cache[0]]
    return out


# --- damping and preconditioning ---------------------------------------------------------

def eig_factors(A, S):
    """Eigendecompositions of one layer's factors (eigenvalues clipped at 0) and π."""
    eA, QA = np.linalg.eigh(A)
    eS, QS = np.linalg.eigh(S)
    eA, eS = np.maximum(eA, 0.0), np.maximum(eS, 0.0)
    # K-FAC Sec. 6.3: π = sqrt((tr A / d_A) / (tr S / d_S))
    pi = np.sqrt((eA.sum() / eA.size) / max(eS.sum() / eS.size, 1e-300))
    return {"QA": QA, "eA": eA, "QS": QS, "eS": eS, "pi": pi}


def damped_denominator(E, gamma, damping="factored"):
    """D(γ): (d_A, d_S), the damped eigenvalues of the Kronecker product (module docstring)."""
    check_mode("damping", damping, DAMPING_MODES)
    if damping == "factored":
        r = np.sqrt(gamma)
        return np.outer(E["eA"] + E["pi"] * r, E["eS"] + r / E["pi"])
    return np.outer(E["eA"], E["eS"]) + gamma


def damped_inverse(E, gamma, damping="factored", parts=("inverse", "sqrt")):
    """Everything needed to apply [A⊗S + damping]^{-1} and to sample with it, as a dict.

    factored: explicit inverses [A^γ]^{-1} = Q_A diag(1/(e_A + π√γ)) Q_Aᵀ, [S^γ]^{-1} likewise
              (if "inverse" in parts, for `precondition`), and square roots
              L_A = Q_A diag((e_A + π√γ)^{-1/2}) with L_A L_Aᵀ = [A^γ]^{-1} (if "sqrt" in parts,
              for `sample_matrix_normal`); leaving out a part skips its d³ products;
    eigen:    the eigenbases and D(γ) (the inverse is not a Kronecker product).
    """
    D = damped_denominator(E, gamma, damping)
    if damping == "eigen":
        return {"damping": "eigen", "QA": E["QA"], "QS": E["QS"], "D": D}
    r = np.sqrt(gamma)
    a, s = E["eA"] + E["pi"] * r, E["eS"] + r / E["pi"]
    P = {"damping": "factored", "QA": E["QA"], "QS": E["QS"], "D": D}
    if "inverse" in parts:
        P["Ainv"], P["Sinv"] = (E["QA"] / a) @ E["QA"].T, (E["QS"] / s) @ E["QS"].T
    if "sqrt" in parts:
        P["LA"], P["LS"] = E["QA"] / np.sqrt(a), E["QS"] / np.sqrt(s)
    return P


def _spd_inverse(M, name):
    """M^{-1} for a symmetric positive-definite M by Cholesky (LAPACK potrf + potri)."""
    c, info = lapack.dpotrf(M, lower=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"{name}: damped factor is not positive definite "
                                    f"(potrf info {info}); is the damping positive?")
    Minv, info = lapack.dpotri(c, lower=1)                  # lower triangle of M^{-1}
    return np.tril(Minv) + np.tril(Minv, -1).T


def factored_inverse(A, S, gamma):
    """[A^γ]^{-1} and [S^γ]^{-1} by Cholesky, as a `precondition` dict (no eigendecomposition).

    A^γ = A + π√γ I, S^γ = S + √γ/π I (K-FAC Sec. 6.3, [NoisyNG eq. 19]); equals
    damped_inverse(eig_factors(A, S), γ, "factored", ("inverse",)) up to rounding.
    """
    # K-FAC Sec. 6.3: π = sqrt((tr A / d_A) / (tr S / d_S))
    pi = np.sqrt((np.trace(A) / len(A)) / max(np.trace(S) / len(S), 1e-300))
    r = np.sqrt(gamma)
    return {"damping": "factored",
            "Ainv": _spd_inverse(A + pi * r * np.eye(len(A)), "A"),
            "Sinv": _spd_inverse(S + r / pi * np.eye(len(S)), "S")}


def precondition(P, V):
    """[A⊗S + damping]^{-1} vec V as a matrix, V: (d_A, d_S).

    factored: [A^γ]^{-1} V [S^γ]^{-1} ([NoisyNG Alg. 2]); eigen: Q_A [(Q_Aᵀ V Q_S) / D] Q_Sᵀ.
    """
    if P["damping"] == "factored":
        return P["Ainv"] @ V @ P["Sinv"]
    return P["QA"] @ ((P["QA"].T @ V @ P["QS"]) / P["D"]) @ P["QS"].T


def sample_matrix_normal(P, M, scale, rng):
    """M + scale · (noise with covariance [A⊗S + damping]^{-1}), M: (d_A, d_S).

    factored: M + scale L_A ε L_Sᵀ (matrix-variate normal); eigen: M + scale Q_A [ε/√D] Q_Sᵀ.
    """
    eps = rng.standard_normal(M.shape)
    if P["damping"] == "factored":
        return M + scale * (P["LA"] @ eps @ P["LS"].T)
    return M + scale * (P["QA"] @ (eps / np.sqrt(P["D"])) @ P["QS"].T)


def dense_matrix(P):
    """The dense (d_A d_S)² matrix [A⊗S + damping]^{-1} (tests and small checks only)."""
    Q = np.kron(P["QA"], P["QS"])
    return Q @ np.diag(1.0 / P["D"].ravel()) @ Q.T


def ema_update(avg, new, beta):
    """In place, for every layer: avg ← (1 − β) avg + β new (K-FAC Sec. 5; [NoisyNG eq. 18]).

    Same arithmetic as the out-of-place expression, without its temporaries.
    """
    for X, Xb in zip(avg, new):
        X *= 1 - beta
        X += beta * Xb


# --- a deterministic K-FAC optimizer --------------------------------------------------------

class KFAC:
    """K-FAC on the negative mean log-likelihood plus an L2 term (a Gaussian prior).

    Update (Martens & Grosse 2015, Sec. 6): W ← W + α [A^γ ⊗ S^γ]^{-1} (∇ log p̄ − ω W),
    factors as exponential moving averages with weight β every T_stats steps, the damped
    inverses refreshed every T_inv steps (Cholesky for factored damping, eigendecompositions
    for "eigen"). `step` mutates and returns params.
    """

    def __init__(self, lr=0.1, damping=1e-3, weight_decay=0.0, beta=0.05, T_stats=1, T_inv=20,
                 damping_mode="factored", fisher="sampled", activation="relu"):
        check_mode("damping_mode", damping_mode, DAMPING_MODES)
        check_mode("fisher", fisher, FISHER_MODES)
        if not 0 < beta <= 1:
            raise ValueError(f"beta: expected a moving-average weight in (0, 1], got {beta!r}")
        if int(T_inv) < 1 or int(T_stats) < 1:
            raise ValueError(f"T_inv, T_stats: expected positive integers, got {T_inv!r}, {T_stats!r}")
        self.lr, self.gamma, self.wd, self.beta = lr, damping, weight_decay, beta
        self.T_stats, self.T_inv, self.damping_mode = int(T_stats), int(T_inv), damping_mode
        self.fisher, self.activation = fisher, activation
        self.k, self.A, self.S, self.P = 0, None, None, None

    def step(self, params, X, y, tau, rng):
        need = ("A", "S") if self.k % self.T_stats == 0 else ()
        st = batch_stats(params, X, y, tau, rng, self.activation, self.fisher, need)
        if need:
            if self.A is None:                     # initialise the averages with the first batch
                self.A, self.S = st["A"], st["S"]
            else:
                ema_update(self.A, st["A"], self.beta)
                ema_update(self.S, st["S"], self.beta)
        if self.k % self.T_inv == 0:
            if self.damping_mode == "factored":          # no sampling: Cholesky, not eigh
                self.P = [factored_inverse(A, S, self.gamma) for A, S in zip(self.A, self.S)]
            else:
                self.P = [damped_inverse(eig_factors(A, S), self.gamma, "eigen") for A, S in zip(self.A, self.S)]
        for l, W in enumerate(params):
            V = st["grad"][l] - self.wd * W
            params[l] = W + self.lr * precondition(self.P[l], V)
        self.k += 1
        return params
