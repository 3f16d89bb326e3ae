"""A PyTorch port of one evidence-chains training step (refimpl.evidence_chains), for
`numerics/bench_evidence_chains.py` only.

Same model, same weights, same evaluation plan: the forests are built by refimpl's tree
builder and described by the `Plan` index arrays (inner_counts, proto, n_fallback, perm,
child_rating), which hold no parameters; the differentiable part — per level
features [h, r, r·h], the tanh MLP, the segment mean, the shrinkage toward the prototype
mean, the assembly in pre-order, the "biased" rating head and the mean squared error — is
written here the way a PyTorch user would, batched level by level (`index_add_` for the
segment mean), and differentiated by torch.autograd.

The authors' code (github.com/Etragas/Recommendations, Framework/NMF_ATNN.py) is HIPS
autograd evaluating the trees node by node in Python; a port of that loop would measure
Python overhead, not the model, so the peer is this batched form of the same function.

Shared subtrees (`shared_latents`, issue #26): refimpl's default evaluates each distinct
subtree of a batch once (`refimpl/evidence_chains/shared.py`, exact); the peer gets the
same `SharedPlan` (index arrays only) and evaluates the same groups, so the ratio compares
like with like.
"""
import torch

__all__ = ["to_torch", "forest_latents", "loss", "shared_tensors", "shared_latents", "loss_shared"]


def to_torch(params):
    """refimpl's params dict -> the same structure of float64 leaf tensors (grad enabled)."""
    out = {}
    for k, v in params.items():
        if isinstance(v, list):
            out[k] = [(torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)) for W, b in v]
        else:
            out[k] = torch.tensor(v, requires_grad=True)
    return out


def _net(layers, x):
    h = x
    for i, (W, b) in enumerate(layers):
        h = h @ W + b
        if i < len(layers) - 1:
            h = torch.tanh(h)
    return h


def _level_tensors(plan):
    """The plan's index arrays as tensors (once per plan, outside the timed region is fair:
    refimpl builds the same arrays in `Plan`)."""
    levels = []
    for lv in plan.levels:
        t = dict(kind=lv["kind"], n_fallback=lv["n_fallback"], perm=torch.from_numpy(lv["perm"]),
                 proto=torch.from_numpy(lv["proto"]), n_inner=lv["inner_counts"].size)
        if t["n_inner"]:
            counts = torch.from_numpy(lv["inner_counts"])
            t["seg"] = torch.repeat_interleave(torch.arange(counts.numel()), counts)
            t["n"] = counts.to(torch.float64)[:, None]
            t["r"] = torch.from_numpy(lv["child_rating"])[:, None]
        levels.append(t)
    return levels


def forest_latents(tp, levels, centre):
    """Latents of the plan's roots (n_roots, D); `levels` from `_level_tensors`."""
    H = None
    for t in reversed(levels):
        P = tp["P_u"] if t["kind"] == 0 else tp["P_i"]
        Pbar = P.mean(0, keepdim=True)                                  # (1, D)
        parts = []
        if t["n_inner"]:
            f = tp["f_iu"] if t["kind"] == 0 else tp["f_ui"]
            r = t["r"] - centre                                         # (N_{d+1}, 1)
            msg = _net(f, torch.cat([H, r, r * H], 1))                  # (N_{d+1}, D)
            inner = torch.zeros(t["n_inner"], msg.shape[1], dtype=msg.dtype).index_add_(0, t["seg"], msg) / t["n"]
            if "log_kappa" in tp:
                w = t["n"] / (t["n"] + torch.exp(tp["log_kappa"][t["kind"]]))
                inner = w * inner + (1 - w) * Pbar
            parts.append(inner)
        if t["proto"].numel():
            parts.append(P[t["proto"]])
        if t["n_fallback"]:
            parts.append(Pbar.expand(t["n_fallback"], -1))
        H = torch.cat(parts, 0)[t["perm"]]
    return H


def loss(tp, levels_u, levels_i, u_inv, i_inv, ratings, centre=3.0):
    """Mean squared error of the "biased" head mu + u_D + v_D + u_{:D-1}·v_{:D-1}."""
    U = forest_latents(tp, levels_u, centre)[u_inv]
    V = forest_latents(tp, levels_i, centre)[i_inv]
    pred = tp["mu"][0] + U[:, -1] + V[:, -1] + (U[:, :-1] * V[:, :-1]).sum(1)
    return ((pred - ratings) ** 2).mean()


# --- the shared-subtree evaluation (refimpl.evidence_chains.shared / model.shared_latents) ---

def shared_tensors(plan):
    """A `shared.SharedPlan`'s index arrays as tensors (like `_level_tensors`, no parameters)."""
    t = lambda a: torch.from_numpy(a)                                                  # noqa: E731
    groups = []
    for g in plan.groups:
        counts = torch.from_numpy(g["inner_counts"])
        groups.append(dict(kind=g["kind"], h_idx=t(g["h_idx"]), k_slot=t(g["k_slot"]), r=t(g["r"])[:, None],
                           src=t(g["src"]), seg=torch.repeat_interleave(torch.arange(counts.numel()), counts),
                           n=counts.to(torch.float64)[:, None]))
    return groups, [t(r) for r in plan.roots], list(plan.root_kinds)


def shared_latents(tp, shared, centre):
    """Latents of the roots of each forest: each distinct subtree once, group by group; the
    MLP runs once per distinct (child subtree, rating) row, its output is gathered per edge
    (src) and averaged per parent with index_add_ — the same function as `forest_latents`."""
    groups, roots, root_kinds = shared
    Ps = (tp["P_u"], tp["P_i"])
    blocks = ([], [])
    for g in groups:
        k = g["kind"]
        P, Pc = Ps[k], Ps[1 - k]
        D = P.shape[1]
        Tc = torch.cat(blocks[1 - k], 0) if blocks[1 - k] else P.new_zeros((0, D))
        Hs = torch.cat([Tc[g["h_idx"]], Pc[g["k_slot"]]], 0)                       # (rows, D)
        r = g["r"] - centre
        f = tp["f_iu"] if k == 0 else tp["f_ui"]
        msg = _net(f, torch.cat([Hs, r, r * Hs], 1))[g["src"]]                     # (edges, D)
        inner = torch.zeros(g["n"].shape[0], D, dtype=msg.dtype).index_add_(0, g["seg"], msg) / g["n"]
        if "log_kappa" in tp:
            w = g["n"] / (g["n"] + torch.exp(tp["log_kappa"][k]))
            inner = w * inner + (1 - w) * P.mean(0, keepdim=True)
        blocks[k].append(inner)
    return [torch.cat(blocks[k] + [Ps[k], Ps[k].mean(0, keepdim=True)], 0)[rows] for rows, k in zip(roots, root_kinds)]


def loss_shared(tp, shared, u_inv, i_inv, ratings, centre=3.0):
    """`loss` with the latents from `shared_latents`."""
    U, V = shared_latents(tp, shared, centre)
    U, V = U[u_inv], V[i_inv]
    pred = tp["mu"][0] + U[:, -1] + V[:, -1] + (U[:, :-1] * V[:, :-1]).sum(1)
    return ((pred - ratings) ** 2).mean()
