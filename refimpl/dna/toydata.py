"""Embedded data with ground truth, as the official toy scripts (Killoran et al. 2017, Sec. 3.1):

* `coding_sequences`: open reading frames of length 36 — ATG, ten random non-stop codons,
  one stop codon (TAA, TAG or TGA); every training sequence is a valid ORF.
* `motif_sequences`: uniform random background with one motif string planted at a random
  position (default: the consensus of JASPAR MA0108.3 TBP, ``TATAAAA``-like).
* `binding_data`: uniform random sequences scored by the noiseless PWM oracle of a JASPAR
  motif (`motifs.oracle`); Gaussian noise is added to the training labels only. It stands
  in for the paper's protein-binding-microarray data (Sec. 3.3), with the advantage that the
  true score of any designed sequence, and the best possible score, are known exactly.
"""
import numpy as np

from .motifs import consensus, embedded_motifs, oracle
from .sequences import ACGT, encode

__all__ = ["STOP_CODONS", "coding_sequences", "valid_orf", "motif_sequences", "binding_data",
           "random_sequences"]

STOP_CODONS = ("TAA", "TAG", "TGA")
_CODONS = [a + b + c for a in ACGT for b in ACGT for c in ACGT]
_SENSE = [c for c in _CODONS if c not in STOP_CODONS]          # 61 non-stop codons


def _check_rng(rng):
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng: expected numpy.random.Generator, got {type(rng).__name__}")


def random_sequences(rng, n, length):
    """``n`` uniform random ACGT strings of ``length``."""
    _check_rng(rng)
    idx = rng.integers(0, 4, size=(int(n), int(length)))
    return ["".join(ACGT[i] for i in row) for row in idx]


def coding_sequences(rng, n, length=36):
    """[DNA Sec. 3.1] ``n`` ORFs: ATG + (length/3 - 2) random sense codons + a stop codon."""
    _check_rng(rng)
    if length % 3 or length < 6:
        raise ValueError(f"length: expected a multiple of 3 that is >= 6, got {length}")
    k = length // 3 - 2
    mid = rng.integers(0, len(_SENSE), size=(int(n), k))
    stop = rng.integers(0, 3, size=int(n))
    return ["ATG" + "".join(_SENSE[j] for j in row) + STOP_CODONS[s] for row, s in zip(mid, stop)]


def valid_orf(seq):
    """True if ``seq`` starts with ATG, ends with a stop codon, has length divisible by 3
    and no in-frame stop codon before the last."""
    if len(seq) % 3 or len(seq) < 6 or not seq.startswith("ATG"):
        return False
    codons = [seq[i:i + 3] for i in range(0, len(seq), 3)]
    return codons[-1] in STOP_CODONS and not any(c in STOP_CODONS for c in codons[:-1])


def motif_sequences(rng, n, length=36, motif=None):
    """``n`` uniform random sequences, each with ``motif`` (a string) planted at a uniformly
    random position. Returns (sequences, positions)."""
    _check_rng(rng)
    if motif is None:
        motif = consensus(embedded_motifs()[2])                 # MA0108.3 TBP
    if len(motif) > length:
        raise ValueError(f"motif: length {len(motif)} exceeds sequence length {length}")
    seqs = random_sequences(rng, n, length)
    pos = rng.integers(0, length - len(motif) + 1, size=int(n))
    return [s[:p] + motif + s[p + len(motif):] for s, p in zip(seqs, pos)], pos


def binding_data(rng, motif, n, length=36, noise_sd=0.5):
    """[DNA Sec. 3.3] Random sequences and their binding scores under ``motif``'s oracle.

    Returns ``X: (n, length, 4)`` one-hot, ``y: (n,)`` the noiseless oracle scores, and
    ``y_noisy = y + noise_sd * N(0, 1)`` (the training labels).
    """
    _check_rng(rng)
    if noise_sd < 0:
        raise ValueError(f"noise_sd: expected >= 0, got {noise_sd}")
    X = encode(random_sequences(rng, n, length), pad=False)
    y = oracle(X, motif)
    return X, y, y + noise_sd * rng.standard_normal(y.shape)
