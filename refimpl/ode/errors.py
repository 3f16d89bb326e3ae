"""Errors raised by the ODE engine.

``SolverError`` is raised when an integration cannot continue (step-size
underflow, ``max_steps`` exceeded, non-finite state or derivative). It carries
where the solver stopped and what it had spent, so a caller can report or
retry. Bad *input* is a plain ``ValueError`` naming the argument.

References
----------
DESIGN.md, "Bad input": a solver that cannot continue raises an error carrying
``t``, the step size and the counts so far; it never loops forever.
"""

__all__ = ["SolverError", "FixedGridTooLong", "STATUS_SUCCESS", "STATUS_STEP_UNDERFLOW",
           "STATUS_MAX_STEPS", "STATUS_NONFINITE"]

#: integration reached the end of ``t_span``
STATUS_SUCCESS = 0
#: the step size fell below 10 ulps of ``t`` (scipy's ``min_step`` rule)
STATUS_STEP_UNDERFLOW = -1
#: more than ``max_steps`` attempted steps
STATUS_MAX_STEPS = -2
#: the state or the derivative became NaN/inf and shrinking the step did not help
STATUS_NONFINITE = -3


class SolverError(RuntimeError):
    """An integration that could not continue.

    Attributes
    ----------
    t : float
        Time of the last accepted point (where the solver was stuck).
    h : float
        Signed step size of the last attempt (``nan`` if no step was tried).
    nfev : int
        Right-hand-side evaluations spent so far.
    n_steps : int
        Attempted steps so far (accepted + rejected).
    n_accepted, n_rejected : int
        Accepted and rejected steps so far.
    status : int
        One of ``STATUS_STEP_UNDERFLOW`` (-1), ``STATUS_MAX_STEPS`` (-2),
        ``STATUS_NONFINITE`` (-3).
    """

    def __init__(self, message, *, t, h, nfev, n_steps, status,
                 n_accepted=0, n_rejected=0):
        self.t = float(t)
        self.h = float(h)
        self.nfev = int(nfev)
        self.n_steps = int(n_steps)
        self.n_accepted = int(n_accepted)
        self.n_rejected = int(n_rejected)
        self.status = int(status)
        super().__init__(
            f"{message} (t={self.t!r}, h={self.h!r}, nfev={self.nfev}, "
            f"n_steps={self.n_steps}, status={self.status})")


class FixedGridTooLong(SolverError, ValueError):
    """A fixed-step run whose grid needs more than ``max_steps`` steps, refused before the
    grid is built. Both a ``ValueError`` (the arguments ``step_size`` / ``max_steps`` are the
    cause, and the message names them) and a ``SolverError`` with status
    ``STATUS_MAX_STEPS`` (what it was before the check moved ahead of the allocation)."""
