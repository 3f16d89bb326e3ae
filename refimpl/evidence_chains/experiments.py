"""Registered experiments for the recursive-evidence-chains recommender.

* `evidence-chains` — test RMSE of evidence chains vs MF-SGD, MF-ALS and mean baselines,
  with convergence curves (RMSE vs epoch and vs seconds).
* `evidence-chains-coldstart` — RMSE vs k for a new user with k ratings, no retraining.
* `evidence-chains-scaling` — time per 10⁵ ratings, memory and RMSE after a fixed CPU budget
  for chains, MF-SGD and MF-ALS up to 10 M ratings (exp_scaling.py).
* `evidence-chains-online` — ratings arrive in time order; RMSE on the next ratings and the
  cost of absorbing them: chains (graph insertion, no retraining) vs MF fold-in and refit.

References
----------
E. Tragas, C. Luo, M. Gazeau, K. Luk, D. Duvenaud. Scalable Recommender Systems through
Recursive Evidence Chains. arXiv:1807.02150 (2018), Sec. 4 (MovieLens-100K RMSE against
matrix factorisation, convergence, cold start and scaling).
"""
import numpy as np
from autograd.misc import flatten

from ..experiments import experiment
from ..plotting import plt, savefig
from . import baselines as B
from .data import MIN_RATINGS, concat, load, make_graph, split, synthetic
from .model import predict_pairs
from .train import evaluate, fit, rmse

PAPER = "Scalable Recommender Systems through Recursive Evidence Chains (Tragas et al. 2018)"
QUICK_DATA = dict(n_users=300, n_items=500, n_ratings=24_000)       # same shape, ~1/4 scale
EC_KW = dict(n_proto=(30, 30), dim=16, hidden=32, lr=1e-2, predictor="biased", kappa=5.0)


def _dataset(cfg):
    """(name, Ratings): MovieLens ratings.csv or u.data from --data-dir, else the embedded
    generator. Predictions are clipped to the data's rating scale (`Ratings.scale`)."""
    if cfg.data_dir is not None:
        return "movielens", load(cfg.data_dir, min_ratings=MIN_RATINGS)
    kw = QUICK_DATA if cfg.quick else {}
    return "synthetic", synthetic(cfg.rng(0), **kw)


def _tree_kw(cfg):
    return dict(node_cap=64)


# --- 1. RMSE table and convergence ----------------------------------------------------------

@experiment("evidence-chains", paper=PAPER, artefact="Sec. 4 RMSE table + convergence figure",
            quick_seconds=55, full_minutes=25)
