"""Natural gradient = Fisher⁻¹ × ordinary gradient on a conjugate model: for
L(η) = <η⁰ + s − η, ∇logZ(η)> + logZ(η) (the mean-field bound in η up to a constant, s the
expected statistics), ∇L = ∇²logZ(η) (η⁰ + s − η) and the Fisher information is ∇²logZ."""
import numpy as onp
from autograd import grad, hessian
from autograd.misc import flatten

from refimpl.expfam import dirichlet, niw
from refimpl.svae import gmm, objective


def test_natural_gradient_is_fisher_inverse_times_gradient():
    rng = onp.random.default_rng(0)
    prior, q = gmm.init_global(rng, 3, 2)
    stats = (rng.random(3) * 5, tuple(onp.abs(a) * 3 + (2 * onp.eye(2) if a.ndim == 3 else 0)
                                      for a in q[1]))
    f_q, unflat = flatten(q)

    def logZ(f):
        e = unflat(f)
        return dirichlet.logZ(e[0]) + niw.logZ(e[1])
    target = flatten(prior)[0] + flatten(stats)[0]

    def L(f):
        return (target - f) @ grad(logZ)(f) + logZ(f)
    g = grad(L)(f_q)
    F = hessian(logZ)(f_q)
    # F is singular (A is symmetric: duplicated coordinates), so compare F·∇̃ with ∇L
    nat, _ = flatten(objective.natural_gradient(q, prior, stats, N=7.0, B=7.0))
    onp.testing.assert_allclose(F @ (7.0 * nat), g, rtol=1e-6, atol=1e-8)


def test_minibatch_scaling_of_natural_gradient():
    # ∇̃ = (η⁰ + (N/|B|) s_B − η) / N: a batch of 5 out of N = 20 counts its statistics 4 times
    rng = onp.random.default_rng(1)
    prior, q = gmm.init_global(rng, 3, 2)
    stats = (rng.random(3), tuple(rng.random(onp.shape(a)) for a in q[1]))
    nat = flatten(objective.natural_gradient(q, prior, stats, N=20, B=5))[0]
    want = (flatten(prior)[0] + 4 * flatten(stats)[0] - flatten(q)[0]) / 20
    onp.testing.assert_allclose(nat, want, rtol=1e-12)
