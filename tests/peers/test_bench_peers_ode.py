"""bench_peers' ODE rows take torchdiffeq's steps on the refimpl side (controller="torchdiffeq",
the tuple CNF state): equal evaluation counts, forward and backward, and the same first loss
to 1e-8 (issue 27; the plain-dynamics adjoint row: its gradient)."""
import re
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("torchdiffeq")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "numerics"))

import bench_peers  # noqa: E402


@pytest.mark.parametrize("row", ["spiral_row", "ffjord_row", "planar_cnf_row",
                                 "adjoint_plain_row"])
def test_ode_row_same_steps_and_first_loss(row):
    desc, ours, peer, compare = getattr(bench_peers, row)(quick=True)[:4]
    counts = re.search(r"NFE fwd\+bwd refimpl (\d+)\+(\d+), torchdiffeq (\d+)\+(\d+)", desc)
    assert counts is not None, desc
    nf, nb, pf, pb = map(int, counts.groups())
    assert (nf, nb) == (pf, pb)
    assert compare(ours(), peer()) <= 1e-8