def run_rmse(cfg):
    ds, data = _dataset(cfg)
    train, test = split(data, cfg.rng(1))
    metrics, rows = {}, []
    for name, f in (("global_mean", B.global_mean), ("user_mean", B.user_mean), ("item_mean", B.item_mean)):
        metrics[f"{ds}/{name}/rmse"] = rmse(np.clip(f(train)(test.users, test.items), *data.scale),
                                               test.ratings)
    curves = {}
    mf_sgd, h_sgd = B.fit_mf(train, cfg.rng(2), "sgd", epochs=25 if cfg.quick else 40, test=test,
                             clip=data.scale)
    mf_als, h_als = B.fit_mf(train, cfg.rng(3), "als", epochs=8 if cfg.quick else 15, test=test,
                             clip=data.scale)
    metrics[f"{ds}/mf_sgd/rmse"], metrics[f"{ds}/mf_als/rmse"] = h_sgd[-1][2], h_als[-1][2]
    curves["mf_sgd"], curves["mf_als"] = np.array(h_sgd), np.array(h_als)
    # --- evidence chains -----------------------------------------------------------------
    tree_kw = _tree_kw(cfg)
    # a fixed number of steps (seeded, reproducible); max_seconds only guards a slow machine
    epochs = 5 if cfg.quick else 12
    n_batches = len(train) // 500
    params, graph, hist = fit(train, cfg.rng(4), test=test, epochs=epochs, batch_size=500,
                              eval_every=max(n_batches // 2, 1), eval_size=2000,
                              max_seconds=45 if cfg.quick else 25 * 60, tree_kw=tree_kw,
                              progress=cfg.progress(epochs * n_batches, "evidence chains"),
                              checkpoint=cfg.checkpoint("ec", every_s=30), **EC_KW)
    r_ec, info = evaluate(params, graph, test, cfg.rng(5), EC_KW["predictor"], **tree_kw)
    metrics[f"{ds}/evidence_chains/rmse"] = r_ec
    curves["evidence_chains"] = np.array([(h["epoch"], h["seconds"], h["test_rmse"]) for h in hist])
    n_ec = int(flatten(params)[0].size)
    n_mf = int(sum(np.size(mf_sgd[k]) for k in ("bu", "bi", "P", "Q")) + 1)
    for name in ("evidence_chains", "mf_sgd", "mf_als", "global_mean", "user_mean", "item_mean"):
        n_par = {"evidence_chains": n_ec, "mf_sgd": n_mf, "mf_als": n_mf}.get(name, "")
        rows.append([name, round(metrics[f"{ds}/{name}/rmse"], 4), n_par])
    # --- figures -------------------------------------------------------------------------
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for j, (ax, xlabel) in enumerate(zip(axes, ("epoch", "training seconds"))):
        for name, c in curves.items():
            ax.plot(c[:, j], c[:, 2], marker=".", label=name)
        for name in ("global_mean", "item_mean"):
            ax.axhline(metrics[f"{ds}/{name}/rmse"], ls="--", lw=0.8, color="gray")
            ax.text(ax.get_xlim()[0], metrics[f"{ds}/{name}/rmse"], name, fontsize=7, va="bottom")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("test RMSE" if j == 0 else "")
        ax.set_xscale("log" if j == 1 else "linear")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{ds}: test RMSE vs epoch and vs time")
    savefig(fig, cfg.out / "convergence.png")
    n_cold = int(info["user_fallback"]) + int(info["item_fallback"])
    metrics[f"{ds}/evidence_chains/n_params"] = n_ec
    metrics[f"{ds}/evidence_chains/cold_start_fallbacks"] = n_cold
    return {"metrics": metrics,
            "tables": [{"name": f"Test RMSE ({ds}, seeded 90/10 split)", "columns": ["method", "rmse", "n_params"],
                        "rows": rows}],
            "figures": ["convergence.png"],
            "notes": (f"{len(train)} train / {len(test)} test ratings; evidence chains: "
                      f"{hist[-1]['epoch']:.2f} epochs, {hist[-1]['seconds']:.0f} s of training, node cap "
                      f"{tree_kw['node_cap']}, depth 4, evidence 80 halved per level; "
                      f"{n_cold} test lookups used the no-evidence fallback. Additions to the paper: "
                      "'biased' rating head (generated biases) and few-evidence shrinkage n/(n+κ) toward the "
                      "prototype mean (model.py). The evidence-chains curve is "
                      "evaluated on the first 2000 test ratings (the table on all of them). "
                      + ("Why MF leads on this generator: its ratings are rank-5-plus-bias by construction "
                         "(data.synthetic), so biased MF of rank 10 is the true model class and approaches the noise "
                         "floor, while the chains generate each latent from at most a node cap of sampled evidence "
                         "through small networks, an approximation error MF does not have; real ratings are not "
                         "low rank (see evidence-chains-movielens). " if ds == "synthetic" else "")
                      + (("Quick: a quarter-size MovieLens-shaped synthetic set, " if ds == "synthetic" else
                          "Quick: ") + "5 epochs (stopped early only if training passes 45 s of CPU)."
                         if cfg.quick else ""))}


# --- 2. cold start ---------------------------------------------------------------------------

@experiment("evidence-chains-coldstart", paper=PAPER, artefact="Sec. 4 cold start (RMSE vs k)",
            quick_seconds=55, full_minutes=15)
def run_coldstart(cfg):
    ds, data = _dataset(cfg)
    rng = cfg.rng(1)
    counts = np.bincount(data.users, minlength=data.n_users)
    n_cold, n_query, ks = (40, 10, [0, 1, 2, 3, 5, 10]) if cfg.quick else (150, 10, [0, 1, 2, 3, 5, 10, 20])
    eligible = np.nonzero(counts >= max(ks) + n_query)[0]
    cold = rng.choice(eligible, size=min(n_cold, eligible.size), replace=False)
    is_cold = np.isin(data.users, cold)
    train = data.subset(np.nonzero(~is_cold)[0])
    # each cold user's ratings in a random order: the first k are revealed, the last n_query asked
    reveal, query = [], []
    for u in cold:
        idx = rng.permutation(np.nonzero(data.users == u)[0])
        reveal.append(idx[:max(ks)])
        query.append(idx[-n_query:])
    reveal, query = np.stack(reveal), np.concatenate(query)
    q = data.subset(query)
    tree_kw = _tree_kw(cfg)
    epochs = 5                           # fixed steps; max_seconds only guards a slow machine
    params, graph, hist = fit(train, cfg.rng(4), epochs=epochs, batch_size=500,
                              max_seconds=40 if cfg.quick else 15 * 60, tree_kw=tree_kw,
                              progress=cfg.progress(epochs * (len(train) // 500), "evidence chains"),
                              checkpoint=cfg.checkpoint("ec", every_s=30), **EC_KW)
    mf, _ = B.fit_mf(train, cfg.rng(3), "als", epochs=10)
    from . import coldstart as CS
    from .trees import ITEM, USER
    mu = float(train.ratings.mean())
    protos = [np.argsort(np.where(p >= 0, p, np.iinfo(np.int64).max))[:int((p >= 0).sum())]
              for p in (graph.proto_u, graph.proto_i)]
    # population prior (coldstart.py): shrink toward the mean generated latent of the training users / items
    prior_u = CS.population_latent(params, graph, USER, np.unique(train.users), cfg.rng(6, 0), **tree_kw)
    prior_i = CS.population_latent(params, graph, ITEM, np.unique(train.items), cfg.rng(6, 1), **tree_kw)
    rows, metrics, names = [], {}, ("evidence_chains", "evidence_chains_prior", "mf_als_fold_in", "global_mean")
    for k in ks:
        shown = data.subset(reveal[:, :k].ravel())
        # evidence chains: the revealed ratings join the graph; no parameter changes
        g_k = make_graph(concat(train, shown), *protos)
        p_ec = np.clip(predict_pairs(params, g_k, q.users, q.items, cfg.rng(5, k), predictor=EC_KW["predictor"],
                                     **tree_kw), *data.scale)
        p_pr = np.clip(CS.predict_with_prior(params, g_k, q.users, q.items, cfg.rng(5, k), prior_u, prior_i,
                                             predictor=EC_KW["predictor"], **tree_kw), *data.scale)
        # MF fold-in: solve for the new user's (p, b) from its k ratings
        p_mf = np.empty(len(q))
        for n, u in enumerate(cold):
            pu, bu = B.fold_in(mf, data.items[reveal[n, :k]], data.ratings[reveal[n, :k]])
            sl = slice(n * n_query, (n + 1) * n_query)
            p_mf[sl] = mf["mu"] + bu + mf["bi"][q.items[sl]] + mf["Q"][q.items[sl]] @ pu
        p_mf = np.clip(p_mf, *data.scale)
        preds = dict(zip(names, (p_ec, p_pr, p_mf, np.full(len(q), mu))))
        for name, p in preds.items():
            metrics[f"{ds}/coldstart/k{k}/{name}/rmse"] = rmse(p, q.ratings)
        row = [k] + [round(metrics[f"{ds}/coldstart/k{k}/{n}/rmse"], 4) for n in names]
        for name in names[:2]:                   # paired MSE gap to MF fold-in on the same ratings
            d, se = CS.paired_mse_diff(preds[name], p_mf, q.ratings)
            metrics[f"{ds}/coldstart/k{k}/{name}/mse_minus_mf"] = d
            metrics[f"{ds}/coldstart/k{k}/{name}/mse_minus_mf_se"] = se
            row.append(f"{d:+.4f} ± {se:.4f} " + ("chains" if d < -2 * se else "MF" if d > 2 * se else "tie"))
        rows.append(row)
    claims = []
    for name in names[:2]:
        r_ec = [metrics[f"{ds}/coldstart/k{k}/{name}/rmse"] for k in ks]
        r_mf = [metrics[f"{ds}/coldstart/k{k}/mf_als_fold_in/rmse"] for k in ks]
        metrics[f"{ds}/coldstart/{name}/mf_wins_from_k"] = CS.wins_from(ks, r_ec, r_mf)
        small = [(k, a, b) for k, a, b in zip(ks, r_ec, r_mf) if k <= 3]
        claims.append({"claim": f"cold start: {name} below MF-ALS fold-in at small k (k <= 3), {ds}",
                       "paper_value": "qualitative (Sec. 1, 4)",
                       "ours": "; ".join(f"k{k} {a:.4f} vs {b:.4f}" for k, a, b in small),
                       "reproduced": {0: "no", len(small): "yes"}.get(sum(a < b for _, a, b in small), "partly")})
    fig, ax = plt.subplots(figsize=(5, 3.6))
    arr = np.array([r[:5] for r in rows], dtype=float)
    for j, name in enumerate(("evidence chains", "evidence chains, population prior", "MF-ALS fold-in",
                              "global mean")):
        ax.plot(arr[:, 0], arr[:, j + 1], marker="o", label=name)
    ax.set_xlabel("k = ratings of the new user")
    ax.set_ylabel("RMSE on its held-out ratings")
    ax.legend(fontsize=7)
    savefig(fig, cfg.out / "coldstart.png")
    prior_note = ("evidence_chains_prior: the same model and parameters, the shrinkage re-centred on the mean "
                  "generated latent of the training users (items) instead of the mean prototype latent "
                  "(coldstart.py). Last two columns: MSE(chains) - MSE(MF fold-in) on the same query ratings "
                  "± its standard error; 'chains' / 'MF' = ahead by more than 2 SE, else 'tie'. mf_wins_from_k: "
                  "the smallest k from which MF fold-in's RMSE is below the chains' at every larger k (null: "
                  "never). ")
    return {"metrics": metrics, "claims": claims,
            "tables": [{"name": f"Cold start ({ds}): RMSE vs k", "columns": ["k", *names,
                        "chains - MF (MSE)", "chains prior - MF (MSE)"], "rows": rows}],
            "figures": ["coldstart.png"],
            "notes": (prior_note + f"{len(cold)} users removed from training; for each, k of its ratings are revealed and "
                      f"{n_query} others predicted ({len(q)} query ratings). Evidence chains trained "
                      f"{hist[-1]['epoch']:.2f} epochs; the revealed "
                      "ratings are added to the rating graph, parameters unchanged; MF: ALS row solve (fold-in). "
                      "A new user's latent is shrunk toward the prototype mean with weight k/(k+κ), κ learned "
                      "(an addition to the paper, model.py).")}


# --- 3. scaling ----------------------------------------------------------------------------------

@experiment("evidence-chains-scaling", paper=PAPER,
            artefact="Title claim 'scalable': cost, memory and RMSE on a 5-minute budget to 10 M ratings",
            quick_seconds=25, full_minutes=60)
def run_scaling_experiment(cfg):
    from .exp_scaling import report_scaling
    return report_scaling(cfg, EC_KW, _tree_kw(cfg))


# --- 4. online learning ----------------------------------------------------------------------

@experiment("evidence-chains-online", paper=PAPER,
            artefact="Sec. 1 claim: online learning without retraining", quick_seconds=25, full_minutes=20)
def run_online_experiment(cfg):
    from .exp_online import run_online
    ds, metrics, per_chunk, methods, info = run_online(cfg, EC_KW, _tree_kw(cfg))
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    for j, m in enumerate(methods):
        ax[0].plot(per_chunk[:, 0], per_chunk[:, j + 1], marker=".", label=m)
    ax[0].set_xlabel(f"chunk ({info['chunk']} ratings each, in arrival order)")
    ax[0].set_ylabel("RMSE on the chunk, predicted before seeing it")
    ax[0].legend(fontsize=7)
    upd = [m for m in methods if metrics[f"online/{m}/update_seconds"] > 0]
    ax[1].bar(upd, [metrics[f"online/{m}/update_seconds"] for m in upd])
    ax[1].set_ylabel("seconds spent absorbing the stream")
    ax[1].tick_params(axis="x", labelsize=7)
    savefig(fig, cfg.out / "online.png")
    rows = [[m, round(metrics[f"online/{m}/rmse"], 4), round(metrics[f"online/{m}/update_seconds"], 3)]
            for m in methods]
    return {"metrics": metrics,
            "tables": [{"name": f"Online ({ds}): RMSE on the next ratings, and the cost of absorbing them",
                        "columns": ["method", "rmse", "update seconds"], "rows": rows},
                       {"name": "RMSE per chunk", "columns": ["chunk", *methods],
                        "rows": [[int(r[0])] + [round(v, 4) for v in r[1:]] for r in per_chunk]}],
            "figures": ["online.png"],
            "notes": (f"{info['order_note']}. The first {info['n_train']} ratings train every method "
                      f"(evidence chains {info['epochs']:.2f} epochs); then {info['n_chunks']} chunks of "
                      f"{info['chunk']} ratings are each predicted, then absorbed. {100 * metrics['online/new_user_fraction']:.1f} % "
                      "of the streamed ratings are by users unseen in training. Evidence chains absorb a chunk by "
                      "inserting it into the rating graph (deterministic evidence order: prototypes first, then "
                      "most recent first; parameters unchanged); MF fold-in re-solves the touched users' then items' "
                      "ALS rows; MF refit runs 2 warm-started ALS sweeps on all ratings so far.")}


# --- 5. accuracy on real ratings, 3 seeds, random and temporal splits, fair tuning -------------

@experiment("evidence-chains-movielens", paper=PAPER,
            artefact="Sec. 4 accuracy vs tuned MF on real ratings (3 seeds; random and temporal splits)",
            quick_seconds=25, full_minutes=25)
def run_movielens(cfg):
    from .exp_movielens import run_movielens_experiment
    return run_movielens_experiment(cfg, EC_KW, _tree_kw(cfg))
