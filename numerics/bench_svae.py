"""LDS smoother cost vs T: numba kernel, its autograd twin, and the dense (TD)×(TD) solve.
Prints seconds per call and the log-log slope of cost vs T.

    PYTHONPATH=. OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python numerics/bench_svae.py
"""
import time

import numpy as np

from refimpl.svae import lds, lds_numba


def problem(rng, T, D):
    A = rng.standard_normal((D, D))
    A = 0.9 * A / max(abs(np.linalg.eigvals(A)))
    return ((np.eye(D), np.zeros(D)), A, np.eye(D) * 0.5,
            np.tile(np.eye(D), (T, 1, 1)), rng.standard_normal((T, D)))


def timeit(f, reps=3):
    best = np.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


def dense(args):
    J, h = lds.dense_information(*args)
    return np.linalg.solve(J, h), np.linalg.slogdet(J)


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    lds_numba.smooth(*problem(rng, 3, 2))  # compile
    for D in (2, 10):
        rows = {"numba": (100, 1000, 10000), "twin": (100, 1000), "dense": (100, 300, 1000) if D == 2 else (100, 200, 300)}
        for name, Ts in rows.items():
            ts = []
            for T in Ts:
                args = problem(rng, T, D)
                f = {"numba": lambda: lds_numba.smooth(*args), "twin": lambda: lds.smooth(*args),
                     "dense": lambda: dense(args)}[name]
                ts.append(timeit(f))
                print(f"D={D:3d} {name:6s} T={T:6d}  {ts[-1]:.4g} s")
            Ts_u = sorted(set(Ts))
            if len(Ts_u) > 1:
                slope = np.polyfit(np.log(Ts[:len(ts)]), np.log(ts), 1)[0]
                print(f"D={D:3d} {name:6s} slope d log(cost)/d log(T) = {slope:.2f}")
