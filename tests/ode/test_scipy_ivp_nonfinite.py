"""solve_ivp's bad inputs that make scipy loop forever stop with a clear result in refimpl:
a right-hand side that turns NaN, and a NaN in t_span (the bad-input policy: nothing fails
silently, and nothing hangs)."""
import numpy as np
import pytest

from refimpl.ode import solve_ivp


@pytest.mark.parametrize("method", ["RK23", "RK45", "DOP853"])
def test_nan_right_hand_side_fails_with_a_message_naming_it(method):
    r = solve_ivp(lambda t, y: np.full_like(y, np.nan) if t > 0.3 else -y, (0.0, 1.0),
                  np.array([1.0]), method=method)
    assert r.status == -1 and not r.success
    assert "non-finite" in r.message
    assert 0.0 < r.t[-1] <= 0.31                    # it stopped where the values went bad


@pytest.mark.parametrize("method", ["RK23", "RK45", "DOP853", "Radau"])
def test_nan_from_the_first_evaluation_stops_too(method):
    """A NaN step size never compares below the minimum step: this looped forever before;
    Radau's LU of a NaN Jacobian raised lu_factor's ValueError (as scipy's does)."""
    r = solve_ivp(lambda t, y: np.full_like(y, np.nan), (0.0, 1.0), np.array([1.0]), method=method)
    assert r.status == -1 and "non-finite" in r.message


def test_radau_nan_jacobian_stops_with_a_message():
    r = solve_ivp(lambda t, y: -y, (0.0, 1.0), np.array([1.0]), method="Radau",
                  jac=lambda t, y: np.array([[np.nan]]))
    assert r.status == -1 and "non-finite" in r.message and "Jacobian" in r.message


def test_nan_in_t_span_is_rejected_by_name():
    with pytest.raises(ValueError, match="t_span"):
        solve_ivp(lambda t, y: -y, (0.0, float("nan")), np.array([1.0]))
