"""How far the official MSS weight matrix's defect moves log q(z) and the TC.

rtqichen/beta-tcvae `_log_importance_weight_matrix` fills column 0 (stride M+1 = B walks
down a column) where the diagonal was meant (`refimpl.tcvae.mss`, tests/tcvae/test_mss.py).
On a β-TCVAE trained briefly on the rendered dSprites, for many minibatches: the minibatch
estimates of E[log q(z)] and of the TC with the correct matrix, with the official one, and
with MWS, against the full-dataset mixture (the reference: q(z) = (1/N) Σ_n q(z|n) over all
N images, at the same z).

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python numerics/tcvae_mss_defect.py

Writes numerics/results/tcvae_mss_defect.md.
"""
import os
from pathlib import Path

import numpy as np

from refimpl.datasets.shapes import render
from refimpl.tcvae.kernels import mixture_lse
from refimpl.tcvae.mss import (log_importance_weight_matrix, log_qz_mss, log_qz_mws,
                               official_log_importance_weight_matrix)
from refimpl.tcvae.train import encode_all, train


def main(out="numerics/results/tcvae_mss_defect.md", iters=600, n_batches=200, B=256):
    imgs, _ = render()
    N = len(imgs)
    params, _ = train(imgs, np.random.default_rng(0), kind="tcvae", beta=2.0, iters=iters, batch_size=256,
                      warmup=iters // 2, log_every=0)
    mean, log_std = encode_all(params, imgs)
    rng = np.random.default_rng(1)
    W_ok, W_bad = log_importance_weight_matrix(B, N), official_log_importance_weight_matrix(B, N)
    rows = {k: ([], []) for k in ("full dataset", "MSS (correct)", "MSS (official matrix)", "MWS")}
    for _ in range(n_batches):
        idx = rng.choice(N, size=B, replace=False)
        m, ls = mean[idx], log_std[idx]
        z = m + np.exp(ls) * rng.standard_normal(m.shape)
        joint, dims = mixture_lse(z, mean, log_std)
        ests = {"full dataset": (joint - np.log(N), (dims - np.log(N)).sum(1)),
                "MSS (correct)": log_qz_mss(z, m, ls, N, W_ok),
                "MSS (official matrix)": log_qz_mss(z, m, ls, N, W_bad),
                "MWS": log_qz_mws(z, m, ls, N)}
        for k, (lq, lprod) in ests.items():
            rows[k][0].append(lq.mean())
            rows[k][1].append((lq - lprod).mean())
    ref_q, ref_tc = np.mean(rows["full dataset"][0]), np.mean(rows["full dataset"][1])
    load = os.getloadavg()
    lines = ["# β-TCVAE: the official MSS weight matrix's defect, measured", "",
             f"β-TCVAE (β = 2, {iters} iterations) on the rendered dSprites sub-grid (N = {N}); {n_batches} minibatches "
             f"of B = {B}; mean ± standard error over minibatches. 'full dataset' evaluates q(z) as the mixture over "
             "all N encoder densities at the same z (the reference). Command: "
             "`OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python numerics/tcvae_mss_defect.py`; Intel Xeon, 2 cores, "
             f"load {load[0]:.1f}.", "",
             "| estimator | E[log q(z)] | minus full dataset | TC | minus full dataset |", "|---|---|---|---|---|"]
    for k, (q, tc) in rows.items():
        q, tc = np.array(q), np.array(tc)
        se = lambda a: a.std(ddof=1) / np.sqrt(len(a))  # noqa: E731
        lines.append(f"| {k} | {q.mean():.3f} ± {se(q):.3f} | {q.mean() - ref_q:+.3f} | {tc.mean():.3f} ± {se(tc):.3f} "
                     f"| {tc.mean() - ref_tc:+.3f} |")
    lines += ["", "The official matrix gives each z_i's own component the weight 1/M (or the stratified weight) "
              "instead of 1/N and puts 1/N in column 0, so row M−1 no longer sums to 1 (it sums to "
              "1 + (N − 2M)/(N M)); the table shows how far that moves the estimates used in training."]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(out).write_text(text)


if __name__ == "__main__":
    main()
