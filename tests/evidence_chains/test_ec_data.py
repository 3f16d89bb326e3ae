"""Claims about the rating data: the MovieLens-shaped generator, the u.data reader, the
split and the sparse rating graph."""
import numpy as np
import pytest

from refimpl.evidence_chains.data import (Ratings, load, make_graph, read_udata, split, synthetic,
                                          top_by_count)


@pytest.fixture(scope="module")
def ml():
    return synthetic(np.random.default_rng(0))


def test_synthetic_is_shaped_like_movielens_100k(ml):
    assert (ml.n_users, ml.n_items, len(ml)) == (943, 1682, 100_000)
    assert np.bincount(ml.users, minlength=943).min() >= 20
    assert set(np.unique(ml.ratings)) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    pairs = ml.users * ml.n_items + ml.items
    assert np.unique(pairs).size == len(ml)                      # no repeated (user, item)
    pop = np.bincount(ml.items, minlength=ml.n_items)
    assert pop.max() > 10 * np.median(pop)                       # long-tailed popularity


def test_synthetic_is_seeded():
    a = synthetic(np.random.default_rng(3), n_users=50, n_items=80, n_ratings=2000)
    b = synthetic(np.random.default_rng(3), n_users=50, n_items=80, n_ratings=2000)
    c = synthetic(np.random.default_rng(4), n_users=50, n_items=80, n_ratings=2000)
    assert np.array_equal(a.ratings, b.ratings) and np.array_equal(a.items, b.items)
    assert not np.array_equal(a.items, c.items)


def test_split_is_a_seeded_partition(ml):
    tr, te = split(ml, np.random.default_rng(1))
    assert len(te) == 10_000 and len(tr) == 90_000
    key = lambda d: set((d.users * d.n_items + d.items).tolist())
    assert not key(tr) & key(te)
    tr2, _ = split(ml, np.random.default_rng(1))
    assert np.array_equal(tr.users, tr2.users)


def test_graph_holds_every_rating_in_both_orientations(ml):
    g = make_graph(ml, top_by_count(ml.users, ml.n_users, 5), top_by_count(ml.items, ml.n_items, 5))
    assert np.array_equal(g.u_items[g.u_pos], ml.items) and np.array_equal(g.u_vals[g.u_pos], ml.ratings)
    assert np.array_equal(g.i_users[g.i_pos], ml.users) and np.array_equal(g.i_vals[g.i_pos], ml.ratings)
    u = 7
    assert np.array_equal(np.sort(g.u_items[g.u_ptr[u]:g.u_ptr[u + 1]]), np.sort(ml.items[ml.users == u]))
    counts = np.bincount(ml.users, minlength=ml.n_users)
    assert counts[g.proto_u >= 0].min() >= np.delete(counts, np.nonzero(g.proto_u >= 0)[0]).max()


def test_repeated_pairs_are_rejected():
    d = Ratings(np.array([0, 0]), np.array([1, 1]), np.array([3.0, 4.0]), 1, 2)
    with pytest.raises(ValueError, match="distinct"):
        make_graph(d, [0], [0])


def _write(tmp_path, text, sub=""):
    folder = tmp_path / sub
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "u.data").write_text(text)
    return tmp_path


def test_udata_ids_are_remapped_with_gaps(tmp_path):
    d = load(_write(tmp_path, "10\t7\t5\t1\n3\t7\t1\t2\n10\t900\t3\t3\n", "ml-100k"))
    assert (d.n_users, d.n_items) == (2, 2)
    assert d.users.tolist() == [1, 0, 1] and d.items.tolist() == [0, 0, 1]
    assert d.ratings.tolist() == [5.0, 1.0, 3.0]


@pytest.mark.parametrize("bad, match", [
    ("1\t2\t3\t4\n1\t3\t4\n", "line 2: expected 4"),
    ("1\t2\t3\t4\n1\t3\tx\t4\n", "line 2: expected integers"),
    ("1\t2\t3\t4\n\n1\t3\t6\t4\n", r"line 3: rating expected in \[1, 5\], got 6"),
    ("1\t2\t0\t4\n", r"line 1: rating expected in \[1, 5\]"),
    ("1\t2\t3\t4\n1\t2\t4\t5\n", "line 2: repeated"),
    ("0\t2\t3\t4\n", "line 1: expected positive ids"),
])
def test_udata_errors_name_the_line(tmp_path, bad, match):
    with pytest.raises(ValueError, match=match):
        read_udata(_write(tmp_path, bad) / "u.data")


def test_load_without_udata_names_the_folder(tmp_path):
    with pytest.raises(ValueError, match="data_dir"):
        load(tmp_path)
