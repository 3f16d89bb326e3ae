"""What `solve` returns: `Solution` and its `StepHistory` (every attempted step).

Data only, split out of `solve.py` so that the numba fast path (`refimpl.ode.fast.glue`) can
build a `Solution` without importing `solve.py`, which imports it (no import cycle).
"""
from dataclasses import dataclass

import numpy as np

__all__ = ["Solution", "StepHistory"]


@dataclass(frozen=True)
class StepHistory:
    """Every attempted step, in order: where two solvers part ways.

    Attributes (arrays of equal length, one entry per attempt)
    ----------------------------------------------------------
    t : start of the attempt; h : signed step tried; error_norm : the controller's
    error norm (NaN at fixed steps); accepted : bool.
    """
    t: np.ndarray
    h: np.ndarray
    error_norm: np.ndarray
    accepted: np.ndarray

    @classmethod
    def from_records(cls, records):
        if not records:
            return cls(*(np.zeros(0) for _ in range(3)), np.zeros(0, dtype=bool))
        t, h, err, acc = zip(*records)
        return cls(np.array(t, dtype=float), np.array(h, dtype=float),
                   np.array(err, dtype=float), np.array(acc, dtype=bool))

    def as_arrays(self):
        """``dict(t=..., h=..., error_norm=..., accepted=...)`` (e.g. for ``np.savez``)."""
        return {"t": self.t, "h": self.h, "error_norm": self.error_norm,
                "accepted": self.accepted}

    def __len__(self):
        return len(self.t)


@dataclass
class Solution:
    """Result of ``solve``.

    Attributes
    ----------
    t : (m,) the ``t_eval`` points, or every accepted step (``t0`` included).
    y : (m,) + y0.shape, the solution at ``t``.
    nfev : right-hand-side evaluations (initial step selection included).
    n_steps : attempted steps (``n_accepted + n_rejected``).
    n_accepted, n_rejected : accepted and rejected steps.
    status : 0 (reached ``t1``), 1 (a terminal event; failures raise ``SolverError``).
    message : str.
    sol : ``DenseSolution`` (callable ``sol(t)``) when ``dense_output=True``, else None.
    method : name of the tableau.
    controller : "default", "scipy", "hairer" or "torchdiffeq".
    history : ``StepHistory`` of every attempted step.
    t_events, y_events : with ``events``: one array per event, its roots (k,) and the states
        there (k,) + y0.shape; else None.
    """
    t: np.ndarray
    y: np.ndarray
    nfev: int
    n_steps: int
    n_accepted: int
    n_rejected: int
    status: int
    message: str
    sol: object
    method: str
    controller: str = "default"
    history: StepHistory = None
    t_events: list = None
    y_events: list = None

    @property
    def success(self):
        return self.status >= 0
