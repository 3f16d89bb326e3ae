"""Minibatch training of `refimpl.vi.vae` models with Adam on a flat parameter vector.

The optimizer state (flat parameters, Adam moments, step count) is a dict of arrays, so a
training run can be checkpointed and resumed exactly: each epoch draws its minibatch order
and noise from its own generator `make_rng(epoch)`.

References
----------
D. P. Kingma, J. Ba. Adam: A Method for Stochastic Optimization. ICLR 2015, Algorithm 1.
"""
import numpy as onp
from autograd import value_and_grad
from autograd.misc import flatten

from .fused import grad_buffers, tree_views, vae_value_and_grad
from .vae import vae_surrogate


def adam_init(flat):
    return {"x": onp.array(flat, dtype=float), "m": onp.zeros_like(flat), "v": onp.zeros_like(flat),
            "t": onp.array(0.0)}


def adam_update(state, g, step_size, b1=0.9, b2=0.999, eps=1e-8):
    """One Adam ascent step (Kingma & Ba, Algorithm 1) on state["x"] with gradient g."""
    t = float(state["t"]) + 1.0
    m = b1 * state["m"] + (1 - b1) * g
    v = b2 * state["v"] + (1 - b2) * g ** 2
    mhat, vhat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    x = state["x"] + step_size * mhat / (onp.sqrt(vhat) + eps)
    return {"x": x, "m": m, "v": v, "t": onp.array(t)}


def fit_vae(params, X, *, objective, estimator, K, n_epochs, batch_size, step_size, make_rng,
            state=None, start_epoch=0, on_epoch=None, fused=True):
    """Maximise the K-sample `objective` bound on data X (N, X_dim) with `estimator` gradients.

    fused: the hand-written gradient of `refimpl.vi.fused` (estimators total / stl / dreg; the
    same values as autograd on `vae_surrogate`, to round-off); False, or the "score" and
    "analytic" estimators, differentiate `vae_surrogate` with autograd.

    `make_rng(epoch)` returns that epoch's generator. `state` (from a checkpoint) resumes at
    `start_epoch`. `on_epoch(epoch, state, mean_bound)` is called after each epoch (for
    progress and checkpoints). Returns (params, state, list of per-epoch mean bounds).
    """
    N = X.shape[0]
    if not (isinstance(K, (int, onp.integer)) and K >= 1):
        raise ValueError(f"K: expected an integer >= 1, got {K!r}")
    if not (isinstance(batch_size, (int, onp.integer)) and 1 <= batch_size <= N):
        raise ValueError(f"batch_size: expected an integer in [1, {N}] (number of rows of X), got {batch_size!r}")
    flat0, unflatten = flatten(params)
    state = adam_init(flat0) if state is None else state
    Dz = params["enc"][-1][1].shape[0] // 2

    def objective_flat(x_flat, xb, eps):
        return vae_surrogate(unflatten(x_flat), xb, eps, objective, estimator)

    vg_fn = value_and_grad(objective_flat)
    if fused and estimator in ("total", "stl", "dreg"):
        g_flat, g_tree = grad_buffers(params)                       # views of one flat vector

        def vg_fn(x_flat, xb, eps):
            value, _ = vae_value_and_grad(tree_views(x_flat, params), xb, eps, objective, estimator, out=g_tree)
            return value, g_flat.copy()
    history = []
    for epoch in range(start_epoch, n_epochs):
        rng = make_rng(epoch)
        order = rng.permutation(N)
        bounds = []
        for i in range(0, N - batch_size + 1, batch_size):
            xb = X[order[i:i + batch_size]]
            eps = rng.standard_normal((K, batch_size, Dz))              # (K, B, Dz)
            value, g = vg_fn(state["x"], xb, eps)
            bounds.append(float(value))
            state = adam_update(state, g, step_size)
        history.append(float(onp.mean(bounds)))
        if on_epoch is not None:
            on_epoch(epoch, state, history[-1])
    return unflatten(state["x"]), state, history
