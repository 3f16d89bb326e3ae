"""``controller="hairer"``: Hairer's DOPRI5 / DOP853 codes as shipped in
``scipy.integrate.ode("dopri5" | "dop853")`` and driven by one ``integrate(t_end)`` call.

The loop mirrors ``DOPCOR`` / ``DP86CO`` of ``dopri5.f`` / ``dop853.f`` as translated to
C in scipy (``scipy/integrate/src/dop.c``): same step sequence and counts (NFCN, NSTEP,
NACCPT, NREJCT), and the same arithmetic order — stage sums left to right over the
nonzero coefficients, sequential reductions — so results agree to the last bits
(tests compare with scipy).

What Hairer's codes do (``HairerController``), and where it differs
-------------------------------------------------------------------
* Initial step ``HINIT``: Hairer II.4 with *sums* of squares (not RMS):
  ``h0 = 0.01 sqrt(Σ(y/sk)² / Σ(f/sk)²)`` (1e-6 if either sum <= 1e-10), capped by
  ``hmax``; ``der2 = sqrt(Σ((f1-f0)/sk)²)/h0``; ``h1 = (0.01/max(der2, sqrt(Σ(f/sk)²)))^(1/iord)``
  (iord 5 / 8); ``h = min(100 h0, h1, hmax)``. NFCN counts 2 for ``f(t0)`` and HINIT,
  even when ``first_step`` is given (then one evaluation fewer actually happens).
* ``hmax`` defaults to ``|t_end - t0|`` (scipy passes ``max_step = 0``).
* Last step: if ``t + 1.01 h`` passes ``t_end`` the step is stretched to land on it.
* Step floor: stop when ``0.1 |h| <= |t| uround`` (uround 2.22e-16 as in scipy's C;
  Fortran's 2.3e-16).
* Acceptance ``err <= 1``; error norm RMS (dopri5) or the DOP853 combination.
* Next step, a PI ("Lund-stabilised") controller: ``fac11 = err^expo1``,
  ``fac = fac11 / facold^beta`` clipped to ``[1/fac2, 1/fac1]`` after dividing by
  ``safe``, ``h_new = h / fac``; ``facold = max(err, 1e-4)`` after acceptance
  (starting at 1e-4). DOPRI5: ``expo1 = 0.2 - 0.75 beta``; scipy passes ``beta = 0``,
  which the code reads as its default **0.04**; ``fac1 = 0.2, fac2 = 10``. DOP853:
  ``expo1 = 1/8 - 0.2 beta`` with ``beta = 0`` (its default), and scipy passes
  ``fac1 = dfactor = 0.3, fac2 = ifactor = 6``. Safety 0.9.
* After a rejection: ``h_new = h / min(1/fac1, fac11/safe)`` (no PI term), and the
  next accepted step may not grow (``|h_new| <= |h|``); ``|h_new| <= hmax``.
  **scipy's DOP853 differs from dop853.f here**: its C translation (``src/dop.c``,
  ``dp86co``) divides by ``min(facc1, facc1/safe)``, i.e. always shrinks by ``1/fac1``
  (= 1/0.3) after a rejection; the preset reproduces what scipy ships. scipy's
  translation also sets uround to 2.22e-16 (the Fortran default is 2.3e-16).
* Evaluations: DOPRI5 6 per attempt (FSAL); DOP853 11 per attempt plus
  ``f(t_new, y_new)`` on acceptance. NREJCT does not count rejections before the
  first accepted step (``Solution.n_rejected`` does; use ``history`` to compare).
* ``t_eval`` / ``dense_output`` (not reachable through ``ode.integrate``) use refimpl's
  dense output (the same polynomials as CONTD5 / CONTD8), built only where needed.
* Not reproduced: the stiffness detection (scipy may stop with "problem is probably
  stiff"); solout/IOUT; NaN handling (NaN error norm: shrink by ``1/fac1``).

References
----------
E. Hairer, S. P. Nørsett, G. Wanner, *Solving ODEs I*, 2nd ed. (1993), Sec. II.4,
II.5 and IV.2 (step-size stabilisation); codes ``dopri5.f``, ``dop853.f``
(http://www.unige.ch/~hairer/software.html); scipy ``integrate/_ode.py`` (classes
``dopri5``, ``dop853``: the WORK parameters passed).
"""
import math

import numpy as np

from . import errors as E
from .dense import step_coefficients
from .stepper import Output

__all__ = ["HairerController", "HAIRER_PARAMS", "run_hairer", "hinit"]

