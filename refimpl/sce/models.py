"""Classifiers written as a chain of blocks, so that a noise-removal operator can be inserted at
each of the L boundaries between blocks [SCE Sec. 3]:

    logits = block_L( ... block_1( block_0(x) ) ... )

A model is a dict {"kind": "mlp" | "conv", "params": [...]}; `block(model, l, h)` applies block l.
Inputs x: (B, 784) pixels in [0, 1] (28 x 28 images, row-major).
"""
import autograd.numpy as np
import numpy as onp

from ..nn import init_mlp
from .conv_kernels import conv_relu_pool

SIDE, K_CONV = 28, 5                      # image side, conv kernel side


def init_mlp_classifier(rng, sizes):
    """ReLU MLP with widths sizes = [784, h1, ..., n_classes]; L = len(sizes) - 2 boundaries."""
    if len(sizes) < 3:
        raise ValueError(f"sizes: expected at least one hidden layer, got {sizes}")
    # He initialisation for ReLU layers (scale sqrt(2 / fan_in))
    params = [(W * onp.sqrt(2.0), b) for W, b in init_mlp(rng, sizes)]
    return {"kind": "mlp", "params": params}


def _im2col_index(side=SIDE, k=K_CONV):
    # (P, k*k) flat pixel indices of every valid k x k patch, P = (side-k+1)^2, row-major
    o = side - k + 1
    r, c = onp.meshgrid(onp.arange(o), onp.arange(o), indexing="ij")
    dr, dc = onp.meshgrid(onp.arange(k), onp.arange(k), indexing="ij")
    return ((r.reshape(-1, 1) + dr.reshape(1, -1)) * side + (c.reshape(-1, 1) + dc.reshape(1, -1)))


IM2COL = _im2col_index()                  # (576, 25)


def init_conv_classifier(rng, channels=8, hidden=64, n_classes=10):
    """conv 5x5 (valid, `channels`) -> ReLU -> 2x2 average pool -> dense `hidden` ReLU -> dense.

    Boundaries (L = 2): after the pooled feature map (12*12*channels) and after the hidden layer.
    """
    o = (SIDE - K_CONV + 1) // 2
    Wc = rng.standard_normal((K_CONV * K_CONV, channels)) * onp.sqrt(2.0 / K_CONV ** 2)
    dense = init_mlp(rng, [o * o * channels, hidden, n_classes])
    dense = [(dense[0][0] * onp.sqrt(2.0), dense[0][1]), dense[1]]
    return {"kind": "conv", "params": [(Wc, onp.zeros(channels))] + dense}


def conv_features_reference(Wc, bc, x):
    """Readable twin of `conv_features`: im2col by fancy indexing (B, 576, 25) @ W (25, C)."""
    B, C = x.shape[0], Wc.shape[1]
    o = SIDE - K_CONV + 1
    patches = x[:, IM2COL]                                           # (B, 576, 25)
    h = np.maximum(np.dot(patches, Wc) + bc, 0.0)                    # (B, 576, C)
    h = h.reshape(B, o // 2, 2, o // 2, 2, C)
    return np.mean(np.mean(h, axis=4), axis=2).reshape(B, -1)        # (B, 144*C)


def conv_features(Wc, bc, x):
    """x: (B, 784) -> ReLU(conv 5x5, valid) 2x2-average-pooled, flattened (B, 12*12*C) in (row,
    column, channel) order. Fast path of `conv_features_reference` (same numbers, tested): one
    fused numba primitive with a hand-written VJP (`conv_kernels.conv_relu_pool`)."""
    return conv_relu_pool(Wc, bc, x)


def n_boundaries(model):
    return len(model["params"]) - 1


def block(model, l, h):
    """Apply block l (0 <= l <= L) of the classifier to h."""
    params = model["params"]
    if model["kind"] == "conv" and l == 0:
        return conv_features(params[0][0], params[0][1], h)
    W, b = params[l]
    z = np.dot(h, W) + b
    return z if l == len(params) - 1 else np.maximum(z, 0.0)


def logits(model, x):
    """The base classifier (no operator inserted): (B, 784) -> (B, n_classes)."""
    h = x
    for l in range(n_boundaries(model) + 1):
        h = block(model, l, h)
    return h


def activations(model, x):
    """[h_1, ..., h_L]: the activations at each boundary for inputs x (what operators train on)."""
    out, h = [], x
    for l in range(n_boundaries(model)):
        h = block(model, l, h)
        out.append(h)
    return out


def predict(model, x):
    return onp.argmax(logits(model, x), axis=1)
