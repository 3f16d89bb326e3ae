"""Evidence trees: which ratings a query's latent is generated from.

A *query* is a user or an item whose latent we need. Its evidence tree ([EvidenceChains Sec. 3],
"evidence chains") is grown from the rating graph:

* a prototype (one of the most-rated users / items) is a leaf: its latent is a parameter;
* any other node at depth d < max_depth takes as evidence at most E_d = evidence >> d
  of its neighbours (80, 40, 20, 10 by default), prototypes first, the rest in a random
  order (random keys drawn by the caller's `rng`, one per rating per batch);
* a node never uses an ancestor on its own chain (cycles, and in particular its caller,
  are blocked), nor a masked rating (the ratings being predicted in a training step);
* **node cap**: a query's tree holds at most `node_cap` nodes (default 256; the unbounded
  tree has 80·40·20·10 = 640,000 leaves). A node with budget b keeps 1 node for itself,
  gives 1 to each prototype child and splits the rest evenly over its first non-prototype
  children, at least 2 each (so each can reach evidence of its own);
* a non-prototype node is *resolved* if at least `min_evidence` of its children are
  resolved; unresolved children are dropped. An unresolved query (no evidence, e.g. a
  user unseen in training) is kept as a lone root flagged `fallback` — the model then uses
  the mean prototype latent of its kind (see `model.py`).

Trees are returned flat, in pre-order, all queries concatenated (`Forest`). Two twins build
them: `build_forest` (here: numba, an explicit DFS stack with roll-back of unresolved
subtrees) and `build_forest_reference` (`trees_reference.py`: a readable recursive Python
function). They agree exactly (tests/evidence_chains/test_ec_trees.py).

References
----------
E. Tragas, C. Luo, M. Gazeau, K. Luk, D. Duvenaud. Scalable Recommender Systems through
Recursive Evidence Chains. arXiv:1807.02150 (2018), Sec. 3. The original code
(github.com/Etragas/Recommendations, Framework/NMF_ATNN.py) uses MAX_RECURSION = 4,
EVIDENCELIMIT = 80 halved per level and blocks every ancestor on the chain.
"""
from dataclasses import dataclass, replace

import numpy as np
from numba import njit

__all__ = ["Forest", "USER", "ITEM", "build_forest", "evidence_limit", "permute_lists"]

USER, ITEM = 0, 1


@dataclass(frozen=True)
class Forest:
    """Flat evidence trees in pre-order; node k of query q lies in root_ptr[q]:root_ptr[q+1].

    kind: (M,) USER/ITEM; entity: (M,) id; parent: (M,) index or -1; depth: (M,);
    rating: (M,) rating on the edge to the parent (nan at roots); proto: (M,) prototype
    slot or -1; fallback: (Q,) True where the query found no evidence."""
    kind: np.ndarray
    entity: np.ndarray
    parent: np.ndarray
    depth: np.ndarray
    rating: np.ndarray
    proto: np.ndarray
    root_ptr: np.ndarray
    fallback: np.ndarray

    @property
    def n_nodes(self):
        return int(self.kind.shape[0])


def evidence_limit(evidence, depth):
    """E_d = evidence >> depth, at least 1 (80, 40, 20, 10 for evidence = 80)."""
    return max(int(evidence) >> int(depth), 1)


def _check(graph, q_kind, q_ent, keys_u, keys_i, mask_u, mask_i, max_depth, evidence, node_cap,
           min_evidence):
    q_kind, q_ent = np.asarray(q_kind, np.int64), np.asarray(q_ent, np.int64)
    if q_kind.shape != q_ent.shape or q_kind.ndim != 1:
        raise ValueError(f"q_kind, q_ent: expected equal 1-D shapes, got {q_kind.shape}, {q_ent.shape}")
    n = np.where(q_kind == USER, graph.n_users, graph.n_items)
    if q_ent.size and (q_ent.min() < 0 or np.any(q_ent >= n) or not np.all((q_kind == USER) | (q_kind == ITEM))):
        raise ValueError("q_kind, q_ent: expected kinds in {0 (user), 1 (item)} and ids below "
                         f"({graph.n_users}, {graph.n_items}), got kinds {np.unique(q_kind)} ids up to {q_ent.max()}")
    nnz = graph.u_items.size
    for name, a in (("keys_u", keys_u), ("keys_i", keys_i), ("mask_u", mask_u), ("mask_i", mask_i)):
        if a is not None and np.shape(a) != (nnz,):
            raise ValueError(f"{name}: expected shape ({nnz},) (one per rating), got {np.shape(a)}")
    if max_depth < 0 or evidence < 1 or node_cap < 1 or min_evidence < 1:
        raise ValueError(f"max_depth >= 0, evidence >= 1, node_cap >= 1, min_evidence >= 1 expected, "
                         f"got {max_depth}, {evidence}, {node_cap}, {min_evidence}")
    return q_kind, q_ent


