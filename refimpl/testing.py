"""Checks for stochastic estimators and numerical agreement, usable on your own code.

A verifier who wrote, say, a Hutchinson trace estimator or an STL gradient in PyTorch can
draw N samples of it (converted to NumPy) and call these checks::

    from refimpl.testing import assert_unbiased
    samples = np.stack([my_estimator(seed=i) for i in range(2000)])    # (N, ...)
    assert_unbiased(samples, exact_value, n_se=4)

Per-coordinate standard errors are used; with many coordinates a Bonferroni-style
`n_se` (4 or 5) keeps false alarms rare while a real bias of a few standard errors fails.

Gradient checks: use `autograd.test_util.check_grads` rather than rewriting it::

    from autograd.test_util import check_grads
    check_grads(f, modes=["rev"], order=2)(x)     # random projections, central differences

It compares the reverse-mode VJP with finite differences along random directions, and with
`order=2` also the gradient of the gradient. Seed `numpy.random` before calling it in a test
(it draws its directions from the global state), e.g. `np.random.seed(0)`.
"""
import numpy as np

__all__ = [
    "sample_mean", "sample_variance", "standard_error", "assert_unbiased",
    "assert_variance_close", "tolerance_units", "assert_close_in_tolerance_units",
    "assert_twins_agree", "EstimatorCheckError",
]


class EstimatorCheckError(AssertionError):
    """A statistical or agreement check failed; the message says where and by how much."""


def _where(flat_index, shape):
    # a plain tuple of ints for messages, e.g. (1,) or (0, 2)
    return tuple(int(j) for j in np.unravel_index(int(flat_index), shape)) if shape else ()


def _samples(samples, name="samples"):
    s = np.asarray(samples, dtype=float)
    if s.ndim < 1 or s.shape[0] < 2:
        raise ValueError(f"{name}: expected an array of shape (N, ...) with N >= 2, got shape {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError(f"{name}: expected finite values, got non-finite entries")
    return s


def sample_mean(samples):
    return _samples(samples).mean(axis=0)


def sample_variance(samples):
    """Unbiased per-coordinate variance of samples: (N, ...) -> (...)."""
    return _samples(samples).var(axis=0, ddof=1)


def standard_error(samples):
    """Standard error of the per-coordinate mean: sqrt(var / N)."""
    s = _samples(samples)
    return np.sqrt(s.var(axis=0, ddof=1) / s.shape[0])


def assert_unbiased(samples, expected, n_se=4.0, name="estimate", min_se=0.0):
    """Assert |mean(samples) - expected| <= n_se * SE in every coordinate.

    `min_se` guards the zero-variance case (an estimator that is constant must equal
    `expected` to within `min_se`). Returns the largest deviation in units of SE.
    """
    s = _samples(samples, f"samples ({name})")
    expected = np.broadcast_to(np.asarray(expected, dtype=float), s.shape[1:])
    mean, se = s.mean(axis=0), standard_error(s)
    dev = np.abs(mean - expected)
    units = dev / np.maximum(se, max(min_se, np.finfo(float).tiny))
    if np.any(dev > n_se * se + min_se):
        i = _where(np.argmax(units), units.shape)
        raise EstimatorCheckError(
            f"{name} looks biased: at index {i} mean {np.asarray(mean)[i]:.6g} vs expected "
            f"{np.asarray(expected)[i]:.6g}, {np.asarray(units)[i]:.2f} standard errors "
            f"(SE {np.asarray(se)[i]:.3g}, N={s.shape[0]}, allowed {n_se})")
    return float(np.max(units))


def assert_variance_close(samples, expected_var, rel=None, n_se=4.0, name="estimate"):
    """Assert the sample variance matches `expected_var` per coordinate.

    Without `rel`, the tolerance is n_se standard errors of the variance estimate, estimated
    from the fourth central moment: SE(s²) ≈ sqrt((m4 - s⁴ (N-3)/(N-1)) / N).
    """
    s = _samples(samples, f"samples ({name})")
    n = s.shape[0]
    var = s.var(axis=0, ddof=1)
    expected_var = np.broadcast_to(np.asarray(expected_var, dtype=float), var.shape)
    if rel is not None:
        tol = rel * np.abs(expected_var)
    else:
        m4 = ((s - s.mean(axis=0)) ** 4).mean(axis=0)
        tol = n_se * np.sqrt(np.maximum(m4 - var ** 2 * (n - 3) / (n - 1), 0.0) / n)
    bad = np.abs(var - expected_var) > tol
    if np.any(bad):
        i = _where(np.argmax(bad), bad.shape)
        raise EstimatorCheckError(
            f"{name}: variance {np.asarray(var)[i]:.6g} vs expected {np.asarray(expected_var)[i]:.6g} "
            f"at index {i} (tolerance {np.asarray(tol)[i]:.3g}, N={n})")
    return var


def tolerance_units(y, y_true, rtol, atol):
    """RMS error in units of the requested tolerance: rms((y - y_true) / (atol + rtol*|y_true|)).

    The scale scipy's own ODE tests use; a value below ~5 means the solver met its tolerance.
    """
    y, y_true = np.asarray(y, dtype=float), np.asarray(y_true, dtype=float)
    if y.shape != y_true.shape:
        raise ValueError(f"y: expected shape {y_true.shape} (that of y_true), got {y.shape}")
    scale = atol + rtol * np.abs(y_true)
    return float(np.sqrt(np.mean(((y - y_true) / scale) ** 2)))


def assert_close_in_tolerance_units(y, y_true, rtol, atol, max_units=5.0, name="solution"):
    units = tolerance_units(y, y_true, rtol, atol)
    if not units <= max_units:
        raise EstimatorCheckError(f"{name}: error is {units:.3g} tolerance units (allowed {max_units})")
    return units


def assert_twins_agree(a, b, rtol=1e-12, atol=0.0, name="twins"):
    """Assert two implementations of the same function agree: |a-b| <= atol + rtol*max(|a|,|b|)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise EstimatorCheckError(f"{name}: shapes differ, {a.shape} vs {b.shape}")
    tol = atol + rtol * np.maximum(np.abs(a), np.abs(b))
    err = np.abs(a - b)
    if not np.all(err <= tol):
        i = _where(np.argmax(err - tol), err.shape)
        raise EstimatorCheckError(f"{name} disagree at index {i}: {np.asarray(a)[i]!r} vs "
                                  f"{np.asarray(b)[i]!r} (|diff| {np.asarray(err)[i]:.3g})")
    return float(np.max(err)) if err.size else 0.0
