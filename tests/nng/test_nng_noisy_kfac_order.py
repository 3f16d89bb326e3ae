"""Noisy K-FAC's step follows Alg. 2's order: k ← k + 1 first ([NoisyNG Alg. 2 l. 4]), then
both interval tests on the incremented counter: the factors are updated at k ≡ 0 (mod T_stats)
(l. 6–7) and the inverses refreshed at k ≡ 0 (mod T_inv) (l. 9–10)."""
import numpy as np

from refimpl.nng import NoisyKFAC, mlp


def _problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(40)
    return mlp.init_params(rng, [3, 4, 1]), X, y


def test_statistics_and_inverses_are_updated_on_the_incremented_counter():
    p0, X, y = _problem()
    opt = NoisyKFAC(p0, N=40, lr=0.01, beta=0.5, T_stats=3, T_inv=2, fisher="exact")
    rng = np.random.default_rng(1)
    seen = []
    for k in range(1, 7):
        A0 = [a.copy() for a in opt.A + opt.S] if opt.A is not None else None
        P0 = opt.P
        opt.step(X, y[:, None], 1.0, rng)
        assert opt.k == k
        if A0 is not None:
            changed = [not np.array_equal(a, b) for a, b in zip(A0, opt.A + opt.S)]
            n = len(opt.A)    # A and S move together (full batch: the first layer's A and the
            assert any(changed[:n]) == any(changed[n:])   # output layer's S = τ are constants)
            seen.append((k, any(changed), opt.P is not P0))
    # step 1 initialises the factors; from step 2 on: stats at k = 3, 6; inverses at k = 2, 4, 6
    assert seen == [(2, False, True), (3, True, False), (4, False, True), (5, False, False),
                    (6, True, True)]
