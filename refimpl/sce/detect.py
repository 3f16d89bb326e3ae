"""Detection by metric learning [SCE Sec. 6]: an embedding e(x) trained with a triplet loss on
clean digits; the detection score of x is the distance from e(x) to the clean-embedding centroid
of the class the classifier predicts for x. Large score = suspicious.

Choices where the paper is silent: the triplet loss with squared Euclidean distances and margin 1
(Schroff et al. 2015) on random triplets; the centroid (rather than k nearest clean embeddings)
as "the predicted class's clean embeddings", which keeps the score differentiable for the
adaptive attacker; the adaptive attacker maximises CE(classifier) - c * score^2 with the predicted
class held fixed within each PGD step (c = 1 by default).
"""
import autograd.numpy as np
import numpy as onp
from autograd import grad
from autograd.misc.optimizers import adam
from autograd.scipy.special import logsumexp
from scipy.stats import rankdata

from ..nn import init_mlp, mlp
from . import models


def embed(params, x):
    """(B, 784) -> (B, E) embedding (ReLU MLP, linear last layer)."""
    return mlp(params, x, activation="relu")


def triplet_loss(params, xa, xp, xn, margin=1.0):
    """mean max(0, |e(a) - e(p)|^2 - |e(a) - e(n)|^2 + margin); p shares a's class, n does not."""
    ea, ep, en = embed(params, xa), embed(params, xp), embed(params, xn)
    d_ap = np.sum((ea - ep) ** 2, axis=1)
    d_an = np.sum((ea - en) ** 2, axis=1)
    return np.mean(np.maximum(d_ap - d_an + margin, 0.0))


def sample_triplets(rng, y, n):
    """Indices (a, p, neg) with y[p] == y[a] != y[neg]: p uniform in a's class, neg uniform in a
    class drawn uniformly among the others."""
    classes, ky = onp.unique(y, return_inverse=True)
    K = len(classes)
    order = onp.argsort(ky, kind="stable")                  # indices grouped by class
    count = onp.bincount(ky, minlength=K)
    start = onp.concatenate([[0], onp.cumsum(count)[:-1]])
    a = rng.integers(0, len(y), size=n)
    kn = (ky[a] + rng.integers(1, K, size=n)) % K
    p = order[start[ky[a]] + (rng.uniform(size=n) * count[ky[a]]).astype(int)]
    neg = order[start[kn] + (rng.uniform(size=n) * count[kn]).astype(int)]
    return a, p, neg


def fit(rng, X, y, dims=(128, 32), iters=600, batch=128, lr=1e-3, margin=1.0):
    if len(onp.unique(y)) < 2:
        raise ValueError(f"y: expected at least two classes, got {onp.unique(y)}")
    params = init_mlp(rng, [X.shape[1], *dims])
    trip = [sample_triplets(rng, y, batch) for _ in range(iters)]
    g = grad(lambda p, i: triplet_loss(p, X[trip[i][0]], X[trip[i][1]], X[trip[i][2]], margin))
    return adam(g, params, num_iters=iters, step_size=lr)


def centroids(params, X, y, n_classes=10):
    E = embed(params, X)
    return onp.stack([E[y == c].mean(axis=0) for c in range(n_classes)])     # (K, E)


def score(params, C, model, x):
    """Distance of e(x) to the clean centroid of the class the classifier predicts, (B,)."""
    cls = models.predict(model, x)
    return onp.linalg.norm(embed(params, x) - C[cls], axis=1)


def adaptive_grad(params, C, model, c=1.0):
    """loss_grad for an attacker who also lowers the detection score:
    d/dx sum [CE(classifier(x), y) - c |e(x) - C[pred(x)]|^2], pred held fixed at the current x."""
    def total(x, y, cls):
        z = models.logits(model, x)
        ce = logsumexp(z, axis=1) - z[onp.arange(len(y)), y]
        return np.sum(ce - c * np.sum((embed(params, x) - C[cls]) ** 2, axis=1))
    g = grad(total)
    return lambda x, y: g(x, y, models.predict(model, x))


def auc(neg, pos):
    """Area under the ROC curve of scores pos (positives: adversarial) vs neg (clean);
    Mann-Whitney statistic with ties counted one half."""
    neg, pos = onp.asarray(neg, float), onp.asarray(pos, float)
    if len(neg) == 0 or len(pos) == 0:
        return float("nan")
    r = rankdata(onp.concatenate([neg, pos]))
    return float((r[len(neg):].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def roc(neg, pos):
    """(false positive rate, true positive rate) as the threshold sweeps all scores."""
    t = onp.sort(onp.concatenate([neg, pos]))[::-1]
    return (onp.array([0.0] + [onp.mean(neg >= s) for s in t]), onp.array([0.0] + [onp.mean(pos >= s) for s in t]))
