"""Generated-vs-real statistics: valid ORFs, k-mer spectra, motif occurrence, edit distance."""
from itertools import product

import numpy as np

from .sequences import ACGT
from .toydata import valid_orf

__all__ = ["valid_orf_fraction", "kmer_spectrum", "kmer_js", "motif_fraction", "edit_distance_to_nearest"]


def _nonempty(seqs, name="seqs"):
    seqs = list(seqs)
    if not seqs:
        raise ValueError(f"{name}: expected at least one sequence, got none (the fraction would be NaN)")
    return seqs


def valid_orf_fraction(seqs):
    return float(np.mean([valid_orf(s) for s in _nonempty(seqs)]))


def kmer_spectrum(seqs, k):
    """Frequencies of the 4^k k-mers over all positions of all sequences, shape (4^k,)."""
    index = {"".join(p): i for i, p in enumerate(product(ACGT, repeat=k))}
    c = np.zeros(4 ** k)
    for s in seqs:
        for i in range(len(s) - k + 1):
            j = index.get(s[i:i + k])
            if j is not None:
                c[j] += 1
    return c / max(c.sum(), 1.0)


def kmer_js(seqs_a, seqs_b, k):
    """Jensen–Shannon divergence (nats) between the k-mer spectra of two sets."""
    p, q = kmer_spectrum(seqs_a, k), kmer_spectrum(seqs_b, k)
    m = 0.5 * (p + q)

    def kl(a):
        nz = a > 0
        return np.sum(a[nz] * np.log(a[nz] / m[nz]))
    return float(0.5 * kl(p) + 0.5 * kl(q))


def motif_fraction(seqs, motif):
    """Fraction of sequences that contain ``motif`` (a string) exactly."""
    return float(np.mean([motif in s for s in _nonempty(seqs)]))


def edit_distance_to_nearest(designs, train):
    """Levenshtein distance of each design to its nearest training sequence, ``(n,)``.
    The dynamic programme runs over positions, vectorised over (design, training) pairs."""
    for name, ss in (("designs", designs), ("train", train)):
        if len(_nonempty(ss, name)) and len({len(s) for s in ss}) != 1:
            raise ValueError(f"{name}: expected sequences of one length, got lengths {sorted({len(s) for s in ss})}")
    A = np.array([[ord(c) for c in s] for s in designs])              # (n, La)
    B = np.array([[ord(c) for c in s] for s in train])                # (m, Lb)
    n, La = A.shape
    m, Lb = B.shape
    prev = np.broadcast_to(np.arange(Lb + 1), (n, m, Lb + 1)).copy()  # row i = 0
    for i in range(1, La + 1):
        cur = np.empty_like(prev)
        cur[:, :, 0] = i
        sub = (A[:, None, i - 1:i] != B[None, :, :]).astype(prev.dtype)  # (n, m, Lb)
        diag = prev[:, :, :-1] + sub
        up = prev[:, :, 1:] + 1
        best = np.minimum(diag, up)
        for j in range(1, Lb + 1):                                       # left neighbour
            cur[:, :, j] = np.minimum(best[:, :, j - 1], cur[:, :, j - 1] + 1)
        prev = cur
    return prev[:, :, Lb].min(axis=1)
