"""Limit OpenBLAS threads while small-matrix loops run (no threadpoolctl dependency).

The optimizers here multiply matrices of a few dozen rows thousands of times; on a
shared 2-core machine a multi-threaded BLAS spends most of that time synchronising
(measured: 5.6 ms vs 1.1 ms per noisy K-FAC step on bostonHousing). `single_thread_blas`
sets the bundled OpenBLAS libraries of numpy and scipy to one thread and restores them.
Unknown BLAS builds are left alone (the context manager is then a no-op).
"""
import contextlib
import ctypes
import glob
import os

_NAMES = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
          "openblas_set_num_threads64_", "openblas_set_num_threads")
_GET = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
        "openblas_get_num_threads64_", "openblas_get_num_threads")


def _libs():
    import numpy
    import scipy
    out = []
    for mod in (numpy, scipy):
        d = os.path.join(os.path.dirname(mod.__file__), os.pardir, mod.__name__ + ".libs")
        for path in glob.glob(os.path.join(d, "*openblas*")):
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            setf = next((getattr(lib, n) for n in _NAMES if hasattr(lib, n)), None)
            getf = next((getattr(lib, n) for n in _GET if hasattr(lib, n)), None)
            if setf is not None and getf is not None:
                out.append((setf, getf))
    return out


@contextlib.contextmanager
def single_thread_blas():
    libs = _libs()
    old = [int(getf()) for _, getf in libs]
    try:
        for setf, _ in libs:
            setf(1)
        yield
    finally:
        for (setf, _), n in zip(libs, old):
            setf(n)
