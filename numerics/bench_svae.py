"""LDS smoother cost vs T: numba kernel, its autograd twin, and the dense (TD)×(TD) solve.
Prints CPU seconds per call (best of 3, time.process_time: the machine is shared, so wall
time measures the neighbours) and the log-log slope of cost vs T; then one GMM-SVAE training
step (K = 15, batch 50, nets 2×40 tanh: the pinwheel setting) — value and gradient of the
surrogate for the networks plus the natural gradient of q(θ).

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
        t0 = time.process_time()
        f()
        best = min(best, time.process_time() - t0)
    return best


def gmm_svae_step():
    """A closure running one training step of `objective.train` (pinwheel setting)."""
    from autograd import value_and_grad
    from refimpl.svae import gmm, objective
    from refimpl.svae.data import make_pinwheel
    rng = np.random.default_rng(1)
    X, _ = make_pinwheel(rng)
    prior, q = gmm.init_global(rng, 15, 2)
    nets = (objective.init_net(rng, 2, 4), objective.init_net(rng, 2, 4))
    saved = {}

    def bound(n, xb, eps):  # as objective.train: the statistics (no tape) kept from the same pass
        b, saved["stats"] = objective.surrogate(q, prior, n, xb, eps, len(X))
        return b
    vg = value_and_grad(bound)

    def step():
        xb, eps = X[rng.choice(len(X), 50, replace=False)], rng.standard_normal((50, 2))
        val, g = vg(nets, xb, eps)
        saved["ng"] = objective.natural_gradient(q, prior, saved["stats"], len(X), 50)
    return step


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
    step = gmm_svae_step()
    step()
    t = timeit(lambda: [step() for _ in range(20)]) / 20
    print(f"GMM-SVAE step (K=15, batch 50, nets 2x40 tanh): {t * 1e3:.1f} ms CPU "
          "(autograd value and gradient for the nets with the mean-field fixed point, then the natural "
          "gradient of q(θ); the optimiser's update not included)")
