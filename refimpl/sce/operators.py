"""Noise-removal operators inserted at a layer boundary [SCE Sec. 3]: a VAE (stochastic: the
latent is sampled on every pass) and a denoising autoencoder (deterministic).

Both are trained on the classifier's activations h at that boundary, clean and with Gaussian
noise added, to reconstruct the clean h. Choice where the paper is silent: activations are
scaled by one scalar s (their RMS) so a fixed noise level (default 0.5 s) and a unit-variance
Gaussian likelihood mean the same at every boundary; the VAE is the usual Gaussian-encoder,
Gaussian-decoder VAE (Kingma & Welling 2014) with beta = 1.

An operator is a dict {"kind": "vae" | "dae", "enc", "dec", "scale", "latent"};
`apply(op, h, eps)` with eps: (B, latent) standard normal (ignored by a DAE).
"""
import autograd.numpy as np
import numpy as onp
from autograd import grad
from autograd.misc.optimizers import adam

from ..nn import init_mlp, mlp

KINDS = ("vae", "dae")


def _encode(op, h):
    out = mlp(op["enc"], h / op["scale"], activation="relu")        # (B, 2k) or (B, k)
    k = op["latent"]
    return out[:, :k], out[:, k:]


def apply(op, h, eps):
    """h: (B, d) -> the operator's reconstruction (B, d); eps: (B, latent) draws of the VAE."""
    mu, logvar = _encode(op, h)
    z = mu + np.exp(0.5 * logvar) * eps if op["kind"] == "vae" else mu
    return op["scale"] * mlp(op["dec"], z, activation="relu")


def loss(enc_dec, op, h_in, h_clean, eps):
    """Negative ELBO (VAE) or squared error (DAE) per example, in units of the scaled activations.

    VAE: 0.5 ||h_clean/s - dec(z)||^2 + KL(N(mu, e^logvar) || N(0, I)), z = mu + e^(logvar/2) eps.
    """
    op = dict(op, enc=enc_dec[0], dec=enc_dec[1])
    mu, logvar = _encode(op, h_in)
    if op["kind"] == "vae":
        rec = mlp(op["dec"], mu + np.exp(0.5 * logvar) * eps, activation="relu")
        kl = 0.5 * np.sum(np.exp(logvar) + mu ** 2 - 1.0 - logvar, axis=1)
    else:
        rec, kl = mlp(op["dec"], mu, activation="relu"), 0.0
    return np.mean(0.5 * np.sum((h_clean / op["scale"] - rec) ** 2, axis=1) + kl)


def train(rng, h, kind="vae", latent=16, hidden=128, noise=0.5, iters=400, batch=128, lr=2e-3):
    """Fit an operator on boundary activations h: (N, d); inputs are h and h + noise*s*N(0, I)."""
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")
    h = onp.asarray(h, dtype=onp.float64)
    if h.ndim != 2 or len(h) < 2:
        raise ValueError(f"h: expected (N >= 2, d) activations, got shape {h.shape}")
    N, d = h.shape
    scale = float(onp.sqrt(onp.mean(h ** 2))) + 1e-12
    width = 2 * latent if kind == "vae" else latent
    op = {"kind": kind, "latent": int(latent), "scale": scale,
          "enc": init_mlp(rng, [d, hidden, width]), "dec": init_mlp(rng, [latent, hidden, d])}
    idx = rng.integers(0, N, size=(iters, batch))
    # half of each batch clean, half noisy (the paper trains on clean and noise-corrupted activations)
    corrupt = rng.standard_normal((iters, batch, d)) * noise * scale
    corrupt[:, : batch // 2] = 0.0
    eps = rng.standard_normal((iters, batch, latent))
    g = grad(lambda p, i: loss(p, op, h[idx[i]] + corrupt[i], h[idx[i]], eps[i]))
    enc, dec = adam(g, (op["enc"], op["dec"]), num_iters=iters, step_size=lr)
    return dict(op, enc=enc, dec=dec)
