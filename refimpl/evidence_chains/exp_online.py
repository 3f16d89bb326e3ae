"""`evidence-chains-online`: ratings arrive in time order; each method predicts the next
chunk of ratings, then sees them.

[EvidenceChains Sec. 1] claims the model "automatically addresses the cold-start and online
learning problems": a latent is generated from the ratings, so a new rating is used by the
next prediction with no parameter update (`online.OnlineChains`). The comparison:

* evidence chains, online — the chunk joins the rating graph (parameters fixed);
* evidence chains, static — the graph frozen at the end of training (what online adds);
* MF-ALS, fold-in — after each chunk, the rows of the users, then of the items, that the
  chunk touched are re-solved against the other side's fixed factors (ALS row solves on all
  their ratings so far); new users / items get rows this way too;
* MF-ALS, refit — after each chunk, `refit_sweeps` warm-started ALS sweeps on all ratings so far;
* MF-ALS, static — trained once.

Protocol: the ratings sorted by timestamp (MovieLens `ratings.csv` / `u.data` with
`--data-dir`; the embedded generator has no time, so arrival order is a seeded random
permutation, said in the notes); the first `train_frac` train every method; the next
`n_chunks` chunks of `chunk` ratings are streamed. RMSE is over all streamed ratings;
update cost is wall-clock seconds spent absorbing chunks (prediction time not included).
"""
import time

import numpy as np

from . import baselines as B
from .data import Ratings, find_ratings_file, read_ratings_csv, read_udata, synthetic
from .online import OnlineChains
from .train import fit, rmse

__all__ = ["run_online", "load_with_times", "fold_in_rows"]


def load_with_times(data_dir):
    """(Ratings, timestamps (N,)) from the MovieLens file under `data_dir`."""
    path = find_ratings_file(data_dir)
    if path is None:
        raise ValueError(f"data_dir: expected a folder holding a MovieLens ratings.csv or u.data, "
                         f"got {str(data_dir)!r}")
    if path.suffix == ".csv":
        data, _, _, times = read_ratings_csv(path)
        return data, times
    data = read_udata(path)[0]
    times = np.loadtxt(path, usecols=3, dtype=np.int64, ndmin=1)   # same line order as read_udata
    return data, times


def fold_in_rows(mf, seen, users, items, lam=5.0):
    """Re-solve the MF rows of `users` (against fixed item factors), then of `items`
    (against the updated user factors) on all ratings in `seen`; grows the factor arrays
    for new ids (zero rows). Each is the ALS row solve of `baselines.als_sweep`."""
    for key_f, key_b, n in (("P", "bu", seen.n_users), ("Q", "bi", seen.n_items)):
        extra = n - mf[key_b].size
        if extra > 0:
            mf[key_f] = np.vstack([mf[key_f], np.zeros((extra, mf[key_f].shape[1]))])
            mf[key_b] = np.concatenate([mf[key_b], np.zeros(extra)])
    for own, other, own_f, own_b, oth_f, oth_b, ids in (
            (seen.users, seen.items, "P", "bu", "Q", "bi", np.unique(users)),
            (seen.items, seen.users, "Q", "bi", "P", "bu", np.unique(items))):
        n = seen.n_users if own_f == "P" else seen.n_items
        order = np.argsort(own, kind="stable")
        ptr = np.searchsorted(own[order], np.arange(n + 1))
        for e in ids:
            sl = order[ptr[e]:ptr[e + 1]]
            j = other[sl]
            A = np.hstack([mf[oth_f][j], np.ones((sl.size, 1))])
            x = B.als_row_solve(A, seen.ratings[sl] - mf["mu"] - mf[oth_b][j], lam)
            mf[own_f][e], mf[own_b][e] = x[:-1], x[-1]
    return mf


def _mf_predict(mf, users, items, scale):
    """Biased-MF predictions; ids beyond the factor arrays get the zero row (mu + bias 0)."""
    nu, ni = mf["bu"].size, mf["bi"].size
    ku, ki = users < nu, items < ni
    u, i = np.where(ku, users, 0), np.where(ki, items, 0)
    p = mf["mu"] + np.where(ku, mf["bu"][u], 0) + np.where(ki, mf["bi"][i], 0) + \
        np.einsum("nk,nk->n", mf["P"][u] * ku[:, None], mf["Q"][i] * ki[:, None])
    return np.clip(p, *scale)


