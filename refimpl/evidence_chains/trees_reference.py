"""The readable twin of `trees.build_forest`: the same evidence forest grown by a plain
recursive Python function (the rules are in `trees.py`'s docstring, [EvidenceChains Sec. 3]).

Split out of `trees.py`; tests/evidence_chains/test_ec_trees.py holds the two to exact
agreement.
"""
import numpy as np

from .trees import USER, Forest, _check, evidence_limit

__all__ = ["build_forest_reference"]


# --- readable recursive twin ----------------------------------------------------------------

def build_forest_reference(graph, q_kind, q_ent, keys_u=None, keys_i=None, mask_u=None, mask_i=None,
                           *, max_depth=4, evidence=80, node_cap=256, min_evidence=1):
    """The same forest as `build_forest`, grown by a plain recursive function."""
    g = graph
    nnz = g.u_items.size
    if keys_u is None:
        keys_u = keys_i = np.arange(nnz, dtype=np.float64)
    mask_u = np.zeros(nnz, bool) if mask_u is None else np.asarray(mask_u, bool)
    mask_i = np.zeros(nnz, bool) if mask_i is None else np.asarray(mask_i, bool)
    q_kind, q_ent = _check(g, q_kind, q_ent, keys_u, keys_i, mask_u, mask_i, max_depth, evidence,
                           node_cap, min_evidence)

    def proto(kind, e):
        return int(g.proto_u[e] if kind == USER else g.proto_i[e])

    def evidence_of(kind, e, depth, chain):
        """Chosen neighbours [(entity, rating, proto slot)]: unmasked, off the chain,
        prototypes first, then by random key; at most E_depth."""
        if kind == USER:
            sl = slice(g.u_ptr[e], g.u_ptr[e + 1])
            nb, val, key, msk = g.u_items[sl], g.u_vals[sl], keys_u[sl], mask_u[sl]
        else:
            sl = slice(g.i_ptr[e], g.i_ptr[e + 1])
            nb, val, key, msk = g.i_users[sl], g.i_vals[sl], keys_i[sl], mask_i[sl]
        ckind = 1 - kind
        cand = [t for t in range(nb.size) if not msk[t] and (ckind, int(nb[t])) not in chain]
        sort_key = np.array([key[t] - (proto(ckind, nb[t]) >= 0) for t in cand], dtype=float)
        chosen = [cand[t] for t in np.argsort(sort_key, kind="stable")][:evidence_limit(evidence, depth)]
        return [(int(nb[t]), float(val[t]), proto(ckind, nb[t])) for t in chosen]

    def budgets(cands, budget, last_level):
        n_p = sum(1 for c in cands if c[2] >= 0)
        if budget - 1 <= n_p:
            return [1] * (budget - 1)
        rest = budget - 1 - n_p
        m_n = 0 if last_level else min(len(cands) - n_p, rest // 2)
        return [1] * n_p + [rest // m_n + (k < rest % m_n) for k in range(m_n)]

    def grow(kind, e, depth, rating, budget, chain):
        """Subtree in pre-order: list of (kind, entity, depth, rating, proto, local parent),
        local parent = index within this list (-1 at its root); None if unresolved."""
        slot = proto(kind, e)
        if slot >= 0:
            return [(kind, e, depth, rating, slot, -1)]
        if depth == max_depth or budget < 2:
            return None
        cands = evidence_of(kind, e, depth, chain)
        nodes, n_res = [(kind, e, depth, rating, -1, -1)], 0
        for (c, r, _), b in zip(cands, budgets(cands, budget, depth + 1 == max_depth)):
            sub = grow(1 - kind, c, depth + 1, r, b, chain | {(1 - kind, c)})
            if sub is not None:
                n_res += 1
                off = len(nodes)
                nodes += [nd[:5] + (0 if nd[5] < 0 else nd[5] + off,) for nd in sub]
        return nodes if n_res >= min_evidence else None

    cols = {k: [] for k in ("kind", "entity", "parent", "depth", "rating", "proto")}
    root_ptr, fallback = [0], []
    for k0, e0 in zip(q_kind.tolist(), q_ent.tolist()):
        tree = grow(k0, e0, 0, np.nan, node_cap, frozenset({(k0, e0)}))
        fallback.append(tree is None)
        tree = tree or [(k0, e0, 0, np.nan, -1, -1)]
        base = root_ptr[-1]
        for kd, en, dp, rt, pr, lp in tree:
            cols["kind"].append(kd)
            cols["entity"].append(en)
            cols["depth"].append(dp)
            cols["rating"].append(rt)
            cols["proto"].append(pr)
            cols["parent"].append(-1 if lp < 0 else base + lp)
        root_ptr.append(base + len(tree))
    return Forest(np.array(cols["kind"], np.int64), np.array(cols["entity"], np.int64),
                  np.array(cols["parent"], np.int64), np.array(cols["depth"], np.int64),
                  np.array(cols["rating"], float), np.array(cols["proto"], np.int64),
                  np.array(root_ptr, np.int64), np.array(fallback, bool))
