"""From ``solve``'s validated arguments to a compiled loop and back to a ``Solution``.

Two ways to run a kernel (both compile the same source):

* **cached** (the default without ``args``): the user's function is compiled for the fixed
  signature ``(float64, float64[::1]) -> array`` or ``(float64, float64[::1], float64[::1])
  -> none`` and passed as a numba first-class function (``numba.types.FunctionType``,
  through its C-ABI wrapper address, looked up once per function): the kernel is compiled
  once per (controller, RHS signature) and kept in numba's on-disk cache, so a new process or
  a new RHS pays only the RHS's own compilation. The price is an opaque call per evaluation
  (~10 ns, no inlining).
* **specialised** (``specialise(func)``, or ``args`` given, or the RHS does not compile for
  the fixed signature): the kernel is specialised on the function itself (numba's default
  for a dispatcher argument; the RHS is inlined) and recompiled once per (RHS, ``args``
  types, controller, process): the fastest loop, but numba cannot cache it on disk.

Measured costs of both: ``numerics/results/bench_ode.md``.

References
----------
numba documentation, "First-class function types" and "Notes on caching".
"""
import sys

import numpy as np
from numba import njit, typeof, types
from numba.core.registry import CPUDispatcher
from numba.experimental.function_type import WrapperAddressProtocol, _get_wrapper_address

from .. import errors as E
from ..preset_hairer import HAIRER_PARAMS
from ..preset_torchdiffeq import TD_C_ERROR, TD_C_MID
from ..solution import Solution, StepHistory
from ..tableaus import get_tableau
from .common import positional_arity
from .k_default import run_default
from .k_hairer import run_hairer
from .k_scipy import run_scipy
from .k_torchdiffeq import run_torchdiffeq

__all__ = ["fast_eligible", "solve_fast", "inplace", "specialise", "InplaceRHS",
           "SpecialisedRHS"]

_TAB = get_tableau("dopri5")
_A, _B, _C, _E, _P = (np.ascontiguousarray(v, dtype=np.float64)
                      for v in (_TAB.A, _TAB.b, _TAB.c, _TAB.e, _TAB.P))
_HP = np.array(HAIRER_PARAMS["dopri5"], dtype=np.float64)
_TDE, _TDM = (np.ascontiguousarray(v, dtype=np.float64) for v in (TD_C_ERROR, TD_C_MID))
#: controller -> (kernel, its trailing constant arguments)
KERNELS = {"default": (run_default, (_E, _P)), "scipy": (run_scipy, (_E, _P)),
           "hairer": (run_hairer, (_E, _P, _HP)), "torchdiffeq": (run_torchdiffeq, (_TDE, _TDM))}
_ARR = types.float64[::1]
_ENTRY = {}                        # (controller, RHS, ...) -> compiled entry point
_FIRST_CLASS = {}                  # (dispatcher, in place) -> _Address or None


def _check_dispatcher(func, what):
    if not isinstance(func, CPUDispatcher):
        raise ValueError(f"func: expected a numba-jitted function (numba.njit) {what}, "
                         f"got {type(func).__name__}")


class InplaceRHS:
    """A numba-jitted in-place right-hand side ``func(t, y, out, *args)`` (writes dy/dt
    into ``out``, returns nothing), made usable by ``solve``: called from Python it
    allocates ``out`` and returns it; the fast path calls ``func`` in place, so no array
    is allocated per evaluation. Build it with ``inplace(func)``."""

    def __init__(self, func):
        _check_dispatcher(func, "func(t, y, out, *args)")
        if positional_arity(func.py_func) < 3:
            raise ValueError("func: expected an in-place function func(t, y, out, *args) "
                             f"with at least 3 positional parameters, got "
                             f"{positional_arity(func.py_func)}")
        self.func = func

    def __call__(self, t, y, *args):
        out = np.full(np.shape(y), np.nan)     # an entry func leaves unwritten stays NaN
        self.func(t, np.ascontiguousarray(y, dtype=np.float64), out, *args)
        return out


class SpecialisedRHS:
    """A fast-path RHS (a numba-jitted ``func(t, y, *args)`` or an ``inplace(...)``) for
    which ``solve`` compiles its loop specialised on the function: the RHS is inlined (the
    fastest loop), at the price of a compilation per (RHS, controller, process) that numba
    cannot cache on disk. Build it with ``specialise(func)``; called from Python it behaves
    as ``func``."""

    def __init__(self, func):
        if isinstance(func, SpecialisedRHS):
            func = func.func
        if not isinstance(func, InplaceRHS):
            _check_dispatcher(func, "func(t, y, *args) or inplace(func)")
        self.func = func

    def __call__(self, t, y, *args):
        return self.func(t, y, *args)


