"""DNA sequences as one-hot arrays, and FASTA files.

Layout: a batch of sequences is ``X: (N, L, V)``, one row per position, one column per
letter of the alphabet ``ACGT`` (V = 4) or, for variable-length data, ``ACGT*`` (V = 5),
where ``*`` pads a sequence to the common length L (the official code's vocabulary has the
same padding token). Channel order ACGT makes the complement a channel flip (A<->T, C<->G):
the reverse complement of ``X`` is ``X[:, ::-1, ::-1]`` (on the four nucleotide channels).
"""
from pathlib import Path

import numpy as np

__all__ = ["ACGT", "ACGT_PAD", "PAD", "encode", "decode", "reverse_complement",
           "read_fasta", "write_fasta"]

ACGT = "ACGT"
PAD = "*"
ACGT_PAD = ACGT + PAD


def _check_seqs(seqs, name="seqs"):
    if isinstance(seqs, str):
        raise TypeError(f"{name}: expected a list of strings, got one string {seqs[:20]!r}...; "
                        "wrap it in a list")
    seqs = [str(s).upper() for s in seqs]
    if not seqs:
        raise ValueError(f"{name}: expected at least one sequence, got none")
    return seqs


def encode(seqs, length=None, pad=None):
    """One-hot encode ``seqs`` (list of str) as a float array ``(N, L, V)``.

    ``length``: L (default: the longest sequence). ``pad``: use the alphabet ``ACGT*`` and
    pad shorter sequences with ``*`` (default: True exactly when the lengths differ or
    ``length`` exceeds one of them). Letters outside the alphabet raise a ValueError naming
    the sequence and position.
    """
    seqs = _check_seqs(seqs)
    lens = [len(s) for s in seqs]
    L = max(lens) if length is None else int(length)
    if max(lens) > L:
        i = int(np.argmax(lens))
        raise ValueError(f"length: sequence {i} has length {lens[i]} > length={L}")
    if pad is None:
        pad = min(lens) < L
    alphabet = ACGT_PAD if pad else ACGT
    if not pad and min(lens) < L:
        i = int(np.argmin(lens))
        raise ValueError(f"pad: sequence {i} has length {lens[i]} < {L}; pass pad=True to pad with '*'")
    lut = np.full(256, -1, dtype=np.int64)
    for c, ch in enumerate(alphabet):
        lut[ord(ch)] = c
    idx = np.full((len(seqs), L), len(alphabet) - 1, dtype=np.int64)   # pad index (if pad)
    for n, s in enumerate(seqs):
        codes = lut[np.frombuffer(s.encode("ascii", errors="replace"), dtype=np.uint8)]
        if (codes < 0).any():
            j = int(np.argmax(codes < 0))
            raise ValueError(f"seqs: sequence {n} has {s[j]!r} at position {j}; "
                             f"expected letters of {alphabet!r}")
        idx[n, :len(s)] = codes
    return np.eye(len(alphabet))[idx]                                   # (N, L, V)


def decode(X, alphabet=None):
    """The strings of ``X: (N, L, V)`` (one-hot or distributions: argmax per position).
    ``alphabet``: ``ACGT`` for V = 4, ``ACGT*`` for V = 5 (default by V); ``*`` is stripped."""
    X = np.asarray(X)
    if X.ndim != 3:
        raise ValueError(f"X: expected shape (N, L, V), got {X.shape}")
    alphabet = alphabet or {4: ACGT, 5: ACGT_PAD}.get(X.shape[2])
    if alphabet is None or len(alphabet) != X.shape[2]:
        raise ValueError(f"X: last axis {X.shape[2]} does not match alphabet {alphabet!r}")
    letters = np.array(list(alphabet))[np.argmax(X, axis=2)]
    return ["".join(r).replace(PAD, "") for r in letters]


def reverse_complement(X):
    """``X: (N, L, 4)`` -> its reverse complement (positions reversed, A<->T, C<->G)."""
    if np.shape(X)[-1] != 4:
        raise ValueError(f"X: expected 4 nucleotide channels, got shape {np.shape(X)}")
    return X[:, ::-1, ::-1]


def read_fasta(path):
    """[(header, sequence)] from a FASTA file (``>`` header lines; sequence lines joined)."""
    path = Path(path)
    records, header, chunks = [], None, []
    for ln, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith(">"):
            if header is not None:
                records.append((header, "".join(chunks)))
            header, chunks = line[1:].strip(), []
        else:
            if header is None:
                raise ValueError(f"{path}:{ln}: sequence before the first '>' header")
            bad = set(line.upper()) - set(ACGT_PAD + "N")
            if bad:
                raise ValueError(f"{path}:{ln}: unexpected letters {sorted(bad)} in a sequence line")
            chunks.append(line.upper())
    if header is not None:
        records.append((header, "".join(chunks)))
    if not records:
        raise ValueError(f"{path}: no FASTA records")
    return records


def write_fasta(path, seqs, headers=None, width=60):
    """Write ``seqs`` (list of str) to ``path``; headers default to ``seq0, seq1, ...``."""
    seqs = _check_seqs(seqs)
    headers = [f"seq{i}" for i in range(len(seqs))] if headers is None else list(headers)
    if len(headers) != len(seqs):
        raise ValueError(f"headers: {len(headers)} headers for {len(seqs)} sequences")
    lines = []
    for h, s in zip(headers, seqs):
        lines.append(f">{h}")
        lines += [s[i:i + width] for i in range(0, max(len(s), 1), width)]
    Path(path).write_text("\n".join(lines) + "\n")
