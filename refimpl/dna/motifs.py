"""JASPAR motifs, position weight matrices, and the PWM oracle that scores binding.

A JASPAR text file holds position frequency matrices (counts)::

    >MA0004.1<TAB>Arnt
    A  [     4     19      0      0      0      0 ]
    C  [    16      0     20      0      0      0 ]
    G  [     0      1      0     20      0     20 ]
    T  [     0      0      0      0     20      0 ]

The oracle is the stand-in for the paper's protein-binding-microarray measurements (Killoran
et al. 2017, Sec. 3.3): a sequence's binding score is the best log-odds match of the motif
over every window on both strands,

    oracle(s) = max_{strand, t} Σ_i log( PWM[i, s_{t+i}] / 0.25 ),
    PWM[i, c] = (counts[i, c] + 0.8/4) / (Σ_c counts[i, c] + 0.8)           (pseudocount 0.8),

natural logarithms against a uniform background. Its optimum is known exactly,
Σ_i max_c log(PWM[i, c] / 0.25), reached by the consensus sequence. The pseudocount 0.8
(spread evenly, 0.2 per nucleotide) is the default of TFBSTools' ``toPWM``, the JASPAR
team's R package.

The motifs embedded below are copied (counts unchanged) from JASPAR 2024 CORE vertebrates
(Rauluseviciute et al., JASPAR 2024, Nucleic Acids Research 52(D1), 2024; CC BY 4.0).
"""
import re
from pathlib import Path

import numpy as np

from .sequences import ACGT, encode, reverse_complement

__all__ = ["Motif", "read_jaspar", "parse_jaspar", "pwm", "log_odds", "oracle",
           "oracle_optimum", "consensus", "EMBEDDED", "embedded_motifs", "load_motifs"]

PSEUDOCOUNT = 0.8


class Motif:
    """A JASPAR motif: ``id`` (e.g. "MA0139.2"), ``name`` (e.g. "CTCF"), ``counts: (K, 4)``."""

    def __init__(self, id, name, counts):
        counts = np.asarray(counts, dtype=float)
        if counts.ndim != 2 or counts.shape[1] != 4 or counts.shape[0] < 1:
            raise ValueError(f"counts: expected shape (K, 4), got {counts.shape}")
        if not np.all(np.isfinite(counts)) or (counts < 0).any():
            raise ValueError(f"counts of {id}: expected finite non-negative numbers")
        self.id, self.name, self.counts = str(id), str(name), counts

    def __len__(self):
        return self.counts.shape[0]

    @property
    def label(self):
        """A short key for metric names: ``MA0139.2_CTCF``."""
        return f"{self.id}_{re.sub(r'[^A-Za-z0-9.-]+', '-', self.name)}"

    def __repr__(self):
        return f"Motif({self.id!r}, {self.name!r}, length {len(self)})"


_ROW = re.compile(r"^\s*([ACGT])\s*\[\s*([^\]]*?)\s*\]\s*$")


def parse_jaspar(text, source="<text>"):
    """Parse JASPAR-format text into a list of `Motif`; errors name ``source:line``."""
    motifs, header, rows = [], None, {}

    def finish(ln):
        if header is None:
            return
        hid, hname, hln = header
        missing = [c for c in ACGT if c not in rows]
        if missing:
            raise ValueError(f"{source}:{hln}: motif {hid} has no row(s) {missing} "
                             f"(expected A, C, G, T before line {ln})")
        lens = {c: len(rows[c][0]) for c in ACGT}
        if len(set(lens.values())) != 1:
            # name the first row whose length differs from the most common one (ties: row A's)
            common = max(lens.values(), key=list(lens.values()).count)
            bad = next(c for c in ACGT if lens[c] != common)
            raise ValueError(f"{source}:{rows[bad][1]}: motif {hid} row {bad} has {lens[bad]} counts, "
                             f"the others {common} (row lengths {lens})")
        motifs.append(Motif(hid, hname, np.array([rows[c][0] for c in ACGT]).T))

    lines = text.splitlines()
    for ln, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if line.startswith(">"):
            finish(ln)
            parts = line[1:].split(None, 1)
            if not parts:
                raise ValueError(f"{source}:{ln}: empty motif header")
            header, rows = (parts[0], parts[1].strip() if len(parts) > 1 else parts[0], ln), {}
            continue
        m = _ROW.match(line)
        if header is None or m is None:
            raise ValueError(f"{source}:{ln}: expected '>ID name' or a row 'A [ counts ]', "
                             f"got {line.strip()[:60]!r}")
        c = m.group(1)
        if c in rows:
            raise ValueError(f"{source}:{ln}: row {c} repeated in motif {header[0]}")
        try:
            vals = [float(v) for v in m.group(2).split()]
        except ValueError:
            raise ValueError(f"{source}:{ln}: non-numeric count in row {c} of motif {header[0]}") from None
        if not vals or any(not np.isfinite(v) or v < 0 for v in vals):
            raise ValueError(f"{source}:{ln}: row {c} of motif {header[0]} must hold "
                             "non-negative finite counts")
        rows[c] = (vals, ln)
    finish(len(lines) + 1)
    if not motifs:
        raise ValueError(f"{source}: no motifs found")
    return motifs


