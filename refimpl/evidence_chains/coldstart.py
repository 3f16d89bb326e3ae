"""Cold-start prediction with a population prior: a new user's latent shrinks toward the
average *generated* user latent instead of the mean prototype latent.

The model's few-evidence shrinkage (model.py, an addition to the paper) gives a node with n
pieces of evidence the latent w·m + (1 - w)·P̄, w = n/(n + κ), m the mean of the evidence
messages and P̄ the mean prototype latent; with n = 0 (no ratings) it is P̄. That is the
posterior-mean form of a Gaussian prior centred on P̄. But P̄ is the mean of the *most-rated*
users' latents, not the latent of a typical user: on ml-latest-small a user with no ratings
predicted from P̄ scores RMSE 1.043 where MF fold-in (p = 0: μ + b_i) scores 0.9995.

The population prior centres the same shrinkage on ū = the mean latent the evidence chains
generate for (a sample of) the training users — what a Bayesian would use as the prior
mean, and the chains' counterpart of MF's p = 0 for a new user:

    u' = w·m + (1 - w)·ū = u + (1 - w)(ū - P̄)          (u: the model's latent, unchanged params)

with n the number of evidence children of the query's root (its k ratings, up to the
evidence limit). For a warm user (n ≫ κ) u' ≈ u; for n = 0, u' = ū. Nothing is retrained:
ū is one forward pass over training users. Items are corrected the same way with their own v̄.
"""
import numpy as np

from .model import latents_for, rating_head
from .trees import ITEM, USER, permute_lists

__all__ = ["root_evidence", "population_latent", "prior_latents", "predict_with_prior", "paired_mse_diff",
           "wins_from"]


def root_evidence(forest):
    """(Q,) number of evidence children of each query's root (0 for a fallback query)."""
    par = forest.parent
    return np.bincount(par[par >= 0], minlength=forest.n_nodes)[forest.root_ptr[:-1]]


def population_latent(params, graph, kind, ids, rng, centre=3.0, **tree_kw):
    """ū (D,): the mean generated latent of the entities `ids` (training users or items)."""
    lat, _ = latents_for(params, permute_lists(graph, rng), kind, np.asarray(ids, np.int64), centre, **tree_kw)
    return np.asarray(lat).mean(axis=0)


def prior_latents(params, graph, kind, ids, prior, centre=3.0, **tree_kw):
    """Latents (Q, D) of `ids` with the shrinkage re-centred on `prior` (D,); `graph` in
    evidence order (`permute_lists`). A prototype query keeps its parameter row. Without shrinkage in params (REC) a node has no prior:
    only fallback queries (n = 0) move, to `prior`."""
    lat, forest = latents_for(params, graph, kind, np.asarray(ids, np.int64), centre, **tree_kw)
    n = root_evidence(forest).astype(float)
    P = params["P_u"] if kind == USER else params["P_i"]
    if "log_kappa" in params:
        w = n / (n + np.exp(params["log_kappa"][kind]))
    else:
        w = (n > 0).astype(float)
    w[forest.proto[forest.root_ptr[:-1]] >= 0] = 1.0          # a prototype's latent is its parameter row
    return np.asarray(lat) + (1.0 - w)[:, None] * (np.asarray(prior) - P.mean(axis=0))[None, :]


def predict_with_prior(params, graph, users, items, rng, prior_u, prior_i, centre=3.0, predictor="dot",
                       **tree_kw):
    """Predicted ratings (B,) like `model.predict_pairs`, with the population priors."""
    users, items = np.asarray(users, np.int64), np.asarray(items, np.int64)
    g = permute_lists(graph, rng)
    uq, u_inv = np.unique(users, return_inverse=True)
    iq, i_inv = np.unique(items, return_inverse=True)
    U = prior_latents(params, g, USER, uq, prior_u, centre, **tree_kw)
    V = prior_latents(params, g, ITEM, iq, prior_i, centre, **tree_kw)
    return rating_head(params, U[u_inv], V[i_inv], predictor)


# --- reading a cold-start table --------------------------------------------------------------

def paired_mse_diff(pred_a, pred_b, target):
    """(mean, standard error) of (a - y)² - (b - y)² over the query ratings: the MSE gap of
    method a over method b, paired on the same ratings (negative: a is better)."""
    d = (np.asarray(pred_a) - target) ** 2 - (np.asarray(pred_b) - target) ** 2
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size))


def wins_from(ks, rmse_a, rmse_b):
    """The smallest k of `ks` (increasing) from which b's RMSE is below a's at that k and
    every larger one; inf if b is not below a at the largest k (b never wins for good)."""
    out = np.inf
    for k, a, b in zip(ks[::-1], rmse_a[::-1], rmse_b[::-1]):
        if not b < a:
            break
        out = k
    return float(out)
