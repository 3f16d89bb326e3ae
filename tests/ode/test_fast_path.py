"""The numba fast path of ``solve`` (refimpl/ode/fast/) is a twin of the NumPy loops:
for a numba-jitted ``func`` every controller takes the same steps (same counts, same
accept/reject sequence) and gives the same numbers as the NumPy path run on
``func.py_func``.

"hairer" and "torchdiffeq" sum in the same order as their NumPy twins (elementwise loops):
histories and states are bit-identical (torchdiffeq's mean: numpy's pairwise sum, also
tested at n = 200 and 1000).
"scipy" and "default" call BLAS ``dot`` on the
NumPy side, which sums in its own order, while the kernels loop: a last-bit change in a
stage moves the error norm — a cancelling sum h Σ e_i k_i of terms ~1e7 times larger
than itself at rtol 1e-8 — by ~1e-16 × 1e7 relative, hence the step sizes by a fifth of
that (observed ≤ 3e-6 and ≤ 4e-7). Those two are held to: same counts and accept/reject
sequence, h within 1e-5 relative, error norms within 1e-4 relative + 1e-6 (in
tolerance units; tiny norms cancel hardest), the states at t1 and at
every ``t_eval`` within 1e-13 of the solution's scale.

Compile cost: the cached kernels (no ``args``) come from numba's disk cache after the
first run; ``args`` and ``specialise`` compile a kernel per RHS and process (~5-10 s),
so the default suite compiles one ("scipy" with ``args``) and runs each preset's cached
kernel on one small problem; the rest is marked slow."""
import numpy as np
import pytest
from numba import njit

from refimpl.ode import SolverError, solve
from refimpl.ode.fast import fast_eligible, inplace, specialise
from refimpl.ode.validate import validate_solve_args


@njit(cache=True)
def lorenz(t, y):
    return np.array([10.0 * (y[1] - y[0]), y[0] * (28.0 - y[2]) - y[1],
                     y[0] * y[1] - 8.0 / 3.0 * y[2]])


@njit(cache=True)
def rhs(t, y):
    """One tiny jitted RHS for three problems: y' = A y + sin(t) (A a damped rotation)."""
    return np.array([-0.3 * y[0] + 2.0 * y[1], -2.0 * y[0] - 0.3 * y[1] + 0.5 * y[2],
                     -0.5 * y[1] - 0.2 * y[2] + np.sin(t)])


@njit(cache=True)
def rhs_inplace(t, y, out):
    """``rhs`` written in place (same arithmetic)."""
    out[0] = -0.3 * y[0] + 2.0 * y[1]
    out[1] = -2.0 * y[0] - 0.3 * y[1] + 0.5 * y[2]
    out[2] = -0.5 * y[1] - 0.2 * y[2] + np.sin(t)


@njit(cache=True)
def linear_args(t, y, M, s):
    """y' = s M y with ``args=(M, s)``."""
    return s * (M @ y)


Y0 = np.array([1.0, 0.5, -0.3])
# name: (func, t_span, y0, t_eval, rtol, atol)
PROBLEMS = {
    "forward": (rhs, (0.0, 8.0), Y0, None, 1e-8, 1e-10),
    "t_eval": (rhs, (0.0, 8.0), Y0, np.linspace(0.0, 8.0, 17), 1e-6, 1e-9),
    "backwards t_eval": (rhs, (5.0, -1.0), Y0, np.linspace(5.0, -1.0, 7), 1e-7, 1e-9),
    "lorenz": (lorenz, (0.0, 2.0), np.ones(3), np.array([0.5, 1.0, 2.0]), 1e-8, 1e-10),
}
EXACT = ("hairer", "torchdiffeq")          # same summation order as the NumPy twin
SLOW = pytest.mark.slow


def twins(controller, case, wrap=lambda f: f):
    f, span, y0, te, rtol, atol = PROBLEMS[case]
    fast = solve(wrap(f), span, y0, rtol=rtol, atol=atol, t_eval=te, controller=controller)
    ref = solve(f.py_func, span, y0, rtol=rtol, atol=atol, t_eval=te, controller=controller)
    return fast, ref


