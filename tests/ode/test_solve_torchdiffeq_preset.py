"""controller="torchdiffeq" reproduces torchdiffeq's dopri5 (odeint with default options):
the same number of RHS evaluations and the same outputs (to rounding: torch sums in its
own order), forwards and backwards; its embedded weights differ from scipy's."""
import numpy as np
import pytest

from refimpl.ode import solve
from refimpl.ode.preset_torchdiffeq import TD_C_ERROR
from refimpl.ode.problems import (ARENSTORF_T, ARENSTORF_Y0, LORENZ_Y0, arenstorf, kepler,
                                  kepler_y0, lorenz)
from refimpl.ode.tableaus import get_tableau

# name: (rhs, output times, y0, rtol, largest allowed difference)
CASES = {
    "lorenz": (lorenz, np.linspace(0.0, 3.0, 7), LORENZ_Y0, 1e-7, 1e-12),
    "kepler e=0.9": (kepler, np.array([0.0, 7.0, 20.0]), kepler_y0(0.9), 1e-8, 1e-11),
    # Arenstorf amplifies last-bit differences of the stage sums by ~1e6
    "arenstorf backwards": (arenstorf, np.linspace(ARENSTORF_T, 0.0, 9), ARENSTORF_Y0, 1e-6, 1e-9),
}


def test_embedded_weights_differ_from_dormand_prince():
    e = get_tableau("dopri5").e
    assert abs(TD_C_ERROR.sum()) < 1e-15 and np.abs(TD_C_ERROR - e).max() > 1e-3
    b_hat = get_tableau("dopri5").b - TD_C_ERROR
    np.testing.assert_allclose(b_hat[0], 1951 / 21600, rtol=1e-15)


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_torchdiffeq(case):
    torch = pytest.importorskip("torch")
    torchdiffeq = pytest.importorskip("torchdiffeq")
    f, te, y0, rtol, tol = CASES[case]
    calls = [0]

    def g(t, y):
        calls[0] += 1
        return torch.from_numpy(np.asarray(f(float(t), y.numpy()), dtype=np.float64))

    ref = torchdiffeq.odeint(g, torch.tensor(y0, dtype=torch.float64),
                             torch.tensor(te, dtype=torch.float64), rtol=rtol,
                             atol=rtol / 100, method="dopri5").numpy()
    r = solve(f, (te[0], te[-1]), y0, rtol=rtol, atol=rtol / 100, t_eval=te,
              controller="torchdiffeq")
    assert r.nfev == calls[0]
    assert r.nfev == 2 + 6 * r.n_steps
    assert np.abs(r.y - ref).max() < tol


def test_steps_overshoot_and_never_shrink_after_acceptance():
    r = solve(lorenz, (0.0, 3.0), LORENZ_Y0, rtol=1e-7, atol=1e-9, controller="torchdiffeq",
              dense_output=True)
    h = r.history
    assert h.t[-1] + h.h[-1] > 3.0                   # the last step ends past t1
    acc = np.flatnonzero(h.accepted[:-1])
    nxt = acc + 1                                    # attempt right after an acceptance
    assert np.all(np.abs(h.h[nxt]) >= np.abs(h.h[acc]) * (1 - 1e-15))
    assert r.t[-1] == 3.0 and np.all(np.diff(r.t) > 0)
    np.testing.assert_allclose(r.sol(r.t[:-1]), r.y[:-1], rtol=1e-12, atol=1e-12)
