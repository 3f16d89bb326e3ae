"""Layers on sequences ``x: (B, L, C)`` (channels last), written in autograd.numpy so that
second derivatives (the WGAN-GP penalty) flow through them.

`conv1d_reference` is the definition, im2col in autograd ops: the K shifted copies of the
zero-padded input side by side, ``(B, L, K*C)``, times the weights reshaped to ``(K*C, D)``.
Autograd differentiates it by slicing, whose VJP (``np.add.at``) dominates a WGAN-GP step.
`conv1d` is its fast twin: an autograd primitive whose VJPs are themselves the primitives
`_conv` and `_wgrad`, so the second derivatives the gradient penalty needs stay fast:

    y = conv(x, W; l, r):      y[t]   = Σ_k x_pad[t + k] @ W[k]         (l, r zeros padded)
    ∂x = conv(g, flip(W); K-1-l, K-1-r),  flip(W)[j] = W[K-1-j]ᵀ
    ∂W = wgrad(x, g; l, r):    ∂W[k]  = Σ_{b,t} x_pad[b, t + k]ᵀ g[b, t]
    VJPs of wgrad (cotangent H): ∂x = conv(g, flip(H); K-1-l, K-1-r),  ∂g = conv(x, H; l, r).
"""
import autograd.numpy as np
import numpy as onp
from autograd.extend import defvjp, primitive
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["conv1d", "conv1d_reference", "linear", "relu", "leaky_relu", "softmax", "init_conv", "init_linear"]


def _pads(K, padding):
    if padding == "same":
        return (K - 1) // 2, K // 2
    if padding == "valid":
        return 0, 0
    raise ValueError(f"padding: expected 'same' or 'valid', got {padding!r}")


def _cols(x, K, l, r):
    """im2col: ``(B, L, C)`` -> ``(B*Lo, K*C)``, row (b, t) = x_pad[b, t:t+K] flattened."""
    B, _, C = x.shape
    xp = onp.pad(x, ((0, 0), (l, r), (0, 0))) if l or r else x
    w = sliding_window_view(xp, K, axis=1)                     # (B, Lo, C, K)
    return onp.ascontiguousarray(w.transpose(0, 1, 3, 2)).reshape(-1, K * C)


@primitive
def _conv(x, W, l, r):
    K, C, D = W.shape
    B, L, _ = x.shape
    return (_cols(x, K, l, r) @ W.reshape(K * C, D)).reshape(B, L + l + r - K + 1, D)


@primitive
def _wgrad(x, g, l, r, K):
    C, D = x.shape[2], g.shape[2]
    return (_cols(x, K, l, r).T @ g.reshape(-1, D)).reshape(K, C, D)


def _flip(W):
    return np.transpose(W[::-1], (0, 2, 1))                   # (K, D, C)


defvjp(_conv,
       lambda y, x, W, l, r: lambda g: _conv(g, _flip(W), W.shape[0] - 1 - l, W.shape[0] - 1 - r),
       lambda y, x, W, l, r: lambda g: _wgrad(x, g, l, r, W.shape[0]))
defvjp(_wgrad,
       lambda dW, x, g, l, r, K: lambda H: _conv(g, _flip(H), K - 1 - l, K - 1 - r),
       lambda dW, x, g, l, r, K: lambda H: _conv(x, H, l, r))


def conv1d(x, W, b, padding="same"):
    """The fast twin of `conv1d_reference` (same signature, same numbers)."""
    l, r = _pads(W.shape[0], padding)
    return _conv(x, W, l, r) + b


def conv1d_reference(x, W, b, padding="same"):
    """``x: (B, L, C)``, ``W: (K, C, D)``, ``b: (D,)`` -> ``(B, L', D)``; 'same' pads
    (K-1)//2 zeros on the left and K//2 on the right (TensorFlow's SAME), L' = L;
    'valid' gives L' = L - K + 1. y[t] = b + Σ_k x_pad[t + k] @ W[k]."""
    K, C, D = W.shape
    B, L, _ = x.shape
    if padding == "same" and K > 1:
        left, right = (K - 1) // 2, K // 2
        x = np.concatenate([np.zeros((B, left, C)), x, np.zeros((B, right, C))], axis=1)
    elif padding not in ("same", "valid"):
        raise ValueError(f"padding: expected 'same' or 'valid', got {padding!r}")
    Lo = x.shape[1] - K + 1
    cols = x if K == 1 else np.concatenate([x[:, k:k + Lo] for k in range(K)], axis=2)  # (B, Lo, K*C)
    y = np.dot(np.reshape(cols, (B * Lo, K * C)), np.reshape(W, (K * C, D)))
    return np.reshape(y, (B, Lo, D)) + b


def linear(x, W, b):
    """``x: (B, I)``, ``W: (I, O)`` -> ``(B, O)``."""
    return np.dot(x, W) + b


def relu(x):
    return np.maximum(x, 0.0)


def leaky_relu(x, slope=0.1):
    return np.where(x > 0, x, slope * x)


def softmax(logits, axis=-1):
    z = logits - np.max(logits, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


def init_conv(rng, K, C, D):
    """Glorot-uniform weights ``(K, C, D)`` and zero bias."""
    a = (6.0 / (K * C + K * D)) ** 0.5
    return {"W": rng.uniform(-a, a, size=(K, C, D)), "b": np.zeros(D)}


def init_linear(rng, I, O):
    a = (6.0 / (I + O)) ** 0.5
    return {"W": rng.uniform(-a, a, size=(I, O)), "b": np.zeros(O)}
