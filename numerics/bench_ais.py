"""Benchmark: AIS on a trained VAE decoder, refimpl (`refimpl.mcmc.ais` with the hand-written
decoder VJP of `refimpl.suboptimality.decoder_grad`, and with autograd's
`elementwise_grad`) against a PyTorch port of the evaluation code's `ais_trajectory`
(numerics/peers/ais_torch.py), same process, float64, one thread, identical decoder weights.

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 PYTHONPATH=. python numerics/bench_ais.py \
        [--data-dir /work/shared/data/mnist5k] [--quick]

Timing: 100 datapoints × 16 chains, 100 sigmoidal distributions, 10 leapfrog steps, adaptive
ε (per transition, so the ratio does not depend on the schedule length); interleaved
repeats, median. Agreement: 500 distributions on 20 datapoints, both estimates of log p(x)
with a Monte Carlo error from independent repeats (different seeds).
Writes numerics/results/bench_ais.md.
"""
import argparse
import os
import platform
import sys
import time
from pathlib import Path

import autograd.numpy as anp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from refimpl.datasets.images import load  # noqa: E402
from refimpl.mcmc.ais import ais, sigmoid_schedule  # noqa: E402
from refimpl.suboptimality.decoder_grad import bernoulli_decoder_loglik_grad  # noqa: E402
from refimpl.suboptimality.gaps import train_vae  # noqa: E402
from refimpl.vi.vae import bernoulli_loglik, decoder_logits  # noqa: E402

LOG_2PI = float(np.log(2 * np.pi))


def log_prior(z):
    return anp.sum(-0.5 * z ** 2 - 0.5 * LOG_2PI, axis=-1)


