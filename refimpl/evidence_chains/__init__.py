"""Recursive evidence chains (Tragas et al. 2018): a recommender whose user and item
latents are generated on demand from the ratings matrix and a fixed pool of parameters
(prototype latents + two evidence networks + a rating head).

    from refimpl.evidence_chains import synthetic, split, fit, evaluate
    train, test = split(synthetic(rng), rng)
    params, graph, history = fit(train, rng, epochs=3)
    test_rmse, info = evaluate(params, graph, test, rng)

Modules: `data` (generator, u.data reader, split, CSR/CSC graph), `trees` (numba evidence
tree builder + recursive Python twin), `model` (level-by-level differentiable evaluation),
`level_kernel` (one level as a fused numba kernel with a hand VJP; twin `model.level_twin`),
`shared` (a batch's forests hash-consed: each distinct subtree evaluated once, exact; the
default of `predict_pairs` / `fit`),
`train` (minibatch Adam), `baselines` (means, MF-SGD, MF-ALS, fold-in), `experiments`.

References
----------
E. Tragas, C. Luo, M. Gazeau, K. Luk, D. Duvenaud. Scalable Recommender Systems through
Recursive Evidence Chains. arXiv:1807.02150 (2018).
"""
from .baselines import fit_mf, fold_in, global_mean, item_mean, user_mean
from .data import Graph, Ratings, load, make_graph, read_udata, split, synthetic
from .model import DEFAULTS, forest_latents, init_params, predict_pairs
from .train import evaluate, fit, rmse
from .trees import ITEM, USER, Forest, build_forest, permute_lists
from .trees_reference import build_forest_reference

__all__ = ["fit_mf", "fold_in", "global_mean", "item_mean", "user_mean", "Graph", "Ratings", "load",
           "make_graph", "read_udata", "split", "synthetic", "DEFAULTS", "forest_latents", "init_params",
           "predict_pairs", "evaluate", "fit", "rmse", "ITEM", "USER", "Forest", "build_forest",
           "build_forest_reference", "permute_lists"]
