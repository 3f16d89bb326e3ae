"""Benchmark: PGD L∞ (40 steps, batch 256, random start) on refimpl's conv net (autograd; the conv block is one fused numba primitive)
against the same network and attack in PyTorch (float64, 1 thread, same weights and start).

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python numerics/bench_attacks.py [--repeats 7] [--data-dir ../shared/data/mnist5k]

Writes numerics/results/bench_attacks.md: median time ratio refimpl / torch over interleaved
repeats, and both adversarial accuracies.
"""
import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

from refimpl import attacks
from refimpl.sce import models, pipeline, train

def pgd_pair(data_dir, eps=0.1, steps=40, seed=0):
    """(ours, theirs, (model, Xte, yte, tlogits)): PGD L∞ from the same random start on
    refimpl's conv classifier (trained one epoch) and on the same weights in torch; each
    returns the adversarial batch."""
    import torch
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    from peers.attacks_torch import conv_net, pgd_linf  # noqa: E402  (numerics/ on sys.path)

    rng = np.random.default_rng(seed)
    Xtr, ytr, Xte, yte = pipeline.load_data(data_dir, rng, 2000, 256)
    model = train.fit(rng, models.init_conv_classifier(rng), Xtr, ytr, epochs=1, lr=2e-3)
    alpha = 2.5 * eps / steps
    x_start = attacks.random_start(np.random.default_rng(1), Xte, eps, "linf")
    g = attacks.cross_entropy_grad(lambda x: models.logits(model, x))
    tlogits = conv_net(model["params"])

    def ours():
        # pgd's own random start is replaced by x_start so both sides start from the same point
        xa = x_start.copy()
        for _ in range(steps):
            xa = attacks.project(xa + alpha * np.sign(g(xa, yte)), Xte, eps, "linf")
        return xa

    def theirs():
        return pgd_linf(tlogits, Xte, yte, x_start, eps, steps, alpha)
    return ours, theirs, (model, Xte, yte, tlogits)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--data-dir", default="../shared/data/mnist5k")
    ap.add_argument("--out", default="numerics/results/bench_attacks.md")
    args = ap.parse_args()
    import torch
    data_dir = args.data_dir if Path(args.data_dir).is_dir() else None
    eps, steps = 0.1, 40
    alpha = 2.5 * eps / steps
    ours, theirs, (model, Xte, yte, tlogits) = pgd_pair(data_dir, eps, steps)

    clean_diff = float(np.max(np.abs(models.logits(model, Xte) - tlogits(torch.from_numpy(Xte)).detach().numpy())))
    t_ours, t_theirs = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter(); xa = ours(); t_ours.append(time.perf_counter() - t0)        # noqa: E702
        t0 = time.perf_counter(); xb = theirs(); t_theirs.append(time.perf_counter() - t0)    # noqa: E702
    acc_o = float(np.mean(models.predict(model, xa) == yte))
    acc_t = float(np.mean(models.predict(model, xb) == yte))
    ratio = float(np.median(np.array(t_ours) / np.array(t_theirs)))
    load = os.getloadavg()
    lines = ["# bench_attacks: PGD L∞ on the conv net, refimpl (NumPy + autograd) vs PyTorch", "",
             f"PGD {steps} steps, eps {eps}, step {alpha:g}, batch {len(Xte)}, same random start; conv 5x5x8 valid "
             "-> ReLU -> 2x2 avg pool -> 64 ReLU -> 10; float64, 1 thread "
             f"(torch {torch.__version__}); {'MNIST (mnist5k)' if data_dir else 'procedural digits'}; "
             f"{args.repeats} interleaved repeats.", "",
             "| | refimpl | torch |", "|---|---|---|",
             f"| median seconds | {np.median(t_ours):.3f} | {np.median(t_theirs):.3f} |",
             f"| adversarial accuracy | {acc_o:.4f} | {acc_t:.4f} |", "",
             f"**time ratio refimpl / torch (median of per-repeat ratios): {ratio:.3f}**; "
             f"max |x_adv difference| {np.max(np.abs(xa - xb)):.2e}; max clean-logit difference {clean_diff:.1e}.",
             "", f"CPU: {platform.processor() or platform.machine()} (Intel Xeon, AVX-512, 2 cores shared with other "
             f"sessions); load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}."]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