def read_jaspar(path):
    """The motifs in a JASPAR text file (list of `Motif`)."""
    path = Path(path)
    return parse_jaspar(path.read_text(), source=str(path))


def pwm(motif, pseudocount=PSEUDOCOUNT):
    """Position probability matrix ``(K, 4)``: (counts + pc/4) / (column total + pc)."""
    c = motif.counts + pseudocount / 4.0
    return c / c.sum(axis=1, keepdims=True)


def log_odds(motif, pseudocount=PSEUDOCOUNT):
    """``M[i, c] = log(PWM[i, c] / 0.25)``, shape (K, 4)."""
    return np.log(pwm(motif, pseudocount) / 0.25)


def oracle_optimum(motif, pseudocount=PSEUDOCOUNT):
    """Σ_i max_c log(PWM[i, c] / 0.25): the best score any sequence can reach."""
    return float(log_odds(motif, pseudocount).max(axis=1).sum())


def consensus(motif):
    """The consensus string (argmax per position; it reaches `oracle_optimum`)."""
    return "".join(ACGT[i] for i in np.argmax(log_odds(motif), axis=1))


def window_scores(X, M):
    """``X: (N, L, 4)``, ``M: (K, 4)`` -> (N, L-K+1) log-odds of every window, one strand."""
    K, L = M.shape[0], X.shape[1]
    return sum(X[:, i:L - K + 1 + i] @ M[i] for i in range(K))


def oracle(X, motif, pseudocount=PSEUDOCOUNT):
    """The noiseless binding score of each sequence: ``(N,)``.

    ``X``: one-hot ``(N, L, 4)`` or a list of ACGT strings of equal length L >= len(motif).
    """
    if not isinstance(X, np.ndarray):
        X = encode(X, pad=False)
    if X.ndim != 3 or X.shape[2] != 4:
        raise ValueError(f"X: expected one-hot (N, L, 4) over ACGT, got shape {X.shape}")
    if X.shape[1] < len(motif):
        raise ValueError(f"X: length {X.shape[1]} is shorter than motif {motif.id} ({len(motif)})")
    M = log_odds(motif, pseudocount)
    fwd = window_scores(X, M)
    rev = window_scores(reverse_complement(X), M)
    return np.maximum(fwd.max(axis=1), rev.max(axis=1))


# --- embedded motifs: JASPAR 2024 CORE vertebrates, counts as published (CC BY 4.0) ---
_EMBEDDED_TEXT = """\
>MA0139.2\tCTCF
A  [   281     56      8    744     40    107    851      5    333     54     12     56    104    372     82 ]
C  [    49    800    903     13    528    433     11      0      3     12      0      8    733     13    482 ]
G  [   449     21      0     65    334     48     32    903    566    504    890    775      5    507    307 ]
T  [   134     36      2     91     11    324     18      3      9    341      8     71     67     17     37 ]
>MA0107.1\tRELA
A  [     0      0      0     11     10      2      0      0      0      0 ]
C  [     4      0      0      0      3      0      0      2     18     18 ]
G  [    11     17     18      7      4      0      0      0      0      0 ]
T  [     3      1      0      0      1     16     18     16      0      0 ]
>MA0108.3\tTBP
A  [    16    352      3    354    268    360    222 ]
C  [    46      0     10      0      0      3      2 ]
G  [    18      2      2      5      0     20     44 ]
T  [   309     35    374     30    121      6    121 ]
>MA0004.1\tArnt
A  [     4     19      0      0      0      0 ]
C  [    16      0     20      0      0      0 ]
G  [     0      1      0     20      0     20 ]
T  [     0      0      0      0     20      0 ]
"""
EMBEDDED = ("MA0139.2", "MA0107.1", "MA0108.3", "MA0004.1")


def embedded_motifs():
    """The four embedded JASPAR motifs (CTCF, RELA, TBP, Arnt), in that order."""
    return parse_jaspar(_EMBEDDED_TEXT, source="refimpl.dna.motifs (embedded)")


def load_motifs(data_dir=None, ids=None):
    """Motifs by JASPAR ID from every ``*.jaspar`` file in ``data_dir`` (or the embedded
    ones when ``data_dir`` is None). ``ids=None``: all of them. Unknown IDs raise a
    ValueError naming them."""
    if data_dir is None:
        motifs = embedded_motifs()
    else:
        files = sorted(Path(data_dir).rglob("*.jaspar"))
        if not files:
            raise ValueError(f"data_dir: no *.jaspar file under {data_dir}")
        motifs = [m for f in files for m in read_jaspar(f)]
    if ids is None:
        return motifs
    by_id = {m.id: m for m in motifs}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise ValueError(f"ids: motif(s) {missing} not found ({len(by_id)} motifs available)")
    return [by_id[i] for i in ids]
