"""Benchmark: one β-TCVAE training step (MSS, β = 6, forward + gradient) and the full-dataset
sampled MIG, refimpl against a PyTorch port of the official code (numerics/peers/tcvae_torch.py),
same process, float64, one thread, same weights and draws.

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 PYTHONPATH=. python numerics/bench_tcvae.py [--quick]

Writes numerics/results/bench_tcvae.md: median time ratio refimpl / torch over interleaved
repeats, the first-step loss difference and the two MIG values.
"""
import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from autograd import value_and_grad

sys.path.insert(0, str(Path(__file__).resolve().parent))

from refimpl.datasets.shapes import render  # noqa: E402
from refimpl.tcvae.mig_sampled import mig_sampled  # noqa: E402
from refimpl.tcvae.objectives import objective  # noqa: E402
from refimpl.tcvae.train import encode_all, train  # noqa: E402
from refimpl.vi.vae import init_vae  # noqa: E402


def _median_ratio(ours, theirs, repeats):
    to, tt = [], []
    for _ in range(repeats):
        for f, acc in ((ours, to), (theirs, tt)):
            t0 = time.perf_counter()
            f()
            acc.append(time.perf_counter() - t0)
    return float(np.median(to)), float(np.median(tt))


def step_pair(B, beta=6.0, seed=0):
    """(ours, theirs, (imgs, factors)): one β-TCVAE training step (MSS, forward + gradient of
    the negative objective) on a batch of B dSprites-style images, refimpl (autograd) and the
    torch port, same weights and draws. Each returns (loss, gradient) / the loss tensor."""
    import torch
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    from peers import tcvae_torch as T

    imgs, factors = render()
    N = len(imgs)
    X = imgs.reshape(N, -1).astype(float)
    rng = np.random.default_rng(seed)
    params = init_vae(rng, X.shape[1], 10, hidden=(256, 256), x_mean=X.mean(0))
    x = X[rng.integers(N, size=B)]
    eps = rng.standard_normal((B, 10))
    vg = value_and_grad(lambda p: -objective(p, x, eps, N, "tcvae", beta=beta, estimator="mss"))
    tp = T.to_torch(params)
    tx, teps = torch.from_numpy(x), torch.from_numpy(eps)

    def ours_step():
        return vg(params)

    def theirs_step():
        for layer in tp.values():
            for W, b in layer:
                W.grad = b.grad = None
        loss = T.tcvae_loss(tp, tx, teps, N, beta)
        loss.backward()
        return loss
    return ours_step, theirs_step, (imgs, factors)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="CI-sized smoke run (small batch and subset)")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--out", default="numerics/results/bench_tcvae.md")
    args = ap.parse_args()
    B = 64 if args.quick else 1024
    beta = 6.0
    ours_step, theirs_step, (imgs, factors) = step_pair(B, beta)
    import torch
    from peers import tcvae_torch as T

    l_ours, l_theirs = float(ours_step()[0]), float(theirs_step().detach())
    ours_step(), theirs_step()                                   # warm-up (numba compiled)
    t_o, t_t = _median_ratio(ours_step, theirs_step, args.repeats)

    # the metric on a trained encoder (a short β-TCVAE run), every image
    sub = slice(None) if not args.quick else slice(0, None, 8)
    trained, _ = train(imgs[sub], np.random.default_rng(1), kind="tcvae", beta=beta,
                       iters=40 if args.quick else 300, batch_size=256, log_every=0)
    mean, log_std = encode_all(trained, imgs[sub])
    f = factors[sub]
    ns = 500 if args.quick else 10000
    reps = 1 if args.quick else 3
    m_o = mig_sampled(mean, log_std, f, np.random.default_rng(7), n_samples=ns, factor_subset=(1, 2, 3, 4))
    m_t = T.mig_sampled(mean, log_std, f, np.random.default_rng(7), n_samples=ns, factor_subset=(1, 2, 3, 4))
    tm_o, tm_t = _median_ratio(
        lambda: mig_sampled(mean, log_std, f, np.random.default_rng(7), n_samples=ns, factor_subset=(1, 2, 3, 4)),
        lambda: T.mig_sampled(mean, log_std, f, np.random.default_rng(7), n_samples=ns, factor_subset=(1, 2, 3, 4)),
        reps)
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()
    rows = [
        ("β-TCVAE step (MSS, β = 6), batch %d, MLP 1024-256-256-20 / 10-256-256-1024" % B,
         t_o * 1e3, t_t * 1e3, t_o / t_t, abs(l_ours - l_theirs) / abs(l_theirs)),
        ("mig_sampled, %d images, %d samples per entropy, 4 factors" % (len(mean), ns),
         tm_o * 1e3, tm_t * 1e3, tm_o / tm_t, abs(m_o - m_t)),
    ]
    lines = ["# β-TCVAE: benchmark against a PyTorch port of the official code", "",
             f"Command: `OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 PYTHONPATH=. python numerics/bench_tcvae.py"
             f"{' --quick' if args.quick else ''}`. CPU: {cpu}; load average {load[0]:.2f} / {load[1]:.2f} / "
             f"{load[2]:.2f} on {os.cpu_count()} cores; float64, one thread each; median of {args.repeats} "
             f"interleaved repeats (metric: {reps}); torch {torch.__version__}.", "",
             "| what | refimpl ms | torch ms | ratio | first-value difference |", "|---|---|---|---|---|"]
    for name, a, b, r, d in rows:
        lines.append(f"| {name} | {a:.1f} | {b:.1f} | **{r:.2f}** | {d:.1e} |")
    lines += ["", f"Loss: refimpl {l_ours:.12f}, torch {l_theirs:.12f} (relative difference above). "
              f"MIG: refimpl {m_o:.10f}, torch {m_t:.10f} (absolute difference above; same draws).",
              "Targets (issue #20): step ratio ≤ 1.0, metric ratio ≤ 0.5."]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.quick:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
