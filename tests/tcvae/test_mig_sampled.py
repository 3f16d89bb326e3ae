import numpy as np
import pytest

from refimpl.tcvae import mig_sampled


def _grid(n=6, k=2):
    return np.stack(np.unravel_index(np.arange(n ** k), (n,) * k), axis=1).repeat(40, 0)


def test_mig_sampled_anchors():
    f = _grid()
    ls = np.full(f.shape, np.log(0.01))
    perfect = mig_sampled(f.astype(float), ls, f, np.random.default_rng(0), n_samples=2000)
    assert perfect == pytest.approx(1.0, abs=0.05)
    const = mig_sampled(np.zeros(f.shape), np.zeros(f.shape), f, np.random.default_rng(0),
                        n_samples=2000)
    assert const == pytest.approx(0.0, abs=0.05)
    dup = np.column_stack([f, f[:, 0]]).astype(float)
    g = mig_sampled(dup, np.full(dup.shape, np.log(0.01)), f, np.random.default_rng(0),
                    n_samples=2000)
    assert g == pytest.approx(0.5, abs=0.05)          # factor 0's gap ~0, factor 1's ~1
    only1 = mig_sampled(dup, np.full(dup.shape, np.log(0.01)), f, np.random.default_rng(0),
                        n_samples=2000, factor_subset=[1])
    assert only1 == pytest.approx(1.0, abs=0.05)


def test_mig_sampled_bad_arguments_are_named():
    f = _grid()
    m = f.astype(float)
    ls = np.full(f.shape, np.log(0.01))
    for bad in ([5], [], [-1]):
        with pytest.raises(ValueError, match="factor_subset"):
            mig_sampled(m, ls, f, np.random.default_rng(0), n_samples=10, factor_subset=bad)
    with pytest.raises(ValueError, match="n_samples"):
        mig_sampled(m, ls, f, np.random.default_rng(0), n_samples=0)
    m[0, 0] = np.nan
    with pytest.raises(ValueError, match="mean: expected finite"):
        mig_sampled(m, ls, f, np.random.default_rng(0), n_samples=10)
