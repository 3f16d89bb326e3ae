"""Training and evaluating a β-TCVAE / β-VAE / VAE on binary images with known factors.

    params, hist = train(images, rng, kind="tcvae", beta=6.0, iters=2000)
    ev = evaluate(params, images, factors, rng)     # MIGs, full-dataset decomposition

Adam (`autograd.misc.optimizers.adam`, lr 1e-3 as the official code) on minibatches of
distinct datapoints (as the official shuffled DataLoader; MSS assumes them); one reparameterised sample per image; the minibatch estimator
of q(z) is MWS or MSS (`objectives.py`). Reported TC values never come from training
minibatches (MWS's bias: ~(D−1)·log M when the posteriors do not overlap, and log N for
every latent whose posteriors do overlap, e.g. an inactive one): `evaluate` uses the full-dataset
mixture (`decomposition.elbo_decomposition`).
"""
import time

import numpy as np
from autograd import grad
from autograd.misc.optimizers import adam

from ..vi.vae import init_vae
from .decomposition import elbo_decomposition
from .mig import mig_histogram
from .mig_sampled import mi_matrix, mig_from_matrix
from .objectives import OBJECTIVES, anneal_kl, batch_terms, encode, objective

__all__ = ["train", "encode_all", "evaluate"]


def _flat(images):
    images = np.asarray(images)
    if images.ndim < 2 or images.shape[0] == 0:
        raise ValueError(f"images: expected (N, H, W) or (N, P) with N >= 1, got {images.shape}")
    return images.reshape(images.shape[0], -1)


def train(images, rng, *, kind="tcvae", beta=1.0, alpha=1.0, gamma=1.0, latent=10, hidden=(256, 256),
          iters=1000, batch_size=256, lr=1e-3, estimator="mss", warmup=0, log_every=100, params=None,
          on_log=None):
    """Train on `images` (N, H, W) in {0, 1}; returns (params, history).

    history: list of dicts (iter, objective, elbo, mi, tc, dim_kl) — minibatch values
    (for curves only; see the module docstring on TC). `on_log(i, params)`, if given, is
    called at each logging iteration (e.g. for full-dataset evaluations over training)."""
    if kind not in OBJECTIVES:
        raise ValueError(f"kind: expected one of {list(OBJECTIVES)}, got {kind!r}")
    if iters < 1 or batch_size < 2:
        raise ValueError(f"iters, batch_size: expected >= 1 and >= 2, got {iters}, {batch_size}")
    X = _flat(images)
    N, P = X.shape
    if params is None:
        params = init_vae(rng, P, latent, hidden=hidden, x_mean=X.mean(0))
    seeds = rng.integers(2 ** 31, size=2)
    hist = []

    def batch(i):
        r = np.random.default_rng([int(seeds[0]), i])
        idx = r.choice(N, size=min(batch_size, N), replace=False)     # distinct datapoints, as MSS assumes
        return X[idx].astype(float), r.standard_normal((batch_size, latent))

    def loss(p, i):
        x, eps = batch(i)
        b = anneal_kl(beta, i, warmup)
        return -objective(p, x, eps, N, kind, beta=b, alpha=alpha, gamma=gamma, estimator=estimator)

    def log(p, i, g):
        if log_every and (i % log_every == 0 or i == iters - 1):
            x, eps = batch(i)
            t = batch_terms(p, x, eps, N, estimator)
            hist.append(dict(iter=i, objective=-float(loss(p, i)),
                             elbo=float(np.mean(t["logpx"] + t["logpz"] - t["logqz_condx"])),
                             mi=float(np.mean(t["logqz_condx"] - t["logqz"])),
                             tc=float(np.mean(t["logqz"] - t["logqz_prod"])),
                             dim_kl=float(np.mean(t["logqz_prod"] - t["logpz"]))))
            if on_log is not None:
                on_log(i, p)

    params = adam(grad(loss), params, callback=log, num_iters=iters, step_size=lr)
    return params, hist


def encode_all(params, images, chunk=4096):
    """Encoder outputs for every image: (mean (N, D), log_std (N, D))."""
    X = _flat(images)
    out = [encode(params, X[i:i + chunk].astype(float)) for i in range(0, X.shape[0], chunk)]
    return np.concatenate([o[0] for o in out]), np.concatenate([o[1] for o in out])


def evaluate(params, images, factors, rng, *, n_samples=10000, n_points=2000, factor_subset=(1, 2, 3, 4)):
    """Both MIGs and the full-dataset decomposition of a trained model.

    mig_sampled over `factor_subset` (default: all but shape, as the official dSprites
    metric), mig_histogram over all factors (disentanglement_lib's choice) — each with its
    own published convention; the "…_all" / "…_noshape" variants make the comparison fair.
    Both sampled MIGs come from one MI matrix over all factors (`mi_matrix`: the same
    entropies, so `mig_sampled` equals `mig_sampled(..., factor_subset)` up to its draws).
    Returns dict of floats and seconds spent."""
    t0 = time.perf_counter()
    mean, log_std = encode_all(params, images)
    dec = elbo_decomposition(mean, log_std, rng, n_points=n_points)
    mi = mi_matrix(mean, log_std, factors, rng, n_samples=n_samples)        # (D, K): every factor
    out = {"mig_sampled": mig_from_matrix(mi[:, list(factor_subset)]),
           "mig_histogram": mig_histogram(mean, factors),
           "mig_sampled_all": mig_from_matrix(mi),
           "mig_histogram_noshape": mig_histogram(mean, np.asarray(factors)[:, list(factor_subset)]),
           "tc": float(dec["tc"]), "mi": float(dec["mi"]), "dim_kl": float(dec["dim_kl"]),
           "kl": float(dec["kl"])}
    X = _flat(images)
    idx = rng.choice(X.shape[0], size=min(2048, X.shape[0]), replace=False)
    t = batch_terms(params, X[idx].astype(float), rng.standard_normal((idx.size, mean.shape[1])),
                    X.shape[0], "mss")
    out["recon"] = float(np.mean(t["logpx"]))
    out["elbo"] = out["recon"] - out["kl"]
    out["eval_seconds"] = time.perf_counter() - t0
    return out
