"""Experiments in worker processes: `refimpl tour --jobs N` and `refimpl run NAME --seeds`.

Each job runs `run_experiment` in its own worker process ("fork" where the platform has
it, so experiments registered at run time are seen by the workers; else "spawn") with
single-threaded BLAS, so N jobs use N cores and give the same numbers as serial runs
(every experiment draws its randomness from its own seed, never from process state).
Results come back in the order the jobs were given.
"""
import multiprocessing as mp
import os
import traceback
from pathlib import Path

__all__ = ["run_pool", "run_seeds", "fork_map"]

_ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
               "NUMBA_NUM_THREADS": "1"}


def _init_worker():
    os.environ.update(_ONE_THREAD)


def _job(job):
    """(name, seed, out, kwargs) -> (name, results or None, traceback text or None)."""
    from . import experiments as ex
    name, seed, out, kw = job
    try:
        return name, ex.run_experiment(name, seed=seed, out=out, progress=False, **kw), None
    except Exception:
        return name, None, traceback.format_exc()


def run_pool(jobs, n_jobs, *, out, **kw):
    """Run `(name, seed)` jobs in `n_jobs` processes; outputs in `out/NAME`, or in
    `out/seed<N>/NAME` when the same name appears with several seeds. Yields outcomes in
    job order."""
    names = [n for n, _ in jobs]
    per_seed = len(set(names)) < len(names)
    work = [(n, s, str(Path(out) / f"seed{s}") if per_seed else str(out), kw) for n, s in jobs]
    for var, v in _ONE_THREAD.items():            # spawned children inherit os.environ
        os.environ.setdefault(var, v)
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    with mp.get_context(method).Pool(min(n_jobs, len(work)), initializer=_init_worker) as pool:
        yield from pool.imap(_job, work)


def run_seeds(name, seeds, n_jobs, *, out, **kw):
    """`refimpl run NAME --seeds a,b,c [--jobs N]`: one run per seed into OUT/seed<N>/NAME.
    Returns the outcomes in seed order."""
    if n_jobs <= 1 or len(seeds) == 1:
        return [_job((name, s, str(Path(out) / f"seed{s}"), kw)) for s in seeds]
    return list(run_pool([(name, s) for s in seeds], n_jobs, out=out, **kw))


_FORK = {}


def _fork_call(i):
    return _FORK["fn"](_FORK["items"][i])


def fork_map(fn, items, processes):
    """``[fn(x) for x in items]`` in up to `processes` forked processes (one core each), in
    item order. `fn` may be a closure (the children inherit it by fork; only the results are
    pickled). Serial when ``processes <= 1``, without fork, or inside a daemonic pool worker
    (`refimpl tour --jobs`: daemonic processes cannot have children)."""
    items = list(items)
    n = min(int(processes), len(items))
    if n <= 1 or "fork" not in mp.get_all_start_methods() or mp.current_process().daemon:
        return [fn(x) for x in items]
    for var, v in _ONE_THREAD.items():
        os.environ.setdefault(var, v)
    _FORK.update(fn=fn, items=items)
    try:
        with mp.get_context("fork").Pool(n) as pool:
            return pool.map(_fork_call, range(len(items)), chunksize=1)
    finally:
        _FORK.clear()
