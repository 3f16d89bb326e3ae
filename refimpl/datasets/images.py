"""Small labelled image sets: procedurally rendered digits (the embedded default) and MNIST
IDX files read from a folder the user already has.

The procedural digits are pen strokes (one polyline set per digit class) under a random
affine map (rotation, scale, shear, shift) and a random pen width, rendered anti-aliased by
distance to the strokes. They are MNIST-like in layout (a centred white digit on black,
28×28 or 14×14, values in [0, 1]) but cost no download, so every image experiment runs
offline; with `data_dir` the same experiments read real MNIST.

IDX format (LeCun et al.): big-endian; bytes 0–1 zero, byte 2 the element type
(0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), byte 3 the
number of dimensions, then one int32 per dimension, then the data.
"""
import gzip
import math
from pathlib import Path

import numpy as np

from ..io import DataError

# --- procedural digits -------------------------------------------------------------

# Strokes in a unit box (x right, y down); each digit is a list of polylines.
_STROKES = {
    0: [[(0.5, 0.08), (0.3, 0.15), (0.22, 0.5), (0.3, 0.85), (0.5, 0.92), (0.7, 0.85), (0.78, 0.5),
         (0.7, 0.15), (0.5, 0.08)]],
    1: [[(0.35, 0.25), (0.55, 0.08), (0.55, 0.92)]],
    2: [[(0.25, 0.28), (0.35, 0.12), (0.6, 0.1), (0.75, 0.25), (0.7, 0.45), (0.25, 0.9), (0.8, 0.9)]],
    3: [[(0.25, 0.15), (0.7, 0.12), (0.48, 0.45), (0.75, 0.62), (0.65, 0.88), (0.25, 0.85)]],
    4: [[(0.65, 0.92), (0.65, 0.08), (0.2, 0.65), (0.82, 0.65)]],
    5: [[(0.75, 0.1), (0.3, 0.1), (0.28, 0.45), (0.62, 0.42), (0.76, 0.66), (0.6, 0.9), (0.25, 0.85)]],
    6: [[(0.7, 0.1), (0.4, 0.3), (0.28, 0.65), (0.4, 0.9), (0.65, 0.88), (0.72, 0.65), (0.55, 0.5),
         (0.3, 0.6)]],
    7: [[(0.2, 0.1), (0.8, 0.1), (0.42, 0.92)]],
    8: [[(0.5, 0.5), (0.3, 0.32), (0.38, 0.12), (0.62, 0.12), (0.7, 0.32), (0.5, 0.5), (0.27, 0.7),
         (0.38, 0.9), (0.62, 0.9), (0.73, 0.7), (0.5, 0.5)]],
    9: [[(0.7, 0.42), (0.45, 0.5), (0.3, 0.35), (0.4, 0.12), (0.65, 0.12), (0.7, 0.4), (0.6, 0.92)]],
}


def _segments(label):
    segs = []
    for line in _STROKES[label]:
        segs += [(a, b) for a, b in zip(line[:-1], line[1:])]
    return np.array(segs, dtype=float)                       # (S, 2, 2)


def _render_one(rng, label, size):
    segs = _segments(label) - 0.5                            # centred at 0
    ang = rng.uniform(-0.25, 0.25)
    sc = rng.uniform(0.75, 0.95)
    shear = rng.uniform(-0.25, 0.25)
    M = sc * np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]]) @ np.array([[1, shear], [0, 1]])
    shift = rng.uniform(-0.06, 0.06, 2)
    segs = segs @ M.T + 0.5 + shift                          # (S, 2, 2) in [0,1]²
    width = rng.uniform(0.045, 0.085)
    g = (np.arange(size) + 0.5) / size
    P = np.stack(np.meshgrid(g, g), -1).reshape(-1, 1, 2)   # (size², 1, 2) pixel centres (x, y)
    a, b = segs[None, :, 0], segs[None, :, 1]                # (1, S, 2)
    ab = b - a
    t = np.clip(np.sum((P - a) * ab, -1) / np.maximum(np.sum(ab * ab, -1), 1e-12), 0, 1)
    d = np.linalg.norm(P - (a + t[..., None] * ab), axis=-1).min(axis=1)   # (size²,)
    soft = 1.0 / size
    return np.clip((width - d) / soft + 0.5, 0.0, 1.0)


def procedural_digits(n, rng, size=28):
    """Render n digits: returns (X (n, size*size) in [0, 1], y (n,) int64 labels 0..9)."""
    if size not in (14, 28):
        raise ValueError(f"size: expected 14 or 28, got {size!r}")
    y = rng.integers(0, 10, n)
    X = np.stack([_render_one(rng, int(lab), size) for lab in y]) if n else np.zeros((0, size * size))
    return X, y.astype(np.int64)


