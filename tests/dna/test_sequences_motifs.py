"""Encoding, FASTA and JASPAR readers, the PWM oracle, the embedded toy data."""
from pathlib import Path

import numpy as np
import pytest

from refimpl.dna import motifs, sequences as sq, toydata

JASPAR = Path(__file__).resolve().parents[3] / "shared" / "data" / "jaspar" / "JASPAR2024_CORE_vertebrates.jaspar"
if not JASPAR.exists():
    JASPAR = Path("/work/shared/data/jaspar/JASPAR2024_CORE_vertebrates.jaspar")


def test_encode_decode_round_trip_and_padding():
    seqs = ["ACGTTGCA", "GATTACA", "T"]
    X = sq.encode(seqs)
    assert X.shape == (3, 8, 5)                                   # padded with '*'
    assert np.allclose(X.sum(axis=2), 1.0)
    assert X[2, 1:, 4].all() and X[1, 7, 4] == 1
    assert sq.decode(X) == seqs
    Y = sq.encode(seqs[:1])
    assert Y.shape == (1, 8, 4) and sq.decode(Y) == seqs[:1]
    assert np.array_equal(np.argmax(sq.encode(["ACGT"])[0], axis=1), [0, 1, 2, 3])


def test_encode_bad_input_names_the_problem():
    with pytest.raises(ValueError, match="position 2"):
        sq.encode(["ACNT"])
    with pytest.raises(ValueError, match="pad"):
        sq.encode(["ACG", "AC"], pad=False)
    with pytest.raises(TypeError, match="seqs"):
        sq.encode("ACGT")


def test_reverse_complement():
    X = sq.encode(["AACGTTTG"])
    assert sq.decode(sq.reverse_complement(X)) == ["CAAACGTT"]


def test_fasta_round_trip(tmp_path):
    seqs = ["ACGT" * 20, "GATTACA"]
    sq.write_fasta(tmp_path / "a.fa", seqs, headers=["one", "two x"])
    assert sq.read_fasta(tmp_path / "a.fa") == [("one", seqs[0]), ("two x", seqs[1])]
    (tmp_path / "b.fa").write_text(">x\nACGT\nAC1T\n")
    with pytest.raises(ValueError, match=r"b.fa:3"):
        sq.read_fasta(tmp_path / "b.fa")


def test_jaspar_reader_on_written_file(tmp_path):
    text = (">MA9999.1\tToy\nA  [ 1 2 3 ]\nC  [ 4 5 6 ]\nG  [ 0 0 0 ]\nT  [ 7 8 9 ]\n"
            ">MA9998.1\tOther\nA [1]\nC [2]\nG [3]\nT [4]\n")
    (tmp_path / "m.jaspar").write_text(text)
    ms = motifs.read_jaspar(tmp_path / "m.jaspar")
    assert [m.id for m in ms] == ["MA9999.1", "MA9998.1"] and ms[0].name == "Toy"
    assert np.array_equal(ms[0].counts, [[1, 4, 0, 7], [2, 5, 0, 8], [3, 6, 0, 9]])
    assert motifs.load_motifs(tmp_path, ["MA9998.1"])[0].name == "Other"
    with pytest.raises(ValueError, match="MA0000.1"):
        motifs.load_motifs(tmp_path, ["MA0000.1"])


@pytest.mark.parametrize("bad, line", [
    (">M1\tX\nA [ 1 2 ]\nC [ 1 2 ]\nG [ 1 x ]\nT [ 1 2 ]\n", 4),      # non-numeric
    (">M1\tX\nA [ 1 2 ]\nC [ 1 2 ]\nG [ 1 2 ]\nT [ 1 2 3 ]\n", 5),    # ragged
    (">M1\tX\nA [ 1 2 3 ]\nC [ 1 2 ]\nG [ 1 2 ]\nT [ 1 2 ]\n", 2),    # ragged first row
    (">M1\tX\nA [ 1 2 ]\nC [ 1 2 ]\nG [ 1 ]\nT [ 1 2 ]\n>M2\tY\n", 4),  # ragged, not the last motif
    (">M1\tX\nA [ 1 2 ]\nC [ 1 2 ]\nG [ 1 2 ]\n>M2\tY\n", 1),         # missing T
    (">M1\tX\nA [ 1 2 ]\nQ [ 1 2 ]\n", 3),                             # unknown row
])
def test_jaspar_reader_errors_name_the_line(tmp_path, bad, line):
    (tmp_path / "bad.jaspar").write_text(bad)
    with pytest.raises(ValueError, match=rf"bad.jaspar:{line}:"):
        motifs.read_jaspar(tmp_path / "bad.jaspar")