# --- numba twin -------------------------------------------------------------------------

@njit(cache=True, fastmath=False)
def _candidates(kind, e, depth, stk_kind, stk_ent, u_ptr, u_items, u_vals, i_ptr, i_users, i_vals,
                proto_u, proto_i, keys_u, keys_i, mask_u, mask_i, lim, presorted, c_key, c_ent, c_rat, c_pro):
    """Fill c_*[:m] with the chosen evidence of node (kind, e) at `depth`; return m.
    `presorted`: the lists are already in evidence order (stop at the lim-th usable entry)."""
    if kind == 0:
        lo, hi = u_ptr[e], u_ptr[e + 1]
    else:
        lo, hi = i_ptr[e], i_ptr[e + 1]
    # keep the `lim` smallest sort keys (prototypes get key - 1, so they come first) in a
    # sorted buffer by insertion; equal keys keep list order, as a stable argsort would
    m = 0
    for p in range(lo, hi):
        if presorted and m == lim:
            break
        if kind == 0:
            c, msk = u_items[p], mask_u[p]
            key = float(p) if presorted else keys_u[p]         # presorted: list order is the key
            pr = proto_i[c]
        else:
            c, msk = i_users[p], mask_i[p]
            key = float(p) if presorted else keys_i[p]
            pr = proto_u[c]
        if msk:
            continue
        blocked = False
        a = depth - 1                      # ancestors of the child's kind: depth-1, depth-3, ...
        while a >= 0:
            if stk_ent[a] == c and stk_kind[a] != kind:
                blocked = True
                break
            a -= 2
        if blocked:
            continue
        sk = key - (1.0 if pr >= 0 else 0.0)
        if m == lim and not sk < c_key[m - 1]:
            continue
        k = m if m < lim else lim - 1
        while k > 0 and sk < c_key[k - 1]:
            c_key[k], c_ent[k], c_rat[k], c_pro[k] = c_key[k - 1], c_ent[k - 1], c_rat[k - 1], c_pro[k - 1]
            k -= 1
        c_key[k] = sk
        if kind == 0:
            c_ent[k], c_rat[k], c_pro[k] = c, u_vals[p], pr
        else:
            c_ent[k], c_rat[k], c_pro[k] = c, i_vals[p], pr
        if m < lim:
            m += 1
    return m


