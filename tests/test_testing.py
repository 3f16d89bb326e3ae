"""The statistical helpers pass unbiased estimators and catch biased ones (fixed seeds)."""
import numpy as np
import pytest

from refimpl.testing import (EstimatorCheckError, assert_close_in_tolerance_units, assert_twins_agree,
                             assert_unbiased, assert_variance_close, sample_variance, standard_error,
                             tolerance_units)


def test_unbiased_estimator_passes_and_biased_one_fails():
    rng = np.random.default_rng(0)
    truth = np.array([1.0, -2.0, 0.5])
    good = truth + rng.standard_normal((4000, 3))
    assert assert_unbiased(good, truth, n_se=4) < 4
    bad = good + np.array([0.0, 0.1, 0.0])                 # bias of ~6 standard errors
    with pytest.raises(EstimatorCheckError, match="index \\(1,\\)"):
        assert_unbiased(bad, truth, n_se=4)


def test_zero_variance_estimator_needs_min_se():
    s = np.full((10, 2), 3.0)
    assert_unbiased(s, 3.0, min_se=1e-12)
    with pytest.raises(EstimatorCheckError):
        assert_unbiased(s, 3.0 + 1e-6, min_se=1e-12)


def test_variance_helpers_match_closed_form():
    rng = np.random.default_rng(1)
    s = 2.0 * rng.standard_normal((20000, 2))
    assert np.allclose(sample_variance(s), 4.0, rtol=0.05)
    assert np.allclose(standard_error(s), 2.0 / np.sqrt(20000), rtol=0.05)
    assert_variance_close(s, 4.0)
    with pytest.raises(EstimatorCheckError):
        assert_variance_close(s, 4.5)


def test_tolerance_units_and_twins():
    y_true = np.array([1.0, 100.0])
    y = y_true + np.array([1e-6, 1e-4])
    assert tolerance_units(y, y_true, rtol=1e-6, atol=0.0) == pytest.approx(1.0)
    assert_close_in_tolerance_units(y, y_true, rtol=1e-6, atol=0.0, max_units=1.5)
    with pytest.raises(EstimatorCheckError):
        assert_close_in_tolerance_units(y, y_true, rtol=1e-7, atol=0.0, max_units=5)
    assert_twins_agree([1.0, 2.0], [1.0, 2.0 + 1e-13])
    with pytest.raises(EstimatorCheckError, match="disagree"):
        assert_twins_agree([1.0, 2.0], [1.0, 2.0 + 1e-9])


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="samples"):
        assert_unbiased(np.array([1.0]), 1.0)
    with pytest.raises(ValueError, match="non-finite"):
        assert_unbiased(np.array([1.0, np.nan]), 1.0)
    with pytest.raises(ValueError, match="y: expected shape"):
        tolerance_units(np.zeros(2), np.zeros(3), 1e-3, 1e-6)