def inplace(func):
    """Mark a numba-jitted ``func(t, y, out, *args)`` as an in-place RHS for ``solve``."""
    return InplaceRHS(func)


def specialise(func):
    """Ask ``solve`` to compile its loop specialised on ``func`` (see ``SpecialisedRHS``)."""
    return SpecialisedRHS(func)


def _dispatcher(func):
    """(numba dispatcher, in place?, specialised?) for a fast-path RHS, else (None, ...)."""
    spec = isinstance(func, SpecialisedRHS)
    if spec:
        func = func.func
    if isinstance(func, InplaceRHS):
        return func.func, True, spec
    if isinstance(func, CPUDispatcher):
        return func, False, spec
    return None, False, spec


def fast_eligible(p, dense_output):
    """True when ``solve`` can run the compiled loop for the validated arguments ``p``:
    a numba-jitted ``func`` (or ``inplace(func)``, ``specialise(func)``), method "dopri5"
    at an adaptive step, a ``y0`` with at least one dimension and ``dense_output=False``.
    Otherwise ``solve`` runs its NumPy loops (the same steps; a wrapped RHS is then called
    through its allocating ``__call__``)."""
    return (_dispatcher(p.func)[0] is not None and len(p.shape) >= 1 and not p.fixed
            and not dense_output and p.tab.name == "dopri5")


_SHAPED = {}                       # (dispatcher, in place, shape, len(args)) -> flat wrapper


def _flat_view_rhs(disp, in_place, shape, n_args):
    """For an n-d ``y0`` (``shape``): a jitted wrapper on the flat state that calls the
    user's ``func`` on reshaped views, so ``func`` sees ``y`` (and writes ``out``) with the
    shape of ``y0``, as on the NumPy path; the kernels only ever see flat vectors. Built
    from source for the exact arity (the kernels read the RHS form from the positional
    parameter count) and compiled lazily; ``shape`` is a compile-time constant."""
    key = (disp, in_place, shape, n_args)
    if key not in _SHAPED:
        a = "".join(f", a{i}" for i in range(n_args))
        if in_place:
            src = f"def rhs(t, y, out{a}):\n    g(t, y.reshape(shape), out.reshape(shape){a})\n"
        else:
            src = (f"def rhs(t, y{a}):\n"
                   f"    return np.ascontiguousarray(g(t, y.reshape(shape){a})).reshape(-1)\n")
        scope = {"g": disp, "shape": tuple(int(d) for d in shape), "np": np}
        exec(compile(src, f"<refimpl.ode.fast: func on y of shape {shape}>", "exec"), scope)
        _SHAPED[key] = njit(scope["rhs"])
    return _SHAPED[key]


class _Address(WrapperAddressProtocol):
    """numba's wrapper-address protocol: the RHS's compiled C-ABI wrapper, looked up once
    (unboxing a dispatcher looks it up on every call, ~40 µs)."""

    def __init__(self, disp, sig):
        self.disp, self.sig = disp, sig          # (keeps the dispatcher, hence the code, alive)
        self.addr = _get_wrapper_address(disp, sig)
        self.type = types.FunctionType(sig)

    def __wrapper_address__(self):
        return self.addr

    def signature(self):
        return self.sig


def _first_class(disp, in_place):
    """The RHS as a first-class function (``_Address``) for the cached kernels, or None."""
    key = (disp, in_place)
    if key not in _FIRST_CLASS:
        argtys = (types.float64, _ARR, _ARR) if in_place else (types.float64, _ARR)
        addr = None
        try:
            disp.compile(argtys)
            sig = disp.overloads[argtys].signature
            if in_place or isinstance(sig.return_type, types.Array):
                addr = _Address(disp, sig)
        except Exception:              # e.g. an eager signature without C-contiguous arrays
            addr = None
        _FIRST_CLASS[key] = addr
    return _FIRST_CLASS[key]


def _entry_point(key, fun_type, args_type, values):
    """The kernel's compiled entry point for ``key`` = (controller, RHS, ...), compiled (or
    loaded from numba's disk cache) on first use for (``fun_type``, ``args_type``) and the
    fixed types of ``values``. Calling it skips numba's per-call type dispatch, and the
    Python-level key skips building numba types (~5-10 µs each)."""
    if key not in _ENTRY:
        kernel = KERNELS[key[0]][0]
        _ENTRY[key] = kernel.compile((fun_type(), args_type()) + tuple(typeof(v) for v in values))
    return _ENTRY[key]


