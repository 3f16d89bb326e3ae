"""Shared subtrees: the evidence forests of a minibatch as a DAG of distinct subtrees (exact).

Within a minibatch every query's tree is grown from the same graph in the same evidence
order (`trees.permute_lists`, drawn once per batch) with the same mask, so the same small
subtree recurs under many roots: e.g. an item reached with budget 2 always takes the first
prototype of its list. A node's latent is a function of its subtree only
([EvidenceChains Sec. 3]: a prototype's latent is its parameter row; any other node's
latent is the mean over its evidence c of f([h_c ; r_c]), then the shrinkage of
`model.forest_latents`), so two nodes whose subtrees are equal — same kind, same prototype
slot, or the same sequence of (child subtree, rating on the edge) — have equal latents.

`share_forests` hash-conses the forests (bottom-up, every signature compared element by
element, so a hash collision costs time, never a wrong merge) and `SharedPlan` groups the
distinct inner subtrees by (height, kind). `model.shared_latents` then evaluates each distinct
subtree ONCE, group by group with the fused level kernel (`level_kernel.level_fused`):
the first-layer rows of a group are its distinct (child subtree, rating) pairs (the
generalisation of the kernel's shared prototype rows), and its edges point at them (src).

This changes nothing in the estimator: the trees, their evidence and the function are
those of `trees.build_forest` + `model.forest_latents`; only repeated arithmetic is
skipped (tests/evidence_chains/test_ec_shared.py: equal to the per-query forests to 1e-12,
values and gradients). On MovieLens-100K-sized data, batch 500, node cap 64: 13,519
non-prototype first-layer rows per step in the per-query forests, 2,788 distinct ones.

Readable twin: kernel="twin" evaluates a group with `model.level_twin` on one row per
edge (no shared rows), child latents gathered from the table of computed subtrees.

References
----------
E. Tragas et al. Scalable Recommender Systems through Recursive Evidence Chains.
arXiv:1807.02150 (2018), Sec. 3.
"""
import numpy as np
from numba import njit

from .level_kernel import INNER
from .trees import USER

__all__ = ["share_forests", "SharedPlan"]


@njit(cache=True)
def _mix(h, x):
    h ^= x + np.int64(0x9E3779B97F4A7C15 & 0x7FFFFFFFFFFFFFFF) + (h << 6) + (h >> 2)
    return h & np.int64(0x3FFFFFFFFFFFFFFF)


