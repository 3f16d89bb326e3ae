"""evidence-chains: the evidence trees of [EvidenceChains Sec. 3] for a small rating graph,
and the model's predictions from them.

Candidate contract::

    candidate(graph, q_kind, q_ent, *, max_depth, evidence, node_cap)
        -> (kind (M,), entity (M,), parent (M,), depth (M,), root_ptr (Q+1,))

`graph` is a dict of the rating graph's arrays in evidence order (each adjacency list
already sorted: prototypes first, then the case's fixed order): u_ptr, u_items, u_vals (user
rows, CSR), i_ptr, i_users, i_vals (item columns), proto_u, proto_i (prototype slot or −1).
The trees are returned flat in pre-order, queries concatenated (`refimpl.evidence_chains.trees`
documents the rules: evidence limit `evidence >> depth`, ancestors blocked, the node cap
split). The case's JSON also carries the predictions of a fixed small model for the queries
(`predictions` in the .npz) so a port of the model can be checked on the same trees.
"""
import numpy as np

from ..evidence_chains.data import make_graph, synthetic, top_by_count
from ..evidence_chains.model import init_params, predict_pairs
from ..evidence_chains.trees import build_forest, permute_lists
from .base import BadCall, CaseResult, Kind, check_array

__all__ = ["KINDS", "reference"]

GRAPH_KEYS = ("u_ptr", "u_items", "u_vals", "i_ptr", "i_users", "i_vals", "proto_u", "proto_i")
OUT_KEYS = ("kind", "entity", "parent", "depth", "root_ptr")


class _G:
    def __init__(self, d):
        self.__dict__.update(d)
        self.n_users, self.n_items = len(d["u_ptr"]) - 1, len(d["i_ptr"]) - 1


def reference(graph, q_kind, q_ent, *, max_depth, evidence, node_cap):
    """refimpl's own candidate (`build_forest`, the numba twin, lists presorted)."""
    f = build_forest(_G(graph), q_kind, q_ent, max_depth=max_depth, evidence=evidence, node_cap=node_cap)
    return f.kind, f.entity, f.parent, f.depth, f.root_ptr


def make_cases():
    cases = []
    for i, (nu, ni, nr, cap) in enumerate([(12, 15, 80, 16), (30, 40, 400, 64)]):
        rng = np.random.default_rng(1807 + i)
        d = synthetic(rng, n_users=nu, n_items=ni, n_ratings=nr, min_per_user=3)
        pu, pi = top_by_count(d.users, nu, 3), top_by_count(d.items, ni, 3)
        g = permute_lists(make_graph(d, pu, pi), rng)
        graph = {k: getattr(g, k) for k in GRAPH_KEYS}
        q_kind = np.array([0, 0, 1, 1, 0])
        q_ent = np.array([0, nu - 1, 0, ni - 1, 1])
        kw = dict(max_depth=4, evidence=8, node_cap=cap)
        out = reference(graph, q_kind, q_ent, **kw)
        params = init_params(np.random.default_rng(0), 3, 3, dim=4, hidden=8)
        users, items = np.array([0, 1, nu - 1]), np.array([0, ni - 1, 1])
        pred = predict_pairs(params, g, users, items, np.random.default_rng(1), predictor="dot", node_cap=cap,
                             evidence=8)
        arrays = {**{f"graph_{k}": v for k, v in graph.items()}, "q_kind": q_kind, "q_ent": q_ent,
                  **dict(zip(OUT_KEYS, out)), "pred_users": users, "pred_items": items, "predictions": pred}
        cases.append((f"{i}-u{nu}-i{ni}-cap{cap}", arrays,
                      dict(tree_options=kw, exact="all integer arrays equal",
                           predictions_note="refimpl.evidence_chains.predict_pairs with init_params(rng 0, 3, 3, "
                                            "dim 4, hidden 8), evidence order re-drawn by rng 1 (not the trees above)")))
    return cases


def run(cand, arrays, meta):
    graph = {k: arrays[f"graph_{k}"].copy() for k in GRAPH_KEYS}
    out = cand(graph, arrays["q_kind"].copy(), arrays["q_ent"].copy(), **meta["tree_options"])
    if not isinstance(out, tuple) or len(out) != 5:
        raise BadCall("candidate: expected a tuple (kind, entity, parent, depth, root_ptr)")
    res = {}
    for k, v in zip(OUT_KEYS, out):
        v = np.asarray(v)
        if v.ndim != 1:
            raise BadCall(f"candidate: expected {k} as a 1-D integer array, got shape {v.shape}")
        res[k] = v
    check_array(res["root_ptr"], "root_ptr", arrays["root_ptr"].shape, "root_ptr (Q+1,)")
    return res


def compare(arrays, meta, out):
    ok = all(out[k].shape == arrays[k].shape and np.array_equal(out[k], arrays[k]) for k in OUT_KEYS)
    if ok:
        return CaseResult(True, 0.0)
    rp, rq = arrays["root_ptr"], out["root_ptr"]
    q = next((j for j in range(len(rp) - 1) if not (rq[j + 1] - rq[j] == rp[j + 1] - rp[j] and all(
        np.array_equal(out[k][rq[j]:rq[j + 1]], arrays[k][rp[j]:rp[j + 1]]) for k in OUT_KEYS[:4]))), None)
    if q is None:
        return CaseResult(False, 1.0, "", "the trees agree but root_ptr differs")
    a, b = rp[q], rq[q]
    n = min(rp[q + 1] - a, rq[q + 1] - b)
    node = next((m for m in range(n) if any(out[k][b + m] != arrays[k][a + m] for k in OUT_KEYS[:4])), n)
    depth = int(arrays["depth"][a + node]) if a + node < rp[q + 1] else int(arrays["depth"][rp[q + 1] - 1])
    sizes = f"{rq[q + 1] - b} nodes vs the reference's {rp[q + 1] - a}"
    return CaseResult(False, float("inf"), f"query {q}: first difference at node {node} (depth {depth}); {sizes}",
                      "check, at that depth: the evidence limit evidence >> depth, prototypes first then list "
                      "order, ancestors on the chain blocked, and the node-cap split (1 for the node, 1 per "
                      "prototype child, the rest evenly, at least 2 each)" if rq[q + 1] - b != rp[q + 1] - a
                      else "same size, other nodes: the order of children or the blocked ancestors differ")


KINDS = {"evidence-chains": Kind("evidence-chains", __doc__.split("Candidate contract::")[1].split("The case's JSON")[0].strip(),
                                 make_cases, run, compare, own="refimpl.verify.kinds_ec:reference")}
