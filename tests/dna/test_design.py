"""Predictor training, design increasing the predictor's score, the oracle agreeing."""
import numpy as np
import pytest

from refimpl.dna import design, layers, metrics, motifs, predictor, sequences as sq, toydata, wgan


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    m = motifs.embedded_motifs()[1]                              # RELA, length 10
    X, y, yn = toydata.binding_data(rng, m, 1500, length=24)
    pp, hist = predictor.train_predictor(rng, X, yn, epochs=4)
    return m, X, y, pp, hist


def test_predictor_architecture_written_out():
    # conv width 15, 100 filters, 'valid' -> leaky ReLU 0.1 -> [max-pool, mean-pool] -> 2 x FC 200
    # (leaky ReLU 0.1) -> score, times the stored label std plus mean
    rng = np.random.default_rng(5)
    pp, _ = predictor.train_predictor(rng, sq.encode(toydata.random_sequences(rng, 40, 20)),
                                      rng.standard_normal(40), epochs=1)
    X = rng.dirichlet(np.ones(4), size=(3, 20))
    lrelu = lambda a: np.where(a > 0, a, 0.1 * a)              # noqa: E731
    assert pp["conv"]["W"].shape == (15, 4, 100) and pp["fc1"]["W"].shape == (200, 200)
    h = lrelu(layers.conv1d_reference(X, pp["conv"]["W"], pp["conv"]["b"], padding="valid"))
    h = np.concatenate([h.max(axis=1), h.mean(axis=1)], axis=1)
    h = lrelu(h @ pp["fc1"]["W"] + pp["fc1"]["b"])
    h = lrelu(h @ pp["fc2"]["W"] + pp["fc2"]["b"])
    mu, sd = pp["scale"]
    expect = mu + sd * (h @ pp["out"]["W"] + pp["out"]["b"])[:, 0]
    assert np.allclose(predictor.predict(pp, X), expect, atol=1e-10)


def test_predictor_learns_the_oracle(trained):
    m, X, y, pp, hist = trained
    assert hist[-1] < 0.5 * hist[0]
    Xt = sq.encode(toydata.random_sequences(np.random.default_rng(1), 500, 24))
    assert np.corrcoef(predictor.predict(pp, Xt), motifs.oracle(Xt, m))[0, 1] > 0.6


@pytest.mark.parametrize("method", ["joint", "deepdream"])
def test_design_increases_predictor_and_oracle_agrees(trained, method):
    m, X, y, pp, _ = trained
    rng = np.random.default_rng(2)
    score = lambda D: motifs.oracle(D, m)                         # noqa: E731
    if method == "joint":
        gp = wgan.init_generator(rng, 24, 8)
        D, traj = design.joint(rng, gp, pp, 8, steps=30, pool=1, score=score, every=10)
    else:
        D, traj = design.deep_dream(rng, pp, 8, 24, steps=30, score=score, every=10)
    pred, orc = np.array([t[1] for t in traj]), np.array([t[2] for t in traj])
    assert pred[-1] > pred[0] + 2.0 and (np.diff(pred) > -0.5).all()
    # the oracle, on the argmax re-encoded designs, agrees: far above random sequences
    assert orc[-1] > np.mean(y) + 2 * np.std(y)
    assert np.allclose(orc[-1], motifs.oracle(D, m).mean())
    assert ((D == 0) | (D == 1)).all() and np.allclose(D.sum(axis=2), 1)


def test_deep_dream_first_step_ascends_the_predictor_through_the_softmax():
    # Adam's first step is lr * sign(gradient): from θ0 = 0.01 N(0, 1) (the same stream), one
    # step of lr 0.1 must move θ up the gradient of f(softmax(θ)) -- not of f(θ), not down it
    from autograd import grad
    rng = np.random.default_rng(7)
    pp = predictor.init_predictor(rng)
    n, L = 4, 20
    theta0 = 0.01 * np.random.default_rng(8).standard_normal((n, L, 4))
    g = grad(lambda th: np.sum(predictor.predict(pp, layers.softmax(th, axis=2))))(theta0)
    D, _ = design.deep_dream(np.random.default_rng(8), pp, n, L, steps=1)
    expect = design.one_hot_argmax(theta0 + 0.1 * g / (np.abs(g) + 1e-8))
    assert np.array_equal(D, expect)


