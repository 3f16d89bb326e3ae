"""The three registered experiments at a toy scale: the issue's metric keys (a public
contract) are present and finite, and the reported scores are oracle scores (never above
the oracle's optimum)."""
import math

import pytest

from refimpl.dna import experiments as dx, motifs
from refimpl.experiments import run_experiment


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setattr(dx, "_gan_scale", lambda cfg, full_iters=3000: dict(iters=2, dim=4, batch=8))
    monkeypatch.setattr(dx, "_design_scale", lambda cfg: dict(n_train=200, epochs=1, n=3, steps=2, pool=1,
                                                              edit_ref=20))


def _finite(m, key):
    assert key in m, f"missing metric {key!r}"
    assert isinstance(m[key], float) and math.isfinite(m[key]), f"{key}: {m[key]!r}"
    return m[key]


def test_dna_gan_keys(tiny, tmp_path):
    m = run_experiment("dna-gan", quick=True, out=tmp_path, progress=False)["metrics"]
    for toy in ("coding", "motif"):
        for k in range(1, 7):
            assert _finite(m, f"{toy}/kmer{k}_js") >= 0.0
    assert 0.0 <= _finite(m, "coding/valid_orf_fraction") <= 1.0
    assert _finite(m, "coding/valid_orf_fraction_train") == 1.0 and _finite(m, "motif/motif_fraction_train") == 1.0


def test_dna_design_and_extrapolation_keys(tiny, tmp_path):
    r = run_experiment("dna-design", quick=True, out=tmp_path, progress=False)
    m, ms = r["metrics"], motifs.embedded_motifs()[:3]
    assert len(ms) >= 3
    for mo in ms:
        opt = _finite(m, f"{mo.label}/oracle_optimum")
        assert opt == pytest.approx(motifs.oracle_optimum(mo), abs=1e-12)
        assert _finite(m, f"{mo.label}/train_max") <= opt + 1e-9
        for meth in ("gan", "joint", "deepdream"):
            assert _finite(m, f"{mo.label}/{meth}/oracle_mean") <= _finite(m, f"{mo.label}/{meth}/oracle_max")
            assert m[f"{mo.label}/{meth}/oracle_max"] <= opt + 1e-9
            assert _finite(m, f"{mo.label}/{meth}/edit_to_train_mean") >= 0.0
    m = run_experiment("dna-extrapolation", quick=True, out=tmp_path, progress=False)["metrics"]
    thr, opt = _finite(m, "threshold"), _finite(m, "oracle_optimum")
    assert _finite(m, "train_max_below") < thr <= opt
    for meth in ("gan", "joint", "deepdream"):
        assert _finite(m, f"{meth}/oracle_max") <= opt + 1e-9
        assert 0.0 <= _finite(m, f"{meth}/frac_above_threshold") <= 1.0
