"""`exp_natgrad.fit_globals`: the global-only SVI loop of svae-natgrad. A natural-gradient step
of size ρ = 1 on the full batch is the VB update η⁰ + Σ_n E_q[t_n]; the plain-gradient step is
the Fisher times the natural gradient; a step that would leave the domain is halved."""
import numpy as onp
import pytest
from autograd import hessian
from autograd.misc import flatten

from refimpl.expfam import dirichlet, niw
from refimpl.svae import exp_natgrad, gmm, objective
from refimpl.svae.data import make_pinwheel


@pytest.fixture(scope="module")
def setup():
    rng = onp.random.default_rng(0)
    X, _ = make_pinwheel(rng, num_per_class=6)
    prior, q0 = gmm.init_global(rng, 3, 2)
    nets = (objective.init_net(rng, 2, 4, (5,)), objective.init_net(rng, 2, 4, (5,)))
    return X, prior, q0, nets


def run(setup, rule, step, T=1, batch=None, evaluate=None):
    X, prior, q0, nets = setup
    seen = []
    ev = evaluate or (lambda q: seen.append(q) or 0.0)
    out = exp_natgrad.fit_globals(onp.random.default_rng(1), X, nets, prior, q0, rule, step, T,
                                  batch or len(X), ev, [T])
    return seen[-1] if seen else None, out


def test_natgrad_step_one_full_batch_is_the_vb_update(setup):
    X, prior, q0, nets = setup
    q1, _ = run(setup, "natgrad", 1.0)
    *_, stats = gmm.local_meanfield(q0, objective.recognize(nets[0], X))  # the batch is all of X
    want = flatten(prior)[0] + flatten(stats)[0]
    onp.testing.assert_allclose(flatten(q1)[0], want, rtol=1e-8)


def test_plain_sgd_step_is_fisher_times_natural_gradient(setup):
    X, prior, q0, nets = setup
    f0, unflat = flatten(q0)
    q1, (_, _, halvings) = run(setup, "sgd", 1e-3)
    q_nat, _ = run(setup, "natgrad", 1e-3)
    kept = (flatten(q_nat)[0] - f0) / (1e-3 * len(X))
    F = hessian(lambda f: dirichlet.logZ(unflat(f)[0]) + niw.logZ(unflat(f)[1]))(f0)
    onp.testing.assert_allclose(flatten(q1)[0] - f0, 1e-3 * (F @ kept), rtol=1e-6, atol=1e-12)
    assert halvings == 0


def test_large_steps_are_halved_into_the_domain(setup):
    q1, (_, _, halvings) = run(setup, "sgd", 1e4, T=3, batch=10)
    assert halvings > 0 and exp_natgrad.valid(q1, 2)
    with pytest.raises(ValueError, match="rule"):
        run(setup, "newton", 1.0)


@pytest.mark.parametrize("bad", ["alpha", "kappa", "nu", "S"])
def test_valid_rejects_each_way_out_of_the_domain(setup, bad):
    _, _, q0, _ = setup
    assert exp_natgrad.valid(q0, 2)
    S, m, kappa, nu = (onp.array(a, dtype=float) for a in niw.natural_to_standard(q0[1]))
    alpha = q0[0] + 1
    {"alpha": lambda: alpha.__setitem__(0, -0.1), "kappa": lambda: kappa.__setitem__(1, -0.1),
     "nu": lambda: nu.__setitem__(2, 0.9), "S": lambda: S.__setitem__((0, 0, 0), -1.0)}[bad]()
    assert not exp_natgrad.valid((alpha - 1, niw.standard_to_natural(S, m, kappa, nu)), 2)


def test_natgrad_full_step_adds_the_dropped_term(setup):
    # fit_globals draws (batch indices, noise) from its rng in that order; replay them
    X, prior, q0, nets = setup
    N, step = len(X), 1e-2
    q_nat, _ = run(setup, "natgrad", step)
    q_full, (_, rel, _) = run(setup, "natgrad_full", step)
    rng = onp.random.default_rng(1)
    idx = rng.choice(N, N, replace=False)
    eps = rng.standard_normal((N, 2))
    from refimpl.svae.dropped import dropped_term
    drop = flatten(dropped_term(q0, prior, nets, X[idx], eps, N))[0]
    assert onp.linalg.norm(drop) > 0 and len(rel) == 1
    onp.testing.assert_allclose(flatten(q_full)[0] - flatten(q_nat)[0], step * N * drop,
                                rtol=1e-6, atol=1e-12)
