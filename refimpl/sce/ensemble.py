"""The stochastic combinatorial ensemble [SCE Sec. 3].

A member is a mask m in {0, 1}^L: on the forward pass the operator of boundary l is inserted
iff m_l = 1, so L boundaries give 2^L members at the cost of L operators. A prediction draws
S members (m_l ~ Bernoulli(p_l) independently, fresh VAE noise each) and averages their softmax.
A draw is (mask (B, L) bool, [eps_l (B, latent_l)]): each row of a batch has its own member.

Choice where the paper is silent: p_l = 0.5 (every member equally likely) and S = 20.
"""
import itertools

import autograd.numpy as np
import numpy as onp
from scipy.special import softmax

from . import models, operators


def enumerate_members(L):
    """All 2^L masks, (2^L, L) bool, in binary order (member 0 = the base model)."""
    if int(L) < 0:
        raise ValueError(f"L: expected >= 0 boundaries, got {L!r}")
    return onp.array(list(itertools.product([False, True], repeat=int(L))), dtype=bool).reshape(-1, int(L))


def _probs(p, L):
    p = onp.broadcast_to(onp.asarray(p, dtype=onp.float64), (L,))
    if onp.any(p < 0) or onp.any(p > 1):
        raise ValueError(f"p: expected insertion probabilities in [0, 1], got {p}")
    return p


def sample_draw(rng, ops, p, batch):
    """One draw for a batch: masks (B, L) with m_l ~ Bernoulli(p_l), and the VAE noise."""
    L = len(ops)
    mask = rng.uniform(size=(batch, L)) < _probs(p, L)
    return mask, [rng.standard_normal((batch, op["latent"])) for op in ops]


def member_probability(mask, p):
    """P(member = mask) = prod_l p_l^m_l (1 - p_l)^(1 - m_l)."""
    p = _probs(p, len(mask))
    return float(onp.prod(onp.where(mask, p, 1.0 - p)))


def member_logits(model, ops, x, draw, tile=1):
    """Forward pass of the members in `draw` (row i uses mask[i]): (B, 784) -> (B, K).

    tile > 1 evaluates `tile` draws at once: draw rows k*B..(k+1)*B-1 belong to copy k of x, and
    block 0 (which no operator precedes) is computed once and repeated, (tile*B, K).
    """
    mask, eps = draw
    h = models.block(model, 0, x)
    if tile > 1:
        h = np.concatenate([h] * int(tile), axis=0)
    n = h.shape[0]
    mask = onp.broadcast_to(onp.asarray(mask, dtype=bool).reshape(-1, len(ops)), (n, len(ops)))
    for l, op in enumerate(ops):
        if l > 0:
            h = models.block(model, l, h)
        if mask[:, l].any():
            # the operator output where m_l = 1, the untouched activation elsewhere
            h = np.where(mask[:, l:l + 1], operators.apply(op, h, eps[l]), h)
    return models.block(model, len(ops), h)


def ensemble_proba(model, ops, x, p, n_samples, rng):
    """Average of the softmax of n_samples sampled members per input, (B, K).

    Draws that insert no operator are the base model; their share c0/S multiplies the base
    softmax once, so p = 0 returns the base model's softmax bit for bit.
    """
    if int(n_samples) < 1:
        raise ValueError(f"n_samples: expected >= 1, got {n_samples!r}")
    base = softmax(models.logits(model, x), axis=1)
    c0, acc = onp.zeros(len(x)), onp.zeros_like(base)
    for _ in range(int(n_samples)):
        draw = sample_draw(rng, ops, p, len(x))
        used = draw[0].any(axis=1)
        c0 += ~used
        if used.any():
            acc[used] += softmax(member_logits(model, ops, x[used], (draw[0][used], [e[used] for e in draw[1]])), axis=1)
    return (c0 / n_samples)[:, None] * base + acc / n_samples


def ensemble_predict(model, ops, x, p, n_samples, rng):
    return onp.argmax(ensemble_proba(model, ops, x, p, n_samples, rng), axis=1)
