"""Baselines: global / user / item means and biased matrix factorisation trained by SGD
and by ALS, plus fold-in of a new user (a closed-form row solve, no retraining).

Biased MF (Koren, Bell & Volinsky 2009, eq. (4)-(5)):
    r_hat_ui = mu + b_u + b_i + p_u·q_i,
    min sum_(u,i) (r_ui - r_hat_ui)² + λ (|p_u|² + |q_i|² + b_u² + b_i²).

References
----------
Y. Koren, R. Bell, C. Volinsky. Matrix Factorization Techniques for Recommender Systems.
IEEE Computer 42(8), 2009 (eqs. (4), (5); SGD updates in "Learning algorithms").
Y. Zhou, D. Wilkinson, R. Schreiber, R. Pan. Large-Scale Parallel Collaborative Filtering
for the Netflix Prize. AAIM 2008 (ALS: each row is a regularised least-squares solve).
E. Tragas et al. arXiv:1807.02150 (2018), Sec. 4 (MF baselines on MovieLens-100K).
"""
import numpy as np
from numba import njit

__all__ = ["global_mean", "user_mean", "item_mean", "init_mf", "mf_predict", "sgd_epoch",
           "sgd_epoch_reference", "als_row_solve", "als_sweep", "fold_in", "fit_mf"]


# --- means -------------------------------------------------------------------------------

def global_mean(train):
    mu = float(train.ratings.mean())
    return lambda users, items: np.full(len(users), mu)


def _group_mean(index, n, train):
    mu = float(train.ratings.mean())
    s = np.bincount(index, weights=train.ratings, minlength=n)
    c = np.bincount(index, minlength=n)
    return np.where(c > 0, s / np.maximum(c, 1), mu)          # unseen -> global mean


def user_mean(train):
    m = _group_mean(train.users, train.n_users, train)
    return lambda users, items: m[users]


def item_mean(train):
    m = _group_mean(train.items, train.n_items, train)
    return lambda users, items: m[items]


# --- biased MF ------------------------------------------------------------------------------

def init_mf(rng, n_users, n_items, rank=10, mu=3.5, scale=0.1):
    """dict(mu (), bu (U,), bi (I,), P (U, K), Q (I, K)); factors ~ N(0, scale²)."""
    return dict(mu=float(mu), bu=np.zeros(n_users), bi=np.zeros(n_items),
                P=scale * rng.standard_normal((n_users, rank)), Q=scale * rng.standard_normal((n_items, rank)))


def mf_predict(mf, users, items):
    """Koren et al. eq. (4): mu + b_u + b_i + p_u·q_i  -> (B,)."""
    return mf["mu"] + mf["bu"][users] + mf["bi"][items] + np.einsum("bk,bk->b", mf["P"][users], mf["Q"][items])


@njit(cache=True, fastmath=False)
def _sgd_epoch(users, items, ratings, order, mu, bu, bi, P, Q, lr, reg):
    K = P.shape[1]
    for t in order:
        u, i = users[t], items[t]
        pred = mu + bu[u] + bi[i]
        for k in range(K):
            pred += P[u, k] * Q[i, k]
        e = ratings[t] - pred
        bu[u] += lr * (e - reg * bu[u])
        bi[i] += lr * (e - reg * bi[i])
        for k in range(K):
            pu = P[u, k]
            P[u, k] += lr * (e * Q[i, k] - reg * pu)
            Q[i, k] += lr * (e * pu - reg * Q[i, k])


def sgd_epoch(mf, train, order, lr=0.01, reg=0.05):
    """One SGD pass over the ratings in `order` (numba twin); updates `mf` in place.

    Koren et al., "Learning algorithms": e = r - r_hat; b_u += lr (e - λ b_u);
    b_i += lr (e - λ b_i); p_u += lr (e q_i - λ p_u); q_i += lr (e p_u - λ q_i)."""
    _sgd_epoch(train.users, train.items, train.ratings.astype(np.float64), np.asarray(order, np.int64),
               float(mf["mu"]), mf["bu"], mf["bi"], mf["P"], mf["Q"], float(lr), float(reg))
    return mf


