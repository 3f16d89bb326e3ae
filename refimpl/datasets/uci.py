"""Reader for the UCI regression folders with the literature's standard splits.

Layout of one folder (e.g. `bostonHousing/`): `data.txt` (whitespace-separated numbers,
blank lines allowed), `index_features.txt`, `index_target.txt` (0-based column indices),
`n_splits.txt`, `index_train_K.txt` / `index_test_K.txt` (0-based row indices).
These are the splits used by PBP, MC dropout and noisy K-FAC, so results are comparable.

Protocol (`split`): standardise inputs and targets with the training statistics; models
report RMSE in original units (multiply by `y_std`) and per-point test log-likelihood
corrected for the scaling (subtract log `y_std`).
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io import DataError

DATASETS = ("bostonHousing", "concrete", "energy", "kin8nm", "power-plant", "wine-quality-red", "yacht")


class UCIFormatError(DataError):
    """A file of a UCI folder is missing or malformed (the message names file and line)."""


@dataclass(frozen=True)
class UCIData:
    name: str
    data: np.ndarray        # (N, C) every column of data.txt
    features: np.ndarray    # (D,) column indices of the inputs
    target: int             # column index of the target
    n_splits: int
    folder: Path

    @property
    def X(self):
        return self.data[:, self.features]      # (N, D)

    @property
    def y(self):
        return self.data[:, self.target]        # (N,)


def default_dir():
    """`../shared/data/uci` relative to the project root, if it exists (else None)."""
    p = Path(__file__).resolve().parents[3] / "shared" / "data" / "uci"
    return p if p.is_dir() else None


def _read_numbers(path, dtype=float):
    path = Path(path)
    if not path.exists():
        raise UCIFormatError(f"{path}: file not found")
    rows = []
    try:
        text = path.read_bytes().decode("ascii")
    except UnicodeDecodeError as e:
        raise UCIFormatError(f"{path}: not a text file of numbers (byte {e.start} is not "
                             "ASCII)") from None
    except OSError as e:
        raise UCIFormatError(f"{path}: cannot be read ({e.strerror})") from None
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue                              # blank lines are tolerated
        try:
            rows.append([dtype(float(tok)) if dtype is int else float(tok) for tok in line.split()])
        except (ValueError, OverflowError):
            raise UCIFormatError(f"{path}:{lineno}: not a number in {line.strip()[:60]!r}") from None
        if dtype is int and any(abs(v) >= 2 ** 62 for v in rows[-1]):
            raise UCIFormatError(f"{path}:{lineno}: index out of range, got {line.strip()[:60]!r}")
        if dtype is int and any(float(t) != int(float(t)) for t in line.split()):
            raise UCIFormatError(f"{path}:{lineno}: expected integer indices, got {line.strip()[:60]!r}")
    if not rows:
        raise UCIFormatError(f"{path}: no data")
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise UCIFormatError(f"{path}: rows have different numbers of columns {sorted(widths)}")
    return np.array(rows, dtype=float if dtype is float else np.int64)


def _indices(path, upper, what):
    idx = _read_numbers(path, int).ravel()
    if idx.min() < 0 or idx.max() >= upper:
        raise UCIFormatError(f"{path}: {what} index out of range [0, {upper}), got {idx.min()}..{idx.max()}")
    return idx


def load(folder):
    """Read one UCI folder into a `UCIData`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"folder: expected a UCI dataset folder, got {str(folder)!r} (not a directory)")
    data = _read_numbers(folder / "data.txt")
    if not np.all(np.isfinite(data)):
        raise UCIFormatError(f"{folder / 'data.txt'}: contains non-finite values")
    C = data.shape[1]
    features = _indices(folder / "index_features.txt", C, "feature column")
    target = _indices(folder / "index_target.txt", C, "target column")
    if target.size != 1:
        raise UCIFormatError(f"{folder / 'index_target.txt'}: expected one target column, got {target.size}")
    ns = folder / "n_splits.txt"
    if ns.exists():
        n_splits = int(_read_numbers(ns, int).ravel()[0])
    else:
        n_splits = len(list(folder.glob("index_train_*.txt")))
    if n_splits < 1:
        raise UCIFormatError(f"{folder}: no splits (index_train_K.txt) found")
    return UCIData(folder.name, data, features, int(target[0]), n_splits, folder)


def split_indices(d: UCIData, k):
    """(train rows, test rows) of split k, checked to be disjoint and in range."""
    if not 0 <= int(k) < d.n_splits:
        raise ValueError(f"k: expected a split in [0, {d.n_splits}), got {k!r}")
    N = d.data.shape[0]
    tr = _indices(d.folder / f"index_train_{int(k)}.txt", N, "row")
    te = _indices(d.folder / f"index_test_{int(k)}.txt", N, "row")
    if np.intersect1d(tr, te).size:
        raise UCIFormatError(f"{d.folder}: split {k} train and test rows overlap")
    return tr, te


def split(d: UCIData, k, standardize=True):
    """Split k as a dict: X_train (n, D), y_train (n,), X_test, y_test, and the statistics
    used (x_mean, x_std, y_mean, y_std). Targets keep original units when not standardised
    (then y_mean = 0, y_std = 1)."""
    tr, te = split_indices(d, k)
    X, y = d.X, d.y
    x_mean, x_std = X[tr].mean(0), X[tr].std(0)
    x_std = np.where(x_std > 0, x_std, 1.0)          # constant columns stay as they are
    if standardize and len(tr) < 2:
        raise UCIFormatError(f"{d.folder}: split {k} has {len(tr)} training row(s); "
                             "standardising the target needs at least 2")
    y_mean, y_std = (y[tr].mean(), y[tr].std()) if standardize else (0.0, 1.0)
    if not y_std > 0:
        raise UCIFormatError(f"{d.folder}: split {k}: the target is constant on the training "
                             f"rows (std 0); it cannot be standardised")
    if standardize:
        X = (X - x_mean) / x_std
    return {"X_train": X[tr], "y_train": (y[tr] - y_mean) / y_std, "X_test": X[te],
            "y_test": (y[te] - y_mean) / y_std, "x_mean": x_mean, "x_std": x_std,
            "y_mean": float(y_mean), "y_std": float(y_std)}
