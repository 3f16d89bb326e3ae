"""Benchmark: one WGAN-GP iteration of refimpl.dna (5 critic steps with the gradient penalty
+ 1 generator step; batch 64, length 50, 32 channels, 4 nucleotides) against a PyTorch port of
the same networks (numerics/peers/dna_wgan_torch.py) in the same process: float64, one
thread, the same weights and the same batches. Checks the losses of the first iteration
agree to 1e-8 and reports the time ratio (refimpl / PyTorch; the issue asks ≤ 1.5).
refimpl's default path is the hand-written step `refimpl.dna.wgan_fused`; its definition, the
autograd path (`wgan_iteration(..., fused=False)`), is timed beside it, and the two must
give the same first-iteration losses to 1e-10.
Timing: the minimum over repeats of process CPU time per iteration (timeit's convention),
the three implementations interleaved within each repeat (the machine is shared).
Writes numerics/results/bench_wgan.md.

Run: PYTHONPATH=. OPENBLAS_NUM_THREADS=1 python numerics/bench_wgan.py [--quick]
"""
import argparse
import os
import platform
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from refimpl.dna import wgan, wgan_fused  # noqa: E402

B, L, DIM, V, N_CRITIC = 64, 50, 32, 4, 5


def batches(rng):
    xs = [np.eye(V)[rng.integers(0, V, (B, L))] for _ in range(N_CRITIC)]
    zs = [rng.standard_normal((B, wgan.LATENT)) for _ in range(N_CRITIC)]
    es = [rng.uniform(size=B) for _ in range(N_CRITIC)]
    return xs, zs, es, rng.standard_normal((B, wgan.LATENT))


def best_interleaved(fns, repeats):
    """Minimum process CPU time of each function over ``repeats`` rounds, one call of each per round."""
    out = [np.inf] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.process_time()
            fn()
            out[i] = min(out[i], time.process_time() - t0)
    return out


def iteration_pair(seed=0):
    """(ours, theirs, state): one WGAN-GP iteration (5 critic steps with the penalty + 1
    generator step) by refimpl's fused step and by the PyTorch port, from the same weights
    on the same batches; each call advances its own side by one iteration and returns
    ([5 critic losses], generator loss). state also holds an autograd-path copy (aD, aG)."""
    import torch
    from peers import dna_wgan_torch as tw
    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    gen, crit = wgan.init_generator(rng, L, DIM, V), wgan.init_critic(rng, L, DIM, V)
    optG, optD = wgan.Adam(gen, 1e-4), wgan.Adam(crit, 1e-4)
    aG, aD = wgan.Adam(gen, 1e-4), wgan.Adam(crit, 1e-4)                # the autograd path's copy
    G, D = tw.from_refimpl(gen, crit)
    tG, tD = tw.make_opts(G, D)
    xs, zs, es, zg = batches(rng)
    ws = wgan_fused.Workspace()
    T = lambda a: torch.tensor(a, dtype=torch.float64)              # noqa: E731
    targs = ([T(x) for x in xs], [T(z) for z in zs], [T(e) for e in es], T(zg))
    st = SimpleNamespace(optD=optD, optG=optG, aD=aD, aG=aG, G=G, D=D, tG=tG, tD=tD, xs=xs, zs=zs,
                         es=es, zg=zg, ws=ws, targs=targs, tw=tw)
    return (lambda: wgan.wgan_iteration(optD, optG, xs, zs, es, zg, ws=ws),
            lambda: tw.iteration(G, D, tG, tD, *targs), st)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    import torch
    ours_fn, theirs_fn, st = iteration_pair()
    optD, optG, aD, aG, G, D, tG, tD = st.optD, st.optG, st.aD, st.aG, st.G, st.D, st.tG, st.tD
    xs, zs, es, zg, ws, targs, tw = st.xs, st.zs, st.es, st.zg, st.ws, st.targs, st.tw
    ours = ours_fn()
    auto = wgan.wgan_iteration(aD, aG, xs, zs, es, zg, fused=False)
    theirs = theirs_fn()
    diffs = [abs(a - b) for a, b in zip(ours[0] + [ours[1]], theirs[0] + [theirs[1]])]
    adiffs = [abs(a - b) for a, b in zip(ours[0] + [ours[1]], auto[0] + [auto[1]])]
    # every parameter after the iteration (Adam on both sides), in the peer's layout
    G1, D1 = tw.from_refimpl(optG.params, optD.params)
    pdiff = max(float((a - b).abs().max()) for a, b in zip(tw.flat(G1) + tw.flat(D1), tw.flat(G) + tw.flat(D)))
    reps = 3 if args.quick else 7
    load0 = os.getloadavg()
    t_ours, t_auto, t_torch = best_interleaved(
        [lambda: wgan.wgan_iteration(optD, optG, xs, zs, es, zg, ws=ws),
         lambda: wgan.wgan_iteration(aD, aG, xs, zs, es, zg, fused=False),
         lambda: tw.iteration(G, D, tG, tD, *targs)], reps)
    load = os.getloadavg()
    lines = ["# WGAN-GP iteration: refimpl.dna vs PyTorch (same networks, same weights)", "",
             f"Batch {B}, length {L}, {DIM} channels, 5 residual blocks, {N_CRITIC} critic steps + 1 generator step, "
             f"float64, 1 thread. CPU: {platform.processor() or platform.machine()} "
             f"(Intel Xeon, AVX-512, 2 cores shared), load average {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f} before "
             f"and {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} after the timing; torch {torch.__version__}. "
             f"Minimum process CPU time over {reps} repeats, the three implementations interleaved.", "",
             "| quantity | value |", "|---|---|",
             f"| first-iteration critic losses (refimpl) | {', '.join(f'{v:.12f}' for v in ours[0])} |",
             f"| first-iteration generator loss (refimpl) | {ours[1]:.12f} |",
             f"| max abs loss difference vs PyTorch | {max(diffs):.2e} |",
             f"| max abs loss difference vs refimpl's autograd path | {max(adiffs):.2e} |",
             f"| max abs parameter difference after the iteration | {pdiff:.2e} |",
             f"| refimpl (fused, the default) s / iteration | {t_ours:.4f} |",
             f"| refimpl (autograd path) s / iteration | {t_auto:.4f} |",
             f"| PyTorch s / iteration | {t_torch:.4f} |",
             f"| ratio refimpl / PyTorch | {t_ours / t_torch:.2f} |",
             f"| ratio refimpl autograd path / PyTorch | {t_auto / t_torch:.2f} |",
             f"| speed-up of the fused path over the autograd path | {t_auto / t_ours:.2f} |", "",
             "Command: `PYTHONPATH=. OPENBLAS_NUM_THREADS=1 python numerics/bench_wgan.py`"]
    text = "\n".join(lines) + "\n"
    print(text)
    failed = False
    if max(diffs) > 1e-8:
        print(f"FAIL: losses differ by {max(diffs):.2e} > 1e-8", file=sys.stderr)
        failed = True
    if max(adiffs) > 1e-10:
        print(f"FAIL: the fused and autograd paths differ by {max(adiffs):.2e} > 1e-10", file=sys.stderr)
        failed = True
    if failed:                                    # no results file from a failed check; exit status 1
        sys.exit(1)
    if not args.quick:
        Path(__file__).resolve().parent.joinpath("results", "bench_wgan.md").write_text(text)


if __name__ == "__main__":
    main()