UROUND = 2.220446049250313e-16            # scipy's C translation (Fortran default: 2.3e-16)
#: (safe, fac1, fac2, beta, expo1) as DOPCOR/DP86CO see them when called from scipy
HAIRER_PARAMS = {"dopri5": (0.9, 0.2, 10.0, 0.04, 0.2 - 0.04 * 0.75),
                 "dop853": (0.9, 0.3, 6.0, 0.0, 1.0 / 8.0)}


def seqsum(v):
    """Left-to-right sum (the C loop ``s = s + v[i]``), not NumPy's pairwise sum."""
    return float(np.cumsum(v)[-1])


def lincomb(coeffs, K):
    """``c_0 K_0 + c_1 K_1 + ...`` evaluated left to right, as the C stage loops."""
    acc = coeffs[0][1] * K[coeffs[0][0]]
    for j, a in coeffs[1:]:
        acc = acc + a * K[j]
    return acc


def nonzero(row):
    """[(j, a_j)] of the nonzero coefficients (the C code omits the zero ones)."""
    return [(j, float(a)) for j, a in enumerate(row) if a != 0]


def hinit(fun, x, y, f0, posneg, iord, hmax, rtol, atol):
    """Hairer's HINIT (sums of squares, not RMS); returns the signed first step."""
    sk = atol + rtol * np.abs(y)
    dnf, dny = seqsum((f0 / sk) ** 2), seqsum((y / sk) ** 2)
    h = 1.0e-6 if dnf <= 1e-10 or dny <= 1e-10 else math.sqrt(dny / dnf) * 0.01
    h = math.copysign(min(h, hmax), posneg)
    f1 = fun(x + h, y + h * f0)                                   # explicit Euler step
    der2 = math.sqrt(seqsum(((f1 - f0) / sk) ** 2)) / h
    der12 = max(abs(der2), math.sqrt(dnf))
    h1 = max(1.0e-6, abs(h) * 1.0e-3) if der12 <= 1e-15 else (0.01 / der12) ** (1.0 / iord)
    return math.copysign(min(100 * abs(h), h1, hmax), posneg)


class HairerController:
    """Step-control rules of Hairer's DOPRI5/DOP853 (see module docstring)."""
    name = "hairer"

    def __init__(self, method):
        self.safe, self.fac1, self.fac2, self.beta, self.expo1 = HAIRER_PARAMS[method]
        # scipy's C translation of DP86CO (scipy/integrate/src/dop.c) rejects with
        # h / min(facc1, facc1/safe) = h / facc1, where dop853.f has h / min(facc1, fac11/safe)
        self.reject_by_facc1 = method == "dop853"
        self.facc1, self.facc2 = 1.0 / self.fac1, 1.0 / self.fac2
        self.facold = 1.0e-4

    @staticmethod
    def accept(err):
        return err <= 1.0

    def new_step(self, h, err, accepted):
        """``h_new`` from DOPCOR's "COMPUTATION OF HNEW"; updates ``facold`` on acceptance."""
        if not math.isfinite(err):
            return h / self.facc1                                 # NaN: shrink by 1/fac1
        fac11 = err ** self.expo1
        if not accepted:
            if self.reject_by_facc1:
                return h / min(self.facc1, self.facc1 / self.safe)   # as shipped in scipy
            return h / min(self.facc1, fac11 / self.safe)
        fac = fac11 / self.facold ** self.beta                    # Lund stabilisation
        fac = max(self.facc2, min(self.facc1, fac / self.safe))
        self.facold = max(err, 1.0e-4)
        return h / fac

    @staticmethod
    def last_step(x, h, xend, posneg):
        """Stretch to ``xend`` when ``x + 1.01 h`` passes it: returns ``(h, last)``."""
        if (x + 1.01 * h - xend) * posneg > 0:
            return xend - x, True
        return h, False


def _error(tab, K, k4, h, y, y_new, rtol, atol, n):
    """DOPCOR / DP86CO error estimate (``k4`` = Σ b_i k_i, used by DP86CO's 3rd-order part)."""
    sk = atol + rtol * np.maximum(np.abs(y), np.abs(y_new))
    if tab.e3 is None:                                            # DOPCOR: sqrt(Σ(err/sk)²/n)
        return math.sqrt(seqsum((lincomb(nonzero(tab.e), K) * h / sk) ** 2) / n)
    from .tableau_dop853 import _BHAT3                            # DP86CO: bhh1, bhh2, bhh3
    erri2 = k4 - _BHAT3[0] * K[0] - _BHAT3[8] * K[8] - _BHAT3[11] * K[11]
    err2 = seqsum((erri2 / sk) ** 2)
    err = seqsum((lincomb(nonzero(tab.e), K) / sk) ** 2)
    deno = err + 0.01 * err2
    deno = 1.0 if deno <= 0 else deno
    return abs(h) * err * math.sqrt(1.0 / (n * deno))


