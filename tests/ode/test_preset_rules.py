"""The acceptance and growth rules of each controller preset, tested directly at the edge
cases where the presets differ (numerics/DIFFERENCES.md section 1): at ``err == 1``
exactly scipy rejects (``err < 1``) while "default", Hairer and torchdiffeq accept
(``err <= 1``); at ``err == 0`` scipy, "default" and torchdiffeq grow ``h`` by the maximal
factor 10 (no ``0 ** negative`` division)."""
import math

import pytest

from refimpl.ode.control import DefaultController
from refimpl.ode.preset_hairer import HairerController
from refimpl.ode.preset_scipy import ScipyController
from refimpl.ode.preset_torchdiffeq import TorchdiffeqController

BELOW, ABOVE = math.nextafter(1.0, 0.0), math.nextafter(1.0, 2.0)


def test_scipy_rejects_at_err_one():
    accept = ScipyController.accept
    assert accept(BELOW) and not accept(1.0) and not accept(ABOVE)


@pytest.mark.parametrize("accept", [DefaultController().accept,
                                    HairerController("dopri5").accept,
                                    HairerController("dop853").accept,
                                    TorchdiffeqController.accept],
                         ids=["default", "hairer-dopri5", "hairer-dop853", "torchdiffeq"])
def test_others_accept_at_err_one(accept):
    assert accept(BELOW) and accept(1.0) and not accept(ABOVE)


@pytest.mark.parametrize("rejected_before", [False, True])
def test_scipy_factor_at_err_zero(rejected_before):
    """``rk.py``: ``factor = MAX_FACTOR`` when ``error_norm == 0`` (capped at 1 right after
    a rejection); a tiny positive norm also saturates at 10."""
    ctrl, exponent = ScipyController(), -1.0 / 5
    assert ctrl.factor(0.0, exponent, rejected_before) == (1.0 if rejected_before else 10.0)
    assert ctrl.factor(1e-300, exponent, False) == 10.0
    assert ctrl.factor(1.0, exponent, False) == pytest.approx(0.9)     # a rejection


def test_default_factor_at_err_zero_and_one():
    ctrl = DefaultController()
    assert ctrl.factor(0.0, 4, False) == 10.0
    assert ctrl.factor(0.0, 4, True) == 1.0                # no growth right after a rejection
    assert ctrl.factor(1.0, 4, False) == pytest.approx(0.9)


def test_torchdiffeq_step_at_err_zero_and_one():
    ctrl = TorchdiffeqController()
    assert ctrl.next_step(0.5, 0.0) == 5.0                 # ifactor 10
    # err == 1 is accepted but not "err < 1": dfactor 0.2, so the step may shrink to 0.9 dt
    assert ctrl.next_step(0.5, 1.0) == pytest.approx(0.45)
    assert ctrl.next_step(0.5, BELOW) == 0.5               # accepted with err < 1: never shrinks


def test_hairer_accepted_step_at_err_one_shrinks():
    """DOPCOR at err == 1 (accepted): fac = 1 / facold^beta / safe, facold = 1e-4 at start."""
    ctrl = HairerController("dopri5")
    h_new = ctrl.new_step(1.0, 1.0, accepted=True)
    fac = max(ctrl.facc2, min(ctrl.facc1, 1.0 / 1.0e-4 ** ctrl.beta / ctrl.safe))
    assert h_new == 1.0 / fac and h_new < 1.0
    assert ctrl.facold == 1.0


def test_default_kernel_factor_matches_controller():
    """The fast path's ``k_default._factor`` (numba) at the same edge cases."""
    from refimpl.ode.fast.k_default import _factor
    ctrl = DefaultController()
    for err in (0.0, 1e-300, BELOW, 1.0, ABOVE, 7.0):
        for rejected in (False, True):
            assert _factor(err, 4, rejected) == ctrl.factor(err, 4, rejected), (err, rejected)
