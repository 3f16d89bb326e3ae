"""state="tuple" of the fused CNF paths (`tuple_state.TupleState`): the tuple (z, Δlog p) of
`log_prob` / `flow` (and of torchdiffeq), so the same error norm and the same steps as the
autograd paths, with the fused VJP still used by the adjoint."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad, make_vjp
from autograd.misc import flatten

from refimpl.ffjord import concatsquash_dynamics as DYN, flow, log_prob
from refimpl.ffjord.fast import AugmentedDynamics, fast_log_prob
from refimpl.ffjord.layers import init_concatsquash_dynamics
from refimpl.ffjord.planar import (init_planar_cnf, planar_cnf_augmented_fast,
                                   planar_cnf_dynamics, planar_cnf_flow)
from refimpl.ffjord.tuple_state import TupleState, join

KEYS = ("W", "b", "w_gate", "b_gate", "w_hyper")


def _ffjord(seed=2, B=10):
    rng = np.random.default_rng(seed)
    p = init_concatsquash_dynamics(rng, 2, (8, 8))
    return p, rng.standard_normal((B, 2)) * 1.5


@pytest.mark.parametrize("which", ["ffjord", "planar"])
def test_f_and_vjp_is_the_autograd_vjp_of_the_tuple_call(which):
    rng = np.random.default_rng(0)
    B = 7
    if which == "ffjord":
        p, _ = _ffjord()
        dyn = TupleState(AugmentedDynamics(np.broadcast_to(np.eye(2), (B, 2, 2))))
        params = [layer[k] for layer in p for k in KEYS]
    else:
        params = init_planar_cnf(rng, 2, 5, time_dependence="hypernet", hidden=4)
        dyn = TupleState(planar_cnf_augmented_fast)
    y = (rng.standard_normal((B, 2)), rng.standard_normal(B))
    a = (rng.standard_normal((B, 2)), rng.standard_normal(B))
    t = 0.3
    f, g_y, g_p, g_t = dyn.f_and_vjp(t, y, params, a)
    # autograd traces an array output: the tuple joined into (B, D + 1)
    vjp, f_ref = make_vjp(lambda yy, pp, tt: join(dyn(tt, yy, pp)), (0, 1, 2))(y, params, t)
    ref_y, ref_p, ref_t = vjp(join(a))
    np.testing.assert_allclose(join(f), f_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(join(g_y), join(ref_y), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(flatten(g_p)[0], flatten(ref_p)[0], rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(g_t, ref_t, rtol=1e-11, atol=1e-12)


def test_fast_log_prob_tuple_takes_the_steps_of_log_prob():
    """Same tuple state and mixed norm as `log_prob`: the same evaluation counts forward and
    backward, values and adjoint gradients to rounding."""
    p, x = _ffjord()
    kw = dict(t1=0.5, rtol=1e-6, atol=1e-6)
    counts, vals, grads = {}, {}, {}
    paths = {"tuple": lambda q, info: fast_log_prob(q, x, info=info, state="tuple", **kw),
             "log_prob": lambda q, info: log_prob(DYN, q, x, info=info, **kw)}
    for name, f in paths.items():
        info = {}
        vals[name] = f(p, {})
        grads[name] = flatten(grad(lambda q: anp.sum(f(q, info)))(p))[0]
        counts[name] = (info["nfev_forward"], info["nfev_backward"])
    assert counts["tuple"] == counts["log_prob"]
    assert np.max(np.abs(vals["tuple"] - vals["log_prob"])) < 1e-12
    assert np.max(np.abs(grads["tuple"] - grads["log_prob"])) < 1e-9 * np.max(np.abs(grads["log_prob"]))


def test_planar_cnf_flow_tuple_takes_the_steps_of_flow():
    rng = np.random.default_rng(8)
    p = init_planar_cnf(rng, dim=2, M=6, time_dependence="hypernet", hidden=4)
    z0 = rng.standard_normal((20, 2)) * 1.5
    kw = dict(t0=0.0, t1=1.0, rtol=1e-6, atol=1e-6)
    i_a, i_b = {}, {}
    z_a, d_a = planar_cnf_flow(p, z0, state="tuple", info=i_a, **kw)
    z_b, d_b = flow(planar_cnf_dynamics, p, z0, info=i_b, **kw)
    assert i_a["nfev_forward"] == i_b["nfev_forward"]
    assert np.max(np.abs(z_a - z_b)) < 1e-12 and np.max(np.abs(d_a - d_b)) < 1e-12


def test_bad_state_names_itself():
    p, x = _ffjord()
    with pytest.raises(ValueError, match="state"):
        fast_log_prob(p, x, state="tuples")
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="state"):
        planar_cnf_flow(init_planar_cnf(rng, 2, 3), x, state="flat2")


def test_tuple_state_adjoint_uses_the_fused_vjp(monkeypatch):
    """odeint's fused-VJP protocol now takes tuple states: no autograd trace per stage."""
    import refimpl.ode.flat as flat
    p, x = _ffjord()

    def no_tracing(*a, **k):
        raise AssertionError("the fused adjoint must not call autograd.make_vjp")
    monkeypatch.setattr(flat, "make_vjp", no_tracing)
    g = grad(lambda q: anp.sum(fast_log_prob(q, x, t1=0.5, state="tuple",
                                             controller="torchdiffeq")))(p)
    assert np.all(np.isfinite(flatten(g)[0]))
