"""The UCI reader on files the test writes, and on the shared data when present."""
import numpy as np
import pytest

from refimpl.datasets import uci


def _folder(tmp_path, data_text, features="0\n1\n", target="2\n", splits=((0, 1, 2), (3,))):
    d = tmp_path / "toy"
    d.mkdir()
    (d / "data.txt").write_text(data_text)
    (d / "index_features.txt").write_text(features)
    (d / "index_target.txt").write_text(target)
    (d / "n_splits.txt").write_text("1\n")
    (d / "index_train_0.txt").write_text("\n".join(map(str, splits[0])) + "\n")
    (d / "index_test_0.txt").write_text("\n".join(map(str, splits[1])) + "\n")
    return d


GOOD = "1 2 3\n4 5 6\n\n7 8 9\n10 11 12\n\n"     # blank lines, including at the end


def test_reads_good_folder_and_standardises_with_training_statistics(tmp_path):
    d = uci.load(_folder(tmp_path, GOOD))
    assert d.data.shape == (4, 3) and d.X.shape == (4, 2) and d.target == 2
    s = uci.split(d, 0)
    assert np.allclose(s["X_train"].mean(0), 0) and np.allclose(s["X_train"].std(0), 1)
    assert np.allclose(s["y_train"] * s["y_std"] + s["y_mean"], [3, 6, 9])
    assert np.allclose(s["y_test"] * s["y_std"] + s["y_mean"], [12])
    raw = uci.split(d, 0, standardize=False)
    assert np.allclose(raw["y_test"], [12]) and raw["y_std"] == 1.0


@pytest.mark.parametrize("data,kw,match", [
    ("1 2 3\n4 x 6\n", {}, r"data.txt:2: not a number"),
    ("1 2 3\n4 5\n", {}, "different numbers of columns"),
    (GOOD, {"features": "0\n7\n"}, "feature column index out of range"),
    (GOOD, {"target": "1\n2\n"}, "one target column"),
    (GOOD, {"splits": ((0, 1, 9), (3,))}, "row index out of range"),
    (GOOD, {"splits": ((0, 1, 3), (3,))}, "overlap"),
    (GOOD, {"features": "0.5\n"}, "integer indices"),
])
def test_malformed_folders_give_clear_errors(tmp_path, data, kw, match):
    with pytest.raises(uci.UCIFormatError, match=match):
        d = uci.load(_folder(tmp_path, data, **kw))
        uci.split(d, 0)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="folder"):
        uci.load(tmp_path / "missing")
    d = uci.load(_folder(tmp_path, GOOD))
    with pytest.raises(ValueError, match="k: expected a split"):
        uci.split(d, 1)


@pytest.mark.skipif(uci.default_dir() is None, reason="shared UCI data not present")
@pytest.mark.parametrize("name,rows,inputs", [("bostonHousing", 506, 13), ("yacht", 308, 6),
                                              ("concrete", 1030, 8)])
def test_shared_uci_folders_match_their_readme(name, rows, inputs):
    d = uci.load(uci.default_dir() / name)
    assert d.data.shape[0] == rows and d.X.shape[1] == inputs and d.n_splits == 20
    tr, te = uci.split_indices(d, 19)
    assert len(np.union1d(tr, te)) == rows and abs(len(te) / rows - 0.1) < 0.02
