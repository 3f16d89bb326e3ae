"""Claims about the MovieLens `ratings.csv` reader (every release since 2015)."""
import numpy as np
import pytest

from refimpl.evidence_chains.data import (CSV_HEADER, RatingsFormatError, load,
                                          read_ratings_csv, read_udata)

ROWS = [(15, 1029, 3.0, 1260759179), (2, 31, 2.5, 1260759144), (15, 7, 0.5, 1260759185),
        (900, 31, 5.0, 1260759205), (2, 1029, 4.5, 1260759151)]


def _csv(tmp_path, rows=ROWS, header=CSV_HEADER, name="ratings.csv"):
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    lines = ([header] if header else []) + [f"{u},{i},{r},{t}" for u, i, r, t in rows]
    p.write_text("\n".join(lines) + "\n")
    return p


def test_half_stars_ids_and_scale(tmp_path):
    d, uid, iid, ts = read_ratings_csv(_csv(tmp_path))
    assert d.ratings.tolist() == [3.0, 2.5, 0.5, 5.0, 4.5]
    assert uid.tolist() == [2, 15, 900] and iid.tolist() == [7, 31, 1029]   # sorted originals
    assert d.users.tolist() == [1, 0, 1, 2, 0] and d.items.tolist() == [2, 1, 0, 1, 2]
    assert (d.n_users, d.n_items) == (3, 3)
    assert d.scale == (0.5, 5.0)                       # read from the data, not assumed
    assert ts.tolist() == [r[3] for r in ROWS]
    assert d.subset(np.array([0, 1])).scale == (0.5, 5.0)


def test_missing_header_names_file_and_line(tmp_path):
    p = _csv(tmp_path, header=None)
    with pytest.raises(RatingsFormatError, match=r"ratings.csv: line 1: expected the header"):
        read_ratings_csv(p)


@pytest.mark.parametrize("bad_line, line_no", [("15,abc,3.0,1", 3), ("15,12,3.0", 4),
                                              ("7,8,-1.0,1", 5), ("2,31,4.0,1", 6)])
def test_bad_line_is_named(tmp_path, bad_line, line_no):
    rows = [f"{u},{i},{r},{t}" for u, i, r, t in ROWS]
    rows.insert(line_no - 2, bad_line)                 # line 1 is the header
    p = tmp_path / "ratings.csv"
    p.write_text(CSV_HEADER + "\n" + "\n".join(rows) + "\n")
    with pytest.raises(RatingsFormatError, match=rf"ratings.csv: line {line_no}"):
        read_ratings_csv(p)


def test_both_readers_agree_on_the_same_ratings(tmp_path):
    rows = [(u, i, float(r), t) for (u, i, _, t), r in zip(ROWS, [3, 2, 1, 5, 4])]
    a, ua, ia, _ = read_ratings_csv(_csv(tmp_path, rows))
    (tmp_path / "u.data").write_text("".join(f"{u}\t{i}\t{int(r)}\t{t}\n" for u, i, r, t in rows))
    b, ub, ib = read_udata(tmp_path / "u.data")
    for f in ("users", "items", "ratings"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    assert (a.n_users, a.n_items, ua.tolist(), ia.tolist()) == \
        (b.n_users, b.n_items, ub.tolist(), ib.tolist())


def test_load_finds_a_release_folder(tmp_path):
    _csv(tmp_path, name="ml-latest-small/ratings.csv")
    d = load(tmp_path)
    assert len(d) == len(ROWS) and d.scale == (0.5, 5.0)


def test_real_ml_latest_small_if_present():
    from pathlib import Path
    p = Path(__file__).resolve().parents[3] / "shared/data/movielens/ml-latest-small/ratings.csv"
    if not p.exists():
        pytest.skip("../shared/data not beside the checkout")
    d, uid, iid, _ = read_ratings_csv(p)
    assert (len(d), d.n_users, d.n_items, d.scale) == (100_004, 671, 9_066, (0.5, 5.0))


def test_predictions_are_clipped_to_the_scale_read_from_the_data(tmp_path):
    """Half-star data (0.5-5): predictions clip at 0.5, not at the 1-5 of ml-100k."""
    from refimpl.evidence_chains.exp_movielens import _train
    from refimpl.evidence_chains.model import init_params
    from refimpl.evidence_chains.train import build_training_graph, evaluate
    rng = np.random.default_rng(0)
    rows = [(u, i, float(rng.choice([0.5, 1.0, 5.0])), 1) for u in range(1, 13) for i in range(1, 16)
            if (u + i) % 3]
    d = read_ratings_csv(_csv(tmp_path, rows))[0]
    assert d.scale == (0.5, 5.0)
    g = build_training_graph(d, 3, 3)
    params = init_params(np.random.default_rng(1), 3, 3, dim=4, hidden=8)
    for mu, want in ((-10.0, 0.5), (10.0, 5.0)):
        p = evaluate(dict(params, mu=np.array([mu])), g, d, np.random.default_rng(2), "biased", node_cap=16)[1]["pred"]
        np.testing.assert_array_equal(p, want)
    predict, _ = _train("mf_als", dict(lam=1e-3), d, np.random.default_rng(3), 20, None, {}, {})
    p = predict(d)
    assert p.min() < 1.0 and p.min() >= 0.5 and p.max() <= 5.0
