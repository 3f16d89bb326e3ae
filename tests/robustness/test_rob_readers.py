"""Seeded random malformed files for every reader: each gives a ValueError subclass
(`refimpl.io.DataError`) whose message names the file, never an exception from deep inside
NumPy, and never a hang (the inputs are small; a loop bound would show as a slow test)."""
import gzip

import numpy as np
import pytest

from refimpl.datasets import uci
from refimpl.datasets.images import read_idx
from refimpl.evidence_chains.data import read_udata
from refimpl.io import DataError

N_CASES = 40


def _mutations(text, rng):
    """Yield N_CASES corrupted versions (bytes) of a valid text file."""
    raw = text.encode()
    tokens = ["x", "nan", "inf", "-1", "1e400", "99999999999999999999999", "", "1.5.2",
              "\x00", "\xff", "2.5e", "--3", "9" * 30]
    for k in range(N_CASES):
        kind = k % 5
        if kind == 0:                                      # random bytes
            yield rng.integers(0, 256, rng.integers(1, 200), dtype=np.uint8).tobytes()
        elif kind == 1:                                    # truncated mid-way
            yield raw[:rng.integers(0, max(1, len(raw) - 1))]
        elif kind == 2:                                    # one token replaced
            lines = text.splitlines()
            i = rng.integers(len(lines))
            toks = lines[i].split()
            toks[rng.integers(len(toks))] = tokens[rng.integers(len(tokens))]
            lines[i] = " ".join(toks)
            yield "\n".join(lines).encode("utf-8", "surrogateescape") + b"\n"
        elif kind == 3:                                    # one line dropped a field
            lines = text.splitlines()
            i = rng.integers(len(lines))
            lines[i] = " ".join(lines[i].split()[:-1])
            yield ("\n".join(lines) + "\n").encode()
        else:                                              # binary junk appended
            yield raw + rng.integers(128, 256, 30, dtype=np.uint8).tobytes()


def _expect_clean_error_or_success(fn, path):
    """fn() either succeeds (the corruption was harmless) or raises a DataError naming
    `path`; anything else fails the test."""
    try:
        fn()
    except DataError as e:
        assert str(path) in str(e), f"error does not name the file: {e}"


def _uci_folder(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.standard_normal((12, 3))
    f = tmp_path / "uci"
    f.mkdir()
    files = {"data.txt": "\n".join(" ".join(f"{v:.4f}" for v in r) for r in data) + "\n",
             "index_features.txt": "0\n1\n", "index_target.txt": "2\n",
             "index_train_0.txt": "\n".join(map(str, range(8))) + "\n",
             "index_test_0.txt": "\n".join(map(str, range(8, 12))) + "\n"}
    for name, text in files.items():
        (f / name).write_text(text)
    return f, files


@pytest.mark.parametrize("name", ["data.txt", "index_features.txt", "index_target.txt",
                                  "index_train_0.txt", "index_test_0.txt"])
def test_uci_reader_on_malformed_files(tmp_path, name):
    folder, files = _uci_folder(tmp_path)
    rng = np.random.default_rng(hash(name) % 2 ** 32)
    for bad in _mutations(files[name], rng):
        (folder / name).write_bytes(bad)

        def read():
            d = uci.load(folder)
            uci.split(d, 0)
        _expect_clean_error_or_success(read, folder)


def test_uci_constant_target_names_the_folder_and_cause(tmp_path):
    folder, files = _uci_folder(tmp_path)
    rows = [r.split() for r in files["data.txt"].splitlines()]
    (folder / "data.txt").write_text("\n".join(f"{a} {b} 7.0" for a, b, _ in rows) + "\n")
    with pytest.raises(uci.UCIFormatError, match="constant"):
        uci.split(uci.load(folder), 0)


def test_uci_one_row_training_split_is_refused(tmp_path):
    folder, _ = _uci_folder(tmp_path)
    (folder / "index_train_0.txt").write_text("0\n")
    with pytest.raises(uci.UCIFormatError, match="1 training row"):
        uci.split(uci.load(folder), 0)


def test_udata_reader_on_malformed_files(tmp_path):
    rng = np.random.default_rng(1)
    text = "".join(f"{u}\t{i}\t{r}\t{881250949 + u}\n" for u, i, r in
                   [(1, 1, 3), (1, 2, 4), (2, 1, 5), (2, 3, 1), (3, 2, 2), (3, 3, 4)])
    p = tmp_path / "u.data"
    for bad in _mutations(text, rng):
        p.write_bytes(bad)
        _expect_clean_error_or_success(lambda: read_udata(p), p)


def test_udata_huge_ids_name_the_line(tmp_path):
    p = tmp_path / "u.data"
    p.write_text("1\t1\t3\t0\n" + "9" * 25 + "\t2\t4\t0\n")
    with pytest.raises(DataError, match="line 2"):
        read_udata(p)


def _idx_bytes(rng):
    arr = rng.integers(0, 256, (3, 4, 4), dtype=np.uint8)
    return bytes([0, 0, 0x08, 3]) + np.array(arr.shape, ">i4").tobytes() + arr.tobytes()


def test_idx_reader_on_malformed_files(tmp_path):
    rng = np.random.default_rng(2)
    good = _idx_bytes(rng)
    p = tmp_path / "x-idx3-ubyte"
    for k in range(N_CASES):
        bad = bytearray(good)
        if k % 3 == 0:
            bad = bad[:rng.integers(0, len(bad))]
        elif k % 3 == 1:
            for _ in range(3):
                bad[rng.integers(0, 16)] = rng.integers(0, 256)
        else:
            bad = bytearray(rng.integers(0, 256, rng.integers(0, 64), dtype=np.uint8).tobytes())
        p.write_bytes(bytes(bad))
        _expect_clean_error_or_success(lambda: read_idx(p), p)


@pytest.mark.parametrize("dims", [(-1, 4, 4), (2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1)])
def test_idx_header_with_negative_or_overflowing_dimensions(tmp_path, dims):
    p = tmp_path / "y-idx3-ubyte"
    p.write_bytes(bytes([0, 0, 0x08, 3]) + np.array(dims, ">i4").tobytes() + b"\0" * 48)
    with pytest.raises(DataError, match="y-idx3-ubyte"):
        read_idx(p)


def test_corrupt_gzip_idx_names_the_file(tmp_path):
    p = tmp_path / "z-idx3-ubyte.gz"
    p.write_bytes(gzip.compress(_idx_bytes(np.random.default_rng(3)))[:-10])
    with pytest.raises(DataError, match="z-idx3-ubyte.gz"):
        read_idx(p)


def test_tiny_movielens_file_is_named(tmp_path):
    from refimpl.evidence_chains.data import load
    (tmp_path / "u.data").write_text("1\t1\t3\t0\n1\t2\t4\t0\n2\t1\t5\t0\n")
    with pytest.raises(DataError, match="u.data: 3 ratings"):
        load(tmp_path, min_ratings=10)
