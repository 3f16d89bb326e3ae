"""Claims about the baselines: ALS row solves are regularised least squares, the numba SGD
pass equals its NumPy twin, ALS descends its objective, fold-in recovers a user's vector."""
import numpy as np
import pytest

from refimpl.evidence_chains import baselines as B
from refimpl.evidence_chains.data import Ratings, synthetic


def test_als_row_solve_equals_lstsq_on_the_regularised_system():
    rng = np.random.default_rng(0)
    for n, k, lam in [(30, 5, 0.7), (3, 8, 2.0), (50, 11, 1e-3)]:
        A, y = rng.standard_normal((n, k)), rng.standard_normal(n)
        # argmin |Ax - y|² + lam|x|²  =  least squares on [A; sqrt(lam) I] x = [y; 0]
        want = np.linalg.lstsq(np.vstack([A, np.sqrt(lam) * np.eye(k)]), np.r_[y, np.zeros(k)], rcond=None)[0]
        np.testing.assert_allclose(B.als_row_solve(A, y, lam), want, rtol=1e-10, atol=1e-12)
        # and it solves the normal equations (AᵀA + lam I) x = Aᵀy
        x = B.als_row_solve(A, y, lam)
        np.testing.assert_allclose((A.T @ A + lam * np.eye(k)) @ x, A.T @ y, rtol=1e-10, atol=1e-12)


@pytest.fixture(scope="module")
def small():
    return synthetic(np.random.default_rng(1), n_users=60, n_items=90, n_ratings=1800)


def test_sgd_numba_twin_equals_numpy_twin(small):
    mf1 = B.init_mf(np.random.default_rng(2), small.n_users, small.n_items, rank=4, mu=3.5)
    mf2 = {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in mf1.items()}
    order = np.random.default_rng(3).permutation(len(small))
    for _ in range(2):
        B.sgd_epoch(mf1, small, order, lr=0.02, reg=0.05)
        B.sgd_epoch_reference(mf2, small, order, lr=0.02, reg=0.05)
    for k in ("bu", "bi", "P", "Q"):
        np.testing.assert_allclose(mf1[k], mf2[k], rtol=1e-12, atol=1e-14)


def _objective(mf, d, lam):
    e = d.ratings - B.mf_predict(mf, d.users, d.items)
    return (e @ e + lam * sum(np.sum(mf[k] ** 2) for k in ("bu", "bi", "P", "Q")))


def test_als_sweeps_never_increase_the_objective(small):
    mf = B.init_mf(np.random.default_rng(4), small.n_users, small.n_items, rank=5, mu=float(small.ratings.mean()))
    obj = [_objective(mf, small, 5.0)]
    for _ in range(4):
        B.als_sweep(mf, small, lam=5.0)
        obj.append(_objective(mf, small, 5.0))
    assert all(b <= a * (1 + 1e-12) for a, b in zip(obj, obj[1:]))
    assert obj[-1] < 0.75 * obj[0]


def test_fold_in_recovers_an_exact_user():
    rng = np.random.default_rng(5)
    mf = B.init_mf(rng, 1, 40, rank=3, mu=3.0, scale=1.0)
    mf["bi"] = rng.standard_normal(40)
    p_true, b_true = rng.standard_normal(3), 0.4
    items = np.arange(25)
    r = 3.0 + b_true + mf["bi"][items] + mf["Q"][items] @ p_true       # noiseless ratings
    p, b = B.fold_in(mf, items, r, lam=1e-9)
    np.testing.assert_allclose(np.r_[p, b], np.r_[p_true, b_true], rtol=1e-6, atol=1e-7)


def test_means_fall_back_to_the_global_mean():
    d = Ratings(np.array([0, 0, 1]), np.array([0, 1, 0]), np.array([1.0, 3.0, 5.0]), 3, 3)
    assert B.user_mean(d)(np.array([0, 2]), np.array([0, 0])).tolist() == [2.0, 3.0]
    assert B.item_mean(d)(np.array([0, 0]), np.array([0, 2])).tolist() == [3.0, 3.0]
    assert B.global_mean(d)(np.array([1]), np.array([1])).tolist() == [3.0]
