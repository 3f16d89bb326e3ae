"""Procedural digits and the MNIST IDX reader (on small files this test writes)."""
import gzip
import struct

import numpy as np
import pytest

from refimpl.datasets import images
from refimpl.datasets.images import IDXFormatError, read_idx


def _write_idx(path, arr, code=0x08, gz=False):
    arr = np.asarray(arr)
    raw = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}i", *arr.shape)
    raw += arr.astype({0x08: ">u1", 0x0C: ">i4", 0x0D: ">f4"}[code]).tobytes()
    (gzip.open if gz else open)(path, "wb").write(raw)
    return path


def test_procedural_digits_shapes_range_and_seed():
    X, y = images.procedural_digits(50, np.random.default_rng(0), size=28)
    assert X.shape == (50, 784) and y.shape == (50,)
    assert X.min() >= 0 and X.max() <= 1 and 0.05 < X.mean() < 0.4
    X2, y2 = images.procedural_digits(50, np.random.default_rng(0), size=28)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert set(y) <= set(range(10))


def test_digit_classes_are_distinguishable():
    # nearest-class-mean on held-out renders beats chance by far: labels carry the content
    X, y = images.procedural_digits(1500, np.random.default_rng(1), size=14)
    means = np.stack([X[:1000][y[:1000] == k].mean(0) for k in range(10)])
    pred = np.argmin(((X[1000:, None, :] - means[None]) ** 2).sum(-1), 1)
    assert np.mean(pred == y[1000:]) > 0.6


def test_load_default_binarised_and_sizes():
    Xtr, ytr, Xte, yte = images.load(rng=np.random.default_rng(2), n_train=30, n_test=10, size=14)
    assert Xtr.shape == (30, 196) and Xte.shape == (10, 196)
    assert set(np.unique(Xtr)) <= {0.0, 1.0}


@pytest.mark.parametrize("gz", [False, True])
def test_idx_roundtrip_and_mnist_loader(tmp_path, gz):
    rng = np.random.default_rng(3)
    imgs = rng.integers(0, 256, (6, 28, 28))
    labels = rng.integers(0, 10, 6)
    sfx = ".gz" if gz else ""
    for pre in ("train", "t10k"):
        _write_idx(tmp_path / f"{pre}-images-idx3-ubyte{sfx}", imgs, gz=gz)
        _write_idx(tmp_path / f"{pre}-labels-idx1-ubyte{sfx}", labels, gz=gz)
    assert np.array_equal(read_idx(tmp_path / f"train-images-idx3-ubyte{sfx}"), imgs)
    X, y = images.load_mnist(tmp_path, "test")
    assert X.shape == (6, 28, 28) and np.array_equal(y, labels)
    Xtr, ytr, Xte, yte = images.load(tmp_path, rng=rng, n_train=4, n_test=2, size=14, binarize=False)
    assert Xtr.shape == (4, 196) and 0 <= Xtr.min() and Xtr.max() <= 1
    # a 14×14 image is the 2×2 average of the 28×28 one
    i = int(np.flatnonzero(labels == ytr[0])[0]) if np.sum(labels == ytr[0]) == 1 else None
    if i is not None:
        assert np.allclose(Xtr[0].reshape(14, 14), imgs[i].reshape(14, 2, 14, 2).mean((1, 3)) / 255)


def test_idx_int_and_float_types(tmp_path):
    a = np.arange(12).reshape(3, 4)
    assert np.array_equal(read_idx(_write_idx(tmp_path / "i", a, code=0x0C)), a)
    assert np.allclose(read_idx(_write_idx(tmp_path / "f", a / 3, code=0x0D)), a / 3, rtol=1e-6)


def test_malformed_idx_files(tmp_path):
    p = tmp_path / "bad"
    p.write_bytes(b"\x01\x00\x08\x01\x00\x00\x00\x02ab")
    with pytest.raises(IDXFormatError, match="magic"):
        read_idx(p)
    p.write_bytes(b"\x00\x00\x07\x01\x00\x00\x00\x02ab")
    with pytest.raises(IDXFormatError, match="type code"):
        read_idx(p)
    p.write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05ab")
    with pytest.raises(IDXFormatError, match="need 5 data bytes"):
        read_idx(p)
    p.write_bytes(b"\x00\x00")
    with pytest.raises(IDXFormatError, match="too short"):
        read_idx(p)
    with pytest.raises(FileNotFoundError, match="data_dir"):
        images.load_mnist(tmp_path, "train")
    with pytest.raises(ValueError, match="size"):
        images.procedural_digits(1, np.random.default_rng(0), size=20)
