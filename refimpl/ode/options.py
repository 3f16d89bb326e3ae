"""The step options shared by ``solve`` and ``odeint``, checked in one place.

``first_step``, ``max_step``, ``max_steps`` and ``step_size`` mean the same in both entry
points, so one validator serves both: a bad value is a ``ValueError`` naming the argument
(never a ``ZeroDivisionError``, a silent negative step, or 100 000 steps of work before a
``SolverError``), and a fixed-step run whose grid would exceed ``max_steps`` is refused
before anything is allocated (a grid of ``|t1 - t0| / step_size`` points can be terabytes).

References
----------
DESIGN.md, "Bad input".
"""
import math
import numbers

from .errors import STATUS_MAX_STEPS, FixedGridTooLong

__all__ = ["positive", "check_step_options", "MAX_STEPS_DEFAULT"]

#: the default cap on the number of steps (solve and odeint)
MAX_STEPS_DEFAULT = 100_000


def positive(name, v, allow_inf=False):
    """``float(v)`` if it is a positive (finite unless ``allow_inf``) number, else a
    ValueError naming ``name``."""
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a positive number, got {v!r}") from None
    if not (v > 0) or (math.isinf(v) and not allow_inf) or math.isnan(v):
        raise ValueError(f"{name}: expected a positive {'' if allow_inf else 'finite '}number, "
                         f"got {v!r}")
    return v


def check_step_options(first_step, max_step, max_steps, step_size, span, fixed=False,
                       t0=0.0):
    """Cleaned ``(first_step, max_step, max_steps, step_size)``.

    ``span`` is ``|t1 - t0|`` (the whole integration), ``t0`` its start (for the error). ``fixed``: the run takes fixed steps
    (``step_size`` given, or a fixed-step method); then ``ceil(span / step_size)`` steps are
    needed, and more than ``max_steps`` of them is refused here, before a grid is built,
    with ``FixedGridTooLong`` (a ValueError and a SolverError).
    """
    if first_step is not None:
        first_step = positive("first_step", first_step)
        if first_step > span:
            raise ValueError(f"first_step: expected at most |t1 - t0| = {span}, "
                             f"got {first_step}")
    max_step = positive("max_step", max_step, allow_inf=True)
    if isinstance(max_steps, bool) or not isinstance(max_steps, numbers.Integral) \
            or max_steps < 1:
        raise ValueError(f"max_steps: expected a positive integer, got {max_steps!r}")
    if step_size is not None:
        step_size = positive("step_size", step_size)
        needed = math.ceil(span / step_size * (1 - 1e-12)) if span > 0 else 0
        if fixed and needed > max_steps:
            raise FixedGridTooLong(f"step_size: {step_size!r} needs {needed} steps to cover "
                                   f"|t1 - t0| = {span}, more than max_steps={int(max_steps)}; "
                                   "pass a larger step_size (or raise max_steps)",
                                   t=t0, h=step_size, nfev=0, n_steps=0,
                                   status=STATUS_MAX_STEPS)
    return first_step, max_step, int(max_steps), step_size
