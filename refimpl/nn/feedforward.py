"""Multilayer perceptrons as pure functions on lists of (W, b) pairs.

    params = init_mlp(rng, [2, 64, 64, 1])       # [(W1 (2,64), b1 (64,)), ...]
    y = mlp(params, x, activation="tanh")        # x: (B, 2) -> y: (B, 1)

`flatten` is `autograd.misc.flatten` (a parameter container <-> one flat vector), re-exported
so that optimizers and gradient checks can work on a single vector.
"""
import autograd.numpy as np
import numpy as onp
from autograd.extend import defjvp, defvjp, primitive
from autograd.misc import flatten  # noqa: F401  (re-exported)
from autograd.scipy.special import expit


def _softplus(x):
    # log(1 + e^x) computed stably for large |x|
    return np.logaddexp(0.0, x)


@primitive
def relu(x):
    """max(x, 0) as one primitive: its derivative is the mask x > 0 (0 at the kink, as
    torch's); autograd's `maximum` VJP builds three full-size temporaries (`balanced_eq`),
    ~3x the cost on a decoder's (100 000, 20) activations. Twin: `relu_reference`."""
    return onp.maximum(x, 0.0)


def relu_reference(x):
    """The readable twin of `relu` (autograd's derivative is 1/2 at exactly 0)."""
    return np.maximum(x, 0.0)


defvjp(relu, lambda ans, x: lambda g: g * (ans > 0))
defjvp(relu, lambda g, ans, x: g * (ans > 0))


ACTIVATIONS = {
    "tanh": np.tanh,
    "relu": relu,
    "softplus": _softplus,
    "sigmoid": expit,
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
    "swish": lambda x: x * expit(x),
    "identity": lambda x: x,
}


def activation_fn(name):
    """Look up an activation by name; ValueError lists the valid names."""
    if callable(name):
        return name
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(f"activation: expected one of {sorted(ACTIVATIONS)}, got {name!r}") from None


def init_mlp(rng, sizes, scale=None):
    """Initialise an MLP with layer widths `sizes` = [d_in, h1, ..., d_out].

    W_l: (sizes[l], sizes[l+1]) ~ N(0, scale²), scale = 1/sqrt(fan_in) by default (LeCun);
    b_l: (sizes[l+1],) = 0. `rng` is a `numpy.random.Generator`.
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes: expected at least two positive widths, got {sizes}")
    params = []
    for d_in, d_out in zip(sizes[:-1], sizes[1:]):
        s = 1.0 / float(np.sqrt(d_in)) if scale is None else float(scale)
        params.append((s * rng.standard_normal((d_in, d_out)), np.zeros(d_out)))
    return params


def mlp(params, x, activation="tanh", final_activation=None):
    """Apply the MLP: hidden layers use `activation`, the last layer `final_activation`
    (None = linear). x: (..., d_in) -> (..., d_out)."""
    act = activation_fn(activation)
    lead = np.shape(x)[:-1]
    # batch dims flattened: np.dot of an N-D array (N > 2) with W does not use BLAS and its
    # VJP's tensordot is slower still (~6x for (5, 20, 200) @ (200, 784))
    h = np.reshape(x, (-1, np.shape(x)[-1])) if len(lead) > 1 else x   # (N, d_in)
    for i, (W, b) in enumerate(params):
        h = np.dot(h, W) + b                                        # (N, d_out_l)
        if i < len(params) - 1:
            h = act(h)
    if final_activation is not None:
        h = activation_fn(final_activation)(h)
    return np.reshape(h, lead + np.shape(h)[-1:]) if len(lead) > 1 else h


@primitive
def affine(x, W, b):
    """x @ W + b: x (N, d_in), W (d_in, d_out), b (d_out,) -> (N, d_out)."""
    return onp.matmul(x, W) + b


# VJPs of x W + b: g W^T, x^T g, sum_n g (plain matmuls: autograd's generic `dot` VJP goes
# through `tensordot`, several times slower for tall x)
defvjp(affine, lambda ans, x, W, b: lambda g: g @ W.T,
       lambda ans, x, W, b: lambda g: x.T @ g,
       lambda ans, x, W, b: lambda g: g.sum(axis=0))


def mlp2d(params, x, activation="tanh"):
    """`mlp` for a 2-D batch x (N, d_in) through `affine` (same values; faster VJPs)."""
    if np.ndim(x) != 2:
        raise ValueError(f"x: expected a 2-D batch (N, d_in), got shape {np.shape(x)}")
    act = activation_fn(activation)
    h = x
    for i, (W, b) in enumerate(params):
        h = affine(h, W, b)
        if i < len(params) - 1:
            h = act(h)
    return h


def n_params(params):
    """Number of scalars in a parameter container."""
    return int(flatten(params)[0].size)
