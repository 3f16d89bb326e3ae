"""PyTorch ports of the noisy-natural-gradient steps of `refimpl.nng` (Zhang et al. 2018), peers
for `numerics/bench_peers.py`: K-FAC's damped factor inverses, one noisy Adam step (Alg. 1) and
one noisy K-FAC step (Alg. 2), one Bayes-by-Backprop step on the `nng-uci` network (1 x 50 ReLU, bias row last).

Conventions of PyTorch K-FAC code (e.g. the K-FAC optimizers that capture each layer's input
and the gradient w.r.t. its output): the forward pass keeps the homogeneous inputs ā_l and
the pre-activations s_l; the per-example pre-activation gradients Ds_l come from
`torch.autograd.grad(f, s, grad_outputs=signal)` (a backward pass per output signal: the
observed ∂log p/∂f and the sampled-target one); statistics are then closed forms,
A = āᵀā/B, S = DsᵀDs/B, mean gradient āᵀDs/B, per-example squared gradients (ā²)ᵀ(Ds²)/B.
BBB is the usual PyTorch form: the negative ELBO written with torch ops, `.backward()`, and
`torch.optim.Adam` on (μ, ρ). Damped inverses use torch.linalg (eigh, cholesky,
cholesky_inverse). The random draws come from the caller's NumPy Generator in refimpl's
order, so both sides see the same numbers. float64; never imported by `refimpl/`.
"""
import math


def _t(a):
    import numpy as np
    import torch
    return torch.from_numpy(np.ascontiguousarray(a, dtype=float))


# --- K-FAC damped inverses (torch.linalg) ------------------------------------------------------

def factored_inverse(A, S, gamma):
    """[A + π√γ I]^{-1}, [S + √γ/π I]^{-1} by Cholesky (K-FAC Sec. 6.3); A, S torch tensors."""
    import torch
    pi = torch.sqrt((torch.trace(A) / len(A)) / torch.clamp(torch.trace(S) / len(S), min=1e-300))
    r = math.sqrt(gamma)
    eye_a = torch.eye(len(A), dtype=A.dtype)
    eye_s = torch.eye(len(S), dtype=S.dtype)
    return (torch.cholesky_inverse(torch.linalg.cholesky(A + pi * r * eye_a)),
            torch.cholesky_inverse(torch.linalg.cholesky(S + r / pi * eye_s)))


def eig_refresh(A, S, gamma_in, gamma):
    """Noisy K-FAC's refresh: one eigh per factor, then the square roots at γ_in (sampling) and
    the inverses at γ (the mean update), factored damping. Returns (LA, LS, Ainv, Sinv)."""
    import torch
    eA, QA = torch.linalg.eigh(A)
    eS, QS = torch.linalg.eigh(S)
    eA, eS = torch.clamp(eA, min=0.0), torch.clamp(eS, min=0.0)
    pi = torch.sqrt((eA.sum() / eA.numel()) / torch.clamp(eS.sum() / eS.numel(), min=1e-300))
    r_in, r = math.sqrt(gamma_in), math.sqrt(gamma)
    a_in, s_in = eA + pi * r_in, eS + r_in / pi
    a, s = eA + pi * r, eS + r / pi
    return QA / torch.sqrt(a_in), QS / torch.sqrt(s_in), (QA / a) @ QA.T, (QS / s) @ QS.T


# --- the network and its K-FAC statistics --------------------------------------------------------

def forward(Ws, X):
    """Bias-row MLP, ReLU hidden layers. Returns f, ā list, s list (s require grad)."""
    import torch
    abar, ss = [], []
    a = X
    for i, W in enumerate(Ws):
        ab = torch.cat([a, torch.ones(len(a), 1, dtype=a.dtype)], 1)
        s = ab @ W
        if not s.requires_grad:
            s.requires_grad_(True)
        abar.append(ab)
        ss.append(s)
        a = s if i == len(Ws) - 1 else torch.relu(s)
    return a, abar, ss


def batch_stats(Ws, X, y, tau, sig, need=("sq",)):
    """grad (mean of ∇ log p), f, and with the sampled signal sig: sq (E[(ā Dsᵀ)²]) and/or the
    Kronecker factors A = E[ā āᵀ], S = E[Ds Dsᵀ] (`need`)."""
    import torch
    f, abar, ss = forward(Ws, X)
    abar = [ab.detach() for ab in abar]               # statistics are not differentiated
    B = len(X)
    g_obs = tau * (y - f.detach())
    Ds_obs = torch.autograd.grad(f, ss, grad_outputs=g_obs, retain_graph=bool(need))
    out = {"f": f.detach(), "grad": [ab.T @ D / B for ab, D in zip(abar, Ds_obs)]}
    if need:
        Ds = torch.autograd.grad(f, ss, grad_outputs=sig)
        if "sq" in need:
            out["sq"] = [(ab * ab).T @ (D * D) / B for ab, D in zip(abar, Ds)]
        if "A" in need:
            out["A"] = [ab.T @ ab / B for ab in abar]
            out["S"] = [D.T @ D / B for D in Ds]
    return out


# --- noisy K-FAC (Alg. 2) --------------------------------------------------------------------

