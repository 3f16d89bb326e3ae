"""Divergence (Jacobian trace) of CNF dynamics: exact and Hutchinson estimators.

A CNF's log-density obeys d log p(z(t))/dt = -Tr(∂f/∂z) ([NeuralODE Thm. 1]; integrated: [FFJORD eq. 4]).
For a batch z: (B, D) whose rows evolve independently, every function here returns one
value per row, (B,). All are plain autograd code, so they can be differentiated with
respect to `params` and `z` (the solver's adjoint does exactly that).

    div = divergence_exact(dynamics, t, z, params)               # D VJPs, exact
    eps = draw_noise(rng, z.shape, "rademacher")                  # once per solve
    est = divergence_hutchinson(dynamics, t, z, params, eps)      # one VJP, unbiased

Variance of one Hutchinson probe εᵀAε for a fixed matrix A (the closed forms the tests
check): Rademacher Σ_{i≠j} A_ij (A_ij + A_ji); Gaussian ‖A‖_F² + tr(A²).

References
----------
W. Grathwohl, R. T. Q. Chen, J. Bettencourt, I. Sutskever, D. Duvenaud. FFJORD: Free-form
continuous dynamics for scalable reversible generative models. ICLR 2019 (eqs. 4, 7, 8; Sec. 3.2).
M. F. Hutchinson. A stochastic estimator of the trace of the influence matrix for Laplacian
smoothing splines. Comm. Statist. Simulation Comput. 18(3), 1989.
R. T. Q. Chen, Y. Rubanova, J. Bettencourt, D. Duvenaud. Neural ordinary differential
equations. NeurIPS 2018 (Thm. 1).
"""
import autograd.numpy as anp
import numpy as np
from autograd import make_vjp

__all__ = ["NOISES", "draw_noise", "divergence_exact", "divergence_hutchinson",
           "dynamics_and_divergence", "hutchinson_variance"]

NOISES = ("rademacher", "gaussian")


def _check_noise(noise):
    if noise not in NOISES:
        raise ValueError(f"noise: expected one of {NOISES}, got {noise!r}")


def draw_noise(rng, shape, noise="rademacher"):
    """Probe vectors ε with E[ε εᵀ] = I, float64 of `shape` (one probe per row).

    "rademacher": entries ±1 with probability 1/2; "gaussian": N(0, 1). FFJORD draws ε once
    per solve and holds it fixed while the ODE is integrated, so the integrand is a smooth
    function of t and the adaptive solver sees a deterministic ODE.
    """
    _check_noise(noise)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    if noise == "rademacher":
        return 2.0 * rng.integers(0, 2, size=shape).astype(np.float64) - 1.0
    return rng.standard_normal(shape)


def _check_batch(z, name="z"):
    if anp.ndim(z) != 2:
        raise ValueError(f"{name}: expected a batch of shape (B, D), got shape {anp.shape(z)}")


def dynamics_and_divergence(dynamics, t, z, params):
    """(f, Tr ∂f/∂z) = ((B, D), (B,)) with the exact trace from D vector-Jacobian products.

    Row i of ∂f_b/∂z_b is the VJP with cotangent e_i (the same one-hot in every row of
    the batch, since rows do not interact); its i-th entry is the diagonal element.
    """
    _check_batch(z)
    vjp, f = make_vjp(lambda zz: dynamics(t, zz, params))(z)       # f: (B, D)
    B, D = anp.shape(z)
    div = 0.0
    for i in range(D):
        e_i = np.zeros((B, D))
        e_i[:, i] = 1.0
        div = div + vjp(e_i)[:, i]                                   # (B,) = (∂f_i/∂z_i)_b
    return f, div


def divergence_exact(dynamics, t, z, params):
    """Tr(∂f/∂z) per row, (B,), from D vector-Jacobian products (one per dimension)."""
    return dynamics_and_divergence(dynamics, t, z, params)[1]


def _hutchinson_with_value(dynamics, t, z, params, eps, bottleneck=None):
    _check_batch(z)
    if bottleneck is None:
        if anp.shape(eps) != anp.shape(z):
            raise ValueError(f"eps: expected the shape of z {anp.shape(z)}, got {anp.shape(eps)}")
        vjp, f = make_vjp(lambda zz: dynamics(t, zz, params))(z)
        # [FFJORD eqs. 7–8]: Tr(A) = E[εᵀ A ε]; εᵀ(∂f/∂z) is one VJP.
        return f, anp.sum(vjp(eps) * eps, axis=1)
    # [FFJORD Sec. 3.2] (bottleneck): f = g(h(z)), h: R^D -> R^H. Tr(J_g J_h) = Tr(J_h J_g) is an
    # H x H trace, so ε lives in R^H (lower variance when H < D):
    #     εᵀ J_h J_g ε = ((J_hᵀ ε)ᵀ J_g) ε  -> one VJP through h, then one through g.
    h, g = bottleneck
    vjp_h, hz = make_vjp(lambda zz: h(t, zz, params))(z)             # hz: (B, H)
    if anp.shape(eps) != anp.shape(hz):
        raise ValueError(f"eps: expected the bottleneck shape {anp.shape(hz)} (B, H), "
                         f"got {anp.shape(eps)}")
    vjp_g, f = make_vjp(lambda hh: g(t, hh, params))(hz)            # f: (B, D)
    # J_h: (H, D) and J_g: (D, H) per row; εᵀ J_h is the VJP of h with cotangent ε.
    w = vjp_h(eps)                                                   # (B, D) = εᵀ J_h
    u = vjp_g(w)                                                     # (B, H) = εᵀ J_h J_g
    return f, anp.sum(u * eps, axis=1)


def divergence_hutchinson(dynamics, t, z, params, eps, *, bottleneck=None):
    """Hutchinson's estimate εᵀ(∂f/∂z)ε per row, (B,), with one VJP ([FFJORD eqs. 7–8]).

    eps: (B, D), one probe per row, drawn by `draw_noise` once per solve.
    bottleneck: optional pair (h, g) of functions `h(t, z, params) -> (B, H)`,
    `g(t, hz, params) -> (B, D)` with dynamics = g∘h; then eps: (B, H) and the estimate is
    εᵀ J_h J_g ε, unbiased for the same trace ([FFJORD Sec. 3.2]).
    """
    return _hutchinson_with_value(dynamics, t, z, params, eps, bottleneck)[1]


def hutchinson_variance(A, noise="rademacher"):
    """Closed-form variance of one probe εᵀAε for a fixed square matrix A.

    Rademacher: Σ_{i≠j} A_ij (A_ij + A_ji) (the diagonal contributes no variance);
    Gaussian:   ‖A‖_F² + tr(A²)  (= 2‖(A + Aᵀ)/2‖_F²).
    """
    _check_noise(noise)
    A = np.asarray(A, dtype=float)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A: expected a square matrix, got shape {A.shape}")
    if noise == "rademacher":
        off = ~np.eye(A.shape[0], dtype=bool)
        return float(np.sum((A * (A + A.T))[off]))
    return float(np.sum(A * A) + np.trace(A @ A))
