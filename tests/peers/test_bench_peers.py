"""bench_peers: every row's peer computes the same first loss (and VAE gradient) as refimpl."""
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("torchdiffeq")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "numerics"))

import bench_peers  # noqa: E402


def _flat(leaves):
    """Gradient leaves (NumPy arrays or torch tensors) -> one flat NumPy vector."""
    return np.concatenate([np.asarray(getattr(a, "numpy", lambda: a)()).ravel() for a in leaves])


@pytest.mark.parametrize("objective,estimator,K", [
    ("vae", "total", 1), ("vae", "stl", 3), ("vae", "dreg", 3),
    ("iwae", "total", 5), ("iwae", "stl", 5), ("iwae", "dreg", 5)])
def test_vae_peer_same_loss_and_gradient(objective, estimator, K):
    _, ours, peer, compare = bench_peers.vae_row(objective, estimator, K, quick=True)
    a, b = ours(), peer()
    assert compare(a, b) <= 1e-12
    # the estimators differ only in the gradient: it must match too (refimpl returns the
    # surrogate's gradient, the peer the loss's: one sign apart)
    np.testing.assert_allclose(-_flat(a[1]), _flat(b[1]), rtol=1e-10, atol=1e-12)


def test_vae_peer_estimators_differ():
    """The gradient check above can fail: STL and total gradients differ at K = 5."""
    g = {e: _flat(bench_peers.vae_row("iwae", e, 5, quick=True)[2]()[1]) for e in ("total", "stl", "dreg")}
    assert np.max(np.abs(g["total"] - g["stl"])) > 1e-6
    assert np.max(np.abs(g["stl"] - g["dreg"])) > 1e-6


def test_quick_main_runs():
    text = bench_peers.main(repeats=1, quick=True, only="IWAE stl K=5", write=False)
    assert "ratio" in text and "IWAE stl K=5" in text


@pytest.mark.parametrize("builder", ["tcvae_row", "evidence_chains_row", "pgd_row", "wgan_row"])
def test_newer_paper_rows_agree_with_their_peers(builder):
    """The newer papers' rows compute the same first step on both sides (same weights, draws
    and plans): a peer drifting from refimpl's definition would make the timing meaningless."""
    import bench_peers_newer
    desc, ours, peer, compare = getattr(bench_peers_newer, builder)(quick=True)
    a, b = ours(), peer()
    assert compare(a, b) <= 1e-10, desc
    a2, b2 = ours(), peer()                       # the timed calls: a second step still agrees
    assert compare(a2, b2) <= 1e-10, desc


@pytest.mark.parametrize("gradient", ["backprop", "adjoint"])
def test_latent_ode_peer_same_first_loss_and_second(gradient):
    """The example's model built from refimpl's blocks = the torch port, with torchdiffeq's
    steps on both sides: the same NFE, the first loss to 1e-8, and the loss after one Adam
    step too (so the gradients agree)."""
    desc, ours, peer, compare = bench_peers.latent_ode_row(gradient, quick=True,
                                                           controller="torchdiffeq")
    a, b = ours(), peer()
    # NFE forward (and backward for the adjoint; backprop: refimpl counts VJPs, torch none)
    assert a[1] == b[1] and (gradient == "backprop" or a[2] == b[2]), desc
    assert compare(a, b) <= 1e-8
    a2, b2 = ours(), peer()
    assert abs(a2[0] - a[0]) > 1e-3 * abs(a[0])          # the step moved the weights
    assert compare(a2, b2) <= 1e-8


def test_odenet_classifier_peer_same_first_loss_and_second():
    desc, ours, peer, compare = bench_peers.odenet_classifier_row(quick=True,
                                                                  controller="torchdiffeq")
    a, b = ours(), peer()
    assert a[1:] == b[1:], desc
    assert compare(a, b) <= 1e-8
    a2, b2 = ours(), peer()
    assert abs(a2[0] - a[0]) > 1e-4 * abs(a[0])
    assert compare(a2, b2) <= 1e-8


def test_splice_replaces_a_row_by_name_and_appends_new_ones(tmp_path):
    md = tmp_path / "b.md"
    md.write_text("# T\n\nhead\n\n| row | a |\n|---|---|\n| FFJORD toy iteration (x) | 1 |\n"
                  "| VAE total K=1 (y) | 2 |\n\nNotes.\n")
    bench_peers.splice(["| VAE total K=1 (z) | 3 |", "| Latent ODE iteration (w) | 4 |"], 7, md)
    lines = md.read_text().split("\n")
    assert lines[6:9] == ["| FFJORD toy iteration (x) | 1 |", "| VAE total K=1 (z) | 3 |",
                          "| Latent ODE iteration (w) | 4 |"]
    # the notes are the script's NOTES (the stale "Notes." goes), then one line per spliced row
    assert "Notes." not in lines and lines[10] == bench_peers.NOTES.split("\n")[0]
    assert lines[-2].startswith("Spliced row 'Latent ODE iteration':")


def test_quick_main_runs_the_ode_rows_only():
    """--quick --only: the keyed rows are built only when asked for (NFE in the label)."""
    text = bench_peers.main(repeats=1, quick=True, only="ODE-Net classifier", write=False)
    rows = [ln for ln in text.split("\n") if ln.startswith("| ODE-Net")]
    assert len(rows) == 1 and "NFE fwd+bwd refimpl 14+14, torchdiffeq 14+14" in rows[0]
    assert not any(ln.startswith("| Latent ODE") for ln in text.split("\n"))


def test_a_row_behind_pytorch_leaves_the_table(monkeypatch):
    """Issue 27: a row with ratio > 1.0 is listed under the table, not in it."""
    import time
    clock = iter(range(1000))
    monkeypatch.setattr(time, "process_time", lambda: next(clock))

    def slow():                                  # refimpl side: 2 ticks per call, peer 1
        next(clock)
        return (1.0,)
    build = bench_peers._keyed("Fake row", lambda: ("Fake row (x)", slow, lambda: (1.0,),
                                                    lambda a, b: 0.0))
    monkeypatch.setattr(bench_peers, "rows", lambda quick=False: [build])
    text = bench_peers.main(repeats=3, quick=True, write=False)
    table = [ln for ln in text.split("\n") if ln.startswith("| Fake row")]
    assert table == [] and "- Fake row (x); " in text and "Rows behind PyTorch" in text