def assert_twins(fast, ref, exact, case):
    assert (fast.nfev, fast.n_accepted, fast.n_rejected) == \
        (ref.nfev, ref.n_accepted, ref.n_rejected), case
    np.testing.assert_array_equal(fast.history.accepted, ref.history.accepted)
    scale = np.abs(ref.y).max()
    if exact:
        for a, b in zip(fast.history.as_arrays(), ref.history.as_arrays()):
            np.testing.assert_array_equal(a, b, err_msg=case)
        np.testing.assert_array_equal(fast.t, ref.t, err_msg=case)
        np.testing.assert_allclose(fast.y, ref.y, rtol=0, atol=1e-15 * scale, err_msg=case)
        return
    np.testing.assert_allclose(fast.history.h, ref.history.h, rtol=1e-5, atol=0, err_msg=case)
    np.testing.assert_allclose(fast.history.error_norm, ref.history.error_norm, rtol=1e-4,
                               atol=1e-6, err_msg=case)
    np.testing.assert_allclose(fast.t, ref.t, rtol=1e-5, atol=0, err_msg=case)
    fixed_times = np.array_equal(fast.t, ref.t)      # t_eval outputs (else step ends)
    got, want = (fast.y, ref.y) if fixed_times else (fast.y[-1], ref.y[-1])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-13 * scale, err_msg=case)


@pytest.mark.parametrize("controller", ["scipy", pytest.param("default", marks=SLOW),
                                        pytest.param("hairer", marks=SLOW),
                                        pytest.param("torchdiffeq", marks=SLOW)])
def test_twins_agree(controller):
    for case in PROBLEMS:
        fast, ref = twins(controller, case)
        assert_twins(fast, ref, controller in EXACT, case)


@pytest.mark.parametrize("controller, case", [("default", "forward"),
                                              ("hairer", "backwards t_eval"),
                                              ("torchdiffeq", "t_eval")])
def test_twins_agree_one_problem_per_preset(controller, case):
    """Default-suite twin check of every other preset on one small problem (its cached
    kernel: one compile of a few seconds with an empty numba cache, then loaded)."""
    fast, ref = twins(controller, case)
    assert_twins(fast, ref, controller in EXACT, case)


@pytest.mark.parametrize("controller", ["scipy", pytest.param("default", marks=SLOW),
                                        pytest.param("hairer", marks=SLOW),
                                        pytest.param("torchdiffeq", marks=SLOW)])
def test_inplace_rhs_is_bit_identical(controller):
    """``inplace(f)`` runs the same kernel arithmetic as the allocating ``f``."""
    for case in ("forward", "backwards t_eval"):
        _, span, y0, te, rtol, atol = PROBLEMS[case]
        kw = dict(rtol=rtol, atol=atol, t_eval=te, controller=controller)
        a, b = solve(rhs, span, y0, **kw), solve(inplace(rhs_inplace), span, y0, **kw)
        assert (a.nfev, a.n_steps) == (b.nfev, b.n_steps)
        np.testing.assert_array_equal(a.y, b.y)
        np.testing.assert_array_equal(a.history.h, b.history.h)


@SLOW
@pytest.mark.parametrize("controller", ["scipy", "hairer"])
def test_specialised_kernel_is_bit_identical(controller):
    """``specialise`` (RHS inlined) and the cached first-class call give the same bits."""
    _, span, y0, te, rtol, atol = PROBLEMS["backwards t_eval"]
    kw = dict(rtol=rtol, atol=atol, t_eval=te, controller=controller)
    a = solve(inplace(rhs_inplace), span, y0, **kw)
    b = solve(specialise(inplace(rhs_inplace)), span, y0, **kw)
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(a.history.error_norm, b.history.error_norm)


def test_args_are_passed_to_func():
    """``args`` (an array and a float) reach the compiled RHS; twin of the NumPy path."""
    M = np.array([[-0.1, 1.0], [-1.0, -0.1]])
    y0, te = np.array([1.0, 0.0]), np.linspace(0.0, 6.0, 13)
    kw = dict(args=(M, 0.5), rtol=1e-9, atol=1e-12, t_eval=te, controller="scipy")
    fast = solve(linear_args, (0.0, 6.0), y0, **kw)
    ref = solve(linear_args.py_func, (0.0, 6.0), y0, **kw)
    assert_twins(fast, ref, False, "args")
    # closed form: y(t) = expm(0.5 M t) y0
    from scipy.linalg import expm
    exact = np.array([expm(0.5 * M * t) @ y0 for t in te])
    np.testing.assert_allclose(fast.y, exact, rtol=0, atol=1e-7)