class NoisyKFAC:
    """The port of `refimpl.nng.NoisyKFAC` (factored damping, sampled Fisher, T_stats = 1, ReLU,
    optional KL clipping); the eigh refresh every T_inv steps is `eig_refresh`."""

    def __init__(self, params, N, lr=1e-2, beta=0.01, kl_weight=1.0, prior_var=1.0, gamma_ex=1e-3,
                 T_inv=20, kl_clip=None):
        self.gamma_in = kl_weight / (N * prior_var)
        self.gamma = self.gamma_in + gamma_ex
        self.N, self.lam, self.lr, self.beta, self.T_inv, self.kl_clip = N, kl_weight, lr, beta, T_inv, kl_clip
        self.mu = [_t(W) for W in params]
        self.A = self.S = self.P = None
        self.k = 0

    def _refresh(self):
        self.P = [eig_refresh(A, S, self.gamma_in, self.gamma) for A, S in zip(self.A, self.S)]

    def sample(self, rng):
        """W_l = M_l + sqrt(λ/N) L_A ε L_Sᵀ (matrix-variate normal through the eigenbases)."""
        scale = math.sqrt(self.lam / self.N)
        return [M + scale * (LA @ _t(rng.standard_normal(M.shape)) @ LS.T)
                for M, (LA, LS, _, _) in zip(self.mu, self.P)]

    def step(self, X, y, tau, rng):
        import torch
        B, d = y.shape
        if self.A is None:
            st0 = batch_stats(self.mu, X, y, tau, _t(math.sqrt(tau) * rng.standard_normal((B, d))),
                              ("A",))
            self.A, self.S = st0["A"], st0["S"]
            self._refresh()
        self.k += 1
        W = self.sample(rng)
        st = batch_stats(W, X, y, tau, _t(math.sqrt(tau) * rng.standard_normal((B, d))), ("A",))
        with torch.no_grad():
            for avg, new in ((self.A, st["A"]), (self.S, st["S"])):
                for X_, Xb in zip(avg, new):
                    X_.mul_(1 - self.beta).add_(self.beta * Xb)
            if self.k % self.T_inv == 0:
                self._refresh()
            V = [g - self.gamma_in * w for g, w in zip(st["grad"], W)]
            Delta = [Ainv @ v @ Sinv for (_, _, Ainv, Sinv), v in zip(self.P, V)]
            nu = 1.0
            if self.kl_clip is not None:
                q = self.lr ** 2 * sum(float(torch.sum(dl * v)) for dl, v in zip(Delta, V))
                nu = min(1.0, math.sqrt(self.kl_clip / q)) if q > 0 else 1.0
            self.mu = [mu + nu * self.lr * dl for mu, dl in zip(self.mu, Delta)]
        return st["f"]


# --- noisy Adam (Alg. 1) ---------------------------------------------------------------------

class NoisyAdam:
    """The port of `refimpl.nng.NoisyAdam` (fisher="sampled", ReLU); step(X, y, tau, rng)."""

    def __init__(self, params, N, lr=1e-3, beta1=0.9, beta2=0.999, kl_weight=1.0, prior_var=1.0,
                 gamma_ex=0.0):
        self.gamma_in = kl_weight / (N * prior_var)
        self.N, self.lam, self.lr, self.b1, self.b2 = N, kl_weight, lr, beta1, beta2
        self.gamma = self.gamma_in + gamma_ex
        self.mu = [_t(W) for W in params]
        self.m = [mu * 0.0 for mu in self.mu]
        self.f, self.k = None, 0

    def step(self, X, y, tau, rng):
        import torch
        B, d = y.shape
        if self.f is None:              # the Fisher diagonal from the first batch, at the mean
            sig = _t(math.sqrt(tau) * rng.standard_normal((B, d)))
            self.f = batch_stats(self.mu, X, y, tau, sig)["sq"]
        w = [mu + torch.sqrt(self.lam / self.N / (f + self.gamma_in)) * _t(rng.standard_normal(mu.shape))
             for mu, f in zip(self.mu, self.f)]
        sig = _t(math.sqrt(tau) * rng.standard_normal((B, d)))
        st = batch_stats(w, X, y, tau, sig)
        self.k += 1
        with torch.no_grad():
            for l in range(len(w)):
                v = st["grad"][l] - self.gamma_in * w[l]
                self.m[l] = self.b1 * self.m[l] + (1 - self.b1) * v
                self.f[l] = self.b2 * self.f[l] + (1 - self.b2) * st["sq"][l]
                m_tilde = self.m[l] / (1 - self.b1 ** self.k)
                self.mu[l] = self.mu[l] + self.lr * m_tilde / (self.f[l] + self.gamma)
        return st["f"]


# --- Bayes by Backprop ---------------------------------------------------------------------

class BBB:
    """Mean-field BBB, σ = softplus(ρ), prior N(0, η): the negative ELBO per data point by
    autograd and torch.optim.Adam (the port of `refimpl.nng.BBB`, ReLU)."""

    def __init__(self, params, N, lr=1e-3, kl_weight=1.0, prior_var=1.0, rho_init=-5.0):
        import torch
        self.N, self.lam, self.eta = N, kl_weight, prior_var
        self.mu = [_t(W).clone().requires_grad_(True) for W in params]
        self.rho = [torch.full_like(m, rho_init).requires_grad_(True) for m in self.mu]
        self.opt = torch.optim.Adam(self.mu + self.rho, lr=lr, foreach=False)

    def step(self, X, y, tau, rng):
        import torch
        eps = [_t(rng.standard_normal(m.shape)) for m in self.mu]
        self.opt.zero_grad()
        sig = [torch.nn.functional.softplus(r) for r in self.rho]
        w = [m + s * e for m, s, e in zip(self.mu, sig, eps)]
        a = X
        for i, W in enumerate(w):
            a = a @ W[:-1] + W[-1]
            if i < len(w) - 1:
                a = torch.relu(a)
        loglik = (0.5 * math.log(tau / (2 * math.pi)) - 0.5 * tau * (y - a) ** 2).sum(1).mean()
        kl = sum(((s ** 2 + m ** 2) / (2 * self.eta) - 0.5 - torch.log(s)
                  + 0.5 * math.log(self.eta)).sum() for m, s in zip(self.mu, sig))
        loss = -loglik + self.lam / self.N * kl
        loss.backward()
        self.opt.step()
        return a.detach()
