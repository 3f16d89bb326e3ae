"""Training and evaluation of the evidence-chains model: minibatch Adam on squared error.

In a training step on a minibatch of ratings, those ratings are masked out of the evidence
graph, so a prediction never sees its own target (the rating graph is the training set;
test ratings are never in it).

References
----------
E. Tragas et al. Scalable Recommender Systems through Recursive Evidence Chains.
arXiv:1807.02150 (2018), Sec. 3 (training by minibatch gradient descent on squared error).
D. P. Kingma, J. Ba. Adam: A Method for Stochastic Optimization. ICLR 2015, Algorithm 1.
"""
import time

import numpy as np
from autograd import value_and_grad
from autograd.misc import flatten

from .baselines import als_row_solve
from .data import make_graph, top_by_count
from .model import DEFAULTS, init_params, predict_pairs
from .trees import permute_lists

__all__ = ["rmse", "evaluate", "fit", "build_training_graph", "adam_update", "time_steps",
           "pretrain_prototypes"]


def rmse(pred, target):
    return float(np.sqrt(np.mean((np.asarray(pred) - np.asarray(target)) ** 2)))


def build_training_graph(train, n_proto_users=30, n_proto_items=30):
    """The rating graph of `train`, prototypes = the most-rated users and items."""
    return make_graph(train, top_by_count(train.users, train.n_users, n_proto_users),
                      top_by_count(train.items, train.n_items, n_proto_items))


def evaluate(params, graph, data, rng, predictor="dot", batch_size=2000, clip=None, kernel="numba", shared=True,
             **tree_kw):
    """(rmse, info) of the model on `data`; info counts cold-start (fallback) cases.
    kernel: "numba" (fused level kernel) or "twin" (readable autograd), see `model.forest_latents`;
    shared: each distinct subtree of a batch evaluated once (exact), see `model.predict_pairs`."""
    preds, n_fb_u, n_fb_i, nodes = [], 0, 0, 0
    for s in range(0, len(data), batch_size):
        sl = slice(s, s + batch_size)
        p, info = predict_pairs(params, graph, data.users[sl], data.items[sl], rng,
                                predictor=predictor, return_info=True, kernel=kernel, shared=shared, **tree_kw)
        preds.append(np.clip(p, *(data.scale if clip is None else clip)))
        n_fb_u += int(info["user_fallback"].sum())
        n_fb_i += int(info["item_fallback"].sum())
        nodes += info["n_nodes"]
    pred = np.concatenate(preds)
    return rmse(pred, data.ratings), dict(user_fallback=n_fb_u, item_fallback=n_fb_i, n_nodes=nodes,
                                          pred=pred)


def pretrain_prototypes(params, train, graph, rng, lam=1.0, sweeps=10):
    """Initialise the prototype latents by ALS on the prototype block (ratings between
    prototype users and prototype items), r_ij - mu ≈ P_u[i]·P_i[j] — the pretraining of the
    original code (canonical latents fitted first). Returns new params."""
    keep = (graph.proto_u[train.users] >= 0) & (graph.proto_i[train.items] >= 0)
    su, si = graph.proto_u[train.users[keep]], graph.proto_i[train.items[keep]]
    y = train.ratings[keep] - float(params["mu"][0])
    Pu, Pi = params["P_u"].copy(), params["P_i"].copy()
    for _ in range(sweeps):
        for own, oth, a, b in ((Pu, Pi, su, si), (Pi, Pu, si, su)):
            for e in range(own.shape[0]):
                sel = a == e
                if sel.any():
                    own[e] = als_row_solve(oth[b[sel]], y[sel], lam)
    return {**params, "P_u": Pu, "P_i": Pi}


def adam_update(x, g, m, v, t, lr, b1=0.9, b2=0.999, eps=1e-8):
    """Adam (Kingma & Ba 2015, Alg. 1), step t >= 1; returns new (x, m, v)."""
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    mhat, vhat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    return x - lr * mhat / (np.sqrt(vhat) + eps), m, v


