"""CPU time of evidence-chains training steps, for `bench_evidence_chains.py`, run in a
subprocess against whichever `refimpl` is on PYTHONPATH (this tree, or an older commit
extracted by the bench), so before and after are measured by the same code on the same
data: MovieLens-100K-sized synthetic data (seed 0, 90/10 split), the experiments' model
(D 16, H 32, 30 + 30 prototypes, biased head, κ0 = 5), value and gradient of the
minibatch loss with the step's ratings masked, one warm-up step, then `--steps` steps.

Only APIs that exist since the first evidence-chains commit are used (synthetic, split,
build_training_graph, init_params, predict_pairs(..., mask=, node_cap=)).
Prints one JSON line: ratings_per_s (CPU), seconds, a data checksum and the mean loss.
"""
import argparse
import json
import time

import numpy as np
from autograd import value_and_grad
from autograd.misc import flatten

from refimpl.evidence_chains.data import split, synthetic
from refimpl.evidence_chains.model import init_params, predict_pairs
from refimpl.evidence_chains.train import build_training_graph


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--cap", type=int, default=64)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--extra", default="{}", help="JSON keyword arguments for predict_pairs (e.g. shared)")
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    train, _ = split(synthetic(rng), rng)
    graph = build_training_graph(train)
    params = init_params(np.random.default_rng(1), 30, 30, 16, 32, kappa=5.0)
    x, unflatten = flatten(params)
    extra = json.loads(a.extra)
    keys = np.random.default_rng(2)

    def loss(xf, idx):
        p = predict_pairs(unflatten(xf), graph, train.users[idx], train.items[idx], keys, predictor="biased",
                          mask=idx, node_cap=a.cap, **extra)
        d = p - train.ratings[idx]
        return (d * d).sum() / d.shape[0]

    vg = value_and_grad(loss)
    brng = np.random.default_rng(3)
    batches = [np.sort(brng.choice(len(train), a.batch, replace=False)) for _ in range(a.steps + 1)]
    vg(x, batches[0])
    losses, c0 = [], time.process_time()
    for idx in batches[1:]:
        losses.append(float(vg(x, idx)[0]))
    sec = time.process_time() - c0
    print(json.dumps(dict(ratings_per_s=a.steps * a.batch / sec, seconds=sec, steps=a.steps, batch=a.batch,
                          cap=a.cap, checksum=float(train.ratings @ np.arange(len(train)) % 1e6),
                          mean_loss=float(np.mean(losses)))))


if __name__ == "__main__":
    main()
