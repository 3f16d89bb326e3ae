"""Recursive evidence chains (Tragas et al. 2018) on MovieLens-shaped synthetic ratings.

Every user's and item's latent is generated on demand from the ratings, by chains of
evidence that end at a few prototypical users and items whose latents are parameters:

    u_i = mean_j f_item→user([v_j ; r_ij]),   v_j = mean_i f_user→item([u_i ; r_ij]),
    r_hat_ij = mu + u_i · v_j.

The script trains the model for a fixed time budget, compares it with the global mean and
biased matrix factorisation (ALS), then shows online learning: a brand-new user gets
predictions from a handful of ratings without any retraining.

    python examples/evidence_chains.py [--quick]
"""
import argparse

import numpy as np

from refimpl.evidence_chains import baselines as B
from refimpl.evidence_chains.data import Ratings, concat, make_graph, split, synthetic
from refimpl.evidence_chains.model import predict_pairs
from refimpl.evidence_chains.train import evaluate, fit, rmse


def prototypes(graph):
    """Prototype ids (users, items) of a graph, in slot order."""
    return [np.argsort(np.where(p >= 0, p, p.size + 1))[:int((p >= 0).sum())]
            for p in (graph.proto_u, graph.proto_i)]


def new_user_curve(params, graph, train, user_ratings, rng, ks):
    """RMSE on a new user's last 5 ratings after revealing its first k, for k in ks."""
    items, ratings = user_ratings
    new = train.n_users
    out = []
    for k in ks:
        shown = Ratings(np.full(k, new), items[:k], ratings[:k], new + 1, train.n_items)
        grown = Ratings(train.users, train.items, train.ratings, new + 1, train.n_items)
        g = make_graph(concat(grown, shown), *prototypes(graph))      # the graph changes, params don't
        p = predict_pairs(params, g, np.full(5, new), items[-5:], rng)
        out.append(rmse(np.clip(p, 1, 5), ratings[-5:]))
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(0)

    # --- data: MovieLens-100K shape (or a small version of it with --quick) ------------
    size = dict(n_users=150, n_items=250, n_ratings=9000) if args.quick else {}
    data = synthetic(rng, **size)
    # hold one well-rated user out completely: it will arrive later as a "new user"
    counts = np.bincount(data.users)
    newcomer = int(np.argmax(counts >= 40))
    mine = np.nonzero(data.users == newcomer)[0]
    others = data.subset(np.nonzero(data.users != newcomer)[0])
    train, test = split(others, rng)
    print(f"{len(train)} training ratings, {len(test)} test ratings, "
          f"{data.n_users} users, {data.n_items} items")

    # --- baselines ---------------------------------------------------------------------
    gm = rmse(B.global_mean(train)(test.users, test.items), test.ratings)
    mf, hist = B.fit_mf(train, rng, "als", epochs=8, test=test)
    print(f"global mean RMSE {gm:.4f}   MF-ALS RMSE {hist[-1][2]:.4f}")

    # --- evidence chains: minibatch Adam for a fixed budget -----------------------------
    params, graph, h = fit(train, rng, epochs=100, batch_size=200, max_seconds=4 if args.quick else 120,
                           tree_kw=dict(node_cap=64))
    r_ec, info = evaluate(params, graph, test, rng, node_cap=64)
    print(f"evidence chains RMSE {r_ec:.4f} after {h[-1]['epoch'] if h else 0:.2f} epochs "
          f"({info['user_fallback'] + info['item_fallback']} fallbacks)")

    # --- online learning: the newcomer's ratings arrive one by one ---------------------
    ks = [0, 1, 3, 10, 30]
    curve = new_user_curve(params, graph, train, (data.items[mine], data.ratings[mine]), rng, ks)
    for k, r in zip(ks, curve):
        print(f"new user with {k:2d} ratings: RMSE on 5 held-out ratings {r:.3f}")
