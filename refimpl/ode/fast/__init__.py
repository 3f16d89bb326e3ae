"""Numba fast path of ``solve``: the whole adaptive loop in compiled code.

When ``func`` is numba-jitted, ``solve`` runs the stages, the error norm, the step control
of every controller ("default", "scipy", "hairer", "torchdiffeq") and the output at
``t_eval`` in one compiled kernel per controller, a twin of its NumPy loop
(``stepper.run_adaptive``, ``preset_scipy.run_scipy``, ``preset_hairer.run_hairer``,
``preset_torchdiffeq.run_torchdiffeq``) with the same step control and, per component, the
same operation order. The inner loop allocates nothing: stage sums, error norm and outputs
are loops over preallocated work arrays (torchdiffeq's pairwise mean above 128 components
allocates four 256-element stacks per error norm). Every preset gives the same counts and
accept/reject sequence as its NumPy twin on every tested problem. "hairer" and
"torchdiffeq" are bit-identical to their NumPy twins (``k_torchdiffeq._mean_sq`` follows
``np.mean``'s pairwise summation: blocks of <= 128 with 8 accumulators, split at
``n // 2 - (n // 2) % 8`` above; tested at n = 200 and 1000). "scipy" and "default" sum in loops
where the NumPy loops call BLAS ``dot``: a last-bit change in a stage moves the
(cancelling) error norm by ~1e-10 relative and the step sizes by 1e-10 ... 1e-6 relative,
which on chaotic problems moves the solution by up to ~4e-10 (Lorenz to t = 20: 1.5e-10
"scipy", 4.2e-10 "default"; Arenstorf: 2.0e-10 / 2.8e-10; ``numerics/results/bench_ode.md``
has the "scipy" rows) and by <= 1e-13 on the mild test problems
(``tests/ode/test_fast_path.py``).

Two forms of right-hand side (``func`` for ``solve``):

* ``@njit def f(t, y, *args): return dydt`` — pass ``f`` itself (one array allocated per
  evaluation, ~35-60 ns for a 3-vector);
* ``@njit def g(t, y, out, *args): out[:] = ...`` — pass ``inplace(g)``: nothing is
  allocated per evaluation (``solve`` calls ``g`` through an allocating wrapper for the
  initial ``f(t0, y0)`` and on the NumPy path). Which form a function has is read from
  its positional parameters (``inspect`` on ``py_func``).

Two ways to compile (``glue.py``):

* **cached** (default without ``args``): the kernel takes the RHS as a first-class function,
  is compiled once per (controller, RHS form) and kept in numba's on-disk cache; a new
  process pays ~0.1 s per controller. Per evaluation an opaque call (~10 ns).
* **specialised** (``specialise(func)`` or ``specialise(inplace(g))``, and always with
  ``args``): the kernel is compiled for this RHS (inlined), ~5-10 s per controller, per RHS
  and process (numba cannot cache it). The fastest loop.

Scope: method "dopri5" at adaptive steps, a ``y0`` with at least one dimension,
``dense_output=False``; ``args`` are numbers, arrays or tuples of them. An n-d ``y0`` runs
flat in the kernel; ``func`` is called through a small jitted wrapper on reshaped views,
so it sees ``y`` (and ``out``) shaped like ``y0``, as on the NumPy path. Outside that scope
``solve`` runs its NumPy loops (same controllers, same steps; ``fast_eligible`` states the
rule).

Speed of the RHS itself: numba's default ``error_model="python"`` tests every float
division for zero (to raise ``ZeroDivisionError``); inlined in a specialised loop these
tests cost ~200 ns a step for the Arenstorf RHS (4 divisions an evaluation, ~0.5 µs a step
in all). ``@njit(error_model="numpy")`` (division by zero gives inf, as in NumPy) removes
them. A step is a chain of 6 dependent evaluations, so the RHS's latency, not its
throughput, is what counts (``x ** 1.5`` is a ``pow`` call, ``x * math.sqrt(x)`` is not).

Non-finite values stop the run with ``SolverError`` (status -3) at the first non-finite
state. Timings, first-call costs and where the time goes: ``numerics/results/bench_ode.md``.

Files: ``common.py`` (RHS call, buffers, loops), ``k_default.py``, ``k_scipy.py``,
``k_hairer.py``, ``k_torchdiffeq.py`` (one kernel each), ``glue.py`` (dispatch, Solution).
Note for developers: numba's disk cache does not notice edits of inlined helpers in
``common.py``; touch the ``k_*.py`` files after editing it.

References
----------
E. Hairer, S. P. Nørsett, G. Wanner, *Solving ODEs I*, 2nd ed. (1993), Sec. II.4–II.6.
The library sources each twin follows are cited in the kernel modules.
"""
from .glue import KERNELS, InplaceRHS, SpecialisedRHS, fast_eligible, inplace, solve_fast, \
    specialise

__all__ = ["fast_eligible", "solve_fast", "inplace", "specialise", "InplaceRHS", "SpecialisedRHS",
           "KERNELS"]
