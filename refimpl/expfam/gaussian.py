"""Gaussian in information form: natural parameter (J, h), J (..., D, D) SPD, h (..., D).

    p(x) = exp(<(J, h), (−½ x xᵀ, x)> − logZ(J, h)),
    logZ(J, h) = ½ hᵀ J⁻¹ h − ½ log|J| + (D/2) log 2π          (normalised; official omits the 2π)

so expected_stats = grad logZ = (−½ E[x xᵀ], E[x]). Leading axes of J, h are batch axes;
``logZ`` sums over them.
"""
import autograd.numpy as np

from ._common import check_tuple, kl_from_logZ

LOG2PI = np.log(2 * np.pi)


def _check(eta):
    J, h = check_tuple(eta, 2, "eta (J, h)")
    if np.shape(J)[-2:] != (np.shape(h)[-1],) * 2 or np.shape(J)[:-2] != np.shape(h)[:-1]:
        raise ValueError(f"eta: J must be (..., D, D) and h (..., D); got {np.shape(J)}, {np.shape(h)}")
    return J, h


def _solve(J, h):
    return np.linalg.solve(J, h[..., None])[..., 0]


def _check_spd(J):
    # logZ is finite only for symmetric positive-definite J; slogdet and solve would return a
    # number for any invertible J (a wrong one), and Cholesky reads one triangle only, so
    # check finiteness and symmetry, then positive definiteness by a Cholesky attempt
    import numpy as onp
    from autograd.tracer import getval
    J = onp.asarray(getval(J))
    if not onp.all(onp.isfinite(J)):
        raise ValueError("eta: J must be finite; got a J with nan or inf entries")
    # a loose tolerance: gradient checks perturb J by ~1e-6 in non-symmetric directions
    if onp.any(onp.abs(J - onp.swapaxes(J, -1, -2)) > 1e-5 * (1.0 + onp.abs(J).max())):
        raise ValueError("eta: J must be symmetric positive definite; got a non-symmetric J")
    try:
        onp.linalg.cholesky(J)
    except onp.linalg.LinAlgError:
        raise ValueError("eta: J must be symmetric positive definite (logZ is +inf otherwise); "
                         "got a J with a non-positive pivot") from None


def logZ_each(eta):
    """logZ per batch element: (...). Raises ValueError if a J is not positive definite."""
    J, h = _check(eta)
    _check_spd(J)
    D = np.shape(h)[-1]
    return 0.5 * np.sum(h * _solve(J, h), -1) - 0.5 * np.linalg.slogdet(J)[1] + 0.5 * D * LOG2PI


def logZ(eta):
    return np.sum(logZ_each(eta))


def expected_stats(eta):
    """(−½ E[x xᵀ] (..., D, D), E[x] (..., D)) in closed form."""
    J, h = _check(eta)
    Sigma = np.linalg.inv(J)
    mu = _solve(J, h)
    return -0.5 * (Sigma + mu[..., :, None] * mu[..., None, :]), mu


def natural_to_standard(eta):
    """(J, h) -> (mean (..., D), covariance (..., D, D))."""
    J, h = _check(eta)
    return _solve(J, h), np.linalg.inv(J)


def standard_to_natural(mean, cov):
    J = np.linalg.inv(cov)
    return J, np.linalg.solve(cov, mean[..., None])[..., 0]


def sample(rng, eta, n=None):
    """Samples x = J⁻¹h + L⁻ᵀ ε, J = L Lᵀ: shape (n, ..., D) (or (..., D) when n is None)."""
    import numpy as onp
    J, h = (onp.asarray(a) for a in _check(eta))
    _check_spd(J)
    L = onp.linalg.cholesky(J)
    shape = (() if n is None else (int(n),)) + h.shape
    eps = rng.standard_normal(shape)
    z = onp.linalg.solve(onp.swapaxes(L, -1, -2), eps[..., None])[..., 0]
    return onp.linalg.solve(J, h[..., None])[..., 0] + z


def kl(eta_q, eta_p):
    """KL(q || p) summed over batch axes."""
    return kl_from_logZ(logZ, expected_stats, _check(eta_q), _check(eta_p))
