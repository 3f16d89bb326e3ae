"""Training the classifiers: cross-entropy, optionally with a penalty on the alignment of the
model's input gradient with a reference model's input gradient [SCE Sec. 4].

    penalty = lam * mean_i cos(grad_x CE_model(x_i), grad_x CE_ref(x_i))^2

Choice where the paper is silent: the squared cosine (it pushes the two loss gradients towards
orthogonal, as in the gradient-alignment-loss literature, e.g. Kariyappa & Qureshi 2019, rather
than rewarding anti-alignment), computed per example on each minibatch, with the reference
model's gradients held fixed. Differentiating it needs second derivatives (double backprop).
"""
import autograd.numpy as np
import numpy as onp
from autograd import grad
from autograd.misc.optimizers import adam
from autograd.scipy.special import logsumexp

from ..attacks import cross_entropy_grad
from . import models


def cross_entropy(params, model, x, y):
    """Mean cross-entropy of the classifier with parameters `params` (structure of model)."""
    z = models.logits(dict(model, params=params), x)                 # (B, K)
    return np.mean(logsumexp(z, axis=1) - z[onp.arange(len(y)), y])


def input_gradients(params, model, x, y):
    """Per-example input gradients of the cross-entropy, (B, D) (rows are independent)."""
    def total(xx):
        z = models.logits(dict(model, params=params), xx)
        return np.sum(logsumexp(z, axis=1) - z[onp.arange(len(y)), y])
    return grad(total)(x)


def cosine_rows(a, b):
    """Row-wise cosine similarity of (B, D) arrays."""
    return np.sum(a * b, axis=1) / (np.sqrt(np.sum(a ** 2, axis=1) * np.sum(b ** 2, axis=1) + 1e-40))


def alignment_loss(params, model, x, y, g_ref, lam):
    """Cross-entropy + lam * mean cos^2(input gradient, reference input gradient)."""
    return cross_entropy(params, model, x, y) + lam * np.mean(
        cosine_rows(input_gradients(params, model, x, y), g_ref) ** 2)


def fit(rng, model, X, y, epochs=10, batch=100, lr=1e-3, ref=None, lam=0.0):
    """Adam on minibatches; with `ref` (a trained model) and lam > 0, the alignment penalty."""
    if ref is None and lam:
        raise ValueError("ref: a reference model is needed when lam > 0")
    n = len(X)
    per_epoch = max(1, n // batch)
    order = onp.concatenate([rng.permutation(n)[: per_epoch * batch] for _ in range(int(epochs))])
    order = order.reshape(-1, batch)                                 # (iters, batch)
    ref_grad = None if ref is None else cross_entropy_grad(lambda xx: models.logits(ref, xx))

    def objective(params, i):
        xb, yb = X[order[i]], y[order[i]]
        if ref is None or not lam:
            return cross_entropy(params, model, xb, yb)
        return alignment_loss(params, model, xb, yb, ref_grad(xb, yb), lam)

    params = adam(grad(objective), model["params"], num_iters=len(order), step_size=lr)
    return dict(model, params=params)


def accuracy(model, X, y):
    return float(onp.mean(models.predict(model, X) == y))
