"""Events: where ``g(t, y(t)) = 0`` along a solve, located on the dense output.

scipy's method (``integrate/_ivp/ivp.py``), shared by every step loop that supports events
(``preset_scipy.run_scipy`` and ``stepper.run_adaptive``):

1. after each accepted step ``[t_old, t]`` evaluate every event function at the new point;
   an event is *active* when its value changes sign across the step in its ``direction``
   (``find_active_events``: ``+1`` rising ``g_old <= 0 <= g_new``, ``-1`` falling, ``0``
   either; a value exactly 0 at one end counts, as scipy);
2. for each active event solve ``g(τ, sol(τ)) = 0`` on ``[t_old, t]`` with
   ``scipy.optimize.brentq`` (``xtol = rtol = 4 eps``) on the step's interpolant ``sol``
   (``solve_event_equation``) — the root is that of the *interpolant*, not of the true
   solution: its error is the dense output's (order 4 for dopri5, 3 for bosh3, 7 for dop853)
   plus the root finder's 4 eps;
3. ``terminal`` (``True`` or a positive count ``k``): the run stops at the ``k``-th root of that
   event; when several terminal events fall in one step, the earliest (in the direction of
   integration) wins and later roots of that step are dropped (``handle_events``).

The interpolant is built only when an event is active, so a run with events that never fire
costs no extra evaluations (dop853's dense output costs 3 per step that needs it, as scipy).

An event function is ``event(t, y, *args)`` returning a float; attributes ``terminal``
(bool or positive int, default False) and ``direction`` (float sign, default 0) are read
from the function object, as scipy.

References
----------
scipy ``integrate/_ivp/ivp.py`` (``prepare_events``, ``solve_event_equation``,
``handle_events``, ``find_active_events``); L. F. Shampine, S. Thompson, "Event location for
ordinary differential equations", Comput. Math. Appl. 39 (2000) 43–54.
"""
import numpy as np
from scipy.optimize import brentq

__all__ = ["prepare_events", "find_active_events", "solve_event_equation", "handle_events",
           "EventTracker", "EPS"]

EPS = np.finfo(float).eps

#: scipy's message for a bad ``terminal`` attribute (its tests match on it)
TERMINAL_MESSAGE = ("The `terminal` attribute of each event must be a boolean or positive "
                    "integer.")


def prepare_events(events):
    """``(events tuple, max_events (k,), direction (k,))``; ``max_events`` is inf for a
    non-terminal event. A bad ``terminal`` is a ValueError (scipy's message)."""
    if callable(events):
        events = (events,)
    events = tuple(events)
    max_events = np.empty(len(events))
    direction = np.empty(len(events))
    for i, event in enumerate(events):
        if not callable(event):
            raise TypeError(f"events: expected callables event(t, y), got "
                            f"{type(event).__name__} at position {i}")
        terminal = getattr(event, "terminal", None)
        direction[i] = getattr(event, "direction", 0)
        if terminal is None or terminal == 0:
            max_events[i] = np.inf
        elif int(terminal) == terminal and terminal > 0:
            max_events[i] = terminal
        else:
            raise ValueError(TERMINAL_MESSAGE)
    return events, max_events, direction


def find_active_events(g, g_new, direction):
    """Indices of the events whose value changes sign over a step, in their direction."""
    g, g_new = np.asarray(g), np.asarray(g_new)
    up = (g <= 0) & (g_new >= 0)
    down = (g >= 0) & (g_new <= 0)
    either = up | down
    mask = up & (direction > 0) | down & (direction < 0) | either & (direction == 0)
    return np.nonzero(mask)[0]


def solve_event_equation(event, sol, t_old, t):
    """The root of ``event(τ, sol(τ))`` in ``[t_old, t]`` (brentq, xtol = rtol = 4 eps)."""
    return brentq(lambda tau: event(tau, sol(tau)), t_old, t, xtol=4 * EPS, rtol=4 * EPS)


def handle_events(sol, events, active_events, event_count, max_events, t_old, t):
    """Roots of the active events in one step: ``(indices, roots, terminate)``.

    ``event_count`` already counts this step's occurrences. When an event reaches its
    ``max_events``, roots are sorted in the direction of integration and cut after the first
    event that terminates.
    """
    roots = np.asarray([solve_event_equation(events[i], sol, t_old, t) for i in active_events])
    if np.any(event_count[active_events] >= max_events[active_events]):
        order = np.argsort(roots) if t > t_old else np.argsort(-roots)
        active_events, roots = active_events[order], roots[order]
        first = np.nonzero(event_count[active_events] >= max_events[active_events])[0][0]
        return active_events[:first + 1], roots[:first + 1], True
    return active_events, roots, False


class EventTracker:
    """The event state of one run: values at the last point, counts, the roots found.

    ``after_step(t_old, t, y, make_sol)`` is called by a step loop after each accepted step;
    ``make_sol()`` builds the step's interpolant ``sol(τ) -> y`` (called at most once, only
    when an event is active). Returns ``(t_stop, sol)``: ``t_stop`` the terminal root or None,
    ``sol`` the interpolant if it was built, else None.

    ``wrap`` maps the loop's flat ``y`` to what the event functions see (e.g. a reshape).
    """

    def __init__(self, events, t0, y0, args=(), wrap=None):
        events, self.max_events, self.direction = prepare_events(events)
        self.wrap = wrap if wrap is not None else (lambda y: y)
        if args:
            events = tuple((lambda t, y, ev=ev: ev(t, y, *args)) for ev in events)
        w = self.wrap
        self.events = tuple((lambda t, y, ev=ev: ev(t, w(y))) for ev in events)
        self.count = np.zeros(len(events))
        self.g = [ev(t0, y0) for ev in self.events]
        self.t_events = [[] for _ in events]
        self.y_events = [[] for _ in events]

    def after_step(self, t_old, t, y, make_sol):
        g_new = [ev(t, y) for ev in self.events]
        active = find_active_events(self.g, g_new, self.direction)
        self.g = g_new
        if active.size == 0:
            return None, None
        sol = make_sol()
        self.count[active] += 1
        idx, roots, terminate = handle_events(sol, self.events, active, self.count,
                                              self.max_events, t_old, t)
        for e, te in zip(idx, roots):
            self.t_events[e].append(te)
            self.y_events[e].append(self.wrap(sol(te)))
        return (roots[-1] if terminate else None), sol

    def results(self):
        """``(t_events, y_events)``: lists of arrays, one per event (scipy's layout)."""
        return ([np.asarray(te) for te in self.t_events],
                [np.asarray(ye) for ye in self.y_events])
