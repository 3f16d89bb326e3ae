"""Small helpers shared by the estimators: stop-gradient, estimator-name and shape checks.

The *surrogate* pattern used throughout `refimpl.vi`: every estimator is a scalar function
of the variational (and model) parameters whose **value** is the Monte-Carlo estimate of the
bound and whose **autograd gradient** is the gradient estimator. "Holding a quantity
constant" is done with `stop_gradient` (autograd's `getval`): the value is unchanged, the
gradient does not flow through it.
"""
import autograd.numpy as np
from autograd.tracer import getval

LOG_2PI = float(np.log(2.0 * np.pi))


def stop_gradient(tree):
    """The value of `tree` (an array or a nested list/tuple/dict of arrays) with no gradient."""
    if isinstance(tree, dict):
        return {k: stop_gradient(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(stop_gradient(v) for v in tree)
    return getval(tree)


def check_estimator(estimator, allowed):
    if estimator not in allowed:
        raise ValueError(f"estimator: expected one of {list(allowed)}, got {estimator!r}")


def check_noise(eps, D, min_ndim=2, name="eps"):
    """`eps` must be a finite float array with at least `min_ndim` axes and last axis D."""
    e = getval(eps)
    shape = np.shape(e)
    if len(shape) < min_ndim or shape[-1] != D:
        raise ValueError(f"{name}: expected shape (S, ..., {D}) (at least {min_ndim} axes, "
                         f"last axis = latent dimension {D}), got {shape}")
    if not np.all(np.isfinite(e)):
        raise ValueError(f"{name}: expected finite standard-normal noise, got non-finite values")


def diag_normal_logpdf(z, mean, log_std):
    """log N(z; mean, diag(exp(2 log_std))) summed over the last axis: (..., D) -> (...)."""
    u = (z - mean) * np.exp(-log_std)                                   # (..., D)
    return -0.5 * np.sum(u ** 2 + LOG_2PI + 2.0 * log_std, axis=-1)
