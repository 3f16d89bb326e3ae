"""More explicit Runge–Kutta methods as Butcher data: torchdiffeq's ``fehlberg2``, ``heun3``
and ``dopri8`` (the true Dormand–Prince 8(7) of Prince & Dormand 1981, 13 stages — not
Hairer's ``dop853``).

Registered with ``get_tableau`` under ``MORE_METHODS`` (kept out of ``METHODS``, whose
membership other tests enumerate); every loop of ``solve`` and ``odeint`` runs them as any
tableau. Checked in ``tests/ode/test_more_tableaus.py``: every rooted-tree order condition
up to the stated order (and a defect at the next), the embedded estimates' orders, and the
empirical order of convergence at fixed steps.

* ``fehlberg2`` — Fehlberg's RKF1(2) [Fehlberg 1969, Table (RKF1(2))], as torchdiffeq
  propagates it: order 2 with the embedded order-1 solution ``b_hat = (1/256, 255/256, 0)``;
  3 stages, not FSAL (the third stage sits on the order-1 solution).
* ``heun3`` — Heun's third-order method [Hairer I, Table 1.1 (right)], fixed step.
* ``dopri8`` — RK8(7)13M [Prince & Dormand 1981, Table 2]: the published rational
  coefficients; order 8 with an embedded order-7 solution, 13 stages plus ``f(t + h, y_new)``
  as a 14th FSAL row (13 evaluations per accepted step). Dense output: the cubic Hermite
  (torchdiffeq fits a quartic through a midpoint value instead).

References
----------
E. Fehlberg, "Low-order classical Runge-Kutta formulas with stepsize control and their
  application to some heat transfer problems", NASA TR R-315 (1969).
E. Hairer, S. P. Nørsett, G. Wanner, *Solving ODEs I*, 2nd ed. (1993), Sec. II.1, Table 1.1.
P. J. Prince, J. R. Dormand, "High order embedded Runge-Kutta formulae", J. Comput. Appl.
  Math. 7 (1981) 67–75, Table 2 (RK8(7)13M).
torchdiffeq ``_impl/fehlberg2.py``, ``fixed_grid.py::Heun3``, ``dopri8.py`` (same numbers).
"""
import numpy as np

from .butcher import ButcherTableau

__all__ = ["FEHLBERG2", "HEUN3", "DOPRI8", "MORE_METHODS"]


def _lower(rows):
    s = len(rows)
    A = np.zeros((s, s))
    for i, r in enumerate(rows):
        A[i, :len(r)] = r
    return A


# [Fehlberg 1969] RKF1(2): y1 (order 1) = y + h(k1/256 + 255 k2/256), y2 (order 2) adds k3
FEHLBERG2 = ButcherTableau("fehlberg2", c=[0, 1 / 2, 1],
                           A=_lower([[], [1 / 2], [1 / 256, 255 / 256]]),
                           b=[1 / 512, 255 / 256, 1 / 512], order=2,
                           e=[-1 / 512, 0, 1 / 512], error_order=1)

# [Hairer I, Table 1.1 (right)] Heun's method of order 3
HEUN3 = ButcherTableau("heun3", c=[0, 1 / 3, 2 / 3], A=_lower([[], [1 / 3], [0, 2 / 3]]),
                       b=[1 / 4, 0, 3 / 4], order=3)

# [Prince & Dormand 1981, Table 2] RK8(7)13M
_C8 = [0, 1 / 18, 1 / 12, 1 / 8, 5 / 16, 3 / 8, 59 / 400, 93 / 200, 5490023248 / 9719169821,
       13 / 20, 1201146811 / 1299019798, 1, 1]
_A8 = [
    [],
    [1 / 18],
    [1 / 48, 1 / 16],
    [1 / 32, 0, 3 / 32],
    [5 / 16, 0, -75 / 64, 75 / 64],
    [3 / 80, 0, 0, 3 / 16, 3 / 20],
    [29443841 / 614563906, 0, 0, 77736538 / 692538347, -28693883 / 1125000000,
     23124283 / 1800000000],
    [16016141 / 946692911, 0, 0, 61564180 / 158732637, 22789713 / 633445777,
     545815736 / 2771057229, -180193667 / 1043307555],
    [39632708 / 573591083, 0, 0, -433636366 / 683701615, -421739975 / 2616292301,
     100302831 / 723423059, 790204164 / 839813087, 800635310 / 3783071287],
    [246121993 / 1340847787, 0, 0, -37695042795 / 15268766246, -309121744 / 1061227803,
     -12992083 / 490766935, 6005943493 / 2108947869, 393006217 / 1396673457,
     123872331 / 1001029789],
    [-1028468189 / 846180014, 0, 0, 8478235783 / 508512852, 1311729495 / 1432422823,
     -10304129995 / 1701304382, -48777925059 / 3047939560, 15336726248 / 1032824649,
     -45442868181 / 3398467696, 3065993473 / 597172653],
    [185892177 / 718116043, 0, 0, -3185094517 / 667107341, -477755414 / 1098053517,
     -703635378 / 230739211, 5731566787 / 1027545527, 5232866602 / 850066563,
     -4093664535 / 808688257, 3962137247 / 1805957418, 65686358 / 487910083],
    [403863854 / 491063109, 0, 0, -5068492393 / 434740067, -411421997 / 543043805,
     652783627 / 914296604, 11173962825 / 925320556, -13158990841 / 6184727034,
     3936647629 / 1978049680, -160528059 / 685178525, 248638103 / 1413531060, 0],
]
#: 8th-order weights (13 stages), and the 7th-order embedded weights
_B8 = [14005451 / 335480064, 0, 0, 0, 0, -59238493 / 1068277825, 181606767 / 758867731,
       561292985 / 797845732, -1041891430 / 1371343529, 760417239 / 1151165299,
       118820643 / 751138087, -528747749 / 2220607170, 1 / 4]
_B7 = [13451932 / 455176623, 0, 0, 0, 0, -808719846 / 976000145, 1757004468 / 5645159321,
       656045339 / 265891186, -3867574721 / 1518517206, 465885868 / 322736535,
       53011238 / 667516719, 2 / 45, 0]
DOPRI8 = ButcherTableau("dopri8", c=_C8 + [1], A=_lower(_A8 + [_B8]), b=_B8 + [0], order=8,
                        e=list(np.subtract(_B8, _B7)) + [0], error_order=7)

MORE_METHODS = ("fehlberg2", "heun3", "dopri8")
