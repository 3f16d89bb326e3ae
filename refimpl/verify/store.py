"""Reading and writing reference vectors: arrays in `.npz` (no pickle), the rest in `.json`.

Layout: `DIR/index.json`, and for every case `DIR/KIND/CASE.npz` + `DIR/KIND/CASE.json`.
Writing is deterministic: the same inputs give the same bytes (zip entries in sorted order
with a fixed timestamp, JSON with sorted keys), so regenerated vectors diff cleanly.
"""
import io
import json
import zipfile
from pathlib import Path

import numpy as np

from ..io import DataError

__all__ = ["VectorError", "write_case", "read_case", "write_index", "read_index", "case_names"]

_EPOCH = (1980, 1, 1, 0, 0, 0)                  # the zip format's earliest timestamp


class VectorError(DataError):
    """A vector folder or file is missing or malformed (the message names it)."""


def write_case(root, kind, name, arrays, meta):
    """Write `root/kind/name.npz` (arrays: dict of numeric arrays) and `name.json` (meta)."""
    d = Path(root) / kind
    d.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            a = np.asarray(arrays[key])
            if a.dtype == object:
                raise TypeError(f"arrays[{key!r}]: object arrays would need pickle; got dtype object")
            b = io.BytesIO()
            np.lib.format.write_array(b, np.array(a, order="C"), allow_pickle=False)   # keeps 0-d
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, b.getvalue())
    (d / f"{name}.npz").write_bytes(buf.getvalue())
    (d / f"{name}.json").write_text(json.dumps(meta, indent=1, sort_keys=True, default=_jsonable) + "\n")


def _jsonable(x):
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"not JSON-serialisable: {type(x).__name__}")


def read_case(root, kind, name):
    """(arrays dict, meta dict) of one case; VectorError naming the file if unreadable."""
    base = Path(root) / kind / name
    try:
        meta = json.loads(Path(f"{base}.json").read_text())
    except (OSError, ValueError) as e:
        raise VectorError(f"{base}.json: expected a readable JSON case file ({e})") from None
    if not isinstance(meta, dict):
        raise VectorError(f"{base}.json: expected a JSON object, got {type(meta).__name__}")
    try:
        with np.load(f"{base}.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise VectorError(f"{base}.npz: expected a readable .npz of arrays without pickle ({e})") from None
    return arrays, meta


def write_index(root, index):
    Path(root).mkdir(parents=True, exist_ok=True)
    (Path(root) / "index.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")


def read_index(root):
    p = Path(root) / "index.json"
    try:
        index = json.loads(p.read_text())
    except (OSError, ValueError) as e:
        raise VectorError(f"{p}: expected the vectors' index.json — run `refimpl vectors --out {root}` "
                          f"first ({e})") from None
    if not isinstance(index, dict) or not isinstance(index.get("kinds"), dict):
        raise VectorError(f"{p}: expected a JSON object with a 'kinds' mapping")
    return index


def case_names(root, kind):
    """Case names of `kind` listed in the index, in order."""
    index = read_index(root)
    if kind not in index["kinds"]:
        raise VectorError(f"{Path(root) / 'index.json'}: no kind {kind!r} in these vectors "
                          f"(it lists {sorted(index['kinds'])})")
    return list(index["kinds"][kind]["cases"])
