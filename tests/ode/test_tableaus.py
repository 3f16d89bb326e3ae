"""Claims about the Butcher tableaus: consistent, of their stated order (every
rooted-tree order condition), embedded pairs and dense outputs of their stated
orders, dop853 identical to scipy's transcription of Hairer's code."""
from fractions import Fraction
from functools import lru_cache

import numpy as np
import pytest

from refimpl.ode import ADAPTIVE_METHODS, METHODS, ButcherTableau, get_tableau


# --- rooted trees: a tree is a sorted tuple of its children (Hairer I, Sec. II.2) ---
@lru_cache(None)
def trees(order):
    """All rooted trees with ``order`` vertices."""
    if order == 1:
        return ((),)
    out = set()
    for parts in _partitions(order - 1):
        for kids in _forests(parts):
            out.add(tuple(sorted(kids)))
    return tuple(sorted(out))


def _partitions(n, largest=None):
    largest = n if largest is None else largest
    if n == 0:
        yield ()
        return
    for k in range(min(n, largest), 0, -1):
        for rest in _partitions(n - k, k):
            yield (k,) + rest


def _forests(parts):
    if not parts:
        yield ()
        return
    for t in trees(parts[0]):
        for rest in _forests(parts[1:]):
            yield (t,) + rest


def rho(t):
    return 1 + sum(rho(k) for k in t)


def gamma(t):
    g = rho(t)
    for k in t:
        g *= gamma(k)
    return g


def elementary(A, t):
    """g(t) with g(leaf) = 1, g([t1..tm]) = Π_k A g(t_k) (elementwise), shape (s,)."""
    g = np.ones(A.shape[0])
    for k in t:
        g = g * (A @ elementary(A, k))
    return g


def order_defect(A, b, order):
    """max over trees of order <= ``order`` of |b·g(t) - 1/γ(t)|."""
    return max(abs(b @ elementary(A, t) - 1.0 / gamma(t))
               for r in range(1, order + 1) for t in trees(r))


def test_tree_counts():
    # OEIS A000081: 1, 1, 2, 4, 9, 20, 48, 115 rooted trees of order 1..8
    assert [len(trees(r)) for r in range(1, 9)] == [1, 1, 2, 4, 9, 20, 48, 115]


@pytest.mark.parametrize("name", METHODS)
def test_consistency(name):
    tab = get_tableau(name)
    assert np.all(np.triu(tab.A) == 0)
    np.testing.assert_allclose(tab.A.sum(axis=1), tab.c, atol=1e-13)
    assert abs(tab.b.sum() - 1) < 1e-14
    if tab.adaptive:
        assert abs(tab.e.sum()) < 1e-14


@pytest.mark.parametrize("name", METHODS)
def test_order_conditions(name):
    tab = get_tableau(name)
    assert order_defect(tab.A, tab.b, tab.order) < 1e-12
    # and not of a higher order (the stated order is the true one)
    assert order_defect(tab.A, tab.b, tab.order + 1) > 1e-6


EMBEDDED_ORDER = {"heun_euler": 1, "bosh3": 2, "dopri5": 4, "tsit5": 4}


@pytest.mark.parametrize("name", sorted(EMBEDDED_ORDER))
def test_embedded_order(name):
    tab = get_tableau(name)
    b_hat = tab.b - tab.e                         # e = b - b_hat (module convention)
    assert order_defect(tab.A, b_hat, EMBEDDED_ORDER[name]) < 1e-12
    assert order_defect(tab.A, b_hat, EMBEDDED_ORDER[name] + 1) > 1e-6


def test_dop853_embedded_orders():
    tab = get_tableau("dop853")
    assert order_defect(tab.A, tab.b - tab.e3, 3) < 1e-12          # b_hat3: order 3
    # the 5th-order estimate: b - e is of order 5 (Hairer's er weights)
    assert order_defect(tab.A, tab.b - tab.e, 5) < 1e-10


@pytest.mark.parametrize("name", ["dopri5", "tsit5"])
def test_dense_output_order_conditions(name):
    # continuous extension of order 4: Σ_i b_i(θ) g_i(t) = θ^ρ(t)/γ(t) for ρ(t) <= 4
    tab = get_tableau(name)
    for theta in (0.3, 0.5, 0.9):
        b_theta = tab.P @ theta ** np.arange(1, tab.P.shape[1] + 1)   # (s,)
        for r in range(1, tab.dense_order + 1):
            for t in trees(r):
                assert abs(b_theta @ elementary(tab.A, t) - theta ** r / gamma(t)) < 1e-12
    np.testing.assert_allclose(tab.P.sum(axis=1), tab.b, atol=1e-14)  # θ = 1 gives b


def test_fsal_flags():
    assert {m for m in METHODS if get_tableau(m).fsal} == {"bosh3", "dopri5", "tsit5"}


def test_dopri5_and_dop853_match_scipy():
    from scipy.integrate._ivp import dop853_coefficients as d
    from scipy.integrate._ivp.rk import RK45
    dp = get_tableau("dopri5")
    np.testing.assert_array_equal(dp.A[:6, :5], RK45.A)
    np.testing.assert_array_equal(-dp.e, RK45.E)        # scipy's E is b_hat - b
    np.testing.assert_array_equal(dp.P, RK45.P)
    t = get_tableau("dop853")
    np.testing.assert_array_equal(t.A, d.A[:12, :12])
    np.testing.assert_array_equal(t.c, d.C[:12])
    np.testing.assert_array_equal(t.e, d.E5[:12])
    np.testing.assert_array_equal(t.e3, d.E3[:12])


def test_dopri5_rational_coefficients():
    # Hairer I, Table 5.2: b_hat = (5179/57600, 0, 7571/16695, 393/640, -92097/339200, 187/2100, 1/40)
    bh = [Fraction(5179, 57600), 0, Fraction(7571, 16695), Fraction(393, 640),
          Fraction(-92097, 339200), Fraction(187, 2100), Fraction(1, 40)]
    tab = get_tableau("dopri5")
    np.testing.assert_allclose(tab.b - tab.e, [float(v) for v in bh], rtol=1e-15, atol=1e-17)


def test_unknown_method_lists_valid_names():
    with pytest.raises(ValueError, match="method.*dopri5.*'rk5'"):
        get_tableau("rk5")


@pytest.mark.parametrize("bad, msg", [
    (dict(c=[0, 0.4], A=[[0, 0], [0.5, 0]], b=[0.5, 0.5]), "rows of A"),
    (dict(c=[0, 0.5], A=[[0, 0], [0.5, 0]], b=[0.5, 0.6]), "b must sum"),
    (dict(c=[0, 0.5], A=[[0, 0.1], [0.5, 0]], b=[0.5, 0.5]), "strictly lower"),
    (dict(c=[0, 0.5], A=[[0, 0], [0.5, 0]], b=[0.5, 0.5], e=[0.1, 0.1], error_order=1),
     "e must sum"),
])
def test_invalid_tableaus_are_rejected(bad, msg):
    with pytest.raises(ValueError, match=msg):
        ButcherTableau("bad", order=1, **bad)


def test_adaptive_list():
    assert all(get_tableau(m).adaptive for m in ADAPTIVE_METHODS)
