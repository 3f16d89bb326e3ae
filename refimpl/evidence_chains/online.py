"""Online learning: a new rating changes predictions at once, with no parameter update.

[EvidenceChains Sec. 3] latents are *generated* from the ratings (the evidence chains), not
stored per user or item, so a rating that arrives after training joins the rating graph and
the next prediction uses it: no retraining, no fold-in solve. What this needs is a graph
that takes new ratings and an evidence order that does not depend on when the graph was
built. Training draws a random evidence order per batch (`trees.permute_lists`); online
prediction uses a deterministic one instead:

    evidence order of a node = prototypes first, then the most recent ratings first
    (timestamp descending; ties: the later rating — the larger index in arrival order — first).

With that order the graph after adding ratings is a function of the set of ratings alone,
so `OnlineChains.add` (which inserts the new ratings into the adjacency lists in place of
their order) must give exactly the graph `time_ordered(make_graph(all ratings))` builds
from scratch — the test `test_ec_online.py` holds the two twins to each other.

    oc = OnlineChains(params, train, times, proto_users, proto_items, predictor="biased")
    oc.predict(users, items)              # (B,) predictions from the current graph
    oc.add(users, items, ratings, times)  # the ratings join the graph; params unchanged
"""
from dataclasses import replace

import numpy as np

from .data import Ratings, make_graph
from .model import DEFAULTS, latents_for, rating_head
from .trees import ITEM, USER

__all__ = ["time_ordered", "insert_ratings", "OnlineChains", "with_ratings"]


def _list_order(ptr, nb, rating_of_slot, is_proto_nb, times):
    """Permutation of one adjacency structure's slots into evidence order: by row, then
    prototypes first, then time descending, then rating index descending."""
    row = np.repeat(np.arange(ptr.size - 1), np.diff(ptr))
    t = rating_of_slot
    return np.lexsort((-t, -times[t], ~is_proto_nb[nb], row))


def time_ordered(graph, times):
    """`graph` with every adjacency list in the deterministic online evidence order.

    graph: a `make_graph` Graph of N ratings; times: (N,) timestamps of those ratings
    (rating t of the data the graph was built from). Returns a new Graph (u_pos / i_pos
    follow the moves); build trees from it with keys=None (the presorted fast path)."""
    times = np.asarray(times)
    nnz = graph.u_items.size
    if times.shape != (nnz,):
        raise ValueError(f"times: expected shape ({nnz},) (one per rating of graph), got {times.shape}")
    out = {}
    for ptr, nb, val, pos, proto, tag in ((graph.u_ptr, graph.u_items, graph.u_vals, graph.u_pos,
                                           graph.proto_i, "u"),
                                          (graph.i_ptr, graph.i_users, graph.i_vals, graph.i_pos,
                                           graph.proto_u, "i")):
        rating_of_slot = np.empty(nnz, np.int64)
        rating_of_slot[pos] = np.arange(nnz)
        order = _list_order(ptr, nb, rating_of_slot, proto >= 0, times)
        where = np.empty(nnz, np.int64)
        where[order] = np.arange(nnz)
        out[tag] = (nb[order], val[order], where[pos])
    return replace(graph, u_items=out["u"][0], u_vals=out["u"][1], u_pos=out["u"][2],
                   i_users=out["i"][0], i_vals=out["i"][1], i_pos=out["i"][2])


def _insert_side(ptr, nb, val, pos, proto_nb, times_all, n_rows, rows_new, nb_new, val_new, t_new):
    """Insert ratings t_new (rows rows_new, neighbours nb_new) into one CSR side kept in
    evidence order; returns (ptr, nb, val, pos) for the enlarged rating set."""
    nnz, k = nb.size, t_new.size
    ptr = np.concatenate([ptr, np.full(n_rows + 1 - ptr.size, ptr[-1])])     # rows for new entities
    rating_of_slot = np.empty(nnz, np.int64)
    rating_of_slot[pos] = np.arange(nnz)
    # slot of each new rating: after the existing entries of its row that precede it in
    # evidence order (found by searchsorted on the row's order key)
    ins = np.empty(k, np.int64)
    for j in range(k):
        lo, hi = ptr[rows_new[j]], ptr[rows_new[j] + 1]
        ts = rating_of_slot[lo:hi]
        # the row is sorted by (non-prototype, -time, -index); count the entries whose key
        # is lexicographically below the new rating's
        a, b, c = ~proto_nb[nb[lo:hi]], -times_all[ts], -ts
        an, bn, cn = ~proto_nb[nb_new[j]], -times_all[t_new[j]], -t_new[j]
        below = (a < an) | ((a == an) & ((b < bn) | ((b == bn) & (c < cn))))
        ins[j] = lo + int(below.sum())
    # several new ratings may land at one slot (the end of row r is the start of row r+1):
    # insert them there by row, then in their own evidence order
    order = np.lexsort((-t_new, -times_all[t_new], ~proto_nb[nb_new], rows_new, ins))
    ins, nb_new, val_new, t_new = ins[order], nb_new[order], val_new[order], t_new[order]
    nb2, val2 = np.insert(nb, ins, nb_new), np.insert(val, ins, val_new)
    ts2 = np.insert(rating_of_slot, ins, t_new)
    pos2 = np.empty(nnz + k, np.int64)
    pos2[ts2] = np.arange(nnz + k)
    ptr2 = ptr + np.concatenate([[0], np.cumsum(np.bincount(rows_new, minlength=n_rows))])
    return ptr2, nb2, val2, pos2


