"""odeint: the traced driver equals `solve`; the three gradient modes agree with closed forms,
finite differences and each other; API (tuples, reverse time, float32, info, bad input)."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from autograd.test_util import check_grads
from autograd.tracer import getval
from scipy.linalg import expm

from refimpl.ode import get_tableau, odeint, solve
from refimpl.ode.traced import integrate

MODES = ["adjoint", "backprop", "checkpoint"]
SPIRAL_A = np.array([[-0.1, 2.0], [-2.0, -0.1]])


def spiral(t, y, A):
    return anp.dot(y ** 3, A)                      # dy/dt = (y**3) A


def linear(t, y, M):
    return anp.dot(M, y)


def _linear_problem(seed=0, d=3):
    rng = np.random.default_rng(seed)
    M = 0.6 * rng.standard_normal((d, d))
    y0 = rng.standard_normal(d)
    t = np.array([0.0, 0.4, 1.1, 1.5])
    w = rng.standard_normal((len(t), d))          # L = Σ_i w_i · y(t_i)
    return M, y0, t, w


def _linear_loss_exact(y0, t, M, w):
    return sum(w[i] @ expm(M * (t[i] - t[0])) @ y0 for i in range(len(t)))


def _linear_grads_exact(y0, t, M, w):
    """Closed form: y_i = e^{M τ_i} y0, τ_i = t_i - t_0; ∂L/∂y0 = Σ e^{Mᵀτ_i} w_i,
    ∂L/∂t_i = w_i · M y_i (i ≥ 1), ∂L/∂t_0 = -Σ_i w_i · M y_i,
    ∂L/∂M = Σ_i ∫_0^{τ_i} e^{Mᵀ(τ_i - s)} w_i y(s)ᵀ ds, from the block-matrix exponential
    (Van Loan 1978): expm([[Mᵀ, w y0ᵀ],[0, Mᵀ]] τ)[0:d, d:2d] = ∫ e^{Mᵀ(τ-s)} w y0ᵀ e^{Mᵀ s} ds."""
    d = len(y0)
    g_y0, g_M, g_t = np.zeros(d), np.zeros((d, d)), np.zeros(len(t))
    for i in range(len(t)):
        tau = t[i] - t[0]
        y_i = expm(M * tau) @ y0
        g_y0 += expm(M.T * tau) @ w[i]
        if i > 0:
            g_t[i] = w[i] @ M @ y_i
            g_t[0] -= w[i] @ M @ y_i
        block = np.block([[M.T, np.outer(w[i], y0)], [np.zeros((d, d)), M.T]])
        g_M += expm(block * tau)[:d, d:]
    return g_y0, g_t, g_M


# --- the traced driver and solve: same tableau, same controller, same numbers ---------------
@pytest.mark.parametrize("method", ["dopri5", "tsit5", "bosh3", "dop853", "heun_euler"])
def test_traced_driver_equals_solve(method):
    rng = np.random.default_rng(1)
    M = 0.5 * rng.standard_normal((5, 5))
    f = lambda t, y: np.tanh(M @ y) * np.cos(t)      # noqa: E731
    y0 = rng.standard_normal(5)
    rtol = {"heun_euler": 1e-3, "bosh3": 1e-5}.get(method, 1e-7)   # keep low orders short
    for span in [(0.0, 4.0), (3.0, -2.0)]:
        sol = solve(f, span, y0, method=method, rtol=rtol, atol=1e-9)
        ys, st = integrate(f, y0, np.array(span), tab=get_tableau(method), rtol=rtol, atol=1e-9)
        assert st["nfev"] == sol.nfev and st["n_rejected"] == sol.n_rejected
        scale = max(1.0, np.max(np.abs(sol.y[-1])))
        assert np.max(np.abs(ys[-1] - sol.y[-1])) < 1e-13 * scale
    # odeint (any mode, traced by autograd or not) runs the same driver
    g = lambda t, y, M: anp.tanh(anp.dot(M, y)) * anp.cos(t)                # noqa: E731
    sol = solve(g, (0.0, 1.0), y0, args=(M,), method=method, rtol=rtol, atol=1e-9)
    for mode in MODES:
        seen = {}

        def loss(M):
            ys = odeint(g, y0, np.array([0.0, 1.0]), (M,), method=method, gradient=mode,
                        rtol=rtol, atol=1e-9)
            seen["y"] = getval(ys)                   # the traced forward values
            return anp.sum(ys)
        grad(loss)(M)
        scale = max(1.0, np.max(np.abs(sol.y[-1])))
        assert np.max(np.abs(seen["y"][-1] - sol.y[-1])) < 1e-13 * scale


def test_outputs_identical_across_modes_and_meet_tolerance():
    M, y0, t, _ = _linear_problem()
    ys = [odeint(linear, y0, t, (M,), gradient=m, rtol=1e-8, atol=1e-10) for m in MODES]
    assert ys[0].shape == (len(t), 3) and np.array_equal(ys[0][0], y0)
    for other in ys[1:]:
        assert np.array_equal(ys[0], other)
    exact = np.stack([expm(M * (ti - t[0])) @ y0 for ti in t])
    units = np.sqrt(np.mean(((ys[0] - exact) / (1e-10 + 1e-8 * np.abs(exact))) ** 2))
    assert units < 5


# --- gradients on the linear system: closed form via expm --------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_linear_system_gradients_match_closed_form(mode):
    M, y0, t, w = _linear_problem()
    loss = lambda y0, t, M: anp.sum(odeint(linear, y0, t, (M,), gradient=mode,   # noqa: E731
                                           rtol=1e-10, atol=1e-12) * w)
    g_y0, g_t, g_M = grad(loss, argnum=(0, 1, 2))(y0, t, M)
    e_y0, e_t, e_M = _linear_grads_exact(y0, t, M, w)
    for got, exact, name in [(g_y0, e_y0, "y0"), (g_t, e_t, "t"), (g_M, e_M, "M")]:
        err = np.max(np.abs(got - exact)) / np.max(np.abs(exact))
        assert err < 1e-7, f"{mode} d/d{name}: relative error {err:.2e}"


# --- the cubic spiral: adjoint vs backprop vs checkpoint vs finite differences ------------
def _spiral_loss(mode, rtol=1e-9, atol=1e-9, **kw):
    def loss(y0, t, A):
        return anp.sum(odeint(spiral, y0, t, (A,), gradient=mode, rtol=rtol, atol=atol, **kw)
                       ** 2)
    return loss


def test_spiral_modes_agree_and_pass_gradient_checks():
    y0, t = np.array([1.0, 0.5]), np.array([0.0, 0.5, 1.5])
    grads = {m: grad(_spiral_loss(m), argnum=(0, 1, 2))(y0, t, SPIRAL_A) for m in MODES}
    for k in range(3):
        b, c, a = grads["backprop"][k], grads["checkpoint"][k], grads["adjoint"][k]
        # checkpoint replays the backprop arithmetic: equal to rounding
        assert np.max(np.abs(b - c)) <= 1e-10 * np.max(np.abs(b))
        # adjoint = continuous gradient; backprop = discrete one; both within tolerance
        assert np.max(np.abs(a - b)) <= 1e-6 * np.max(np.abs(b))
    np.random.seed(0)
    check_grads(_spiral_loss("adjoint", rtol=1e-8, atol=1e-8), modes=["rev"], order=1)(
        y0, t, SPIRAL_A)


@pytest.mark.parametrize("mode", MODES)
def test_reverse_time_and_tuple_state(mode):
    M, y0, t, w = _linear_problem(2)
    t_rev = t[::-1].copy()
    z0, c0 = y0[:2], y0[2:]

    def split_dyn(t, y, M):                        # the same linear system on a tuple state
        full = anp.concatenate(y)
        d = anp.dot(M, full)
        return d[:2], d[2:]

    def loss_tuple(z0, c0, t, M):
        z, c = odeint(split_dyn, (z0, c0), t, (M,), gradient=mode, rtol=1e-10, atol=1e-12)
        return anp.sum(anp.concatenate([z, c], axis=1) * w)

    g = grad(loss_tuple, argnum=(0, 1, 2, 3))(z0, c0, t_rev, M)
    e_y0, e_t, e_M = _linear_grads_exact(y0, t_rev, M, w)
    got = [np.concatenate([g[0], g[1]]), g[2], g[3]]
    for x, e in zip(got, [e_y0, e_t, e_M]):
        assert np.max(np.abs(x - e)) < 1e-7 * np.max(np.abs(e))


@pytest.mark.parametrize("mode", MODES)
def test_ignored_argument_gets_exact_zero_gradient(mode):
    M, y0, t, w = _linear_problem(3)
    unused = {"a": np.ones(4), "b": [np.ones((2, 2))]}

    def dyn(t, y, M, unused, label):
        assert label == "static"                   # non-float leaves pass through untouched
        return anp.dot(M, y)

    loss = lambda M, unused: anp.sum(odeint(dyn, y0, t, (M, unused, "static"),  # noqa: E731
                                            gradient=mode) * w)
    g_M, g_unused = grad(loss, argnum=(0, 1))(M, unused)
    assert np.all(g_unused["a"] == 0.0) and np.all(g_unused["b"][0] == 0.0)
    assert np.max(np.abs(g_M)) > 0


def test_fixed_step_method_backprop_equals_checkpoint():
    M, y0, t, w = _linear_problem(4)
    g = {m: grad(lambda M: anp.sum(odeint(linear, y0, t, (M,), method="rk4", step_size=0.05,
                                          gradient=m, checkpoints=3) * w))(M)
         for m in ["backprop", "checkpoint"]}
    assert np.max(np.abs(g["backprop"] - g["checkpoint"])) < 1e-12 * np.max(np.abs(g["backprop"]))
    e_M = _linear_grads_exact(y0, t, M, w)[2]
    assert np.max(np.abs(g["backprop"] - e_M)) < 1e-4 * np.max(np.abs(e_M))   # rk4 at h=0.05


def test_float32_mode_follows_y0_dtype():
    M, y0, t, w = _linear_problem(5)
    loss = lambda M32, mode: anp.sum(odeint(linear, y0.astype(np.float32), t, (M32,),  # noqa
                                            gradient=mode, rtol=1e-4, atol=1e-6) * w)
    ys = odeint(linear, y0.astype(np.float32), t, (M.astype(np.float32),), rtol=1e-4, atol=1e-6)
    assert ys.dtype == np.float32
    e_M = _linear_grads_exact(y0, t, M, w)[2]
    for mode in MODES:
        g = grad(loss)(M.astype(np.float32), mode)
        assert g.dtype == np.float32
        assert np.max(np.abs(g - e_M)) < 1e-3 * np.max(np.abs(e_M))


def test_info_reports_forward_and_backward_evaluations():
    M, y0, t, w = _linear_problem(6)
    # the forward count is solve's (same driver, same steps; clipping to the intermediate
    # outputs adds steps, so compare on a single interval)
    sol = solve(linear, (t[0], t[-1]), y0, args=(M,), rtol=1e-7, atol=1e-9)
    for mode in MODES:
        info = {}
        grad(lambda M: anp.sum(odeint(linear, y0, t, (M,), gradient=mode, info=info) * w))(M)
        assert info["nfev_forward"] > 0 and info["nfev_backward"] > 0, (mode, info)
        assert info["gradient"] == mode
        info = {}
        grad(lambda M: anp.sum(odeint(linear, y0, t[[0, -1]], (M,), gradient=mode,
                                      info=info)[-1] * w[-1]))(M)
        assert info["nfev_forward"] == sol.nfev, (mode, info, sol.nfev)
        assert info["n_steps_forward"] == sol.n_accepted + sol.n_rejected, (mode, info)


def test_bad_input_names_the_argument():
    M, y0, t, _ = _linear_problem()
    cases = [(dict(gradient="magic"), "gradient"), (dict(method="rk99"), "method"),
             (dict(rtol=-1.0), "rtol"), (dict(adjoint_norm="l1"), "adjoint_norm"),
             (dict(checkpoints=0), "checkpoints"), (dict(bogus=1), "bogus"),
             (dict(adjoint_atol=-1e-9), "adjoint_atol"),
             (dict(adjoint_rtol=float("nan")), "adjoint_rtol")]
    for kw, name in cases:
        with pytest.raises(ValueError, match=name):
            odeint(linear, y0, t, (M,), **kw)
    with pytest.raises(ValueError, match="t: expected strictly"):
        odeint(linear, y0, np.array([0.0, 1.0, 0.5]), (M,))
    with pytest.raises(ValueError, match=r"func: expected a return value of shape \(3,\)"):
        odeint(lambda t, y, M: y[:2], y0, t, (M,))
    with pytest.raises(ValueError, match="y0"):
        odeint(linear, np.array([]), t, (M,))


def test_container_flattening_matches_autograd_misc_flatten():
    from autograd.misc import flatten
    from refimpl.ode.traced import flat_concat, tree_flatten, tree_unflatten
    rng = np.random.default_rng(7)
    tree = ({"w": rng.standard_normal((2, 3)), "a": [rng.standard_normal(4), 1.5]},
            [(rng.standard_normal(2), rng.standard_normal((1, 2)))])
    leaves, treedef = tree_flatten(tree)
    assert np.array_equal(flat_concat(leaves), flatten(tree)[0])
    rebuilt = tree_unflatten(treedef, leaves)
    assert np.array_equal(flatten(rebuilt)[0], flatten(tree)[0])
    assert isinstance(rebuilt[0], dict) and isinstance(rebuilt[1][0], tuple)
