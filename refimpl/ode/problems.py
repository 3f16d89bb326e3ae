"""Test problems with known answers, for tests, numerics and verifiers.

* DETEST classes A, B, D, E (Hull et al. 1972): ``DETEST[name] = (rhs, y0, exact)``
  on ``[0, DETEST_T_END]``; ``exact(t) -> (len(t), n)`` or None (A5, E2).
* Arenstorf orbit (Hairer I, Sec. II.0, eq. (0.1)): periodic with period ``ARENSTORF_T``.
* Kepler two-body problem with eccentricity ``e`` (= DETEST D1–D5): closed form
  through Kepler's equation; energy ``-1/2`` is conserved.
* Lorenz system (sigma 10, rho 28, beta 8/3).

References
----------
T. E. Hull, W. H. Enright, B. M. Fellen, A. E. Sedgwick, "Comparing numerical methods
  for ordinary differential equations", SIAM J. Numer. Anal. 9 (1972) 603–637.
E. Hairer, S. P. Nørsett, G. Wanner, *Solving ODEs I*, 2nd ed. (1993): Sec. II.0
  (Arenstorf orbit, eq. (0.1)–(0.2)), Sec. I.16 (Lorenz).
"""
import numpy as np
from scipy.special import ellipj

__all__ = ["DETEST", "DETEST_T_END", "arenstorf", "ARENSTORF_MU", "ARENSTORF_Y0", "ARENSTORF_T",
           "kepler",
           "kepler_y0", "kepler_exact", "kepler_energy", "lorenz", "LORENZ_Y0"]

# --- Arenstorf orbit: Hairer I, eq. (0.1), initial values (0.2) ---------------
ARENSTORF_MU = 0.012277471
ARENSTORF_Y0 = np.array([0.994, 0.0, 0.0, -2.00158510637908252240537862224])
ARENSTORF_T = 17.0652165601579625588917206249


def arenstorf(t, y, mu=ARENSTORF_MU):
    """Restricted three-body problem (Hairer I, eq. (0.1)), state (y1, y2, y1', y2')."""
    x, z, vx, vz = y
    mp = 1.0 - mu
    d1 = ((x + mu) ** 2 + z * z) ** 1.5
    d2 = ((x - mp) ** 2 + z * z) ** 1.5
    return np.array([vx, vz, x + 2 * vz - mp * (x + mu) / d1 - mu * (x - mp) / d2,
                     z - 2 * vx - mp * z / d1 - mu * z / d2])


# --- Kepler two-body problem (DETEST D) ---------------------------------------
def kepler(t, y):
    """``q'' = -q / |q|^3``, state (q1, q2, p1, p2)."""
    r3 = (y[0] * y[0] + y[1] * y[1]) ** 1.5
    return np.array([y[2], y[3], -y[0] / r3, -y[1] / r3])


def kepler_y0(e):
    """Start at perihelion of the orbit with eccentricity ``e`` and semi-major axis 1."""
    return np.array([1 - e, 0.0, 0.0, np.sqrt((1 + e) / (1 - e))])


def kepler_exact(t, e):
    """Closed form: Kepler's equation ``E - e sin E = t`` (Newton), returns (len(t), 4)."""
    t = np.asarray(t, dtype=float)
    E = t + e * np.sin(t)
    for _ in range(60):
        E = E - (E - e * np.sin(E) - t) / (1 - e * np.cos(E))
    s, c, w = np.sin(E), np.cos(E), np.sqrt(1 - e * e)
    d = 1 - e * c
    return np.stack([c - e, w * s, -s / d, w * c / d], axis=-1)


def kepler_energy(y):
    """``|p|^2/2 - 1/|q|`` for states ``y`` (..., 4); equals -1/2 on these orbits."""
    y = np.asarray(y)
    return 0.5 * (y[..., 2] ** 2 + y[..., 3] ** 2) - 1 / np.hypot(y[..., 0], y[..., 1])


# --- Lorenz -----------------------------------------------------------------
LORENZ_Y0 = np.array([1.0, 1.0, 1.0])


def lorenz(t, y, sigma=10.0, rho=28.0, beta=8.0 / 3.0):
    return np.array([sigma * (y[1] - y[0]), y[0] * (rho - y[2]) - y[1], y[0] * y[1] - beta * y[2]])


# --- DETEST subset ------------------------------------------------------------
DETEST_T_END = 20.0
DETEST = {
    "A1": (lambda t, y: -y, [1.0], lambda t: np.exp(-t)[:, None]),
    "A2": (lambda t, y: -0.5 * y ** 3, [1.0], lambda t: (1 / np.sqrt(1 + t))[:, None]),
    "A3": (lambda t, y: y * np.cos(t), [1.0], lambda t: np.exp(np.sin(t))[:, None]),
    "A4": (lambda t, y: 0.25 * y * (1 - y / 20), [1.0],
           lambda t: (20 / (1 + 19 * np.exp(-t / 4)))[:, None]),
    "A5": (lambda t, y: (y - t) / (y + t), [4.0], None),
    # Euler's equations of a rigid body: (sn, cn, dn)(t | m = 0.51)
    "B5": (lambda t, y: np.array([y[1] * y[2], -y[0] * y[2], -0.51 * y[0] * y[1]]),
           [0.0, 1.0, 1.0], lambda t: np.stack(ellipj(t, 0.51)[:3], axis=-1)),
    # van der Pol, mu = 1
    "E2": (lambda t, y: np.array([y[1], (1 - y[0] ** 2) * y[1] - y[0]]), [2.0, 0.0], None),
}
for _k, _e in enumerate((0.1, 0.3, 0.5, 0.7, 0.9), start=1):
    DETEST[f"D{_k}"] = (kepler, kepler_y0(_e), lambda t, e=_e: kepler_exact(t, e))