def test_history_is_consistent_with_counts():
    fast, _ = twins("scipy", "forward")
    h = fast.history
    assert len(h) == fast.n_steps == fast.n_accepted + fast.n_rejected
    assert h.accepted.sum() == fast.n_accepted
    assert np.all(h.error_norm[h.accepted] < 1) and np.all(h.error_norm[~h.accepted] >= 1)
    # RK45 as solve_ivp: f(t0), 1 for the initial step, 6 per attempt
    assert fast.nfev == 2 + 6 * fast.n_steps
    # the accepted steps tile [t0, t1]
    np.testing.assert_allclose(h.h[h.accepted].sum(), 8.0, rtol=1e-14)


def test_matches_scipy_solve_ivp_counts():
    from scipy.integrate import solve_ivp
    f, span, y0, te, rtol, atol = PROBLEMS["backwards t_eval"]
    fast = solve(f, span, y0, rtol=rtol, atol=atol, t_eval=te, controller="scipy")
    ref = solve_ivp(f.py_func, span, y0, method="RK45", rtol=rtol, atol=atol, t_eval=te)
    assert fast.nfev == ref.nfev
    np.testing.assert_allclose(fast.y, ref.y.T, rtol=0, atol=1e-13 * np.abs(ref.y).max())


def test_eligibility_and_fallback():
    def p(func, y0=Y0, **kw):
        return validate_solve_args(func, (0.0, 1.0), y0, (), kw.get("method", "dopri5"), 1e-6,
                                   1e-9, None, None, np.inf, 100, None, "default")
    assert fast_eligible(p(rhs), dense_output=False)
    assert fast_eligible(p(inplace(rhs_inplace)), dense_output=False)
    assert fast_eligible(p(specialise(rhs)), dense_output=False)
    assert not fast_eligible(p(rhs), dense_output=True)
    assert not fast_eligible(p(rhs.py_func), dense_output=False)
    assert not fast_eligible(p(rhs, method="dop853"), dense_output=False)
    assert fast_eligible(p(rhs, y0=Y0.reshape(3, 1)), dense_output=False)
    assert not fast_eligible(p(rhs, y0=np.float64(1.0)), dense_output=False)   # 0-d y0
    # dense_output and an in-place RHS fall back to the NumPy loop, with the same steps
    a = solve(inplace(rhs_inplace), (0.0, 1.0), Y0, dense_output=True, controller="scipy")
    b = solve(rhs, (0.0, 1.0), Y0, controller="scipy")
    assert a.sol is not None and a.nfev == b.nfev
    np.testing.assert_allclose(a.sol(1.0), b.y[-1], rtol=0, atol=1e-13)


@njit(cache=True)
def rotation_2d(t, Y):
    """Y' = R Y + sin(t) for a (2, 3) state (three forced damped rotations side by side;
    elementwise, so NumPy and numba do the same arithmetic)."""
    out = np.empty_like(Y)
    out[0] = -0.3 * Y[0] + 2.0 * Y[1] + np.sin(t)
    out[1] = -2.0 * Y[0] - 0.3 * Y[1] + np.sin(t)
    return out


@njit(cache=True)
def rotation_2d_inplace(t, Y, out, s):
    """``s`` times ``rotation_2d`` without the forcing, in place, on (2, 3) views."""
    out[0] = s * (-0.3 * Y[0] + 2.0 * Y[1])
    out[1] = s * (-2.0 * Y[0] - 0.3 * Y[1])


def test_nd_y0_runs_on_the_fast_path_with_shaped_views():
    """An n-d ``y0``: the kernel runs on the flat state, ``func`` sees ``y`` (and ``out``)
    shaped like ``y0`` — the same steps and states as the NumPy path; outputs (m,) + shape."""
    Y0, te = np.arange(6.0).reshape(2, 3) / 5, np.linspace(0.0, 3.0, 7)
    kw = dict(rtol=1e-9, atol=1e-12, t_eval=te, controller="hairer")   # (exact twin)
    fast = solve(rotation_2d, (0.0, 3.0), Y0, **kw)
    ref = solve(rotation_2d.py_func, (0.0, 3.0), Y0, **kw)
    assert fast.y.shape == ref.y.shape == (7, 2, 3)
    assert_twins(fast, ref, True, "2-d y0")