def _first_seen_ids(ids):
    """Ids renumbered in order of first appearance, so users and items that first appear
    in the stream have ids beyond the training range (brand-new entities, as deployed)."""
    _, first = np.unique(ids, return_index=True)
    rank = np.empty(first.size, np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    return rank[np.unique(ids, return_inverse=True)[1]]


def _prefix(data, n):
    """The first n ratings, with the id range of those seen so far."""
    u, i = data.users[:n], data.items[:n]
    return Ratings(u, i, data.ratings[:n], int(u.max()) + 1, int(i.max()) + 1, data.scale)


def timed_ratings(cfg):
    """(ds, data, times, from_file): MovieLens from --data-dir with its timestamps, else the
    embedded generator (quarter size in --quick) with a seeded random arrival order."""
    if cfg.data_dir is not None:
        return ("movielens", *load_with_times(cfg.data_dir), True)
    data = synthetic(cfg.rng(0), **(dict(n_users=300, n_items=500, n_ratings=24_000) if cfg.quick else {}))
    return "synthetic", data, cfg.rng(9).permutation(len(data)), False


def run_online(cfg, ec_kw, tree_kw):
    ds, data, times, from_file = timed_ratings(cfg)
    order_note = ("arrival order: the files' timestamps" if from_file else
                  "arrival order: a seeded random permutation (the generator has no time)")
    order = np.argsort(times, kind="stable")
    data, times = data.subset(order), np.asarray(times)[order]
    data = Ratings(_first_seen_ids(data.users), _first_seen_ids(data.items), data.ratings,
                   data.n_users, data.n_items, data.scale)
    train_frac, chunk, n_chunks, sweeps = (0.6, 500, 8, 8) if cfg.quick else (0.7, 1000, 20, 12)
    n0 = int(train_frac * len(data))
    n_chunks = min(n_chunks, (len(data) - n0) // chunk)
    if n_chunks < 1:
        raise ValueError(f"data: {len(data)} ratings leave no chunk of {chunk} after the first {n0}")
    train = _prefix(data, n0)
    epochs = 2 if cfg.quick else 8
    params, graph, hist = fit(train, cfg.rng(4), epochs=epochs, batch_size=500, tree_kw=tree_kw,
                              max_seconds=20 if cfg.quick else 20 * 60,
                              progress=cfg.progress(epochs * (n0 // 500), "evidence chains"), **ec_kw)
    protos = [np.argsort(np.where(p >= 0, p, np.iinfo(np.int64).max))[:int((p >= 0).sum())]
              for p in (graph.proto_u, graph.proto_i)]
    online = OnlineChains(params, train, times[:n0], *protos, predictor=ec_kw["predictor"], **tree_kw)
    static = OnlineChains(params, train, times[:n0], *protos, predictor=ec_kw["predictor"], **tree_kw)
    mf_static, _ = B.fit_mf(train, cfg.rng(3), "als", epochs=sweeps)
    mf_fold = {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in mf_static.items()}
    mf_refit = {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in mf_static.items()}
    methods = ("evidence_chains", "evidence_chains_static", "mf_fold_in", "mf_refit", "mf_static")
    sq = {m: [] for m in methods}
    cost = dict.fromkeys(methods, 0.0)
    per_chunk = []
    for c in range(n_chunks):
        sl = slice(n0 + c * chunk, n0 + (c + 1) * chunk)
        u, i, r = data.users[sl], data.items[sl], data.ratings[sl]
        preds = {"evidence_chains": online.predict(u, i), "evidence_chains_static": static.predict(u, i),
                 "mf_fold_in": _mf_predict(mf_fold, u, i, data.scale),
                 "mf_refit": _mf_predict(mf_refit, u, i, data.scale),
                 "mf_static": _mf_predict(mf_static, u, i, data.scale)}
        for m in methods:
            sq[m].append((preds[m] - r) ** 2)
        per_chunk.append([c + 1] + [float(np.sqrt(np.mean(sq[m][-1]))) for m in methods])
        seen = _prefix(data, sl.stop)
        t0 = time.perf_counter()
        online.add(u, i, r, times[sl])
        cost["evidence_chains"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        fold_in_rows(mf_fold, seen, u, i)
        cost["mf_fold_in"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        fold_in_rows(mf_refit, seen, [], [])            # grow the arrays for new ids
        for _ in range(2):
            B.als_sweep(mf_refit, seen)
        cost["mf_refit"] += time.perf_counter() - t0
    metrics = {}
    for m in methods:
        metrics[f"online/{m}/rmse"] = rmse(np.sqrt(np.concatenate(sq[m])), 0.0)
        metrics[f"online/{m}/update_seconds"] = cost[m]
    new_u = data.users[n0:n0 + n_chunks * chunk] >= train.n_users
    metrics["online/streamed_ratings"] = n_chunks * chunk
    metrics["online/new_user_fraction"] = float(new_u.mean())
    return ds, metrics, np.array(per_chunk), methods, dict(
        n_train=n0, chunk=chunk, n_chunks=n_chunks, order_note=order_note, epochs=hist[-1]["epoch"])
