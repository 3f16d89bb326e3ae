"""Atomic file writes and pickle-free checkpoints.

Every file refimpl writes goes through here: write to a temporary file in the same
folder, flush, then `os.replace` it over the target, so a reader (or a crash) never
sees a half-written file. Checkpoints are `.npz` archives of plain arrays, read with
`allow_pickle=False`: nothing is ever executed from a data file.
"""
import json
import os
import tempfile
from pathlib import Path

import zipfile

import numpy as np

_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write_bytes(path, data: bytes):
    """Write `data` to `path` atomically (temp file in the same folder + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)        # mkstemp creates 0600; use the usual mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path, text: str):
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path, obj):
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"cannot serialise {type(x).__name__} to JSON")


def save_npz_atomic(path, arrays: dict):
    """Save a flat dict of arrays (keys are strings) as an .npz, atomically."""
    import io

    for k, v in arrays.items():
        a = np.asarray(v)
        if a.dtype == object:
            raise ValueError(f"checkpoint entry {k!r} has dtype object; only plain arrays are allowed")
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    atomic_write_bytes(path, buf.getvalue())


class DataError(ValueError):
    """A data or checkpoint file that cannot be read; the message names the file. The CLI
    exits with status 2 on it (unreadable data), as for a bad argument."""


class CheckpointError(DataError):
    """A checkpoint file that cannot be used (corrupt, or written by another run); the
    message names the file."""


def load_npz(path) -> dict:
    """Load an .npz written by `save_npz_atomic` (never unpickles). A truncated, random or
    pickled file is a `CheckpointError` naming ``path``."""
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as e:
        raise CheckpointError(f"{path}: not a readable checkpoint (.npz of plain arrays): "
                              f"{type(e).__name__}: {e}") from None