# --- MNIST IDX files ---------------------------------------------------------------

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class IDXFormatError(DataError):
    """An IDX file is malformed (the message names the file and what is wrong)."""


def read_idx(path):
    """Read an IDX file (optionally gzip-compressed) into a NumPy array."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:            # missing, unreadable, or a corrupt .gz
        raise IDXFormatError(f"{path}: cannot be read ({type(e).__name__}: {e})") from None
    if len(raw) < 4:
        raise IDXFormatError(f"{path}: file too short for an IDX header ({len(raw)} bytes)")
    if raw[0] != 0 or raw[1] != 0:
        raise IDXFormatError(f"{path}: bad magic number, first two bytes must be 0, got {raw[0]}, {raw[1]}")
    if raw[2] not in _IDX_TYPES:
        raise IDXFormatError(f"{path}: unknown element type code 0x{raw[2]:02X}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise IDXFormatError(f"{path}: header declares {ndim} dimensions but the file is {len(raw)} bytes")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">i4", count=ndim, offset=4))
    if min(dims) < 0:
        raise IDXFormatError(f"{path}: header declares negative dimensions {dims}")
    dt = np.dtype(_IDX_TYPES[raw[2]])
    expected = math.prod(dims) * dt.itemsize          # Python ints: no overflow
    if len(raw) - header != expected:
        raise IDXFormatError(f"{path}: dimensions {dims} need {expected} data bytes, file has {len(raw) - header}")
    return np.frombuffer(raw, dt, offset=header).reshape(dims).astype(dt.newbyteorder("="))


def _find(data_dir, stem):
    data_dir = Path(data_dir)
    for base in (data_dir, data_dir / "mnist", data_dir / "MNIST" / "raw"):
        for name in (stem, stem.replace("-idx", ".idx")):
            for suffix in ("", ".gz"):
                p = base / (name + suffix)
                if p.exists():
                    return p
    raise FileNotFoundError(f"data_dir: no {stem}[.gz] found in {data_dir} (expected MNIST IDX files)")


def load_mnist(data_dir, split="train"):
    """Read MNIST images (n, 28, 28) uint8 and labels (n,) from IDX files in `data_dir`."""
    if split not in ("train", "test"):
        raise ValueError(f"split: expected 'train' or 'test', got {split!r}")
    pre = "train" if split == "train" else "t10k"
    X = read_idx(_find(data_dir, f"{pre}-images-idx3-ubyte"))
    y = read_idx(_find(data_dir, f"{pre}-labels-idx1-ubyte"))
    if X.ndim != 3 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise IDXFormatError(f"{data_dir}: images {X.shape} and labels {y.shape} do not match")
    return X, y.astype(np.int64)


def _pool(X, size):
    # X: (n, 28, 28) -> (n, size, size) by average pooling
    k = X.shape[1] // size
    return X.reshape(X.shape[0], size, k, size, k).mean(axis=(2, 4))


def load(data_dir=None, *, rng, n_train, n_test, size=28, binarize=True):
    """The image set of the image experiments: (X_train, y_train, X_test, y_test).

    X: (n, size*size) float64 in [0, 1] (in {0, 1} when `binarize`, by one fixed stochastic
    binarisation drawn from `rng`, as is usual for VAE likelihoods); y: int64 labels.
    Without `data_dir`, procedural digits; with it, a random subset of MNIST.
    """
    if size not in (14, 28):
        raise ValueError(f"size: expected 14 or 28, got {size!r}")
    if data_dir is None:
        X, y = procedural_digits(n_train + n_test, rng, size)
        Xtr, ytr, Xte, yte = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    else:
        out = []
        for split, n in (("train", n_train), ("test", n_test)):
            X, y = load_mnist(data_dir, split)
            if n > X.shape[0]:
                raise ValueError(f"n_{split}: asked for {n} images, {split} set has {X.shape[0]}")
            idx = rng.choice(X.shape[0], n, replace=False)
            Xs = X[idx].astype(np.float64) / 255.0
            out += [_pool(Xs, size).reshape(n, -1), y[idx]]
        Xtr, ytr, Xte, yte = out
    if binarize:
        Xtr = (rng.uniform(size=Xtr.shape) < Xtr).astype(np.float64)
        Xte = (rng.uniform(size=Xte.shape) < Xte).astype(np.float64)
    return Xtr, ytr, Xte, yte
