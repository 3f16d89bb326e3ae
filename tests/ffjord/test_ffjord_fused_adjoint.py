"""FFJORD's fused sweeps (sweep.py) and the adjoint's fused-VJP path (AugmentedDynamics.f_and_vjp):
twins with the autograd definition, the same numbers as the traced path, gradient checks."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad, make_vjp
from autograd.misc import flatten
from autograd.test_util import check_grads

from refimpl.ffjord import concatsquash_dynamics as DYN
from refimpl.ffjord import sweep
from refimpl.ffjord.fast import (_KEYS, AugmentedDynamics, _forward, _fused, _fused_aug,
                                 _fused_aug_vjp, _fused_vjp, fast_log_prob)
from refimpl.ffjord.layers import init_concatsquash_dynamics
from refimpl.ode import odeint
from refimpl.testing import assert_twins_agree


def _problem(D=3, hidden=(5, 4), B=6, seed=0, probes="exact"):
    rng = np.random.default_rng(seed)
    params = init_concatsquash_dynamics(rng, D, hidden)
    theta = [layer[k] for layer in params for k in _KEYS]
    z = rng.standard_normal((B, D))
    E = (np.broadcast_to(np.eye(D), (B, D, D)) if probes == "exact"
         else rng.choice([-1.0, 1.0], size=(B, 1, D)))
    return rng, params, theta, z, E


def _unflatten(theta):
    return [dict(zip(_KEYS, theta[5 * i:5 * i + 5])) for i in range(len(theta) // 5)]


def _twin(t, z, E, theta):
    """The readable definition: [f, Σ_k e_kᵀ J e_k] from the autograd forward-mode Jacobian."""
    f, JT = DYN.with_jacobian(t, z, _unflatten(theta))            # JT: (B, D, D) = (∂f/∂z)ᵀ
    div = anp.sum(anp.einsum("bki,bji->bkj", E, JT) * E, axis=(1, 2))
    return anp.concatenate([f, div[:, None]], axis=1)


def _twin_aug(t, y, theta, E):
    out = _twin(t, y[:, :-1], E, theta)
    return anp.concatenate([out[:, :-1], -out[:, -1:]], axis=1)


@pytest.mark.parametrize("hidden, probes", [((5, 4), "exact"), ((5, 4), "hutchinson"),
                                            ((7,), "exact"), ((), "exact")])
def test_sweeps_are_twins_of_the_autograd_definition(hidden, probes):
    rng, _, theta, z, E = _problem(hidden=hidden, probes=probes)
    t = 0.37
    ws = sweep.Workspace(*E.shape[:2], sweep.widths_of(theta))
    f, div = sweep.forward(t, z, E, theta, ws)
    ref = _twin(t, z, E, theta)
    assert_twins_agree(f, ref[:, :-1], rtol=1e-12, atol=1e-15, name="f")
    assert_twins_agree(div, ref[:, -1], rtol=1e-12, atol=1e-15, name="div")
    g = rng.standard_normal(ref.shape)
    g_z, grads, g_t = sweep.backward(t, E, theta, ws, g[:, :-1], g[:, -1])
    r_t, r_z, r_theta = grad(lambda t_, z_, th: anp.sum(_twin(t_, z_, E, th) * g),
                             argnum=(0, 1, 2))(t, z, theta)
    assert_twins_agree(g_z, r_z, rtol=1e-12, atol=1e-14, name="g_z")
    assert_twins_agree(g_t, r_t, rtol=1e-12, atol=1e-14, name="g_t")
    for a, b, k in zip(grads, r_theta, _KEYS * len(theta)):
        assert_twins_agree(a, b, rtol=1e-12, atol=1e-14, name=f"g_{k}")
    # the reverse sweep leaves the tape intact: a second call gives the same numbers
    g_z2, grads2, g_t2 = sweep.backward(t, E, theta, ws, g[:, :-1], g[:, -1])
    assert np.array_equal(g_z, g_z2) and g_t == g_t2
    assert all(np.array_equal(a, b) for a, b in zip(grads, grads2))


@pytest.mark.parametrize("probes", ["exact", "hutchinson"])
def test_f_and_vjp_equals_autograd_of_the_primitive_and_the_twin(probes):
    rng, _, theta, z, E = _problem(probes=probes)
    y = np.concatenate([z, rng.standard_normal((z.shape[0], 1))], axis=1)
    a = rng.standard_normal(y.shape)
    t = 0.21
    f, g_y, g_theta, g_t = AugmentedDynamics(E).f_and_vjp(t, y, theta, a)
    for fun, name in ((lambda y_, th, t_: _fused_aug(t_, y_, E, *th), "primitive"),
                      (lambda y_, th, t_: _twin_aug(t_, y_, th, E), "autograd twin")):
        vjp, f_ref = make_vjp(fun, argnum=(0, 1, 2))(y, list(theta), t)
        r_y, r_theta, r_t = vjp(a)
        assert_twins_agree(f, f_ref, rtol=1e-12, atol=1e-15, name=f"f vs {name}")
        assert_twins_agree(g_y, r_y, rtol=1e-12, atol=1e-14, name=f"aᵀ∂f/∂y vs {name}")
        assert_twins_agree(g_t, r_t, rtol=1e-12, atol=1e-14, name=f"aᵀ∂f/∂t vs {name}")
        for p, q in zip(g_theta, r_theta):
            assert_twins_agree(p, q, rtol=1e-12, atol=1e-14, name=f"aᵀ∂f/∂θ vs {name}")
    assert np.all(g_y[:, -1] == 0.0)                                 # Δlog p does not feed back


def test_primitive_vjp_survives_a_reused_workspace():
    # autograd keeps VJP closures across many later evaluations (backprop mode): the tape they
    # hold must be a private copy, and a maker whose tape was overwritten must re-run the sweep
    rng, _, theta, z, E = _problem()
    y = np.concatenate([z, np.zeros((z.shape[0], 1))], axis=1)
    g = rng.standard_normal(y.shape)
    args = (0.3, y, E, *theta)
    _fused_aug(*args)
    fresh = _fused_aug_vjp((0, 1, 3), None, args, {})(g)
    _forward(0.9, rng.standard_normal(z.shape), E, theta)        # overwrite the workspace
    stale = _fused_aug_vjp((0, 1, 3), None, args, {})(g)           # maker after another sweep
    for p, q in zip(fresh, stale):
        assert np.array_equal(p, q)


@pytest.mark.parametrize("aug", [False, True])
def test_vjp_maker_reuses_the_primitives_tape(aug, monkeypatch):
    # autograd calls the VJP maker right after the primitive: one forward sweep, not two
    rng, _, theta, z, E = _problem()
    state = np.concatenate([z, np.zeros((z.shape[0], 1))], axis=1) if aug else z
    prim, maker = (_fused_aug, _fused_aug_vjp) if aug else (_fused, _fused_vjp)
    calls = []
    real = sweep.forward
    monkeypatch.setattr(sweep, "forward", lambda *a: calls.append(1) or real(*a))
    args = (0.3, state, E, *theta)
    prim(*args)
    maker((1,), None, args, {})
    assert len(calls) == 1


def _tiny(seed=3, B=5, D=2, hidden=(6, 5)):
    rng = np.random.default_rng(seed)
    return init_concatsquash_dynamics(rng, D, hidden), rng.standard_normal((B, D))


class _TwinAug:
    """The same augmented ODE without `f_and_vjp`: odeint traces it with make_vjp."""

    def __init__(self, E):
        self.E = E

    def __call__(self, t, y, theta):
        return _twin_aug(t, y, theta, self.E)


def _loss(func, x, gradient, **kw):
    B, D = x.shape

    def loss(params):
        theta = [layer[k] for layer in params for k in _KEYS]
        y0 = anp.concatenate([x, anp.zeros((B, 1))], axis=1)
        y1 = odeint(func, y0, anp.array([0.0, 0.5]), (theta,), gradient=gradient, **kw)[-1]
        return anp.sum(y1[:, :D] ** 2) + anp.sum(y1[:, D])
    return loss


def test_fused_adjoint_equals_traced_adjoint_and_never_traces(monkeypatch):
    params, x = _tiny()
    E = np.broadcast_to(np.eye(2), (5, 2, 2))
    kw = dict(rtol=1e-8, atol=1e-8)
    info_t, info_f = {}, {}
    g_traced = flatten(grad(_loss(_TwinAug(E), x, "adjoint", info=info_t, **kw))(params))[0]
    import refimpl.ode.flat as flat           # FlatODE (moved from ode/traced.py) calls make_vjp

    def no_tracing(*a, **k):
        raise AssertionError("the fused adjoint must not call autograd.make_vjp")
    monkeypatch.setattr(flat, "make_vjp", no_tracing)
    g_fused = flatten(grad(_loss(AugmentedDynamics(E), x, "adjoint", info=info_f, **kw))(params))[0]
    assert info_f == info_t                                           # same steps, same counts
    assert_twins_agree(g_fused, g_traced, rtol=1e-11, atol=1e-13, name="adjoint gradient")


def test_adjoint_gradient_matches_backprop():
    params, x = _tiny()
    E = np.broadcast_to(np.eye(2), (5, 2, 2))
    fun = AugmentedDynamics(E)
    kw = dict(rtol=1e-10, atol=1e-10)
    g_adj = flatten(grad(_loss(fun, x, "adjoint", **kw))(params))[0]
    g_bp = flatten(grad(_loss(fun, x, "backprop", **kw))(params))[0]
    g_twin = flatten(grad(_loss(_TwinAug(E), x, "backprop", **kw))(params))[0]
    assert_twins_agree(g_bp, g_twin, rtol=1e-10, atol=1e-12, name="backprop: fused vs twin")
    # adjoint = gradient of the exact flow, backprop = of the discrete solve: tolerance-level gap
    assert np.max(np.abs(g_adj - g_bp)) < 1e-7 * np.max(np.abs(g_bp))


@pytest.mark.parametrize("gradient", ["adjoint", "backprop", "checkpoint"])
def test_check_grads_through_odeint(gradient):
    params, x = _tiny(B=3, hidden=(4,))
    np.random.seed(0)
    # fixed steps: finite differences see a smooth function of the parameters
    f = lambda p, xx: fast_log_prob(p, xx, t1=0.5, gradient=gradient, step_size=0.05)  # noqa: E731
    check_grads(f, modes=["rev"], order=1)(params, x)


@pytest.mark.parametrize("gradient", ["adjoint", "backprop"])
def test_second_order_is_refused_with_a_clear_error(gradient):
    params, x = _tiny(B=3, hidden=(4,))
    flat, unflatten = flatten(params)
    v = np.random.default_rng(1).standard_normal(flat.shape)

    def loss(w):
        return anp.sum(fast_log_prob(unflatten(w), x, t1=0.3, gradient=gradient, step_size=0.1))
    with pytest.raises(NotImplementedError, match="second derivatives"):
        grad(lambda w: anp.dot(grad(loss)(w), v))(flat)


def test_end_time_gradient_matches_the_autograd_twin():
    # FFJORD App. B trains the end time T: ∂/∂t1 through the fused adjoint (a_t uses g_t of
    # f_and_vjp) agrees with `log_prob` on the autograd twin, and with a central difference
    from refimpl.ffjord import log_prob
    params, x = _tiny()
    kw = dict(rtol=1e-10, atol=1e-10)
    fast = grad(lambda T: anp.sum(fast_log_prob(params, x, t1=T, **kw)))(0.4)
    twin = grad(lambda T: anp.sum(log_prob(DYN, params, x, t1=T, **kw)))(0.4)
    h = 1e-5
    fd = (np.sum(fast_log_prob(params, x, t1=0.4 + h, **kw))
          - np.sum(fast_log_prob(params, x, t1=0.4 - h, **kw))) / (2 * h)
    assert abs(fast - twin) < 1e-7 * max(1.0, abs(twin))
    assert abs(fast - fd) < 1e-5 * max(1.0, abs(fd))
    assert abs(fast) > 1e-3                                            # not a trivial zero