def _f64(x):
    """A fresh, writable, C-contiguous float64 copy (fixed numba type for every call)."""
    return np.array(x, dtype=np.float64, order="C")


def _call_reporting_rhs_errors(ep, fc, values):
    """Run the cached kernel with the first-class RHS ``fc``, re-raising any exception the
    RHS raised. Through numba's C-ABI wrapper an exception inside ``func`` cannot unwind the
    kernel: numba reports it with ``sys.unraisablehook`` ("Exception ignored in CPUContext")
    and the loop goes on with an unwritten derivative, so the result would be wrong. The hook
    is replaced for the duration of the call; the first exception it receives is raised here
    (chained to any error the loop raised afterwards), so no result is returned for a solve
    whose RHS failed."""
    caught = []
    old_hook = sys.unraisablehook

    def hook(unraisable):          # numba's report of the RHS's exception; others pass on
        if "CPUContext" in repr(unraisable.object) or "CPUContext" in str(unraisable.err_msg):
            caught.append(unraisable)
        else:
            old_hook(unraisable)
    sys.unraisablehook = hook
    loop_error = None
    try:
        res = ep(fc, (), *values)
    except Exception as e:          # e.g. "wrong length" after the RHS returned no array
        loop_error = e
    finally:
        sys.unraisablehook = old_hook
    if caught:
        exc = caught[0].exc_value
        raise exc.with_traceback(caught[0].exc_traceback) from loop_error
    if loop_error is not None:
        raise loop_error
    return res


_MESSAGES = {E.STATUS_STEP_UNDERFLOW: "step size underflow", E.STATUS_MAX_STEPS:
             "max_steps exceeded", E.STATUS_NONFINITE: "non-finite state or derivative"}


def solve_fast(p, f0):
    """Run the compiled loop of ``p.controller`` and build ``solve``'s ``Solution``."""
    disp, in_place, spec = _dispatcher(p.func)
    args = tuple(p.args)                  # (solve already called func(t0, y0, *args))
    if len(p.shape) > 1:                  # the kernels run on the flat state
        disp = _flat_view_rhs(disp, in_place, p.shape, len(args))
    n = p.y0.size
    a = np.asarray(p.atol, dtype=np.float64)
    atol = np.full(n, float(a)) if a.ndim == 0 else _f64(a.reshape(-1))
    te = _f64(p.t_eval if p.t_eval is not None else np.empty(0))
    first = -1.0 if p.first_step is None else float(p.first_step)
    values = (float(p.t0), float(p.t1), _f64(p.y0.reshape(-1)), _f64(f0), float(p.rtol), atol,
              first, float(p.max_step), int(p.max_steps), te, p.t_eval is not None, _A, _B,
              _C) + KERNELS[p.controller][1]
    fc = None if (args or spec) else _first_class(disp, in_place)
    if fc is not None:                                   # cached kernel, first-class RHS
        ep = _entry_point((p.controller, fc), lambda: fc.type, lambda: types.Tuple(()), values)
        res = _call_reporting_rhs_errors(ep, fc, values)
    else:                                                # specialised on the RHS and args
        at = typeof(args) if args else None
        ep = _entry_point((p.controller, disp, at), lambda: typeof(disp),
                          lambda: at or types.Tuple(()), values)
        res = ep(disp, args, *values)
    status, t, h, nfev, n_acc, n_rej, ts, ys, H = res
    if status != E.STATUS_SUCCESS:
        raise E.SolverError(_MESSAGES[status] + " (numba fast path)", t=t, h=h, nfev=nfev,
                            n_steps=n_acc + n_rej, status=status, n_accepted=n_acc,
                            n_rejected=n_rej)
    hist = StepHistory(H[:, 0].copy(), H[:, 1].copy(), H[:, 2].copy(), H[:, 3] > 0.5)
    y = ys.reshape((ys.shape[0],) + tuple(p.shape)).copy()       # (m,) + y0.shape
    return Solution(t=ts.copy(), y=y, nfev=nfev, n_steps=n_acc + n_rej,
                    n_accepted=n_acc, n_rejected=n_rej, status=E.STATUS_SUCCESS,
                    message="The solver successfully reached the end of the integration interval.",
                    sol=None, method=p.tab.name, controller=p.controller, history=hist)
