"""Butcher tableaus of the explicit Runge–Kutta methods run by ``refimpl.ode``.

A method is data: nodes ``c``, the strictly lower-triangular matrix ``A``, the
weights ``b`` and, for adaptive methods, the error weights ``e``. The step is defined
once (``refimpl.ode.rk_step``); the loops that run it are listed in ``refimpl/ode/__init__.py``.

Conventions (where libraries differ)
------------------------------------
* ``e = b - b_hat`` (the propagated weights minus the embedded ones), as in
  torchdiffeq (``c_error``) and diffrax (``b_error``). scipy's RK23/RK45 ``E`` is the
  opposite sign (``b_hat - b``; its DOP853 ``E5``/``E3`` have ours); the norm is the same.
* FSAL methods (dopri5, tsit5, bosh3) list the "first same as last" stage as
  a real stage: the last row of ``A`` equals ``b``, ``c[-1] == 1`` and
  ``b[-1] == 0``. The error weights may use that stage (``e[-1] != 0``).
* ``error_order`` is the ``q`` in ``err ~ h**(q + 1)``: the step-size rule uses
  the exponent ``-1/(q + 1)``. For dop853 it is 7, as in Hairer's code and
  scipy, because its combined 5th/3rd order estimate behaves like ``h**8``.
* Dense output: ``dense="poly"`` means ``y(t0 + θh) = y0 + h Σ_j (Kᵀ P)[:, j] θ^(j+1)``
  with ``P`` of shape ``(s, p)``; ``"hermite"`` is the cubic Hermite
  interpolant through (y0, f0, y1, f1); ``"dop853"`` is Hairer's 7th-order
  continuous extension (three extra stages, ``refimpl.ode.tableau_dop853``).

References
----------
E. Hairer, S. P. Nørsett, G. Wanner, *Solving Ordinary Differential Equations I*
  (2nd ed., 1993), Sec. II.1 (Table 1.2 rk4, 3/8 rule), II.4, II.5 (Table 5.2 dopri5),
  II.6 (dense output).
J. R. Dormand, P. J. Prince, "A family of embedded Runge-Kutta formulae",
  J. Comp. Appl. Math. 6 (1980) 19–26.
L. F. Shampine, "Some practical Runge-Kutta formulas", Math. Comp. 46 (1986)
  135–150 (dopri5 dense output, the ``P`` matrix also used by scipy's RK45).
P. Bogacki, L. F. Shampine, "A 3(2) pair of Runge-Kutta formulas",
  Appl. Math. Lett. 2 (1989) 321–325.
Ch. Tsitouras, "Runge–Kutta pairs of order 5(4) satisfying only the first
  column simplifying assumption", Comput. Math. Appl. 62 (2011) 770–775.
"""
import numpy as np

from .butcher import ButcherTableau
from .tableau_dop853 import DOP853

__all__ = ["ButcherTableau", "get_tableau", "METHODS", "FIXED_METHODS", "ADAPTIVE_METHODS",
           "MORE_METHODS"]


def _lower(rows):
    """Square strictly-lower-triangular matrix from its ragged rows (row i has i entries)."""
    s = len(rows)
    A = np.zeros((s, s))
    for i, r in enumerate(rows):
        A[i, :len(r)] = r
    return A


# --- fixed-step methods (Hairer I, Sec. II.1) --------------------------------
EULER = ButcherTableau("euler", c=[0.0], A=[[0.0]], b=[1.0], order=1)
MIDPOINT = ButcherTableau("midpoint", c=[0, 0.5], A=_lower([[], [0.5]]), b=[0, 1], order=2)
HEUN = ButcherTableau("heun", c=[0, 1], A=_lower([[], [1]]), b=[0.5, 0.5], order=2)
# Hairer I, Table 1.2 (left): the classic Runge–Kutta method
RK4 = ButcherTableau("rk4", c=[0, 0.5, 0.5, 1], A=_lower([[], [0.5], [0, 0.5], [0, 0, 1]]),
                     b=[1 / 6, 1 / 3, 1 / 3, 1 / 6], order=4)
# Hairer I, Table 1.2 (right): Kutta's 3/8 rule
RK38 = ButcherTableau("rk38", c=[0, 1 / 3, 2 / 3, 1],
                      A=_lower([[], [1 / 3], [-1 / 3, 1], [1, -1, 1]]),
                      b=[1 / 8, 3 / 8, 3 / 8, 1 / 8], order=4)

# --- adaptive methods --------------------------------------------------------
# Heun 2 with embedded Euler 1: b_hat = (1, 0)
HEUN_EULER = ButcherTableau("heun_euler", c=[0, 1], A=_lower([[], [1]]), b=[0.5, 0.5], order=2,
                            e=[0.5 - 1.0, 0.5], error_order=1)
# Bogacki & Shampine (1989): 3(2), FSAL; b_hat = (7/24, 1/4, 1/3, 1/8), so
# e = b - b_hat = (-5/72, 1/12, 1/9, -1/8) (written as exact quotients, as scipy's RK23.E)
BOSH3 = ButcherTableau("bosh3", c=[0, 1 / 2, 3 / 4, 1],
                       A=_lower([[], [1 / 2], [0, 3 / 4], [2 / 9, 1 / 3, 4 / 9]]),
                       b=[2 / 9, 1 / 3, 4 / 9, 0], order=3,
                       e=[-5 / 72, 1 / 12, 1 / 9, -1 / 8], error_order=2)
