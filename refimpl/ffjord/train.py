"""Maximum-likelihood training of a CNF stack with Adam, resumable from a checkpoint.

    blocks, hist = train_cnf(blocks, draw_batch, n_iter=1000, rng=rng, trace="exact")

The loss is FFJORD's: -mean log p(x) over a minibatch (eq. 4), its gradient by the adjoint
solve. Adam is written out (5 lines) rather than taken from `autograd.misc.optimizers.adam`
because its moments must be saved in checkpoints for `--resume`.

References
----------
W. Grathwohl et al. FFJORD (ICLR 2019), Sec. 5.1 and App. B (toy setup: Adam, lr 1e-3,
batch 100, dopri5 with rtol = atol = 1e-5, trainable end time).
D. P. Kingma, J. Ba. Adam: a method for stochastic optimization. ICLR 2015 (Alg. 1).
"""
import time

import autograd.numpy as anp
import numpy as np
from autograd import value_and_grad
from autograd.misc import flatten

from .cnf import cnf_log_prob
from .fast import fast_cnf_log_prob
from .layers import concatsquash_dynamics

__all__ = ["adam_step", "train_cnf"]


def adam_step(x, g, m, v, i, lr, b1=0.9, b2=0.999, eps=1e-8):
    """One Adam update (Kingma & Ba Alg. 1) on flat vectors; i counts from 0."""
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g ** 2
    mhat, vhat = m / (1 - b1 ** (i + 1)), v / (1 - b2 ** (i + 1))
    return x - lr * mhat / (np.sqrt(vhat) + eps), m, v


def train_cnf(blocks, draw_batch, *, n_iter, rng, lr=1e-3, dynamics=concatsquash_dynamics,
              trace="exact", noise="rademacher", bottleneck=None, rtol=1e-5, atol=1e-5,
              gradient="adjoint", train_end_time=True, checkpoint=None, progress=None,
              log_every=None, fused=False, weight_decay=0.0):
    """Minimise -mean log p(x) over minibatches `draw_batch(rng) -> (B, D)`.

    fused=True: the loss by `fast.fast_cnf_log_prob` (the fused concatsquash-tanh kernels on
    one flat augmented state, adjoint gradients), for `concatsquash_dynamics` only.
    weight_decay: L2 coefficient added to the gradient before Adam (PyTorch's `Adam(...,
    weight_decay=...)`, which FFJORD's train_toy.py sets to 1e-5), on every parameter.

    Returns (blocks, history) with history = dict(loss (n_iter,), seconds (n_iter,) wall
    and cpu_seconds (n_iter,) process CPU time of the loss + gradient step,
    nfe (n_iter,) forward evaluations when the solver reports them). `checkpoint` is a
    `refimpl.experiments.Checkpoint` (state saved every few seconds, resumed if present).
    """
    flat, unflatten = flatten(blocks)
    idx = unflatten(np.arange(flat.size, dtype=float))          # where each entry lives
    is_T = np.isin(np.arange(flat.size), [int(b["sqrt_end_time"]) for b in idx])

    if fused and (dynamics is not concatsquash_dynamics or bottleneck is not None
                  or gradient != "adjoint"):
        raise ValueError("fused: the fused path needs dynamics=concatsquash_dynamics, no "
                         "bottleneck and gradient='adjoint'")
    if not (np.isfinite(weight_decay) and weight_decay >= 0):
        raise ValueError(f"weight_decay: expected a finite number >= 0, got {weight_decay!r}")

    def loss(v, x, info):
        bl = unflatten(v)
        if fused:
            return -anp.mean(fast_cnf_log_prob(bl, x, rng=rng, trace=trace, noise=noise,
                                               rtol=rtol, atol=atol, info=info))
        return -anp.mean(cnf_log_prob(dynamics, bl, x, rng=rng, trace=trace, noise=noise,
                                      bottleneck=bottleneck, rtol=rtol, atol=atol,
                                      gradient=gradient, info=info))
    vg = value_and_grad(loss)
    m, v, start = np.zeros_like(flat), np.zeros_like(flat), 0
    hist = {"loss": np.full(n_iter, np.nan), "seconds": np.full(n_iter, np.nan),
            "cpu_seconds": np.full(n_iter, np.nan),
            "nfe": np.full(n_iter, np.nan)}
    state = checkpoint.load() if checkpoint is not None else None
    if state is not None:
        flat, m, v, start = state["flat"], state["m"], state["v"], int(state["step"])
        for k in hist:
            hist[k][:start] = state[k][:start]
        rng.bit_generator.state = _rng_state(state)
    for i in range(start, n_iter):
        x = draw_batch(rng)
        info = {}
        t0, c0 = time.perf_counter(), time.process_time()
        val, g = vg(flat, x, info)
        g = g + weight_decay * flat                  # L2 penalty (wd/2)|θ|², as torch's Adam
        if not train_end_time:
            g = np.where(is_T, 0.0, g)
        flat, m, v = adam_step(flat, g, m, v, i, lr)
        hist["seconds"][i] = time.perf_counter() - t0
        hist["cpu_seconds"][i] = time.process_time() - c0     # on a shared machine: the cost
        hist["loss"][i] = val
        hist["nfe"][i] = _nfe(info)
        if progress is not None:
            progress.update(i, loss=float(val), nfe=hist["nfe"][i])
        if checkpoint is not None:
            checkpoint.maybe_save(i + 1, lambda: {"flat": flat, "m": m, "v": v, "step": i + 1,
                                                  **hist, **_rng_arrays(rng)})
    if checkpoint is not None and n_iter > start:        # the end state, so a resume skips training
        checkpoint.save({"flat": flat, "m": m, "v": v, "step": n_iter, **hist, **_rng_arrays(rng)},
                        step=n_iter)
    return unflatten(flat), hist


def _nfe(info):
    for k in ("nfev_forward", "nfe", "nfev"):
        if k in info:
            return float(np.sum(info[k]))
    return np.nan


# the generator's state as arrays (checkpoints hold arrays only, no pickles)
def _rng_arrays(rng):
    s = rng.bit_generator.state
    return {"rng_state": np.array([str(s["state"]["state"]), str(s["state"]["inc"]),
                                   str(s["has_uint32"]), str(s["uinteger"])])}


def _rng_state(state):
    a = [int(x) for x in state["rng_state"]]
    return {"bit_generator": "PCG64", "state": {"state": a[0], "inc": a[1]},
            "has_uint32": a[2], "uinteger": a[3]}
