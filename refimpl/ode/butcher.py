"""The Butcher tableau of an explicit Runge–Kutta method: a validated container of coefficients.

Data only (no stepping): the named tableaus are in `refimpl.ode.tableaus` (DOP853's in
`refimpl.ode.tableau_dop853`); the step that uses them is `refimpl.ode.rk_step.rk_step`.
Split out of `tableaus.py` so that both coefficient modules import it without importing
each other (no import cycle).
"""
from dataclasses import dataclass, field

import numpy as np

__all__ = ["ButcherTableau"]


@dataclass(frozen=True, eq=False)
class ButcherTableau:
    """An explicit Runge–Kutta method, validated when built.

    Parameters
    ----------
    name : str
    c : (s,) nodes.
    A : (s, s) strictly lower-triangular stage matrix.
    b : (s,) weights of the propagated solution (sum to 1).
    order : int, order of ``b``.
    e : (s,) or None, error weights ``b - b_hat`` (sum to 0); None for fixed-step methods.
    error_order : int or None, ``q`` with ``err ~ h**(q+1)`` (step rule exponent ``-1/(q+1)``).
    e3 : (s,) or None, dop853 only: the 3rd-order error weights ``b - b_hat3``.
    dense : "hermite" | "poly" | "dop853", the continuous extension.
    P : (s, p) or None, dense-output coefficients for ``dense="poly"``.
    dense_order : int, order of the continuous extension.

    Attributes
    ----------
    fsal : bool
        True when the last stage is ``f(t + h, y_new)`` (reused as the next
        step's first stage).
    """
    name: str
    c: np.ndarray
    A: np.ndarray
    b: np.ndarray
    order: int
    e: np.ndarray = None
    error_order: int = None
    e3: np.ndarray = None
    dense: str = "hermite"
    P: np.ndarray = None
    dense_order: int = 3
    fsal: bool = field(init=False)

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        for k in ("c", "A", "b", "e", "e3", "P"):
            v = getattr(self, k)
            if v is not None:
                v = np.array(v, dtype=np.float64)
                v.setflags(write=False)
                set_(k, v)
        c, A, b, s = self.c, self.A, self.b, len(self.c)
        if A.shape != (s, s) or b.shape != (s,):
            raise ValueError(f"tableau {self.name!r}: expected A ({s},{s}) and b ({s},), "
                             f"got A {A.shape} and b {b.shape}")
        if np.any(np.triu(A) != 0):
            raise ValueError(f"tableau {self.name!r}: A must be strictly lower triangular")
        # tolerance relative to the size of the entries: long decimal coefficients
        # (tsit5, dop853) are rounded to float64.
        tol = 1e-14 * max(1.0, np.abs(A).sum(axis=1).max())
        if np.max(np.abs(A.sum(axis=1) - c)) > tol:
            raise ValueError(f"tableau {self.name!r}: rows of A must sum to c")
        if abs(b.sum() - 1.0) > 1e-14 * max(1.0, np.abs(b).sum()):
            raise ValueError(f"tableau {self.name!r}: b must sum to 1, got {b.sum()!r}")
        for k in ("e", "e3"):
            v = getattr(self, k)
            if v is not None:
                if v.shape != (s,):
                    raise ValueError(f"tableau {self.name!r}: {k} must have shape ({s},)")
                if abs(v.sum()) > 1e-14 * max(1.0, np.abs(v).sum()):
                    raise ValueError(f"tableau {self.name!r}: {k} must sum to 0, got {v.sum()!r}")
        if (self.e is None) != (self.error_order is None):
            raise ValueError(f"tableau {self.name!r}: give both e and error_order or neither")
        if self.dense not in ("hermite", "poly", "dop853"):
            raise ValueError(f"tableau {self.name!r}: unknown dense {self.dense!r}")
        if self.dense == "poly" and (self.P is None or self.P.shape[0] != s):
            raise ValueError(f"tableau {self.name!r}: dense='poly' needs P of shape ({s}, p)")
        fsal = bool(s > 1 and c[-1] == 1.0 and b[-1] == 0.0
                    and np.array_equal(A[-1, :-1], b[:-1]))
        set_("fsal", fsal)

    @property
    def n_stages(self):
        """Number of stages ``s`` (FSAL stage included)."""
        return len(self.c)

    @property
    def adaptive(self):
        """True when the tableau has an embedded error estimate."""
        return self.e is not None

    def __repr__(self):
        kind = f"{self.order}({self.error_order})" if self.adaptive else f"{self.order}"
        return (f"ButcherTableau({self.name!r}, order {kind}, stages={self.n_stages}, "
                f"fsal={self.fsal})")
