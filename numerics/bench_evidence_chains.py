"""Benchmark of the evidence-chains recommender on MovieLens-100K-sized synthetic data.

1. Evidence-tree building: the numba kernel vs the readable recursive Python twin on the
   same queries and random keys (target: >= 50x), plus the numba fast path on lists put in
   evidence order once per batch (`permute_lists`, what training uses).
2. Training throughput (ratings/s of value-and-gradient steps, CPU time), each measured by
   `numerics/ec_step_timer.py` in a subprocess on the same data and batches, interleaved:
   "before" = refimpl at commit BASELINE (the parent of the first #26 commit, extracted
   with `git archive`), "per-query trees" = this tree with shared=False (the fused level
   kernel tree by tree), "shared subtrees" = this tree's default (`shared.py`).
3. The same training step against a PyTorch port (numerics/peers/evidence_chains_torch.py,
   float64, 1 thread, same weights, same shared plan — the peer evaluates the same distinct
   subtrees): model part (plan built) and whole step (evidence order + trees + hash-consing
   + plan + model); loss and gradient agreement printed.
4. One full training epoch on the 90,000 training ratings (target: <= 60 s on one core),
   as CPU time of this process (run with OPENBLAS_NUM_THREADS=1 it uses one core) and wall.

Times are CPU seconds of this process (`time.process_time`): on a shared machine, under
`nice`, wall time measures the other jobs. Writes numerics/results/bench_evidence_chains.md.
Run: OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python numerics/bench_evidence_chains.py
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from autograd import value_and_grad
from autograd.misc import flatten

sys.path.insert(0, str(Path(__file__).resolve().parent))

from refimpl.evidence_chains.data import split, synthetic  # noqa: E402
from refimpl.evidence_chains.model import init_params, rating_head, shared_latents  # noqa: E402
from refimpl.evidence_chains.shared import SharedPlan, share_forests  # noqa: E402
from refimpl.provenance import cpu_name  # noqa: E402
from refimpl.evidence_chains.train import build_training_graph, fit, time_steps  # noqa: E402
from refimpl.evidence_chains.trees import ITEM, USER, build_forest, permute_lists  # noqa: E402
from refimpl.evidence_chains.trees_reference import build_forest_reference  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "bench_evidence_chains.md"
ROOT = Path(__file__).resolve().parent.parent
BASELINE = "ddb8ee0"        # parent of ec908f2, the first commit of issue #26
CPU = time.process_time


def median_cpu(fns, repeats):
    """Median CPU seconds of each function, calls interleaved (fns[0], fns[1], ... per repeat)."""
    ts = [[] for _ in fns]
    for _ in range(repeats):
        for f, acc in zip(fns, ts):
            c = CPU()
            f()
            acc.append(CPU() - c)
    return [float(np.median(t)) for t in ts]


def step_plans(graph, train, idx, rng, node_cap):
    """What `predict_pairs(..., mask=idx)` builds before the model: (SharedPlan, u_inv, i_inv, n_nodes)."""
    gp = permute_lists(graph, rng)
    mask_u, mask_i = np.zeros(gp.u_items.size, bool), np.zeros(gp.u_items.size, bool)
    mask_u[gp.u_pos[idx]] = True
    mask_i[gp.i_pos[idx]] = True
    uq, u_inv = np.unique(train.users[idx], return_inverse=True)
    iq, i_inv = np.unique(train.items[idx], return_inverse=True)
    kw = dict(max_depth=4, evidence=80, node_cap=node_cap, min_evidence=1)
    fu = build_forest(gp, np.full(uq.size, USER), uq, None, None, mask_u, mask_i, **kw)
    fi = build_forest(gp, np.full(iq.size, ITEM), iq, None, None, mask_u, mask_i, **kw)
    roots, table = share_forests([fu, fi], graph.proto_u.max() + 1, graph.proto_i.max() + 1)
    return SharedPlan(roots, table, [USER, ITEM]), u_inv, i_inv, fu.n_nodes + fi.n_nodes


def leaves_of(v):
    """An array or tensor -> [v]; an MLP [(W, b), ...] -> [W, b, ...]."""
    return [a for wb in v for a in wb] if isinstance(v, list) else [v]


def whole_step_pair(params, graph, train, idx, node_cap):
    """(ours, theirs): one whole training step on the ratings `idx` — evidence order, trees,
    hash-consing, plan (same random order on both sides) and the model's value and gradient —
    refimpl (fused numba kernel on shared rows) and the PyTorch port; each returns the loss."""
    import torch
    from peers import evidence_chains_torch as T
    r = train.ratings[idx]
    x, unflatten = flatten(params)
    tp = T.to_torch(params)
    leaves = [t for k in sorted(tp) for t in leaves_of(tp[k])]
    tr = torch.from_numpy(r)

    def ours():
        pl, ui, ii, _ = step_plans(graph, train, idx, np.random.default_rng(2), node_cap)

        def f(xf):
            p = unflatten(xf)
            U, V = shared_latents(p, pl, 3.0)
            d = rating_head(p, U[ui], V[ii], "biased") - r
            return (d * d).sum() / d.shape[0]
        return value_and_grad(f)(x)[0]

    def theirs():
        pl, ui, ii, _ = step_plans(graph, train, idx, np.random.default_rng(2), node_cap)
        L = T.loss_shared(tp, T.shared_tensors(pl), torch.from_numpy(ui), torch.from_numpy(ii), tr)
        torch.autograd.grad(L, leaves, allow_unused=True)
        return float(L.detach())
    return ours, theirs


def torch_rows(params, graph, train, rng, node_cap, batch, repeats):
    """Rows of the refimpl-vs-PyTorch comparison on one minibatch's shared plan."""
    import torch
    torch.set_num_threads(1)
    from peers import evidence_chains_torch as T
    idx = np.sort(rng.choice(len(train), batch, replace=False))
    pl, u_inv, i_inv, n_nodes = step_plans(graph, train, idx, np.random.default_rng(1), node_cap)
    r = train.ratings[idx]
    x, unflatten = flatten(params)

    def ours(kernel):
        def f(xf):
            p = unflatten(xf)
            U, V = shared_latents(p, pl, 3.0, kernel)
            d = rating_head(p, U[u_inv], V[i_inv], "biased") - r
            return (d * d).sum() / d.shape[0]
        return value_and_grad(f)

    vg_n, vg_t = ours("numba"), ours("twin")
    tp = T.to_torch(params)
    keys = sorted(tp)
    leaves = [t for k in keys for t in leaves_of(tp[k])]
    tu, ti = torch.from_numpy(u_inv), torch.from_numpy(i_inv)
    tr = torch.from_numpy(r)

    def theirs():
        L = T.loss_shared(tp, T.shared_tensors(pl), tu, ti, tr)
        g = torch.autograd.grad(L, leaves, allow_unused=True)          # "pred" is unused by this head
        return float(L.detach()), [torch.zeros_like(t) if gi is None else gi for gi, t in zip(g, leaves)]

    # agreement: loss and every gradient leaf
    (l_n, g_n), (l_t, g_t), (l_p, g_p) = vg_n(x), vg_t(x), theirs()
    g_nd = unflatten(g_n)
    g_n_flat = np.concatenate([np.ravel(a) for k in keys for a in leaves_of(g_nd[k])])
    g_p_flat = np.concatenate([g.numpy().ravel() for g in g_p])
    rel = lambda a, b: float(np.max(np.abs(a - b)) / np.max(np.abs(b)))                  # noqa: E731
    agree = (f"loss {abs(l_n - l_p) / abs(l_p):.1e} rel., gradient {rel(g_n_flat, g_p_flat):.1e} "
             f"(max abs diff / max abs), twin vs kernel gradient {rel(g_n, g_t):.1e}")
    t_n, t_t, t_p = median_cpu([lambda: vg_n(x), lambda: vg_t(x), theirs], repeats)
    rows = [("vs PyTorch: model part", f"batch {batch}, cap {node_cap}, {n_nodes} tree nodes -> {pl.n_sid} "
             f"distinct subtrees, shared plan built",
             f"numba kernel {1e3 * t_n:.1f} ms, twin {1e3 * t_t:.1f} ms, torch {1e3 * t_p:.1f} ms: "
             f"**ratio numba/torch {t_n / t_p:.2f}**, twin/torch {t_t / t_p:.2f}; agreement: {agree}")]

    ours_full, theirs_full = whole_step_pair(params, graph, train, idx, node_cap)
    f_n, f_p = median_cpu([ours_full, theirs_full], repeats)
    rows.append(("vs PyTorch: whole step", f"batch {batch}, cap {node_cap} (order + trees + sharing + plan + model)",
                 f"numba {1e3 * f_n:.1f} ms ({batch / f_n:,.0f} ratings/s), torch {1e3 * f_p:.1f} ms "
                 f"({batch / f_p:,.0f} ratings/s): **ratio {f_n / f_p:.2f}**"))
    return rows


