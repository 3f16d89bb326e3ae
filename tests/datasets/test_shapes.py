import numpy as np
import pytest

from refimpl.datasets import shapes


def test_render_subgrid_factors_and_images():
    imgs, f = shapes.render()
    assert imgs.shape == (46080, 32, 32) and f.shape == (46080, 5)
    assert [len(np.unique(f[:, k])) for k in range(5)] == list(shapes.SUB_GRID)
    # full factorial in C order
    np.testing.assert_array_equal(np.ravel_multi_index(f.T, shapes.SUB_GRID), np.arange(46080))
    area = imgs.reshape(len(imgs), -1).sum(1)
    assert area.min() > 0
    # scale increases area (same shape/orientation/position)
    a = area.reshape(shapes.SUB_GRID)
    assert np.all(a[:, -1].mean((1, 2, 3)) > a[:, 0].mean((1, 2, 3)))
    # shapes differ; position moves the centroid in x
    assert not np.array_equal(imgs[0], imgs[np.ravel_multi_index((1, 0, 0, 0, 0), shapes.SUB_GRID)])
    i0 = np.ravel_multi_index((0, 3, 0, 0, 5), shapes.SUB_GRID)
    i1 = np.ravel_multi_index((0, 3, 0, 15, 5), shapes.SUB_GRID)
    cx = lambda im: (im.sum(0) * np.arange(32)).sum() / im.sum()  # noqa: E731
    assert cx(imgs[i1]) > cx(imgs[i0]) + 5


def test_load_npz_reads_only_arrays(tmp_path):
    imgs = np.zeros((4, 64, 64), np.uint8)
    cls = np.arange(24).reshape(4, 6)
    np.savez(tmp_path / "dsprites_ndarray_test.npz", imgs=imgs, latents_classes=cls,
             metadata=np.array([{"a": 1}], dtype=object))
    im, f = shapes.load_npz(str(tmp_path))
    assert im.shape == (4, 64, 64)
    np.testing.assert_array_equal(f, cls[:, 1:])
    with pytest.raises(ValueError, match="data_dir"):
        shapes.load_npz(str(tmp_path / "nothing_here_dir_that_exists"[:0]) + "/../")
