"""Benchmark of the evidence-chains recommender on MovieLens-100K-sized synthetic data.

1. Evidence-tree building: the numba kernel vs the readable recursive Python twin on the
   same queries and random keys (target: >= 50x), plus the numba fast path on lists put in
   evidence order once per batch (`permute_lists`, what training uses).
2. Training throughput (ratings/s of value-and-gradient steps) and prediction throughput.
3. One full training epoch on the 90,000 training ratings (target: <= 60 s on one core),
   as CPU time of this process (run with OPENBLAS_NUM_THREADS=1 it uses one core) and wall.

Writes numerics/results/bench_evidence_chains.md.
Run: OPENBLAS_NUM_THREADS=1 python numerics/bench_evidence_chains.py
Timings depend on machine load; the load average is printed with the table.
"""
import os
import time
from pathlib import Path

import numpy as np

from refimpl.evidence_chains.data import split, synthetic
from refimpl.evidence_chains.model import init_params, predict_pairs
from refimpl.evidence_chains.train import build_training_graph, fit, time_steps
from refimpl.evidence_chains.trees import ITEM, USER, build_forest, permute_lists
from refimpl.evidence_chains.trees_reference import build_forest_reference

OUT = Path(__file__).resolve().parent / "results" / "bench_evidence_chains.md"


def best_of(f, n):
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return min(ts)


def main():
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
    # --- 2. throughput ------------------------------------------------------------------------
    params = init_params(rng)
    for cap in (64, 256):
        s = time_steps(params, graph, train, rng, 5, 500, node_cap=cap)
        rows.append(("training", f"batch 500, cap {cap}", f"{1 / s:,.0f} ratings/s (value and gradient)"))
        n_pred = 5000
        predict_pairs(params, graph, test.users[:100], test.items[:100], rng, node_cap=cap)
        t = best_of(lambda: predict_pairs(params, graph, test.users[:n_pred], test.items[:n_pred], rng,
                                          node_cap=cap), 2)
        rows.append(("prediction", f"batch {n_pred}, cap {cap}", f"{n_pred / t:,.0f} predictions/s"))
    # --- 3. one epoch ---------------------------------------------------------------------------
    t0, c0 = time.perf_counter(), time.process_time()
    _, _, hist = fit(train, rng, epochs=1, batch_size=500, tree_kw=dict(node_cap=64))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rows.append(("one epoch", f"{len(train)} ratings, batch 500, cap 64",
                 f"**{cpu:.1f} s CPU** (single-threaded process: one core), {wall:.1f} s wall; target <= 60 s"))
    load = os.getloadavg()
    lines = ["# Evidence chains: benchmark", "",
             f"MovieLens-100K-sized synthetic data ({len(train)} training ratings, 943 users, 1682 items), "
             f"depth 4, evidence 80 halved per level. Load average during the run: "
             f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores "
             "(timings are inflated by other jobs when it is high).", "",
             "Command: `OPENBLAS_NUM_THREADS=1 python numerics/bench_evidence_chains.py`", "",
             "| what | setting | result |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
