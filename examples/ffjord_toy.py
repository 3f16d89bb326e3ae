"""Fit a continuous normalizing flow to a 2-D toy density (FFJORD, Grathwohl et al. 2019).

The model maps data x = z(0) to a standard normal z(t1) through dz/dt = f(t, z), f a stack of
FFJORD's "concatsquash" layers. Its log-density comes from one ODE solve of the augmented
state (z, Δlog p) with dΔlog p/dt = -Tr(∂f/∂z) ([FFJORD eq. 4]; the exact trace in 2-D, or
Hutchinson's εᵀ(∂f/∂z)ε with --hutchinson, [FFJORD eq. 7]). Gradients use the adjoint method
of `refimpl.ode.odeint`; the end time t1 = s² is trained with the network.

    python examples/ffjord_toy.py                    # 8gaussians, 300 iterations, ffjord_toy.png
    python examples/ffjord_toy.py --data pinwheel --hutchinson
    python examples/ffjord_toy.py --quick            # a short smoke run
"""
import argparse

import autograd.numpy as np
import numpy as onp
from autograd import value_and_grad
from autograd.misc.optimizers import adam

from refimpl.datasets import toy2d
from refimpl.ffjord import concatsquash_dynamics, init_concatsquash_dynamics, log_prob, sample
from refimpl.plotting import plt, savefig


def init_params(rng, hidden):
    # the network and s, with end time t1 = s² > 0 (FFJORD's trainable T)
    return {"net": init_concatsquash_dynamics(rng, 2, hidden), "s": onp.array(onp.sqrt(0.5))}


def model_log_prob(params, x, trace, rng, tol):
    # [FFJORD eq. 4]: log p(x) = log N(z(t1)) + ∫_0^t1 Tr(∂f/∂z) dt
    return log_prob(concatsquash_dynamics, params["net"], x, t1=params["s"] ** 2, trace=trace,
                    noise="rademacher", rng=rng, rtol=tol, atol=tol, gradient="adjoint")


def model_sample(params, n, rng, tol=1e-5):
    z1 = rng.standard_normal((n, 2))                          # base samples at t1
    return sample(concatsquash_dynamics, params["net"], z1, t1=params["s"] ** 2, rtol=tol, atol=tol)


def train(params, data, n_iter, batch, lr, trace, tol, rng):
    def objective(p, i):
        x = toy2d.sample(data, batch, rng)                     # a fresh minibatch
        return -np.mean(model_log_prob(p, x, trace, rng, tol))

    vg = value_and_grad(objective)

    def gradient(p, i):
        val, g = vg(p, i)
        if i % 25 == 0:
            print(f"iter {i:4d}  -log p {val:.3f}  t1 {float(p['s']) ** 2:.3f}", flush=True)
        return g
    return adam(gradient, params, step_size=lr, num_iters=n_iter)


def plot(params, data, rng, path, grid=60, lim=4.0):
    xs = onp.linspace(-lim, lim, grid)
    X, Y = onp.meshgrid(xs, xs)
    pts = onp.stack([X.ravel(), Y.ravel()], axis=1)            # (grid², 2)
    dens = onp.exp(model_log_prob(params, pts, "exact", None, 1e-5)).reshape(grid, grid)
    x_data, x_gen = toy2d.sample(data, 2000, rng), model_sample(params, 2000, rng)
    fig, ax = plt.subplots(1, 3, figsize=(9, 3))
    ax[0].scatter(*x_data.T, s=1)
    ax[1].imshow(dens, origin="lower", extent=[-lim, lim, -lim, lim])
    ax[2].scatter(*x_gen.T, s=1)
    for a, title in zip(ax, ["data", "learned density", "samples"]):
        a.set_title(title)
        a.set_xlim(-lim, lim)
        a.set_ylim(-lim, lim)
        a.set_aspect("equal")
    savefig(fig, path)
    # the density on the grid should integrate to ~1 (mass outside [-4, 4]² aside)
    return dens.sum() * (xs[1] - xs[0]) ** 2


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="8gaussians", choices=toy2d.NAMES)
    ap.add_argument("--hutchinson", action="store_true", help="Hutchinson trace instead of exact")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default="ffjord_toy.png")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = onp.random.default_rng(args.seed)
    hidden, n_iter = ((16, 16), 10) if args.quick else ((64, 64, 64), 300)
    params = init_params(rng, hidden)
    params = train(params, args.data, n_iter, batch=100, lr=5e-3 if not args.quick else 1e-2,
                   trace="hutchinson" if args.hutchinson else "exact",
                   tol=1e-3 if args.quick else 1e-4, rng=rng)
    x_test = toy2d.sample(args.data, 2000, rng)
    ll = onp.mean(model_log_prob(params, x_test, "exact", None, 1e-5))
    mass = plot(params, args.data, rng, args.out, grid=30 if args.quick else 80)
    print(f"test log-likelihood {ll:.3f} nats; density mass on [-4, 4]^2 {mass:.4f}; "
          f"t1 = {float(params['s']) ** 2:.3f}; wrote {args.out}")