@SLOW
def test_nd_y0_inplace_with_args_matches_closed_form():
    from scipy.linalg import expm
    Y0, te = np.arange(6.0).reshape(2, 3) / 5, np.linspace(0.0, 3.0, 7)
    R = np.array([[-0.3, 2.0], [-2.0, -0.3]])
    sol = solve(inplace(rotation_2d_inplace), (0.0, 3.0), Y0, args=(0.5,), rtol=1e-10,
                atol=1e-12, t_eval=te, controller="hairer")
    exact = np.array([expm(0.5 * R * t) @ Y0 for t in te])
    assert sol.y.shape == (7, 2, 3)
    np.testing.assert_allclose(sol.y, exact, rtol=0, atol=1e-8)


def test_bad_rhs_raises_value_error_naming_func():
    with pytest.raises(ValueError, match="func: expected a numba-jitted"):
        inplace(rhs_inplace.py_func)
    with pytest.raises(ValueError, match="func: expected an in-place function"):
        inplace(rhs)
    with pytest.raises(ValueError, match="func: expected a numba-jitted"):
        specialise(lambda t, y: y)


def test_failures_raise_solver_error():
    with pytest.raises(SolverError, match="max_steps"):
        solve(rhs, (0.0, 8.0), Y0, rtol=1e-10, atol=1e-12, max_steps=5, controller="scipy")


SUBPROCESS = """
import numpy as np
from numba import njit
from refimpl.ode import solve
f = njit(lambda t, y: -y)
g = njit(lambda t, y, a, b: -a * b * y)
r1 = solve(f, (0.0, 1.0), np.ones(2), controller="scipy")      # cached kernel (compiled)
r2 = solve(g, (0.0, 1.0), np.ones(2), args=(2.0, 0.5), controller="scipy")   # specialised
print(abs(r1.y[-1, 0] - np.exp(-1.0)), abs(r2.y[-1, 0] - np.exp(-1.0)))
"""


@SLOW
def test_cached_then_specialised_with_an_empty_numba_cache(tmp_path):
    """Regression: compiling the cached kernel in-process (empty disk cache) and then a
    specialised one for an RHS of another arity must work (numba once failed to type the
    second call when helpers taking ``fun`` were separately compiled)."""
    import os
    import subprocess
    import sys
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", SUBPROCESS], env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    errs = [float(v) for v in out.stdout.split()]
    assert max(errs) < 1e-6


@pytest.mark.parametrize("n", [1, 7, 8, 100, 128, 129, 200, 1000, 4099])
def test_torchdiffeq_mean_is_numpys_pairwise_mean(n):
    """``k_torchdiffeq._mean_sq`` reproduces ``np.mean`` (pairwise above 128) bit for bit."""
    from refimpl.ode.fast.k_torchdiffeq import _mean_sq
    rng = np.random.default_rng(n)
    for _ in range(5):
        sq = rng.standard_normal(n + 3) ** 2 * rng.uniform(1e-3, 1e3)
        assert _mean_sq(sq, n) == np.mean(sq[:n]), n


@njit(cache=True)
def damped_ring(t, y):
    """n coupled damped oscillators on a ring (n large: the error norm's mean is pairwise)."""
    return -0.1 * y + np.roll(y, 1) - np.roll(y, -1)


@pytest.mark.parametrize("n", [200, 1000])
def test_torchdiffeq_twins_bit_identical_above_128_components(n):
    y0 = np.cos(np.linspace(0.0, 6.0, n))
    kw = dict(rtol=1e-8, atol=1e-10, controller="torchdiffeq")
    fast = solve(damped_ring, (0.0, 2.0), y0, **kw)
    ref = solve(damped_ring.py_func, (0.0, 2.0), y0, **kw)
    assert fast.nfev == ref.nfev
    for a, b in zip(fast.history.as_arrays(), ref.history.as_arrays()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fast.y, ref.y)
