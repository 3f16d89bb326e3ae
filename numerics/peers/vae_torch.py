"""PyTorch port of `refimpl.vi.vae.vae_surrogate` (VAE / IWAE, estimators total / STL / DReG).

A faithful port for `numerics/bench_peers.py`: same tanh MLPs, Bernoulli decoder, diagonal
Gaussian q, the same surrogates (stop-gradient = `.detach()`), float64. Never imported by
`refimpl/`; torch is imported inside the functions.
"""
import math

LOG_2PI = math.log(2.0 * math.pi)


def to_torch(params):
    """refimpl {"enc": [(W, b)], "dec": [(W, b)]} -> the same dict of torch leaf tensors."""
    import torch
    return {k: [(torch.tensor(W, dtype=torch.float64, requires_grad=True),
                 torch.tensor(b, dtype=torch.float64, requires_grad=True)) for W, b in v]
            for k, v in params.items()}


def _mlp(layers, h):
    import torch
    for i, (W, b) in enumerate(layers):
        h = h @ W + b
        if i < len(layers) - 1:
            h = torch.tanh(h)
    return h


def _log_q(z, mean, log_std):
    import torch
    return -0.5 * (((z - mean) * torch.exp(-log_std)) ** 2 + LOG_2PI + 2.0 * log_std).sum(-1)


def surrogate(p, x, eps, objective="vae", estimator="total"):
    """The port of `vae_surrogate`: x (B, X), eps (K, B, Dz) torch tensors -> scalar."""
    import torch
    h = _mlp(p["enc"], x)
    Dz = h.shape[-1] // 2
    mean, log_std = h[..., :Dz], h[..., Dz:]

    def lj(z):
        prior = -0.5 * (z ** 2 + LOG_2PI).sum(-1)
        logits = _mlp(p["dec"], z)
        return prior + (x * logits - torch.nn.functional.softplus(logits)).sum(-1)

    if objective == "vae" and estimator == "dreg":
        eps = eps[:, None]                                   # K one-sample IWAE-DReG terms
        objective = "iwae"
    z = mean + torch.exp(log_std) * eps
    lp = lj(z)
    if objective == "vae":
        if estimator == "total":
            return (lp - _log_q(z, mean, log_std)).mean()
        if estimator == "stl":
            return (lp - _log_q(z, mean.detach(), log_std.detach())).mean()
        raise ValueError(f"estimator: unsupported {estimator!r}")
    k_axis = eps.dim() - mean.dim() - 1
    K = eps.shape[k_axis]
    if estimator in ("total", "stl"):
        m, s = (mean, log_std) if estimator == "total" else (mean.detach(), log_std.detach())
        logw = lp - _log_q(z, m, s)
        return (torch.logsumexp(logw, dim=k_axis) - math.log(K)).mean()
    # DReG in one decoder pass, as a PyTorch user writes it: Σ_k w̃_k log w_k gives the
    # decoder Σ w̃ ∂log p/∂θ; a hook on z multiplies the cotangent reaching the encoder by w̃
    # once more (Σ w̃² ∂log w/∂z ∂z/∂φ). Same gradient as refimpl's surrogate
    # (w̃²(log w − log p̄) + w̃ log p̄ with p̄ at a detached z), without its second decoder pass.
    logw = lp - _log_q(z, mean.detach(), log_std.detach())
    lw = logw.detach()
    wt = torch.exp(lw - torch.logsumexp(lw, dim=k_axis, keepdim=True))
    if z.requires_grad:
        z.register_hook(lambda g: g * wt.unsqueeze(-1))
    sur = (wt * logw).sum(k_axis)
    value = torch.logsumexp(lw, dim=k_axis) - math.log(K)
    return (sur - sur.detach() + value).mean()


def step_fn(params, x, eps, objective, estimator):
    """() -> (loss, [gradient of each leaf] as tensors, (enc, dec) order) for one training step
    of -surrogate."""
    import torch
    torch.set_num_threads(1)
    p = to_torch(params)
    leaves = [t for k in ("enc", "dec") for pair in p[k] for t in pair]
    xt = torch.tensor(x, dtype=torch.float64)
    et = torch.tensor(eps, dtype=torch.float64)

    def step():
        for t in leaves:
            t.grad = None
        loss = -surrogate(p, xt, et, objective, estimator)
        loss.backward()
        return float(loss.detach()), [t.grad for t in leaves]     # as an optimiser finds them
    return step