# Dormand & Prince (1980), Hairer I Table 5.2: 5(4), FSAL; the e row is b - b_hat with
# b_hat = (5179/57600, 0, 7571/16695, 393/640, -92097/339200, 187/2100, 1/40)
_DP_B = [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0]
DOPRI5 = ButcherTableau(
    "dopri5", c=[0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1],
    A=_lower([[], [1 / 5], [3 / 40, 9 / 40], [44 / 45, -56 / 15, 32 / 9],
              [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
              [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656], _DP_B[:6]]),
    b=_DP_B, order=5,
    e=[71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40], error_order=4,
    dense="poly", dense_order=4,
    # Shampine (1986) continuous extension (the optimum c6 of [Shampine 1986]), as scipy RK45.P
    P=[[1, -8048581381 / 2820520608, 8663915743 / 2820520608, -12715105075 / 11282082432],
       [0, 0, 0, 0],
       [0, 131558114200 / 32700410799, -68118460800 / 10900136933, 87487479700 / 32700410799],
       [0, -1754552775 / 470086768, 14199869525 / 1410260304, -10690763975 / 1880347072],
       [0, 127303824393 / 49829197408, -318862633887 / 49829197408, 701980252875 / 199316789632],
       [0, -282668133 / 205662961, 2019193451 / 616988883, -1453857185 / 822651844],
       [0, 40617522 / 29380423, -110615467 / 29380423, 69997945 / 29380423]])

# Tsitouras (2011), Table 1 (coefficients to 20+ digits, rounded to float64); FSAL.
_TS_B = [0.09646076681806522951816731316512876, 0.01, 0.4798896504144995747752495322905965,
         1.379008574103741893192274821856872, -3.290069515436080679901047585711363,
         2.324710524099773982415355918398765, 0.0]
_TS_BHAT = [0.09468075576583945807478876255758922, 0.009183565540343253096776363936645313,
            0.4877705284247615707855642599631228, 1.234297566930478985655109673884237,
            -2.707712349983525454881109975059321, 1.866628418170587035753719399566211, 1 / 66]
TSIT5 = ButcherTableau(
    "tsit5", c=[0, 0.161, 0.327, 0.9, 0.9800255409045096857298102862870245, 1, 1],
    A=_lower([[], [0.161],
              [-0.008480655492356988544426874250230774, 0.3354806554923569885444268742502307],
              [2.897153057105493432130432594192938, -6.359448489975074843148159912383825,
               4.362295432869581411017727318190886],
              [5.325864828439256604428877920840511, -11.74888356406282787774717033978577,
               7.495539342889836208304604784564358, -0.09249506636175524925650207933207191],
              [5.861455442946420028659251486982647, -12.92096931784710929170611868178335,
               8.159367898576158643180400794539253, -0.07158497328140099722453054252582973,
               -0.02826905039406838290900305721271224],
              _TS_B[:6]]),
    b=_TS_B, order=5, e=np.subtract(_TS_B, _TS_BHAT), error_order=4,
    dense="poly", dense_order=4,
    # Tsitouras (2011) continuous extension b_i(θ) = Σ_j r_ij θ^j, expanded form
    # (same numbers as OrdinaryDiffEq.jl Tsit5Interp); column j is θ^(j+1).
    P=[[1.0, -2.763706197274826, 2.9132554618219126, -1.0530884977290216],
       [0, 0.13169999999999998, -0.2234, 0.1017],
       [0, 3.9302962368947516, -5.941033872131505, 2.490627285651253],
       [0, -12.411077166933676, 30.33818863028232, -16.548102889244902],
       [0, 37.50931341651104, -88.1789048947664, 47.37952196281928],
       [0, -27.896526289197286, 65.09189467479366, -34.87065786149661],
       [0, 1.5, -4.0, 2.5]])


_TABLEAUS = {t.name: t for t in (EULER, MIDPOINT, HEUN, RK4, RK38, HEUN_EULER, BOSH3,
                                 DOPRI5, TSIT5)}
_TABLEAUS["dop853"] = DOP853
FIXED_METHODS = ("euler", "midpoint", "heun", "rk4", "rk38")
ADAPTIVE_METHODS = ("heun_euler", "bosh3", "dopri5", "tsit5", "dop853")
METHODS = FIXED_METHODS + ADAPTIVE_METHODS

# torchdiffeq's fehlberg2, heun3 and dopri8 (Prince & Dormand 1981): ``tableaus_more``
from .tableaus_more import DOPRI8, FEHLBERG2, HEUN3, MORE_METHODS  # noqa: E402
_TABLEAUS.update({t.name: t for t in (FEHLBERG2, HEUN3, DOPRI8)})


def get_tableau(name):
    """The ``ButcherTableau`` called ``name`` (one of ``METHODS``); a tableau passes through."""
    if isinstance(name, ButcherTableau):
        return name
    try:
        return _TABLEAUS[name]
    except (KeyError, TypeError):
        raise ValueError(f"method: expected one of {', '.join(METHODS)}, got {name!r} "
                         f"(also available: {', '.join(MORE_METHODS)})") from None