def sgd_epoch_reference(mf, train, order, lr=0.01, reg=0.05):
    """The same pass as `sgd_epoch`, one rating at a time in NumPy (the readable twin)."""
    for t in order:
        u, i = train.users[t], train.items[t]
        e = train.ratings[t] - (mf["mu"] + mf["bu"][u] + mf["bi"][i] + mf["P"][u] @ mf["Q"][i])
        mf["bu"][u] += lr * (e - reg * mf["bu"][u])
        mf["bi"][i] += lr * (e - reg * mf["bi"][i])
        pu = mf["P"][u].copy()
        mf["P"][u] += lr * (e * mf["Q"][i] - reg * pu)
        mf["Q"][i] += lr * (e * pu - reg * mf["Q"][i])
    return mf


# --- ALS ------------------------------------------------------------------------------------------

def als_row_solve(A, y, lam):
    """argmin_x |A x - y|² + lam |x|²  =  (AᵀA + lam I)⁻¹ Aᵀ y  (A: (n, k), y: (n,)) -> (k,)."""
    k = A.shape[1]
    return np.linalg.solve(A.T @ A + lam * np.eye(k), A.T @ y)


def _rows(index, n):
    order = np.argsort(index, kind="stable")
    ptr = np.concatenate([[0], np.cumsum(np.bincount(index, minlength=n))])
    return order, ptr


def als_sweep(mf, train, lam=5.0):
    """One ALS sweep: every user's [p_u; b_u] given the items, then every item's [q_i; b_i]
    given the users, each a regularised least-squares row solve (Zhou et al. 2008)."""
    mu = mf["mu"]
    for index, other, own_f, own_b, oth_f, oth_b, n in (
            (train.users, train.items, "P", "bu", "Q", "bi", len(mf["bu"])),
            (train.items, train.users, "Q", "bi", "P", "bu", len(mf["bi"]))):
        order, ptr = _rows(index, n)
        F, B = mf[oth_f], mf[oth_b]
        for e in range(n):
            sl = order[ptr[e]:ptr[e + 1]]
            if sl.size == 0:
                continue
            j = other[sl]
            A = np.hstack([F[j], np.ones((sl.size, 1))])           # (n_e, K+1): [q_j, 1]
            x = als_row_solve(A, train.ratings[sl] - mu - B[j], lam)
            mf[own_f][e], mf[own_b][e] = x[:-1], x[-1]
    return mf


def fold_in(mf, items, ratings, lam=5.0):
    """A new user's (p, b) from k ratings of known items, without retraining: the ALS row
    solve against the trained item factors. Returns (p (K,), b)."""
    items = np.asarray(items, np.int64)
    A = np.hstack([mf["Q"][items], np.ones((items.size, 1))])
    x = als_row_solve(A, np.asarray(ratings, float) - mf["mu"] - mf["bi"][items], lam)
    return x[:-1], x[-1]


def fit_mf(train, rng, method="sgd", rank=10, epochs=20, lr=0.01, reg=0.05, lam=5.0, test=None,
           clip=(1.0, 5.0)):
    """Train biased MF by "sgd" or "als"; history = [(epoch, seconds, test_rmse)]."""
    import time
    mf = init_mf(rng, train.n_users, train.n_items, rank, mu=float(train.ratings.mean()))
    hist, t_fit = [], 0.0
    for ep in range(epochs):
        t0 = time.perf_counter()
        if method == "sgd":
            sgd_epoch(mf, train, rng.permutation(len(train)), lr, reg)
        elif method == "als":
            als_sweep(mf, train, lam)
        else:
            raise ValueError(f"method: expected 'sgd' or 'als', got {method!r}")
        t_fit += time.perf_counter() - t0
        if test is not None:
            p = np.clip(mf_predict(mf, test.users, test.items), *clip)
            hist.append((ep + 1, t_fit, float(np.sqrt(np.mean((p - test.ratings) ** 2)))))
    return mf, hist
