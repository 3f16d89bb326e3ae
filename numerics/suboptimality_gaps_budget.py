"""The `suboptimality-gaps` table at a CPU budget: the full run's models and AIS setting, with
fewer evaluation points and a step cap on the local optimisers (stated in the output).

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python numerics/suboptimality_gaps_budget.py \\
        --data-dir /work/shared/data/mnist5k --n-eval 30 --max-steps 6000 --out DIR

Used when the uncapped full run (`refimpl run suboptimality-gaps --data-dir ...`) does not fit
the session: q*_flow on 100 points may take 20 000+ Adam steps before the stopping rule fires.
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np

from refimpl.experiments import Config
from refimpl.suboptimality.tables import KEYS, PAPER_TABLE2_MNIST, gap_table, table_config


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--n-eval", type=int, default=30)
    ap.add_argument("--max-steps", type=int, default=6000)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = Config(name="suboptimality-gaps", quick=False, seed=0, out=out, data_dir=Path(a.data_dir))
    c = table_config(False)
    c["n_eval"] = a.n_eval
    c["stop"] = dict(max_steps=a.max_steps)
    t0 = time.perf_counter()
    metrics, per, info = gap_table(cfg, c=c)
    lines = [f"# suboptimality-gaps at a budget: {a.n_eval} training points, local optimisers capped at "
             f"{a.max_steps} steps ({time.perf_counter() - t0:.0f} s)", "",
             "| | FFG-trained (ours) | FFG-trained (paper) | flow-trained (ours) | flow-trained (paper) |",
             "|---|---|---|---|---|"]
    for k in KEYS:
        lines.append(f"| {k} | {metrics[f'ffg_trained/{k}']:.2f} | {PAPER_TABLE2_MNIST['ffg_trained'][k]:.2f} | "
                     f"{metrics[f'flow_trained/{k}']:.2f} | {PAPER_TABLE2_MNIST['flow_trained'][k]:.2f} |")
    for kind in ("ffg", "flow"):
        d = info[kind]
        lines.append(f"\n{kind}-trained: training {d['train_seconds']:.0f} s; stages "
                     + ", ".join(f"{s} {v:.0f} s" for s, v in d["stages"].items())
                     + f"; local steps (FFG, flow) {d['local_steps']}, stopped by the rule {d['local_stopped']}; "
                     f"AIS acceptance {d['ais_accept']:.2f}")
    (out / "table.md").write_text("\n".join(lines) + "\n")
    json.dump({"metrics": metrics, "config": {k: v for k, v in c.items()}}, open(out / "results.json", "w"),
              indent=1, default=str)
    print("\n".join(lines))


if __name__ == "__main__":
    np.seterr(over="ignore")
    main()
