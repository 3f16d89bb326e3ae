"""The ODE engine: explicit Runge–Kutta methods as Butcher tableaus, one definition of the
step, several loops that take it, and (in ``odeint``) differentiable solves.

* ``solve(func, t_span, y0, ...)`` — forward solver; argument order follows
  ``scipy.integrate.solve_ivp``; ``controller="scipy" | "hairer" | "torchdiffeq"`` replays
  solve_ivp, Hairer's codes (scipy.integrate.ode) or torchdiffeq step for step.
* ``odeint(func, y0, t, ...)`` — differentiable solves (adjoint, backprop, checkpoint);
  ``controller="torchdiffeq"`` replays torchdiffeq's ``odeint`` / ``odeint_adjoint`` (dopri5)
  step for step, on the engine of ``solve``'s preset (``preset_torchdiffeq``).
* ``get_tableau(name)`` / ``METHODS`` — the methods' data (``butcher``, ``tableaus``,
  ``tableau_dop853``).
* ``refimpl.ode.control`` — the default controller's pieces.
* ``inplace(g)`` / ``specialise(func)`` — numba fast path of ``solve``: an in-place
  jitted RHS ``g(t, y, out, *args)``, and a loop compiled for one RHS (``refimpl.ode.fast``).
* ``SolverError`` — an integration that cannot continue.
* ``solve_ivp`` and ``RK23`` / ``RK45`` / ``DOP853`` — drop-ins of scipy's (``scipy_ivp``,
  ``scipy_classes``), thin layers over the scipy preset's step object ``ScipyRK``.
* events (``solve(..., events=...)``, ``solve_ivp``): ``refimpl.ode.events``.
* ``torchdiffeq_odeint(func, y0, t, rtol, atol, method, options, event_fn)`` — torchdiffeq's
  conventions over the traced loop (``torchdiffeq_api``); torchdiffeq's ``fehlberg2``,
  ``heun3`` and ``dopri8`` as tableaus (``tableaus_more``, ``MORE_METHODS``); its step rule
  (``safety``/``ifactor``/``dfactor``, ``torchdiffeq_control``), tuple and complex states
  (``torchdiffeq_state``); the implicit fixed-grid family (``implicit``), the Adams methods
  (``fixed_adams``), events on fixed grids with event-time gradients (``fixed_events``).
* ``refimpl.ode.radau.radau`` / ``Radau5`` — adaptive Radau IIA 5 for stiff problems, scipy's
  ``Radau`` algorithm (same steps and counts; ``numerics/results/radau_vs_scipy.md``); the
  drop-in ``Radau`` class and ``solve_ivp(method="Radau")`` (``scipy_radau``).
* ``refimpl.ode.problems`` — test problems with closed forms (DETEST, Arenstorf, Kepler, Lorenz).
* ``mlp_dynamics`` & co. are re-exported from ``refimpl.nn.time_mlp`` (their home).

The step and the loops that take it
-----------------------------------
The definition is ``rk_step.rk_step`` (formula visible, as scipy's ``rk_step``:
``dy = K[:i].T @ a[:i] * h``). Every other loop is a faster or differently-controlled twin,
tied to the definition by a test in ``tests/ode/test_rk_step_definition.py`` that replays each
accepted step through ``rk_step``:

* ``rk_step.rk_step`` — the definition (readable, one step);
  test ``test_error_estimate_is_h_K_e``.
* ``stepper.run_adaptive`` — the NumPy loop of ``solve`` (stage rows precomputed, one product
  per stage, default controller); test ``test_adaptive_loops_step_by_the_definition``.
* ``stepper.run_fixed`` — the NumPy fixed-step loop;
  test ``test_fixed_step_loop_steps_by_the_definition``.
* ``traced.rk_step`` / ``traced.integrate`` — the traced loop, which autograd can follow
  (``odeint``'s engine); test ``test_traced_step_is_the_definition``.
* ``preset_scipy.run_scipy``, ``preset_hairer.run_hairer``, ``preset_torchdiffeq.run_torchdiffeq``
  — each a replay of a library's control flow (solve_ivp, Hairer's dopri5/dop853,
  torchdiffeq); test ``test_adaptive_loops_step_by_the_definition`` (parametrised by controller).
  ``run_scipy`` drives ``preset_scipy.ScipyRK`` (one accepted step per ``step()``), which the
  scipy drop-ins (``solve_ivp``, ``RK23``/``RK45``/``DOP853``) drive too; held to scipy's own
  bit for bit in ``tests/ode/test_scipy_ivp_layer.py``.
* ``fast/k_default``, ``k_scipy``, ``k_hairer``, ``k_torchdiffeq`` — the numba kernels, the four
  controllers compiled for a jitted RHS; test ``test_numba_kernels_step_by_the_definition``.

The loops are also held to each other step for step (accept/reject sequences, counts):
``tests/ode/test_fast_path.py``, ``test_preset_rules.py``, ``test_solve_*_preset.py``,
``test_odeint.py``.

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

# --- scipy drop-ins (refimpl/ode/scipy_ivp.py, scipy_classes.py) ---
from .scipy_classes import DOP853, RK23, RK45, OdeSolution  # noqa: E402
from .scipy_ivp import OdeResult, solve_ivp  # noqa: E402
from .scipy_radau import Radau  # noqa: E402

__all__ += ["solve_ivp", "OdeResult", "OdeSolution", "RK23", "RK45", "DOP853", "Radau"]

# --- torchdiffeq drop-in (refimpl/ode/torchdiffeq_api.py) ---
from .torchdiffeq_api import TORCHDIFFEQ_METHODS, torchdiffeq_odeint  # noqa: E402

__all__ += ["torchdiffeq_odeint", "TORCHDIFFEQ_METHODS"]
