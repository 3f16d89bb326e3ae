"""Rows of `bench_peers.py` for the newer papers (issue 27: "rows for the newer papers once
they reach <= 1.0; their own issues name their benches").

Each builder reuses its paper's own bench (import, not copy) and returns bench_peers' row
contract ``(description, ours, peer, compare)``: two zero-argument callables doing one step,
and ``compare(first_ours, first_peer)`` giving the relative difference of their first results.

* β-TCVAE training step — `bench_tcvae.step_pair` (issue 20's bench);
* evidence-chains training step, trees + plans + model — `bench_evidence_chains.whole_step_pair`
  (issue 26's bench);
* PGD L∞ on the SCE conv classifier — `bench_attacks.pgd_pair` (issue 22's bench);
* WGAN-GP iteration — `bench_wgan.iteration_pair` (issue 23's bench).

Not here: AIS (`bench_ais.py`, 0.67): its HMC momenta are drawn by each library's own
generator, so the two sides agree statistically (bench_ais.md), not to 1e-8; the SVAE has no
PyTorch code to compare with (the official code is autograd on Python 2); the sampled MIG
(`bench_tcvae.md`, 0.09) is an evaluation taking minutes per call on the torch side.
"""
from pathlib import Path

import numpy as np

MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist5k"


def _rel(a, b):
    return abs(float(a) - float(b)) / abs(float(b))


def tcvae_row(quick=False):
    import bench_tcvae
    B = 64 if quick else 1024
    ours, peer, _ = bench_tcvae.step_pair(B)
    desc = (f"β-TCVAE step (MSS, β = 6; dSprites-style shapes, MLP 1024-256-256-20 / 10-256-256-1024, "
            f"batch {B}; refimpl autograd + numba log-density, peer tcvae_torch)")
    return desc, ours, peer, lambda a, b: _rel(a[0], b.detach())


def evidence_chains_row(quick=False):
    import bench_evidence_chains as bec
    from refimpl.evidence_chains.data import split, synthetic
    from refimpl.evidence_chains.model import init_params
    from refimpl.evidence_chains.train import build_training_graph
    rng = np.random.default_rng(0)
    data = synthetic(rng)
    train, _ = split(data, rng)
    graph = build_training_graph(train)
    params = init_params(rng, 30, 30, 16, 32, kappa=5.0)                # the experiments' model (EC_KW)
    batch, cap = (50, 16) if quick else (500, 64)
    idx = np.sort(np.random.default_rng(cap).choice(len(train), batch, replace=False))
    ours, peer = bec.whole_step_pair(params, graph, train, idx, cap)
    desc = (f"Evidence-chains training step (trees + plans + model value and gradient; ml-100k-sized "
            f"synthetic data, D 16, H 32, batch {batch}, node cap {cap}, depth 4; fused numba levels, "
            f"peer evidence_chains_torch)")
    return desc, ours, peer, _rel


def pgd_row(quick=False):
    import bench_attacks
    data_dir = MNIST if (MNIST.is_dir() and not quick) else None
    steps = 3 if quick else 40
    ours, peer, _ = bench_attacks.pgd_pair(data_dir, 0.1, steps)
    desc = (f"PGD L∞ attack, {steps} steps, eps 0.1, batch 256 (SCE conv 5x5x8 -> pool -> 64 -> 10, "
            f"{'mnist5k' if data_dir else 'procedural digits'}; peer attacks_torch; "
            f"diff column: max |x_adv difference|)")
    return desc, ours, peer, lambda a, b: float(np.max(np.abs(a - b)))


def wgan_row(quick=False):
    import bench_wgan
    ours, peer, _ = bench_wgan.iteration_pair()
    desc = (f"WGAN-GP iteration (5 critic steps with the gradient penalty + 1 generator step; batch "
            f"{bench_wgan.B}, length {bench_wgan.L}, {bench_wgan.DIM} channels, 5 residual blocks; refimpl's "
            f"fused step dna.wgan_fused, peer dna_wgan_torch)")

    def compare(a, b):                           # the 5 critic losses and the generator loss
        return max(_rel(x, y) for x, y in zip(a[0] + [a[1]], b[0] + [b[1]]))
    return desc, ours, peer, compare


ROWS = (tcvae_row, evidence_chains_row, pgd_row, wgan_row)