@pytest.mark.parametrize("motif", motifs.embedded_motifs(), ids=lambda m: m.name)
def test_oracle_optimum_reached_by_consensus_and_by_no_random_sequence(motif):
    rng = np.random.default_rng(0)
    opt = motifs.oracle_optimum(motif)
    cons = motifs.consensus(motif)
    bg = toydata.random_sequences(rng, 2000, 30)
    s = bg[0][:5] + cons + bg[0][5 + len(cons):]
    assert motifs.oracle([s], motif)[0] == pytest.approx(opt, abs=1e-12)
    # reverse strand: the reverse complement of the consensus scores the same
    rc = sq.decode(sq.reverse_complement(sq.encode([s])))
    assert motifs.oracle(rc, motif)[0] == pytest.approx(opt, abs=1e-12)
    assert motifs.oracle(bg, motif).max() <= opt + 1e-12


def test_oracle_equals_brute_force():
    motif = motifs.embedded_motifs()[1]
    M = motifs.log_odds(motif)
    comp = {"A": "T", "C": "G", "G": "C", "T": "A"}
    rng = np.random.default_rng(1)
    for s in toydata.random_sequences(rng, 20, 18):
        rc = "".join(comp[c] for c in reversed(s))
        best = max(sum(M[i, "ACGT".index(t[p + i])] for i in range(len(motif)))
                   for t in (s, rc) for p in range(len(s) - len(motif) + 1))
        assert motifs.oracle([s], motif)[0] == pytest.approx(best, abs=1e-12)


def test_pwm_pseudocount():
    m = motifs.Motif("X", "x", [[20, 0, 0, 0]])
    assert np.allclose(motifs.pwm(m), [[20.2 / 20.8, 0.2 / 20.8, 0.2 / 20.8, 0.2 / 20.8]])


def test_log_odds_against_a_uniform_background():
    # log(PWM / 0.25): a uniform column scores 0 for every base; the optimum of a one-base
    # motif is log(p_max / 0.25)
    m = motifs.Motif("X", "x", [[20, 0, 0, 0], [5, 5, 5, 5]])
    M = motifs.log_odds(m, pseudocount=0.8)
    assert M[0, 0] == pytest.approx(np.log((20.2 / 20.8) / 0.25), abs=1e-12)
    assert np.allclose(M[1], 0.0, atol=1e-12)
    assert motifs.oracle_optimum(m, pseudocount=0.8) == pytest.approx(np.log((20.2 / 20.8) / 0.25))
    assert motifs.oracle(["CCAAGG"], m, pseudocount=0.8)[0] == pytest.approx(M[0, 0])


def test_toy_data_ground_truth():
    rng = np.random.default_rng(0)
    cod = toydata.coding_sequences(rng, 500)
    assert all(len(s) == 36 and toydata.valid_orf(s) for s in cod)
    assert not toydata.valid_orf("ATGTAAGGGTAA") and not toydata.valid_orf("ATGGGGCCC")
    seqs, pos = toydata.motif_sequences(rng, 100, motif="GATTACA")
    assert all(s[p:p + 7] == "GATTACA" for s, p in zip(seqs, pos))
    X, y, yn = toydata.binding_data(rng, motifs.embedded_motifs()[0], 300, noise_sd=0.5)
    assert np.allclose(y, motifs.oracle(X, motifs.embedded_motifs()[0]))
    assert 0.4 < np.std(yn - y) < 0.6


@pytest.mark.skipif(not JASPAR.exists(), reason="shared JASPAR file absent")
def test_real_jaspar_file_and_embedded_copies_agree():
    ms = motifs.read_jaspar(JASPAR)
    assert len(ms) == 879
    by_id = {m.id: m for m in ms}
    for m in motifs.embedded_motifs():
        assert by_id[m.id].name == m.name and np.array_equal(by_id[m.id].counts, m.counts)