def timer_runs(batch, cap, steps, rounds):
    """Median ratings/s (CPU) of `ec_step_timer.py` for: the BASELINE commit, this tree tree
    by tree, this tree with shared subtrees; subprocesses, rounds interleaved."""
    tmp = tempfile.mkdtemp(prefix="ec_baseline_")
    arch = subprocess.run(["git", "-C", str(ROOT), "archive", BASELINE, "refimpl"], check=True,
                          capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", tmp], input=arch, check=True)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    runs = {"before": (tmp, "{}"), "per-query": (str(ROOT), '{"shared": false}'), "shared": (str(ROOT), "{}")}
    out = {k: [] for k in runs}
    for _ in range(rounds):
        for k, (root, extra) in runs.items():
            res = subprocess.run([sys.executable, str(Path(__file__).resolve().parent / "ec_step_timer.py"),
                                  "--batch", str(batch), "--cap", str(cap), "--steps", str(steps), "--extra", extra],
                                 env={**env, "PYTHONPATH": root}, check=True, capture_output=True, text=True)
            out[k].append(json.loads(res.stdout.strip().splitlines()[-1]))
    return {k: float(np.median([o["ratings_per_s"] for o in v])) for k, v in out.items()}, out


def best_of(f, n):
    ts = []
    for _ in range(n):
        t0 = CPU()
        f()
        ts.append(CPU() - t0)
    return min(ts)


def main():
    load0 = os.getloadavg()
    rng = np.random.default_rng(0)
    data = synthetic(rng)
    train, test = split(data, rng)
    graph = build_training_graph(train)
    nnz = graph.u_items.size
    rows = []
    # --- 1. tree building -------------------------------------------------------------
    q_kind = np.r_[np.full(100, USER), np.full(100, ITEM)]
    q_ent = np.r_[rng.choice(train.n_users, 100, replace=False), rng.choice(train.n_items, 100, replace=False)]
    keys = (rng.random(nnz), rng.random(nnz))
    for cap in (64, 256):
        kw = dict(node_cap=cap)
        build_forest(graph, q_kind, q_ent, *keys, **kw)                       # compile / load cache
        t_nb = best_of(lambda: build_forest(graph, q_kind, q_ent, *keys, **kw), 5)
        t_py = best_of(lambda: build_forest_reference(graph, q_kind, q_ent, *keys, **kw), 1)
        gp = permute_lists(graph, rng)
        t_fast = best_of(lambda: build_forest(gp, q_kind, q_ent, **kw), 5)
        n = build_forest(graph, q_kind, q_ent, *keys, **kw).n_nodes
        rows.append(("tree building", f"200 queries, cap {cap}, {n} nodes",
                     f"numba {1e3 * t_nb:.1f} ms, Python twin {1e3 * t_py:.0f} ms: **{t_py / t_nb:.0f}x**; "
                     f"presorted fast path {1e3 * t_fast:.1f} ms ({t_py / t_fast:.0f}x)"))
    # --- 2. throughput: before (commit BASELINE), tree by tree, shared subtrees ---------------------
    params = init_params(rng, 30, 30, 16, 32, kappa=5.0)             # the experiments' model (EC_KW)
    for batch, cap in ((500, 64), (500, 256), (2000, 64)):
        med, _ = timer_runs(batch, cap, 8 if batch == 500 else 3, 3 if cap == 64 and batch == 500 else 2)
        rows.append(("training", f"batch {batch}, cap {cap}",
                     f"before ({BASELINE}) {med['before']:,.0f} ratings/s, per-query trees (fused kernel) "
                     f"{med['per-query']:,.0f}, shared subtrees (after) {med['shared']:,.0f}: "
                     f"**{med['shared'] / med['before']:.1f}x before**, {med['shared'] / med['per-query']:.1f}x "
                     f"per-query (value and gradient; medians of 2-3 interleaved subprocess runs)"))
    # --- 3. against the PyTorch peer --------------------------------------------------------------
    for cap in (64, 256):
        rows += torch_rows(params, graph, train, np.random.default_rng(cap), cap, 500, 5)
    # --- 4. one epoch ---------------------------------------------------------------------------
    t0, c0 = time.perf_counter(), time.process_time()
    _, _, hist = fit(train, rng, epochs=1, batch_size=500, tree_kw=dict(node_cap=64), predictor="biased",
                     kappa=5.0)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rows.append(("one epoch", f"{len(train)} ratings, batch 500, cap 64",
                 f"**{cpu:.1f} s CPU** (single-threaded process: one core), {wall:.1f} s wall; target <= 60 s"))
    load = os.getloadavg()
    import torch
    lines = ["# Evidence chains: benchmark", "",
             f"MovieLens-100K-sized synthetic data ({len(train)} training ratings, 943 users, 1682 items), "
             f"model of the experiments (D = 16, H = 32, 30 + 30 prototypes, biased head, shrinkage), "
             f"depth 4, evidence 80 halved per level. CPU: {cpu_name()}, {os.cpu_count()} cores shared "
             f"with other sessions; load average at the start {load0[0]:.1f} / {load0[1]:.1f} / {load0[2]:.1f}, "
             f"at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}. "
             f"Times are CPU seconds of this single-threaded process (wall time under `nice` on a loaded "
             f"machine measures the other jobs); torch {torch.__version__}, float64, 1 thread.", "",
             "Command: `PYTHONPATH=. OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 nice -n 19 python "
             "numerics/bench_evidence_chains.py`", "",
             "| what | setting | result |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