@njit(cache=True, fastmath=False)
def _budgets(m, c_pro, budget, last_level, c_bud):
    """Split budget-1 over the m candidates (prototypes 1 each, others >= 2); return #used."""
    n_p = 0
    while n_p < m and c_pro[n_p] >= 0:
        n_p += 1
    avail = budget - 1
    if avail <= n_p:
        for k in range(avail):
            c_bud[k] = 1
        return avail
    for k in range(n_p):
        c_bud[k] = 1
    rest = avail - n_p
    m_n = 0 if last_level else min(m - n_p, rest // 2)
    for k in range(m_n):
        c_bud[n_p + k] = rest // m_n + (1 if k < rest % m_n else 0)
    return n_p + m_n


@njit(cache=True, fastmath=False)
def _build(q_kind, q_ent, u_ptr, u_items, u_vals, i_ptr, i_users, i_vals, proto_u, proto_i,
           keys_u, keys_i, mask_u, mask_i, max_depth, evidence, node_cap, min_evidence, presorted):
    Q = q_kind.size
    M = Q * node_cap
    kind, ent = np.empty(M, np.int64), np.empty(M, np.int64)
    par, dep = np.empty(M, np.int64), np.empty(M, np.int64)
    rat, pro = np.empty(M), np.empty(M, np.int64)
    root_ptr, fb = np.zeros(Q + 1, np.int64), np.zeros(Q, np.bool_)
    D = max(max_depth, 1)
    # one frame per depth on the current chain
    stk_kind, stk_ent, stk_node = np.empty(D, np.int64), np.empty(D, np.int64), np.empty(D, np.int64)
    stk_m, stk_next, stk_res = np.empty(D, np.int64), np.empty(D, np.int64), np.empty(D, np.int64)
    c_ent, c_rat = np.empty((D, evidence), np.int64), np.empty((D, evidence))
    c_key = np.empty((D, evidence))
    c_pro, c_bud = np.empty((D, evidence), np.int64), np.zeros((D, evidence), np.int64)
    n = 0
    for q in range(Q):
        start = n
        k0, e0 = q_kind[q], q_ent[q]
        p0 = proto_u[e0] if k0 == 0 else proto_i[e0]
        kind[n], ent[n], par[n], dep[n], rat[n], pro[n] = k0, e0, -1, 0, np.nan, p0
        n += 1
        if p0 < 0:
            if max_depth == 0 or node_cap < 2:
                fb[q] = True
            else:
                sp = 0
                stk_kind[0], stk_ent[0], stk_node[0], stk_next[0], stk_res[0] = k0, e0, start, 0, 0
                m = _candidates(k0, e0, 0, stk_kind, stk_ent, u_ptr, u_items, u_vals, i_ptr, i_users,
                                i_vals, proto_u, proto_i, keys_u, keys_i, mask_u, mask_i,
                                min(max(evidence, 1), node_cap - 1), presorted, c_key[0], c_ent[0],
                                c_rat[0], c_pro[0])
                stk_m[0] = _budgets(m, c_pro[0], node_cap, max_depth == 1, c_bud[0])
                while sp >= 0:
                    if stk_next[sp] < stk_m[sp]:
                        k = stk_next[sp]
                        stk_next[sp] += 1
                        ck, ce = 1 - stk_kind[sp], c_ent[sp, k]
                        kind[n], ent[n], par[n], dep[n] = ck, ce, stk_node[sp], sp + 1
                        rat[n], pro[n] = c_rat[sp, k], c_pro[sp, k]
                        if c_pro[sp, k] >= 0:
                            n += 1
                            stk_res[sp] += 1
                        elif presorted and sp + 1 < max_depth and c_bud[sp, k] == 2:
                            # budget 2 (one piece of evidence: lim = 1) on a list in evidence order:
                            # the first unmasked entry decides. A prototype is never an ancestor
                            # (prototypes are leaves), so never blocked: the child is resolved with
                            # it; otherwise no prototype is usable and the child is rolled back —
                            # what the general frame below computes, without the frame.
                            if ck == 0:
                                lo, hi = u_ptr[ce], u_ptr[ce + 1]
                            else:
                                lo, hi = i_ptr[ce], i_ptr[ce + 1]
                            first = -1
                            for p in range(lo, hi):
                                if not (mask_u[p] if ck == 0 else mask_i[p]):
                                    first = p
                                    break
                            if first >= 0 and min_evidence <= 1:
                                pg = proto_i[u_items[first]] if ck == 0 else proto_u[i_users[first]]
                                if pg >= 0:
                                    n += 1                          # the child (written above)
                                    kind[n], par[n], dep[n], pro[n] = 1 - ck, n - 1, sp + 2, pg
                                    if ck == 0:
                                        ent[n], rat[n] = u_items[first], u_vals[first]
                                    else:
                                        ent[n], rat[n] = i_users[first], i_vals[first]
                                    n += 1
                                    stk_res[sp] += 1
                        elif sp + 1 < max_depth and c_bud[sp, k] >= 2:
                            d = sp + 1
                            stk_kind[d], stk_ent[d], stk_node[d], stk_next[d], stk_res[d] = ck, ce, n, 0, 0
                            n += 1
                            m = _candidates(ck, ce, d, stk_kind, stk_ent, u_ptr, u_items, u_vals, i_ptr,
                                            i_users, i_vals, proto_u, proto_i, keys_u, keys_i, mask_u,
                                            mask_i, min(max(evidence >> d, 1), c_bud[sp, k] - 1), presorted,
                                            c_key[d], c_ent[d], c_rat[d], c_pro[d])
                            stk_m[d] = _budgets(m, c_pro[d], c_bud[sp, k], d + 1 == max_depth, c_bud[d])
                            sp = d
                    else:                                   # frame done: keep or roll back
                        if stk_res[sp] >= min_evidence:
                            sp -= 1
                            if sp >= 0:
                                stk_res[sp] += 1
                        else:
                            n = stk_node[sp]
                            sp -= 1
                if n == start:                              # the root itself was rolled back
                    kind[n], ent[n], par[n], dep[n], rat[n], pro[n] = k0, e0, -1, 0, np.nan, -1
                    n += 1
                    fb[q] = True
        root_ptr[q + 1] = n
    return kind[:n], ent[:n], par[:n], dep[:n], rat[:n], pro[:n], root_ptr, fb


_NO_KEYS = np.empty(0)          # keys of a presorted call: never read (`_candidates` uses p)


def build_forest(graph, q_kind, q_ent, keys_u=None, keys_i=None, mask_u=None, mask_i=None, *,
                 max_depth=4, evidence=80, node_cap=256, min_evidence=1):
    """Evidence trees of the queries (q_kind[q], q_ent[q]) — numba twin.

    keys_u, keys_i: (nnz,) random sort keys, one per rating of the user-major and
    item-major lists (e.g. `rng.random(nnz)`), or None: the lists are already in evidence
    order (prototypes first, then random — see `permute_lists`), which is the fast path.
    mask_u, mask_i: (nnz,) bool, True = the rating may not be used as evidence."""
    nnz = graph.u_items.size
    presorted = keys_u is None
    if presorted:               # not read: the list position is the key (O(1) per call, not O(nnz))
        keys_u = keys_i = None
    mask_u = np.zeros(nnz, bool) if mask_u is None else mask_u
    mask_i = np.zeros(nnz, bool) if mask_i is None else mask_i
    q_kind, q_ent = _check(graph, q_kind, q_ent, keys_u, keys_i, mask_u, mask_i, max_depth, evidence,
                           node_cap, min_evidence)
    out = _build(q_kind, q_ent, graph.u_ptr, graph.u_items, graph.u_vals, graph.i_ptr, graph.i_users,
                 graph.i_vals, graph.proto_u, graph.proto_i, _NO_KEYS if presorted else np.asarray(keys_u, np.float64),
                 _NO_KEYS if presorted else np.asarray(keys_i, np.float64), np.asarray(mask_u, np.bool_), np.asarray(mask_i, np.bool_),
                 int(max_depth), int(evidence), int(node_cap), int(min_evidence), bool(presorted))
    return Forest(*out)


@njit(cache=True)
def _permuted(ptr, nb, val, pos, proto, u):
    """(nb, val, pos) with every list in `_evidence_order` (one pass, no NumPy temporaries)."""
    n = u.size
    is_proto = np.empty(n, np.bool_)
    for p in range(n):
        is_proto[p] = proto[nb[p]] >= 0
    order = _evidence_order(ptr, is_proto, u)
    nb2, val2, where = np.empty_like(nb), np.empty_like(val), np.empty(n, np.int64)
    for i in range(n):
        nb2[i], val2[i] = nb[order[i]], val[order[i]]
        where[order[i]] = i
    pos2 = np.empty_like(pos)
    for t in range(pos.size):
        pos2[t] = where[pos[t]]
    return nb2, val2, pos2


@njit(cache=True)
def _evidence_order(ptr, is_proto, u):
    """order (nnz,): each row ptr[r]:ptr[r+1] rearranged as its prototype entries then the
    others, each part uniformly shuffled (Fisher-Yates with the uniforms u (nnz,): entry k
    swaps with j = floor(u_k (k - start + 1)) + start, k from the part's end down)."""
    order = np.empty(u.size, np.int64)
    for r in range(ptr.size - 1):
        lo, hi = ptr[r], ptr[r + 1]
        n = lo
        for p in range(lo, hi):                        # prototypes first, list order kept
            if is_proto[p]:
                order[n] = p
                n += 1
        mid = n
        for p in range(lo, hi):
            if not is_proto[p]:
                order[n] = p
                n += 1
        for a, b in ((lo, mid), (mid, hi)):
            for k in range(b - 1, a, -1):
                j = a + int(u[k] * (k - a + 1))
                order[k], order[j] = order[j], order[k]
    return order


def permute_lists(graph, rng):
    """The same graph with every adjacency list in evidence order: prototypes first, the
    rest in a uniformly random order from `rng` (u_pos / i_pos follow the moves), drawn once
    for all lists — the distribution of sorting by uniform random keys, prototypes first
    (what this function did before; a per-row shuffle is O(nnz), the sort was 1/5 of a step).
    Build trees from it with keys=None."""
    nnz = graph.u_items.size
    out = {}
    for ptr, nb, val, pos, proto, tag in ((graph.u_ptr, graph.u_items, graph.u_vals, graph.u_pos,
                                           graph.proto_i, "u"),
                                          (graph.i_ptr, graph.i_users, graph.i_vals, graph.i_pos,
                                           graph.proto_u, "i")):
        out[tag] = _permuted(ptr, nb, val, pos, proto, rng.random(nnz))
    return replace(graph, u_items=out["u"][0], u_vals=out["u"][1], u_pos=out["u"][2],
                   i_users=out["i"][0], i_vals=out["i"][1], i_pos=out["i"][2])