@njit(cache=True)
def _hashcons(kind, parent, proto, rating, n_pu, n_pi):
    """Subtree ids of a pre-order forest: node_sid (M,), and per id: kind, height, children
    signature sig_ptr -> (sig_sid, sig_r). Ids 0..n_pu-1 user prototypes, n_pu.. item
    prototypes, n_pu+n_pi+kind the fallback of a kind, then inner subtrees."""
    M = kind.size
    # children in order (pre-order: a parent's children appear in increasing index)
    cnt = np.zeros(M + 1, np.int64)
    for k in range(M):
        if parent[k] >= 0:
            cnt[parent[k] + 1] += 1
    cptr = np.cumsum(cnt)
    fill, child = cptr[:-1].copy(), np.empty(max(cptr[-1], 1), np.int64)
    for k in range(M):
        if parent[k] >= 0:
            child[fill[parent[k]]] = k
            fill[parent[k]] += 1
    n_leaf = n_pu + n_pi + 2
    cap = M + n_leaf
    s_kind, s_height = np.zeros(cap, np.int64), np.zeros(cap, np.int64)
    s_ptr = np.zeros(cap + 1, np.int64)
    sig_sid, sig_r = np.empty(max(cptr[-1], 1), np.int64), np.empty(max(cptr[-1], 1))
    for p in range(n_pu):
        s_kind[p] = 0
    for p in range(n_pi):
        s_kind[n_pu + p] = 1
    s_kind[n_pu + n_pi], s_kind[n_pu + n_pi + 1] = 0, 1
    size = 1
    while size < 2 * M + 2:
        size *= 2
    table = np.full(size, -1, np.int64)
    node_sid = np.empty(M, np.int64)
    n_sid, n_sig = n_leaf, 0
    for k in range(M - 1, -1, -1):                      # children before parents
        if proto[k] >= 0:
            node_sid[k] = proto[k] if kind[k] == 0 else n_pu + proto[k]
            continue
        lo, hi = cptr[k], cptr[k + 1]
        if lo == hi:                                    # a fallback root
            node_sid[k] = n_pu + n_pi + kind[k]
            continue
        h = _mix(kind[k] + 1, hi - lo)
        for c in range(lo, hi):
            h = _mix(h, node_sid[child[c]])
            h = _mix(h, np.int64(rating[child[c]] * 1024.0))
        b = h & (size - 1)
        found = -1
        while table[b] >= 0:                            # verify: compare signatures exactly
            s = table[b]
            if s_kind[s] == kind[k] and s_ptr[s + 1] - s_ptr[s] == hi - lo:
                same = True
                for i in range(hi - lo):
                    c = child[lo + i]
                    if sig_sid[s_ptr[s] + i] != node_sid[c] or sig_r[s_ptr[s] + i] != rating[c]:
                        same = False
                        break
                if same:
                    found = s
                    break
            b = (b + 1) & (size - 1)
        if found < 0:                                   # a new subtree: store its signature
            found = n_sid
            n_sid += 1
            table[b] = found
            s_kind[found] = kind[k]
            ht = 0
            for c in range(lo, hi):
                sig_sid[n_sig], sig_r[n_sig] = node_sid[child[c]], rating[child[c]]
                n_sig += 1
                ht = max(ht, s_height[node_sid[child[c]]])
            s_height[found] = ht + 1
            s_ptr[found + 1] = n_sig
        node_sid[k] = found
    # leaf ids have empty signatures: s_ptr of ids < n_leaf stays 0
    return node_sid, s_kind[:n_sid], s_height[:n_sid], s_ptr[:n_sid + 1], sig_sid[:n_sig], sig_r[:n_sig]


@njit(cache=True)
def _distinct_rows(cs, rc, n_codes, n_proto_ids, n_sid):
    """The distinct (child id, rating code) pairs of a group's edges, non-prototype children
    first, each in order of first appearance: (src (n_edges,) row of each edge, ro, rp: a
    representative edge of each own / prototype row)."""
    seen = np.full(n_sid * n_codes, -1, np.int64)
    src, rep = np.empty(cs.size, np.int64), np.empty(cs.size, np.int64)
    n = 0
    for proto_pass in (False, True):
        for e in range(cs.size):
            if (cs[e] < n_proto_ids) == proto_pass:
                key = cs[e] * n_codes + rc[e]
                if seen[key] < 0:
                    seen[key] = n
                    rep[n] = e
                    n += 1
                src[e] = seen[key]
        if not proto_pass:
            n_own = n
    return src, rep[:n_own].copy(), rep[n_own:n].copy()


def share_forests(forests, n_pu, n_pi):
    """Hash-cons several forests (e.g. the user-query and the item-query forest of a
    batch) into one table: (root_sid per forest, table dict)."""
    offs = np.cumsum([0] + [f.n_nodes for f in forests])
    kind = np.concatenate([f.kind for f in forests])
    parent = np.concatenate([np.where(f.parent >= 0, f.parent + o, -1) for f, o in zip(forests, offs)])
    proto = np.concatenate([f.proto for f in forests])
    rating = np.concatenate([f.rating for f in forests])
    node_sid, s_kind, s_height, s_ptr, sig_sid, sig_r = _hashcons(kind, parent, proto, rating, int(n_pu), int(n_pi))
    roots = [node_sid[o + f.root_ptr[:-1]] for f, o in zip(forests, offs)]
    _, r_code = np.unique(sig_r, return_inverse=True)                    # ratings -> small codes
    return roots, dict(kind=s_kind, height=s_height, ptr=s_ptr, sig_sid=sig_sid, sig_r=sig_r,
                       r_code=r_code.ravel().astype(np.int64), n_codes=int(r_code.max(initial=0)) + 1,
                       n_pu=int(n_pu), n_pi=int(n_pi), n_nodes=int(kind.size))


