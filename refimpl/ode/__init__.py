"""The ODE engine: explicit Runge–Kutta methods as Butcher tableaus, one shared
adaptive stepper with dense output, and (in ``odeint``) differentiable solves.

* ``solve(func, t_span, y0, ...)`` — forward solver; argument order follows
  ``scipy.integrate.solve_ivp``; ``controller="scipy" | "hairer" | "torchdiffeq"`` replays
  solve_ivp, Hairer's codes (scipy.integrate.ode) or torchdiffeq step for step.
* ``get_tableau(name)`` / ``METHODS`` — the methods' data.
* ``refimpl.ode.control`` — the default controller's pieces.
* ``inplace(g)`` / ``specialise(func)`` — numba fast path of ``solve``: an in-place
  jitted RHS ``g(t, y, out, *args)``, and a loop compiled for one RHS (``refimpl.ode.fast``).
* ``SolverError`` — an integration that cannot continue.
* ``refimpl.ode.problems`` — test problems with closed forms (DETEST, Arenstorf, Kepler, Lorenz).

References
----------
E. Hairer, S. P. Nørsett, G. Wanner, *Solving Ordinary Differential Equations I*,
2nd ed., Springer (1993).
"""
from .errors import SolverError
from .tableaus import ADAPTIVE_METHODS, FIXED_METHODS, METHODS, ButcherTableau, get_tableau
from .control import DefaultController
from .preset_hairer import HairerController
from .preset_scipy import ScipyController
from .preset_torchdiffeq import TorchdiffeqController
from .solve import Solution, StepHistory, solve
from .fast import inplace, specialise

__all__ = ["solve", "Solution", "StepHistory", "SolverError", "ButcherTableau", "get_tableau",
           "METHODS", "FIXED_METHODS", "ADAPTIVE_METHODS", "DefaultController", "ScipyController",
           "HairerController", "TorchdiffeqController", "inplace", "specialise"]

# --- differentiable odeint (refimpl/ode/odeint.py) ---
from .odeint import GRADIENTS, odeint  # noqa: E402
from refimpl.nn.time_mlp import MLPDynamics, init_mlp_dynamics, mlp_dynamics  # noqa: E402  (shared: refimpl.nn)

__all__ += ["odeint", "GRADIENTS", "mlp_dynamics", "init_mlp_dynamics", "MLPDynamics"]