def test_joint_prior_pulls_the_code_to_zero(monkeypatch):
    # with a constant predictor only the prior term acts: z -> 0 (a sign error sends it away)
    rng = np.random.default_rng(9)
    gp, pp = wgan.init_generator(rng, 20, 4), predictor.init_predictor(rng)
    pp["out"]["W"] = np.zeros_like(pp["out"]["W"])
    seen = []
    real_generate = design.generate
    monkeypatch.setattr(design, "generate", lambda p, z: (seen.append(z), real_generate(p, z))[1])
    design.joint(rng, gp, pp, 3, steps=100, prior=1.0, pool=1)
    z0 = np.asarray(seen[1])                                     # the start (seen[0]: the pool)
    z1 = np.asarray(seen[-1])
    assert np.linalg.norm(z1) < 0.2 * np.linalg.norm(z0)


def test_train_wgan_defaults_are_the_official_ones(monkeypatch):
    # 5 critic steps per generator step, batch 64, Adam 1e-4 (β 0.5, 0.9) for both networks
    calls = []

    def fake_iteration(optD, optG, xs, zs, epss, z_gen, *a):
        calls.append((len(xs), xs[0].shape[0], optD.lr, optD.b1, optD.b2, optG.lr, optG.b1, optG.b2))
        return [0.0] * len(xs), 0.0
    monkeypatch.setattr(wgan, "wgan_iteration", fake_iteration)
    X = sq.encode(toydata.random_sequences(np.random.default_rng(0), 10, 8))
    wgan.train_wgan(np.random.default_rng(0), X, 2, dim=2)
    assert calls == [(5, 64, 1e-4, 0.5, 0.9, 1e-4, 0.5, 0.9)] * 2


def test_valid_orf_fraction_exact_and_kmer_js():
    rng = np.random.default_rng(3)
    good = toydata.coding_sequences(rng, 30)
    mixed = good[:10] + ["ATGTAA" + s[6:] for s in good[10:]]    # in-frame stop at codon 2
    assert metrics.valid_orf_fraction(good) == 1.0 and metrics.valid_orf_fraction(mixed) == 10 / 30
    a = toydata.random_sequences(rng, 400, 36)
    assert metrics.kmer_js(a, a, 3) == 0.0
    # closed form: uniform 1-mers vs all-A, m = (5/8, 1/8, 1/8, 1/8)
    js = 0.5 * (0.25 * np.log(0.4) + 0.75 * np.log(2.0)) + 0.5 * np.log(1.6)
    assert metrics.kmer_js(["ACGT" * 9], ["A" * 36] * 10, 1) == pytest.approx(js, rel=1e-12)


def test_bad_input_names_the_argument():
    rng = np.random.default_rng(6)
    X = sq.encode(toydata.random_sequences(rng, 10, 20))
    with pytest.raises(ValueError, match="y"):
        predictor.train_predictor(rng, X, np.r_[np.nan, np.zeros(9)])
    pp = predictor.init_predictor(rng)
    with pytest.raises(ValueError, match="conv width 15"):
        predictor.predict(pp, X[:, :10])
    with pytest.raises(ValueError, match="iters"):
        wgan.train_wgan(rng, X, 0)
    with pytest.raises(ValueError, match="batch"):
        wgan.train_wgan(rng, X, 1, batch=0)
    with pytest.raises(ValueError, match="seqs"):
        metrics.valid_orf_fraction([])
    with pytest.raises(ValueError, match="seqs"):
        metrics.motif_fraction([], "TATA")
    with pytest.raises(ValueError, match="train"):
        metrics.edit_distance_to_nearest(["ACGT"], ["ACG", "ACGT"])


def test_edit_distance_against_brute_force():
    def lev(s, t):
        d = list(range(len(t) + 1))
        for i, a in enumerate(s, 1):
            prev, d[0] = d[0], i
            for j, b in enumerate(t, 1):
                prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (a != b))
        return d[-1]
    rng = np.random.default_rng(4)
    A, B = toydata.random_sequences(rng, 4, 9), toydata.random_sequences(rng, 6, 9)
    B[2] = A[0][1:] + "A"                                          # a shift: Hamming 8ish, edit ≤ 2
    got = metrics.edit_distance_to_nearest(A, B)
    assert list(got) == [min(lev(a, b) for b in B) for a in A]
