"""Rating data for the evidence-chains recommender: a MovieLens-100K-shaped generator,
a `u.data` reader, a seeded train/test split and the sparse rating graph.

A rating set is a `Ratings` record of three aligned arrays (user, item, rating) plus the
matrix shape. The *rating graph* (`Graph`) holds the same ratings twice, user-major
(CSR: user -> items) and item-major (CSC of the same matrix: item -> users), as the
plain index arrays the numba tree builder walks.

References
----------
E. Tragas, C. Luo, M. Gazeau, K. Luk, D. Duvenaud. Scalable Recommender Systems through
Recursive Evidence Chains. arXiv:1807.02150 (2018), Sec. 4 (MovieLens-100K protocol).
F. M. Harper, J. A. Konstan. The MovieLens Datasets. ACM TiiS 5(4), 2015 (`u.data` format).
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..io import DataError

__all__ = ["Ratings", "Graph", "synthetic", "read_udata", "read_ratings_csv", "load", "split", "split_temporal",
           "make_graph",
           "top_by_count", "concat"]


@dataclass(frozen=True)
class Ratings:
    """Aligned arrays users: (N,) int64, items: (N,) int64, ratings: (N,) float64,
    and the matrix shape (n_users, n_items)."""
    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray
    n_users: int
    n_items: int
    scale: tuple = (1.0, 5.0)        # (lowest, highest) rating: predictions are clipped to it

    def __len__(self):
        return int(self.ratings.shape[0])

    def subset(self, idx):
        return Ratings(self.users[idx], self.items[idx], self.ratings[idx], self.n_users,
                       self.n_items, self.scale)


def concat(a, b):
    """The ratings of `a` followed by those of `b` (shape: the larger of the two)."""
    return Ratings(np.concatenate([a.users, b.users]), np.concatenate([a.items, b.items]),
                   np.concatenate([a.ratings, b.ratings]), max(a.n_users, b.n_users),
                   max(a.n_items, b.n_items),
                   (min(a.scale[0], b.scale[0]), max(a.scale[1], b.scale[1])))


# --- the embedded generator ------------------------------------------------------

def synthetic(rng, n_users=943, n_items=1682, n_ratings=100_000, min_per_user=20, rank=5,
              noise=0.6):
    """MovieLens-100K-shaped ratings from a low-rank-plus-bias model.

    Every user rates >= `min_per_user` items (user activity log-normal beyond that, capped
    at half the catalogue); items are chosen without replacement with Zipf-like popularity
    p_j ∝ (rank_j + 20)^-1.1 over a random ordering of the items. Ratings are
        r*_ij = 3.3 + b_i^u + b_j^v + 0.3 z_j + a_i·c_j + eps,  eps ~ N(0, noise²),
    z_j the standardised log popularity, a_i, c_j ~ N(0, I/√rank)·1.4, then rounded
    and clipped to {1, ..., 5}.
    """
    if n_users < 1 or n_items < 2 * min_per_user:
        raise ValueError(f"n_users, n_items: expected >= 1 and >= 2*min_per_user, got {n_users}, {n_items}")
    if not n_users * min_per_user <= n_ratings <= n_users * n_items // 2:
        raise ValueError(f"n_ratings: expected in [n_users*min_per_user, n_users*n_items/2] = "
                         f"[{n_users * min_per_user}, {n_users * n_items // 2}], got {n_ratings}")
    cap = n_items // 2
    # --- user activity: min_per_user + a log-normal share of the rest, capped -------
    w = rng.lognormal(0.0, 1.0, size=n_users)
    counts = np.full(n_users, min_per_user, dtype=np.int64)
    left = n_ratings - counts.sum()
    while left > 0:
        open_ = counts < cap
        counts[open_] += rng.multinomial(left, w[open_] / w[open_].sum())
        counts = np.minimum(counts, cap)
        left = n_ratings - counts.sum()
    # --- item popularity ---------------------------------------------------------------
    order = rng.permutation(n_items)
    p = np.empty(n_items)
    p[order] = (np.arange(n_items) + 20.0) ** -1.1
    p /= p.sum()
    users, items = _draw_distinct_items(rng, counts, p)
    # --- low-rank-plus-bias ratings ------------------------------------------------------
    a = rng.standard_normal((n_users, rank)) * 1.4 / np.sqrt(rank)     # (U, K)
    c = rng.standard_normal((n_items, rank)) * 1.4 / np.sqrt(rank)     # (I, K)
    bu, bi = 0.4 * rng.standard_normal(n_users), 0.4 * rng.standard_normal(n_items)
    z = np.log(p)
    z = (z - z.mean()) / z.std()
    r = (3.3 + bu[users] + bi[items] + 0.3 * z[items] + np.einsum("nk,nk->n", a[users], c[items])
         + noise * rng.standard_normal(users.size))
    r = np.clip(np.rint(r), 1, 5)
    perm = rng.permutation(users.size)
    return Ratings(users[perm], items[perm].astype(np.int64), r[perm], n_users, n_items)


def _draw_distinct_items(rng, counts, p):
    """(users, items): user u gets counts[u] distinct items, drawn by weighted sampling
    without replacement from popularity p (I,), vectorised over all users.

    Sequential sampling without replacement equals drawing i.i.d. from p and skipping
    repeats until counts[u] distinct items are found; the i.i.d. draws are made in blocks
    (each user's block size = its deficit x a factor that doubles each round; only its first
    `deficit` new items in draw order are kept), so the result has exactly that
    distribution. Memory O(N); each round is a merge of sorted keys (user * I + item).
    Returns users (N,) sorted and items (N,), both int64."""
    n_items = p.size
    cdf = np.cumsum(p)
    cdf /= cdf[-1]
    keys = np.empty(0, np.int64)                       # accepted pairs, sorted
    deficit = counts.astype(np.int64).copy()           # (U,) items still to draw per user
    factor = 1
    while deficit.sum() > 0:
        who = np.nonzero(deficit)[0]
        while factor > 1 and deficit[who].sum() * factor > max(counts.sum(), 10**6):
            factor //= 2                                # memory stays O(N)
        per = deficit[who] * factor                    # draws per user this round
        cu = np.repeat(who, per)                        # (M,) user of each draw, grouped
        cj = np.minimum(np.searchsorted(cdf, rng.random(cu.size), side="right"), n_items - 1)
        ck = cu * n_items + cj
        pos = np.searchsorted(keys, ck)
        new = keys[np.minimum(pos, keys.size - 1)] != ck if keys.size else np.ones(ck.size, bool)
        first = np.zeros(ck.size, bool)                 # first occurrence in draw order
        first[np.unique(ck, return_index=True)[1]] = True
        ok = new & first
        # rank of each accepted draw among its user's accepted draws (draws are grouped by user)
        csum = np.cumsum(ok)
        start = np.repeat(csum[np.cumsum(per) - per] - ok[np.cumsum(per) - per], per)
        ok &= (csum - start) <= np.repeat(deficit[who], per)
        got = ck[ok]
        deficit -= np.bincount(cu[ok], minlength=deficit.size)
        keys = np.sort(np.concatenate([keys, np.sort(got)]), kind="stable")   # merge of two sorted runs
        factor = min(2 * factor, 1024)
    return keys // n_items, keys % n_items


# --- MovieLens u.data ----------------------------------------------------------------

class RatingsFormatError(DataError):
    """A ratings file is malformed (the message names the file and line)."""


def read_udata(path):
    """Read a MovieLens `u.data` file: tab-separated user id, item id, rating, timestamp.

    Ids are arbitrary positive integers and are remapped to 0..n-1 in increasing id order
    (gaps are legal). Ratings must lie in [1, 5]. A malformed line, a repeated
    (user, item) pair or an out-of-range rating raises RatingsFormatError (a ValueError)
    naming the line.
    Returns (Ratings, user_ids, item_ids) with user_ids[k] the original id of user k.
    """
    path = Path(path)
    raw_u, raw_i, raw_r, seen = [], [], [], {}
    with open(path, "r", encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            parts = line.split("\t") if "\t" in line else line.split()
            if len(parts) != 4:
                raise RatingsFormatError(f"{path}: line {lineno}: expected 4 tab-separated fields "
                                 f"(user id, item id, rating, timestamp), got {len(parts)}: {line.rstrip()!r}")
            try:
                u, i, r, _ = int(parts[0]), int(parts[1]), float(parts[2]), int(parts[3])
            except ValueError:
                raise RatingsFormatError(f"{path}: line {lineno}: expected integers user id, item id, "
                                 f"timestamp and a numeric rating, got {line.rstrip()!r}") from None
            if u <= 0 or i <= 0 or u >= 2 ** 62 or i >= 2 ** 62:
                raise RatingsFormatError(f"{path}: line {lineno}: expected positive ids below 2**62, "
                                         f"got user {u}, item {i}")
            if not 1.0 <= r <= 5.0:
                raise RatingsFormatError(f"{path}: line {lineno}: rating expected in [1, 5], got {parts[2]}")
            if (u, i) in seen:
                raise RatingsFormatError(f"{path}: line {lineno}: repeated (user, item) = ({u}, {i}), "
                                 f"first on line {seen[(u, i)]}")
            seen[(u, i)] = lineno
            raw_u.append(u)
            raw_i.append(i)
            raw_r.append(r)
    if not raw_u:
        raise RatingsFormatError(f"{path}: expected at least one rating line, got none")
    user_ids, users = np.unique(np.array(raw_u, dtype=np.int64), return_inverse=True)
    item_ids, items = np.unique(np.array(raw_i, dtype=np.int64), return_inverse=True)
    data = Ratings(users.astype(np.int64), items.astype(np.int64), np.array(raw_r, dtype=float),
                   int(user_ids.size), int(item_ids.size))
    return data, user_ids, item_ids


#: fewest ratings the experiments accept from a file (a 90/10 split needs a test set)
MIN_RATINGS = 10


#: the header of every MovieLens `ratings.csv` since 2015 (ml-latest-small, ml-20m, ml-25m, ml-32m)
CSV_HEADER = "userId,movieId,rating,timestamp"


def read_ratings_csv(path):
    """Read a MovieLens `ratings.csv` (header ``userId,movieId,rating,timestamp``).

    Parsed by NumPy's C reader (no Python loop: ml-25m's 25 M rows load in seconds, in
    ~40 bytes a rating). Ids are arbitrary non-negative integers in any row order, remapped
    to 0..n-1 in increasing id order; ratings are positive (half stars from 0.5 in the
    modern releases) and the rating scale is read from the data: ``Ratings.scale`` =
    (lowest, highest) rating seen. A missing header, a malformed line, a non-positive
    rating or a repeated (user, movie) pair is a RatingsFormatError naming the file and line.
    Returns (Ratings, user_ids, item_ids, timestamps (N,) int64).
    """
    path = Path(path)
    with open(path, "rb") as f:
        first = f.readline().decode("utf-8", "replace").strip().lstrip("\ufeff")
    if first != CSV_HEADER:
        raise RatingsFormatError(f"{path}: line 1: expected the header {CSV_HEADER!r}, "
                                 f"got {first[:80]!r}")
    dt = np.dtype([("u", np.int64), ("i", np.int64), ("r", np.float64), ("t", np.int64)])
    try:
        rows = np.loadtxt(path, delimiter=",", skiprows=1, dtype=dt, ndmin=1,
                          encoding="utf-8")
    except (ValueError, OverflowError) as e:          # find the line (error path only)
        raise RatingsFormatError(f"{path}: {_first_bad_csv_line(path)}expected integer "
                                 f"userId, movieId, timestamp and a numeric rating ({e})") from None
    except UnicodeDecodeError as e:
        raise RatingsFormatError(f"{path}: not a UTF-8 text file ({e.reason})") from None
    if rows.size == 0:
        raise RatingsFormatError(f"{path}: expected at least one rating line, got none")
    u, i, r = rows["u"], rows["i"], rows["r"]
    for name, bad in (("ids must be >= 0", (u < 0) | (i < 0)),
                      ("rating must be a positive finite number", ~(np.isfinite(r) & (r > 0)))):
        if bad.any():
            k = int(np.argmax(bad))
            raise RatingsFormatError(f"{path}: line {k + 2}: {name}, got {u[k]},{i[k]},{r[k]}")
    user_ids, users = np.unique(u, return_inverse=True)
    item_ids, items = np.unique(i, return_inverse=True)
    key = users.astype(np.int64) * len(item_ids) + items
    order = np.argsort(key, kind="stable")
    dup = np.flatnonzero(key[order][1:] == key[order][:-1])
    if dup.size:
        a, b = sorted((int(order[dup[0]]), int(order[dup[0] + 1])))
        raise RatingsFormatError(f"{path}: line {b + 2}: repeated (userId, movieId) = "
                                 f"({u[b]}, {i[b]}), first on line {a + 2}")
    data = Ratings(users.astype(np.int64), items.astype(np.int64), r.astype(np.float64),
                   int(user_ids.size), int(item_ids.size), (float(r.min()), float(r.max())))
    return data, user_ids, item_ids, rows["t"].copy()


def _first_bad_csv_line(path):
    """"line K: " for the first data line that is not int,int,float,int (or "")."""
    with open(path, encoding="utf-8", errors="replace") as f:
        next(f, None)
        for k, line in enumerate(f, start=2):
            parts = line.strip().split(",")
            try:
                if len(parts) != 4:
                    raise ValueError
                int(parts[0]), int(parts[1]), float(parts[2]), int(parts[3])
            except ValueError:
                return f"line {k}: "
    return ""


def find_ratings_file(data_dir):
    """The ratings file under ``data_dir``: ``ratings.csv`` (any MovieLens release since
    2015, directly or one folder down, e.g. ``ml-25m/ratings.csv``) or ``u.data``
    (ml-100k). None if there is neither."""
    data_dir = Path(data_dir)
    for pattern in ("ratings.csv", "*/ratings.csv", "u.data", "ml-100k/u.data", "*/u.data"):
        hits = sorted(data_dir.glob(pattern))
        if hits:
            return hits[0]
    return None


def load(data_dir, min_ratings=1):
    """The ratings under `data_dir` (see `find_ratings_file`) -> Ratings (ids remapped);
    fewer than `min_ratings` ratings is a RatingsFormatError naming the file."""
    data_dir = Path(data_dir)
    cand = find_ratings_file(data_dir)
    if cand is not None:
        data = (read_ratings_csv(cand) if cand.suffix == ".csv" else read_udata(cand))[0]
        if len(data) < min_ratings:
            raise RatingsFormatError(f"{cand}: {len(data)} ratings; a train/test split "
                                     f"needs at least {min_ratings}")
        return data
    raise ValueError(f"data_dir: expected a folder holding a MovieLens ratings.csv or u.data "
                     f"(directly or one folder down), got {str(data_dir)!r}")


def split(data, rng, test_frac=0.1):
    """Seeded random split of the ratings into (train, test), test ≈ test_frac of them."""
    if not 0.0 < test_frac < 1.0:
        raise ValueError(f"test_frac: expected in (0, 1), got {test_frac}")
    perm = rng.permutation(len(data))
    n_test = int(round(test_frac * len(data)))
    if not 0 < n_test < len(data):
        raise ValueError(f"data: {len(data)} ratings with test_frac={test_frac} give an empty "
                         "train or test set")
    return data.subset(np.sort(perm[n_test:])), data.subset(np.sort(perm[:n_test]))


def split_temporal(data, times, test_frac=0.1):
    """(train, test): each user's most recent ratings (the last ceil(test_frac · n_u) by
    timestamp, ties by row order) are the test set, the rest train — how a recommender is
    used: past ratings predict future ones. Users with a single rating stay in train."""
    times = np.asarray(times)
    if times.shape != (len(data),):
        raise ValueError(f"times: expected shape ({len(data)},) (one per rating), got {times.shape}")
    if not 0.0 < test_frac < 1.0:
        raise ValueError(f"test_frac: expected in (0, 1), got {test_frac}")
    order = np.lexsort((np.arange(len(data)), times, data.users))        # by user, then time, then row
    u = data.users[order]
    start = np.searchsorted(u, u, side="left")                          # first row of each user's block
    n_u = np.bincount(data.users, minlength=data.n_users)[u]
    rank = np.arange(len(data)) - start                                  # 0 = the user's oldest rating
    n_test = np.where(n_u > 1, np.ceil(test_frac * n_u).astype(np.int64), 0)
    is_test = np.zeros(len(data), bool)
    is_test[order] = rank >= n_u - n_test
    return data.subset(np.nonzero(~is_test)[0]), data.subset(np.nonzero(is_test)[0])


# --- the rating graph -----------------------------------------------------------------

@dataclass(frozen=True)
class Graph:
    """The training ratings as two adjacency lists (int64 / float64 arrays).

    user u's items: u_items[u_ptr[u]:u_ptr[u+1]] with ratings u_vals[...] (CSR rows);
    item j's users: i_users[i_ptr[j]:i_ptr[j+1]] with ratings i_vals[...] (CSC columns).
    u_pos[t], i_pos[t]: where training rating t sits in each list (to mask it out).
    proto_u: (n_users,) prototype slot of each user or -1; proto_i likewise for items.
    """
    n_users: int
    n_items: int
    u_ptr: np.ndarray
    u_items: np.ndarray
    u_vals: np.ndarray
    i_ptr: np.ndarray
    i_users: np.ndarray
    i_vals: np.ndarray
    u_pos: np.ndarray
    i_pos: np.ndarray
    proto_u: np.ndarray
    proto_i: np.ndarray


def top_by_count(index, n_entities, n_top):
    """Ids of the `n_top` entities with the most ratings (ties: the smaller id first)."""
    counts = np.bincount(index, minlength=n_entities)
    return np.argsort(-counts, kind="stable")[:n_top].astype(np.int64)


def make_graph(data, proto_users, proto_items):
    """Build the `Graph` of `data` with the given prototype ids (slots in the given order).

    The CSR/CSC index arrays come from scipy.sparse; rating t's slot is recovered by
    storing t+1 as the matrix value (duplicates are rejected)."""
    U, I, N = data.n_users, data.n_items, len(data)
    proto_users, proto_items = np.asarray(proto_users, np.int64), np.asarray(proto_items, np.int64)
    if proto_users.size and proto_users.max() >= U or proto_items.size and proto_items.max() >= I:
        raise ValueError(f"proto_users / proto_items: expected ids < ({U}, {I}), got max "
                         f"({proto_users.max(initial=-1)}, {proto_items.max(initial=-1)})")
    tag = sp.coo_matrix((np.arange(1, N + 1, dtype=np.float64), (data.users, data.items)), shape=(U, I))
    csr, csc = tag.tocsr(), tag.tocsc()
    if csr.nnz != N or (N and csr.data.max() > N):
        raise ValueError(f"data: expected distinct (user, item) pairs, got {N - csr.nnz} repeats")
    csr.sort_indices()
    csc.sort_indices()
    t_r = csr.data.astype(np.int64) - 1            # rating index at each CSR slot
    t_c = csc.data.astype(np.int64) - 1
    if np.unique(t_r).size != N:
        raise ValueError("data: expected distinct (user, item) pairs, got repeats")
    u_pos, i_pos = np.empty(N, np.int64), np.empty(N, np.int64)
    u_pos[t_r], i_pos[t_c] = np.arange(N), np.arange(N)
    proto_u, proto_i = np.full(U, -1, np.int64), np.full(I, -1, np.int64)
    proto_u[proto_users], proto_i[proto_items] = np.arange(proto_users.size), np.arange(proto_items.size)
    r = data.ratings.astype(np.float64)
    return Graph(U, I, csr.indptr.astype(np.int64), csr.indices.astype(np.int64), r[t_r],
                 csc.indptr.astype(np.int64), csc.indices.astype(np.int64), r[t_c],
                 u_pos, i_pos, proto_u, proto_i)