class SharedPlan:
    """Evaluation order of the distinct subtrees: groups of inner ids of one (height, kind),
    heights ascending. Per group g (dict): kind, ids, and the level-kernel index arrays
    typ (all INNER), slot, cptr (edges of id j: cptr[j]:cptr[j+1]), own/own_r/k_row/k_slot/src
    over its distinct (child id, rating) pairs: own = h_idx (row of each non-prototype pair's
    child in the table of the child kind, repeats allowed), r (ratings of [own pairs;
    prototype pairs]), own_r = its first indices, rowwise=True (see `level_kernel`) and,
    for the twin, e_idx / e_r (child row in [table; prototypes] and rating of every edge).
    pos[s]: row of inner id s in the table of its kind (tables grow group by group)."""

    def __init__(self, roots, table, root_kinds):
        kind, height, ptr = table["kind"], table["height"], table["ptr"]
        n_pu, n_pi = table["n_pu"], table["n_pi"]
        n_leaf = n_pu + n_pi + 2
        n_proto = np.array([n_pu, n_pi])
        self.table, self.groups, self.n_sid, self.root_kinds = table, [], kind.size, list(root_kinds)
        inner = np.arange(n_leaf, kind.size)
        pos = np.full(kind.size, -1, np.int64)
        size = [0, 0]
        for h in range(1, int(height.max(initial=0)) + 1):
            for k in (0, 1):
                ids = inner[(height[inner] == h) & (kind[inner] == k)]
                if ids.size == 0:
                    continue
                pos[ids] = size[k] + np.arange(ids.size)
                size[k] += ids.size
                self.groups.append(self._group(k, ids, ptr, table, pos, n_pu, n_pi, size[1 - k], n_proto))
        self.pos, self.size = pos, size
        self.roots = [self._root_rows(r, k, pos, size, n_pu, n_pi) for r, k in zip(roots, root_kinds)]

    @staticmethod
    def _group(k, ids, ptr, table, pos, n_pu, n_pi, child_table_size, n_proto):
        lens = ptr[ids + 1] - ptr[ids]
        cptr = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
        e = np.repeat(ptr[ids] - cptr[:-1], lens) + np.arange(cptr[-1])          # signature entries
        cs, r = table["sig_sid"][e], table["sig_r"][e]                             # (n_edges,)
        is_p = cs < n_pu + n_pi
        slot = np.where(cs < n_pu, cs, cs - n_pu)                                  # prototype slot
        if table["kind"].size * table["n_codes"] > 2 ** 27:           # the dense (id, rating) index
            raise ValueError(f"ratings: {table['n_codes']} distinct rating values on the edges of "
                             f"{table['kind'].size} subtrees is too many for the shared plan; use shared=False")
        src, ro, rp = _distinct_rows(cs, table["r_code"][e], table["n_codes"], n_pu + n_pi, table["kind"].size)
        uo = ro                                                                    # (one per own row)
        # the twin's per-edge child row in [table of the child kind; its prototypes]
        e_idx = np.where(is_p, child_table_size + slot, pos[cs])
        return dict(kind=k, ids=ids, typ=np.full(ids.size, INNER, np.int64), slot=np.full(ids.size, -1, np.int64),
                    cptr=cptr, own=pos[cs[ro]], own_r=np.arange(uo.size, dtype=np.int64), rowwise=True,
                    k_row=(uo.size + np.arange(rp.size)).astype(np.int64), k_slot=slot[rp].astype(np.int64),
                    src=src, h_idx=pos[cs[ro]], r=np.concatenate([r[ro], r[rp]]),
                    e_idx=e_idx, e_r=r, inner_counts=lens, proto=np.zeros(0, np.int64), n_fallback=0,
                    perm=np.arange(ids.size))

    @staticmethod
    def _root_rows(root, k, pos, size, n_pu, n_pi):
        """Row of each root in [table of kind k; prototypes of k; fallback]."""
        n_p = n_pu if k == USER else n_pi
        p0 = 0 if k == USER else n_pu
        return np.where(root >= n_pu + n_pi + 2, pos[root],
                        np.where(root >= n_pu + n_pi, size[k] + n_p, size[k] + root - p0))
