"""Learn the dynamics of a spiral from one trajectory with a neural ODE (Chen et al. 2018).

The truth is dy/dt = (y**3) A with A = [[-0.1, 2], [-2, -0.1]], observed at 1000 times on
[0, 25] from y(0) = [2, 0] (the setting of torchdiffeq's `examples/ode_demo.py`). The model
is dy/dt = MLP(y**3). Each iteration takes 20 random windows of 10 observations, solves the
model ODE from each window's first point with `refimpl.ode.odeint` and backpropagates the
mean absolute error with the adjoint method ([NeuralODE Alg. 1]): memory does not grow with
the number of solver steps.

    python examples/neural_ode_spiral.py            # 1500 iterations, writes neural_ode_spiral.png
    python examples/neural_ode_spiral.py --quick    # a short smoke run
"""
import argparse

import autograd.numpy as np
import numpy as onp
from autograd import grad
from autograd.misc.optimizers import rmsprop

from refimpl.nn import init_mlp, mlp
from refimpl.ode import odeint, solve
from refimpl.plotting import plt, savefig

A = np.array([[-0.1, 2.0], [-2.0, -0.1]])


def true_dynamics(t, y):
    return np.dot(y ** 3, A)                            # (..., 2)


def model_dynamics(t, y, params):
    return mlp(params, y ** 3, activation="tanh")       # the same cubic input, a learned map


def make_data(n=1000, t_end=25.0):
    t = onp.linspace(0.0, t_end, n)
    sol = solve(true_dynamics, (0.0, t_end), onp.array([2.0, 0.0]), t_eval=t, rtol=1e-10,
                atol=1e-12)
    return t, sol.y                                      # (n,), (n, 2)


def get_batch(rng, t, y, batch_time=10, batch_size=20):
    start = rng.choice(len(t) - batch_time, batch_size, replace=False)
    y0 = y[start]                                        # (B, 2)
    target = onp.stack([y[start + i] for i in range(batch_time)])   # (T, B, 2)
    return y0, t[:batch_time], target


def loss(params, y0, ts, target):
    # [NeuralODE eqs. 1–4]: L(ODESolve(z(t0), f, t0, t1, θ)), gradient by the adjoint
    pred = odeint(model_dynamics, y0, ts, (params,), rtol=1e-6, atol=1e-8,
                  gradient="adjoint")                    # (T, B, 2)
    return np.mean(np.abs(pred - target))


def whole_trajectory(params, t, y0):
    sol = solve(lambda s, y: model_dynamics(s, y, params), (t[0], t[-1]), y0, t_eval=t,
                rtol=1e-6, atol=1e-8)
    return sol.y


def plot(t, y, y_fit, params, path):
    fig, ax = plt.subplots(1, 3, figsize=(13, 4))
    ax[0].plot(t, y, "g-", lw=1)
    ax[0].plot(t, y_fit, "b--", lw=1)
    ax[0].set_title("x, y against t (green: true, blue: learned)")
    ax[1].plot(y[:, 0], y[:, 1], "g-", y_fit[:, 0], y_fit[:, 1], "b--", lw=1)
    ax[1].set_title("phase portrait")
    g1, g2 = onp.meshgrid(onp.linspace(-2, 2, 21), onp.linspace(-2, 2, 21))
    f = model_dynamics(0.0, onp.stack([g1.ravel(), g2.ravel()], 1), params)
    f = f / onp.maximum(onp.linalg.norm(f, axis=1, keepdims=True), 1e-12)
    ax[2].streamplot(g1, g2, f[:, 0].reshape(g1.shape), f[:, 1].reshape(g1.shape), color="k")
    ax[2].set_title("learned vector field")
    savefig(fig, path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few iterations only")
    parser.add_argument("--iters", type=int, default=1500)
    parser.add_argument("--out", default="neural_ode_spiral.png")
    args = parser.parse_args()
    n_iter = 30 if args.quick else args.iters

    rng = onp.random.default_rng(0)
    t, y = make_data()
    params = init_mlp(rng, [2, 50, 2], scale=0.1)
    batches = [get_batch(rng, t, y) for _ in range(n_iter)]
    objective_grad = grad(lambda p, i: loss(p, *batches[i]))

    def callback(p, i, g):
        if i % 100 == 0 or i == n_iter - 1:
            print(f"iter {i:4d}  batch loss {loss(p, *batches[i]):.4f}")

    params = rmsprop(objective_grad, params, callback=callback, num_iters=n_iter,
                     step_size=1e-3)
    y_fit = whole_trajectory(params, t, y[0])
    print(f"mean |error| along the whole trajectory: {onp.mean(onp.abs(y_fit - y)):.4f}")
    plot(t, y, y_fit, params, args.out)
    print(f"wrote {args.out}")