def ours(params, x, z0, betas, rng, vjp=True):
    if vjp:
        return ais(log_prior, None, z0, betas, rng, log_lik_grad=bernoulli_decoder_loglik_grad(params["dec"], x))
    return ais(log_prior, lambda z: bernoulli_loglik(x[:, None, :], decoder_logits(params, z)), z0, betas, rng)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None, help="MNIST IDX directory (default: embedded digits)")
    ap.add_argument("--quick", action="store_true", help="smoke run (fewer points, distributions, repeats)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--z-dim", type=int, default=20)
    ap.add_argument("--out", default="numerics/results/bench_ais.md")
    ap.add_argument("--no-agreement", action="store_true", help="timing only")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    from peers import ais_torch as T

    rng = np.random.default_rng(0)
    Xtr, _, _, _ = load(args.data_dir, rng=rng, n_train=2000, n_test=10)
    t0 = time.perf_counter()
    params, _ = train_vae(Xtr, rng, kind="ffg", z_dim=args.z_dim, iters=300 if args.quick else 2000, warmup=200)
    t_train = time.perf_counter() - t0
    dec = T.Decoder(params["dec"])

    B, C, n_t = (20, 16, 20) if args.quick else (100, 16, 100)
    x = Xtr[:B]
    z0 = rng.standard_normal((B, C, args.z_dim))
    betas = sigmoid_schedule(n_t)
    tx, tz0 = torch.from_numpy(x), torch.from_numpy(z0)
    runs = {"ours_vjp": lambda: ours(params, x, z0, betas, np.random.default_rng(1)),
            "torch": lambda: T.ais_trajectory(dec, tx, tz0, betas)}
    times = {k: [] for k in runs}
    for _ in range(args.repeats):
        for k, f in runs.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    med = {k: float(np.median(v)) for k, v in times.items()}
    # autograd's elementwise_grad through the (B, C, D) decoder: ~10x slower, timed once on 10 distributions
    t0 = time.perf_counter()
    ours(params, x, z0, sigmoid_schedule(10), np.random.default_rng(1), vjp=False)
    med["ours_autograd"] = (time.perf_counter() - t0) * n_t / 10
    runs["ours_autograd"] = None
    per_tr = {k: v / (n_t * B * C) * 1e6 for k, v in med.items()}    # µs per chain-transition

    # agreement: 500 distributions on 20 datapoints, independent seeds
    Ba, n_a, reps = (10, 100, 2) if args.quick else (20, 500, 3)
    if args.no_agreement:
        Ba, n_a, reps = 2, 2, 2
    xa, ta = x[:Ba], torch.from_numpy(x[:Ba])
    est_o, est_t, acc_o, acc_t = [], [], [], []
    for r in range(reps):
        ra = np.random.default_rng(100 + r)
        za = ra.standard_normal((Ba, C, args.z_dim))
        res = ours(params, xa, za, sigmoid_schedule(n_a), ra)
        est_o.append(res.log_Z)
        acc_o.append(res.accept_rate)
        torch.manual_seed(100 + r)
        lz, acc = T.ais_trajectory(dec, ta, torch.from_numpy(za), sigmoid_schedule(n_a))
        est_t.append(lz.numpy())
        acc_t.append(acc)
    est_o, est_t = np.array(est_o), np.array(est_t)                  # (reps, Ba)
    diff = est_o.mean(0) - est_t.mean(0)
    se = np.sqrt(est_o.var(0, ddof=1) / reps + est_t.var(0, ddof=1) / reps)
    mean_o, mean_t = float(est_o.mean()), float(est_t.mean())
    se_mean = float(np.sqrt(np.sum(se ** 2)) / Ba)

    cpu = platform.processor() or platform.machine()
    load_avg = os.getloadavg()
    lines = [
        "# bench_ais: AIS on a trained VAE decoder, refimpl vs a PyTorch port of `ais_trajectory`",
        "",
        f"Command: `OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 PYTHONPATH=. python numerics/bench_ais.py"
        f"{' --data-dir ' + args.data_dir if args.data_dir else ''}{' --quick' if args.quick else ''}`",
        f"CPU: {cpu}, 2 cores shared by several sessions; load average at the end {load_avg[0]:.2f} "
        f"{load_avg[1]:.2f} {load_avg[2]:.2f}. float64, 1 thread (torch.set_num_threads(1), OPENBLAS 1). "
        f"numpy {np.__version__}, torch {torch.__version__}.",
        f"Decoder {args.z_dim}-200-200-784 (tanh, Bernoulli), trained as an FFG VAE for "
        f"{300 if args.quick else 2000} Adam steps on {'MNIST ' + args.data_dir if args.data_dir else 'embedded digits'}"
        f" ({t_train:.0f} s); the torch decoder has the identical weights.",
        "",
        f"## Timing: {B} datapoints × {C} chains, {n_t} sigmoidal distributions, 10 leapfrog steps "
        f"(median of {args.repeats} interleaved repeats)",
        "",
        "| implementation | seconds | µs per chain-transition | ratio to torch |",
        "|---|---|---|---|",
    ]
    for k in runs:
        lines.append(f"| {k} | {med[k]:.2f} | {per_tr[k]:.1f} | {med[k] / med['torch']:.2f} |")
    lines += [
        "",
        "ours_autograd: timed once on 10 distributions and scaled to the same number of transitions. "
        "Work per transition: refimpl evaluates log p(x|z) and its gradient L times (each leapfrog "
        "position; value and gradient at the accepted proposal are kept for the next transition "
        "); the port, like the original, evaluates them L + 1 times and also spends two decoder passes on the weight update "
        "and two on the accept test.",
        "",
        f"## Agreement: {Ba} datapoints × {C} chains, {n_a} distributions, {reps} independent repeats each",
        "",
        f"mean over datapoints of log p̂(x): refimpl {mean_o:.3f}, torch port {mean_t:.3f}, "
        f"difference {mean_o - mean_t:+.3f} ± {se_mean:.3f} (1 s.e. from the repeats).",
        f"Per-datapoint |difference| / s.e.: max {np.max(np.abs(diff) / se):.2f}, "
        f"median {np.median(np.abs(diff) / se):.2f}. Acceptance: refimpl {np.mean(acc_o):.3f}, torch {np.mean(acc_t):.3f}.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.quick:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
