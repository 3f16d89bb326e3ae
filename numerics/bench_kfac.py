"""Benchmark: cost of a K-FAC step relative to an SGD step, and HMC numba vs NumPy twin.

Claim checked (issue 10): a K-FAC step (factor statistics every step, eigendecompositions
every T_inv = 20 steps) costs at most ~3 SGD steps for 1x50 and 2x100 MLPs; the numba HMC
transition is faster than its NumPy twin. Timings are the minimum over repeats of blocks of
steps (timeit's convention: the minimum is the least disturbed by other processes), measured
in process CPU time (on a shared machine wall time also counts the time other processes hold
the core), in one process, single-threaded BLAS. Writes numerics/results/bench_kfac.md.

Run: python numerics/bench_kfac.py [--quick]
"""
import argparse
import platform
import time
from pathlib import Path

import numpy as np

from refimpl.mcmc import BNNPosterior, sample
from refimpl.nng import KFAC, NoisyKFAC, batch_stats, mlp
from refimpl.nng._threads import single_thread_blas


def best_time(fn, n_steps, repeats):
    best = np.inf
    for _ in range(repeats):
        t0 = time.process_time()
        for _ in range(n_steps):
            fn()
        best = min(best, (time.process_time() - t0) / n_steps)
    return best


def bench_mlp(sizes, B, n_steps, repeats, rng):
    X = rng.standard_normal((B, sizes[0]))
    y = rng.standard_normal((B, sizes[-1]))
    params = mlp.init_params(rng, sizes)

    def sgd():                                   # forward, backward, update
        st = batch_stats(params, X, y, 1.0, rng, "relu", "sampled", need=())
        for l in range(len(params)):
            params[l] = params[l] + 1e-3 * st["grad"][l]

    steps = {"sgd": sgd}
    for T in (1, 10):
        opt = KFAC(lr=1e-3, damping=1e-2, T_inv=20, T_stats=T)
        nk = NoisyKFAC(params, N=1000, lr=1e-3, T_inv=20, T_stats=T, gamma_ex=1e-2, kl_clip=1e-2)
        k_params = [W.copy() for W in params]
        steps[f"kfac{T}"] = (lambda o, p: lambda: o.step(p, X, y, 1.0, rng))(opt, k_params)
        steps[f"noisy{T}"] = (lambda o: lambda: o.step(X, y, 1.0, rng))(nk)
    for f in steps.values():                     # warm up (first K-FAC step initialises factors)
        for _ in range(25):
            f()
    n = max(20, n_steps // 20) * 20             # whole T_inv (and T_stats) periods
    return {k: best_time(f, n, repeats) for k, f in steps.items()}


def bench_hmc(H, n_trans, L, rng):
    X = rng.uniform(-4, 4, (40, 1))
    y = np.sin(X[:, 0]) + 0.2 * rng.standard_normal(40)
    target = BNNPosterior(X, y, 25.0, 1.0, H)
    q0 = 0.3 * rng.standard_normal((1, target.dim))
    out = {}
    for backend in ("numba", "numpy"):
        sample(target.logp_grad, q0, np.random.default_rng(0), 0, 2, L, step_size=1e-3,
               transition_fn=target.transition(backend), jitter=False)          # compile / warm up
        t0 = time.process_time()
        sample(target.logp_grad, q0, np.random.default_rng(0), 0, n_trans, L, step_size=1e-3,
               transition_fn=target.transition(backend), jitter=False)
        out[backend] = n_trans / (time.process_time() - t0)
    return out


def main(quick=False):
    rng = np.random.default_rng(0)
    n_steps, repeats = (200, 3) if quick else (400, 3)
    rows = []
    with single_thread_blas():
        for name, sizes in (("1x50", [13, 50, 1]), ("2x100", [13, 100, 100, 1])):
            for B in (32, 128, 512):
                t = bench_mlp(sizes, B, n_steps, repeats, rng)
                rows.append((name, B, t))
                print(name, B, {k: f"{v / t['sgd']:.2f}" for k, v in t.items()}, f"SGD {t['sgd'] * 1e6:.0f} us")
        hmc = [(H, bench_hmc(H, 20 if quick else 100, 50, rng)) for H in (20, 50)]
    for H, r in hmc:
        print(f"HMC H={H}: numba {r['numba']:.1f} transitions/s, numpy {r['numpy']:.1f}, "
              f"speed-up {r['numba'] / r['numpy']:.1f}x")
    lines = ["# K-FAC step cost and HMC twins", "",
             f"`python numerics/bench_kfac.py{' --quick' if quick else ''}` on {platform.processor() or platform.machine()}, "
             f"Python {platform.python_version()}, NumPy {np.__version__}, single-threaded BLAS; time per step is "
             f"the minimum over {repeats} blocks of process CPU time (shared machine: absolute times are noisy, "
             "ratios less so).", "",
             "Regression MLP (ReLU, 13 inputs, 1 output), damped factor inverses refreshed every T_inv = 20 "
             "steps (K-FAC: Cholesky inverses; noisy K-FAC: eigendecompositions, which also give the "
             "sampling square roots — for d = 100 an eigh costs ~5 Cholesky inversions), "
             "factor statistics every T_stats steps. SGD step = forward + backward + update. K-FAC adds, "
             "on statistics steps, a second backward pass with targets sampled from the model and the "
             "factor moving averages, and on every step the preconditioning [A^γ]^{-1} V [S^γ]^{-1}; "
             "noisy K-FAC also samples the weights. Ratios are time per step over time per SGD step. "
             "Issue 10's target is K-FAC / SGD ≤ 3 at T_inv = 20. For these small layers a step is "
             "dominated by NumPy call overhead and by the d³ preconditioning products, which do not "
             "shrink with the batch while SGD's B·d² work does; repeated runs on the shared 2-core "
             "machine move the ratios by up to ~30%.", "",
             "| net | batch | SGD step (µs) | K-FAC / SGD, T_stats=1 | K-FAC / SGD, T_stats=10 "
             "| noisy K-FAC / SGD, T_stats=1 | noisy K-FAC / SGD, T_stats=10 |",
             "|---|---|---|---|---|---|---|"]
    for name, B, t in rows:
        r = {k: v / t["sgd"] for k, v in t.items()}
        lines.append(f"| {name} | {B} | {t['sgd'] * 1e6:.0f} | {r['kfac1']:.2f} | {r['kfac10']:.2f} | "
                     f"{r['noisy1']:.2f} | {r['noisy10']:.2f} |")
    lines += ["", "HMC on a one-hidden-layer ReLU BNN (40 points, 1 input), 50 leapfrog steps per transition, "
              "same random numbers for both twins:", "",
              "| hidden units | parameters | numba (transitions/s) | NumPy twin (transitions/s) | speed-up |",
              "|---|---|---|---|---|"]
    for H, r in hmc:
        lines.append(f"| {H} | {3 * H + 1} | {r['numba']:.1f} | {r['numpy']:.1f} | {r['numba'] / r['numpy']:.1f}x |")
    out = Path(__file__).parent / "results" / "bench_kfac.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print("wrote", out)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    main(ap.parse_args().quick)