def insert_ratings(graph, times, users, items, ratings, new_times):
    """The time-ordered graph of the old ratings plus the new ones (appended as ratings
    N..N+k-1), built by insertion: O(nnz) copies, no sort of the whole graph.

    graph: a `time_ordered` Graph; times: (N,) its timestamps; users, items, ratings,
    new_times: (k,) the new ratings (new user / item ids extend the id range; a pair
    already in the graph is an error). Returns (graph', times')."""
    users, items = np.asarray(users, np.int64), np.asarray(items, np.int64)
    ratings, new_times = np.asarray(ratings, np.float64), np.asarray(new_times)
    k = users.size
    for name, a in (("items", items), ("ratings", ratings), ("new_times", new_times)):
        if a.shape != users.shape or users.ndim != 1:
            raise ValueError(f"{name}: expected shape {users.shape} (as users), got {a.shape}")
    if k and (users.min() < 0 or items.min() < 0):
        raise ValueError("users, items: expected ids >= 0")
    if not np.all(np.isfinite(ratings)):
        raise ValueError("ratings: expected finite values")
    N = graph.u_items.size
    U, I = max(graph.n_users, int(users.max(initial=-1)) + 1), max(graph.n_items, int(items.max(initial=-1)) + 1)
    old_key = np.repeat(np.arange(graph.n_users), np.diff(graph.u_ptr)) * I + graph.u_items
    new_key = users * I + items
    rep = np.isin(new_key, old_key) | (np.unique(new_key, return_counts=True)[1][
        np.searchsorted(np.unique(new_key), new_key)] > 1)
    if rep.any():
        j = int(np.argmax(rep))
        raise ValueError(f"users, items: expected (user, item) pairs not yet rated, got a repeat "
                         f"({users[j]}, {items[j]})")
    proto_u = np.concatenate([graph.proto_u, np.full(U - graph.n_users, -1, np.int64)])
    proto_i = np.concatenate([graph.proto_i, np.full(I - graph.n_items, -1, np.int64)])
    times_all = np.concatenate([np.asarray(times), new_times]).astype(np.float64)
    t_new = np.arange(N, N + k)
    u_side = _insert_side(graph.u_ptr, graph.u_items, graph.u_vals, graph.u_pos, proto_i >= 0, times_all,
                          U, users, items, ratings, t_new)
    i_side = _insert_side(graph.i_ptr, graph.i_users, graph.i_vals, graph.i_pos, proto_u >= 0, times_all,
                          I, items, users, ratings, t_new)
    g = replace(graph, n_users=U, n_items=I, u_ptr=u_side[0], u_items=u_side[1], u_vals=u_side[2],
                u_pos=u_side[3], i_ptr=i_side[0], i_users=i_side[1], i_vals=i_side[2], i_pos=i_side[3],
                proto_u=proto_u, proto_i=proto_i)
    return g, times_all


class OnlineChains:
    """A trained evidence-chains model serving predictions while ratings arrive.

    params: trained parameters (`fit`); data: the ratings seen so far (Ratings); times:
    (N,) their timestamps; proto_users, proto_items: the prototype ids the params were
    trained with (slot order). `add` inserts ratings; `predict` uses the current graph in
    the deterministic evidence order (module docstring). Parameters never change."""

    def __init__(self, params, data, times, proto_users, proto_items, predictor="dot", centre=3.0,
                 **tree_kw):
        times = np.asarray(times)
        if times.shape != (len(data),):
            raise ValueError(f"times: expected shape ({len(data)},) (one per rating of data), got {times.shape}")
        self.params, self.predictor, self.centre = params, predictor, float(centre)
        self.tree_kw = {**DEFAULTS, **tree_kw}
        self.scale = data.scale
        self.graph = time_ordered(make_graph(data, proto_users, proto_items), times)
        self.times = times.astype(np.float64)

    def add(self, users, items, ratings, times):
        """The ratings join the graph (ids beyond the current range are new users / items)."""
        self.graph, self.times = insert_ratings(self.graph, self.times, users, items, ratings, times)

    def _latents(self, kind, ids):
        n = self.graph.n_users if kind == USER else self.graph.n_items
        known = ids < n                              # ids never seen: the fallback latent
        lat, _ = latents_for(self.params, self.graph, kind, np.where(known, ids, 0), self.centre,
                             **self.tree_kw)
        if not known.all():
            P = self.params["P_u"] if kind == USER else self.params["P_i"]
            lat = np.where(known[:, None], lat, P.mean(axis=0))
        return lat

    def predict(self, users, items):
        """Predicted ratings (B,), clipped to the rating scale; deterministic."""
        users, items = np.asarray(users, np.int64), np.asarray(items, np.int64)
        if users.shape != items.shape or users.ndim != 1:
            raise ValueError(f"users, items: expected equal 1-D shapes, got {users.shape}, {items.shape}")
        if users.size == 0:
            return np.zeros(0)
        uq, u_inv = np.unique(users, return_inverse=True)
        iq, i_inv = np.unique(items, return_inverse=True)
        U, V = self._latents(USER, uq), self._latents(ITEM, iq)
        return np.clip(rating_head(self.params, U[u_inv], V[i_inv], self.predictor), *self.scale)


def with_ratings(data, users, items, ratings):
    """`data` with ratings appended (the id range grows to cover new ids)."""
    users, items = np.asarray(users, np.int64), np.asarray(items, np.int64)
    return Ratings(np.concatenate([data.users, users]), np.concatenate([data.items, items]),
                   np.concatenate([data.ratings, np.asarray(ratings, float)]),
                   max(data.n_users, int(users.max(initial=-1)) + 1),
                   max(data.n_items, int(items.max(initial=-1)) + 1), data.scale)