def fit(train, rng, *, test=None, graph=None, params=None, n_proto=(30, 30), dim=16, hidden=32, proto_scale=0.1,
        epochs=3, batch_size=1000, lr=1e-2, predictor="dot", pretrain=False, eval_every=None, eval_size=None,
        max_seconds=None, progress=None, checkpoint=None, tree_kw=None, shrink=True, kappa=5.0, kernel="numba",
        shared=True, evidence_refresh=None):
    """Minibatch Adam on the mean squared error of the training ratings.

    Returns (params, graph, history) with history a list of dicts (step, epoch, seconds,
    train_rmse (running, on the minibatches), test_rmse (if `test`)). `eval_every`: steps
    between test evaluations (default: once per epoch); `eval_size`: evaluate on the first
    `eval_size` test ratings; `max_seconds`: stop after this many CPU seconds of training
    steps (a guard; history "seconds" is wall time). `checkpoint` (a refimpl Checkpoint) saves and restores
    (x, Adam moments, step, history) so `--resume` continues. `shrink`, `kappa`: the
    few-evidence shrinkage of `init_params` (an addition to the paper; shrink=False is REC).
    `kernel`: "numba" (fused level kernel, default) or "twin" (readable autograd levels);
    `shared` (default): each distinct subtree of a minibatch's forests evaluated once — the
    same function as tree by tree (exact; `shared.py`), several times faster.
    `evidence_refresh`: steps between draws of the random evidence order (`permute_lists`,
    O(ratings) each); default `refresh_steps(nnz)`: every step up to 200 000 training ratings
    (all of MovieLens-100K / ml-latest-small: the per-step draw of the paper's sampling), then
    every ceil(nnz / 200 000) steps, so a step's cost does not grow with the data set
    (at 10 M ratings a per-step draw was ~95 % of the step). Each step still sees a uniformly
    random order (the same marginal distribution); steps within one refresh share it."""
    tree_kw = {**DEFAULTS, **(tree_kw or {})}
    graph = build_training_graph(train, *n_proto) if graph is None else graph
    if params is None:
        params = init_params(rng, n_proto[0], n_proto[1], dim, hidden, mu=float(train.ratings.mean()),
                             proto_scale=proto_scale, shrink=shrink, kappa=kappa)
        if pretrain:
            params = pretrain_prototypes(params, train, graph, rng)
    x, unflatten = flatten(params)
    m, v = np.zeros_like(x), np.zeros_like(x)
    n_batches = max(len(train) // batch_size, 1)
    total = epochs * n_batches
    eval_every = eval_every or n_batches
    step, history, run_sq, run_n, t_train, t_cpu = 0, [], 0.0, 0, 0.0, 0.0
    state = checkpoint.load() if checkpoint is not None else None
    if state is not None and state["x"].shape == x.shape:
        x, m, v, step, t_train = state["x"], state["m"], state["v"], int(state["step"]), float(state["seconds"])
        t_cpu = t_train
        history = [dict(zip(("step", "epoch", "seconds", "train_rmse", "test_rmse"), row))
                   for row in state["history"].tolist()]

    refresh = refresh_steps(graph.u_items.size) if evidence_refresh is None else int(evidence_refresh)
    if refresh < 1:
        raise ValueError(f"evidence_refresh: expected a step count >= 1, got {evidence_refresh}")

    def loss(xf, idx, g_perm):
        p = predict_pairs(unflatten(xf), g_perm, train.users[idx], train.items[idx], None,
                          predictor=predictor, mask=idx, kernel=kernel, shared=shared, permuted=True, **tree_kw)
        return _mse(p, train.ratings[idx])

    vg = value_and_grad(loss)
    perm, perm_seed, g_perm, first = None, int(rng.integers(2**31)), None, True
    while step < total:
        epoch, b = divmod(step, n_batches)
        if perm is None or b == 0:
            perm = np.random.default_rng([perm_seed, epoch]).permutation(len(train))
        idx = np.sort(perm[b * batch_size:(b + 1) * batch_size])
        t0, c0 = time.perf_counter(), time.process_time()
        if first or step % refresh == 0:              # the evidence order of the next steps
            g_perm, first = permute_lists(graph, rng), False
        val, g = vg(x, idx, g_perm)
        x, m, v = adam_update(x, g, m, v, step + 1, lr)
        t_train += time.perf_counter() - t0
        t_cpu += time.process_time() - c0
        step += 1
        run_sq, run_n = run_sq + val * idx.size, run_n + idx.size
        if progress is not None:
            progress.update(step - 1, loss=float(np.sqrt(val)))   # Progress.update takes a 0-based index
        # the guard counts CPU seconds of this process, so other processes' load on a shared
        # machine does not cut training short (a wall-clock guard made runs irreproducible)
        stop = max_seconds is not None and t_cpu > max_seconds
        if step % eval_every == 0 or step == total or stop:
            rec = dict(step=step, epoch=step / n_batches, seconds=t_train,
                       train_rmse=float(np.sqrt(run_sq / run_n)), test_rmse=float("nan"))
            run_sq, run_n = 0.0, 0
            if test is not None:
                sub = test if eval_size is None else test.subset(np.arange(min(eval_size, len(test))))
                rec["test_rmse"] = evaluate(unflatten(x), graph, sub, np.random.default_rng(step),
                                            predictor, kernel=kernel, shared=shared, **tree_kw)[0]
            history.append(rec)
            if checkpoint is not None:
                checkpoint.maybe_save(step, lambda: _state(x, m, v, step, t_train, history))
        if stop:
            break
    if checkpoint is not None:
        checkpoint.save(_state(x, m, v, step, t_train, history))
    return unflatten(x), graph, history


def refresh_steps(nnz, per_draw=200_000):
    """Training steps between evidence-order draws (`fit`'s default): 1 up to `per_draw`
    ratings, else ceil(nnz / per_draw), which bounds the draw's amortised cost per step."""
    return max(1, -(-int(nnz) // int(per_draw)))


def time_steps(params, graph, train, rng, n_steps, batch_size, predictor="dot", kernel="numba",
               clock=time.perf_counter, shared=True, evidence_refresh=None, **tree_kw):
    """Seconds per training rating of a gradient step (value and gradient of the minibatch
    loss), averaged over `n_steps` random minibatches after one warm-up step, with the
    evidence-order draws amortised as in `fit` (one draw per `evidence_refresh` steps,
    timed; default `refresh_steps`). `clock`: time.perf_counter (wall, default) or
    time.process_time (CPU of this process: what a shared, loaded machine still measures
    faithfully)."""
    x, unflatten = flatten(params)
    kw = {**DEFAULTS, **tree_kw}
    refresh = refresh_steps(graph.u_items.size) if evidence_refresh is None else int(evidence_refresh)

    def loss(xf, idx, g_perm):
        p = predict_pairs(unflatten(xf), g_perm, train.users[idx], train.items[idx], None,
                          predictor=predictor, mask=idx, kernel=kernel, shared=shared, permuted=True, **kw)
        return _mse(p, train.ratings[idx])

    vg = value_and_grad(loss)
    batches = [np.sort(rng.choice(len(train), size=batch_size, replace=False)) for _ in range(n_steps + 1)]
    vg(x, batches[0], permute_lists(graph, rng))
    t0 = clock()
    draw = 0.0
    g_perm = permute_lists(graph, rng)
    draw += clock() - t0
    t1 = clock()
    for idx in batches[1:]:
        vg(x, idx, g_perm)
    steps = clock() - t1
    # one draw serves `refresh` steps: its cost per step is draw / refresh
    return (steps + draw * n_steps / refresh) / (n_steps * batch_size)


def _mse(p, r):
    d = p - r
    return (d * d).sum() / d.shape[0]


def _state(x, m, v, step, seconds, history):
    rows = np.array([[h["step"], h["epoch"], h["seconds"], h["train_rmse"], h["test_rmse"]]
                     for h in history], dtype=float).reshape(-1, 5)
    return {"x": x, "m": m, "v": v, "step": np.array(step), "seconds": np.array(seconds), "history": rows}