def run_hairer(p, f0, dense_output):
    tab, fun, xend = p.tab, p.fun, p.t1
    n, s, fsal = p.y0.size, tab.n_stages, tab.fsal
    ns = s - 1 if fsal else s
    ctrl = HairerController(tab.name)
    rtol, atol = p.rtol, p.atol
    posneg = 1.0 if xend >= p.t0 else -1.0
    hmax = abs(p.max_step) if math.isfinite(p.max_step) else abs(xend - p.t0)
    K = np.empty((16 if tab.dense == "dop853" else s + (0 if fsal else 1), n))
    rows = [nonzero(tab.A[i, :i]) for i in range(ns)]
    b_nz = nonzero(tab.b[:ns])
    c = [float(v) for v in tab.c]
    out = Output(p, dense_output, tab.dense)
    record = out.history.append
    x, y = p.t0, p.y0
    K[0] = f0
    if x == xend:                                                 # nothing to integrate
        out.counts = (1, 0, 0)
        return out
    iord = 8 if tab.name == "dop853" else 5
    h = posneg * p.first_step if p.first_step else hinit(fun, x, y, f0, posneg, iord, hmax,
                                                          rtol, atol)
    nfev = 2                                                      # NFCN=NFCN+2 (f0, HINIT)
    naccpt = nrej = 0
    reject = False
    err = 0.0
    while True:
        if naccpt + nrej >= p.max_steps:
            raise E.SolverError(f"max_steps={p.max_steps} exceeded", t=x, h=h, nfev=nfev,
                                n_steps=naccpt + nrej, n_accepted=naccpt, n_rejected=nrej,
                                status=E.STATUS_MAX_STEPS)
        if 0.1 * abs(h) <= abs(x) * UROUND:      # after NaN errors: status non-finite (-3)
            bad = not math.isfinite(err)
            raise E.SolverError("step size too small (0.1|h| <= |t| uround)"
                                + (" after non-finite values" if bad else ""), t=x, h=h,
                                nfev=nfev, n_steps=naccpt + nrej, n_accepted=naccpt,
                                n_rejected=nrej,
                                status=E.STATUS_NONFINITE if bad else E.STATUS_STEP_UNDERFLOW)
        h, last = ctrl.last_step(x, h, xend, posneg)
        # the stages (Hairer I, eq. (1.8); DOPCOR "THE FIRST 6 STAGES")
        for i in range(1, ns):
            r = rows[i]
            dy = (h * r[0][1]) * K[r[0][0]] if len(r) == 1 else h * lincomb(r, K)
            K[i] = fun(x + c[i] * h, y + dy)
        xph = x + h
        k4 = lincomb(b_nz, K)                                     # Σ b_i k_i
        y_new = y + h * k4
        if fsal:
            K[ns] = fun(xph, y_new)
        nfev += s - 1
        err = _error(tab, K, k4, h, y, y_new, rtol, atol, n)
        accepted = ctrl.accept(err)
        record((x, h, err, accepted))
        h_new = ctrl.new_step(h, err, accepted)
        if not accepted:
            reject, last = True, False
            nrej += 1
            h = h_new
            continue
        naccpt += 1
        if fsal:
            f_new = K[ns]
        else:
            K[s] = fun(xph, y_new)                # our copy (func may return a list)
            f_new = K[s]
            nfev += 1
        if not (np.all(np.isfinite(y_new)) and np.all(np.isfinite(f_new))):
            raise E.SolverError("non-finite state or derivative", t=xph, h=h, nfev=nfev,
                                n_steps=naccpt + nrej, n_accepted=naccpt, n_rejected=nrej,
                                status=E.STATUS_NONFINITE)
        t_new = xend if last else xph
        C = None
        if out.needs_dense(t_new):
            C, k = step_coefficients(tab, K, y, y_new, K[0], f_new, h, x, fun)
            nfev += k
        out.add_step(x, t_new, y_new, C, h)
        x, y = t_new, y_new
        K[0] = f_new
        if last:
            break
        if abs(h_new) > hmax:
            h_new = posneg * hmax
        if reject:
            h_new = posneg * min(abs(h_new), abs(h))
        reject = False
        h = h_new
    out.counts = (nfev, naccpt, nrej)
    return out
