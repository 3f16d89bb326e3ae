"""Three ways to differentiate an ODE solve, checked against finite differences.

The cubic spiral dy/dt = (y**3) A, A = [[-0.1, 2], [-2, -0.1]] (the torchdiffeq demo,
used in Chen et al. 2018), y0 = (2, 0), observed at N times. Loss L = Σ_i |y(t_i)|².
dL/d(y0, t_1..t_N, A) from `refimpl.ode.odeint` with

* gradient="adjoint"    — the continuous adjoint ([NeuralODE Alg. 1]), O(1) memory;
* gradient="backprop"   — autograd through the solver's arithmetic (the discrete gradient);
* gradient="checkpoint" — the same discrete gradient, replayed from stored states;

each compared with central finite differences of a tight solve. Prints, per tolerance, the
relative error and the forward/backward RHS evaluations ([NeuralODE Fig. 3]), then plots it.

Run: ``python examples/odeint_gradients.py [--quick] [--out odeint_gradients.png]``

References
----------
R. T. Q. Chen, Y. Rubanova, J. Bettencourt, D. Duvenaud. Neural ordinary differential
  equations. NeurIPS 2018 (Sec. 2, Alg. 1; Fig. 3).
"""
import argparse

import autograd.numpy as anp
import numpy as np
from autograd import grad

from refimpl.ode import GRADIENTS, odeint
from refimpl.plotting import plt, savefig

A_TRUE = np.array([[-0.1, 2.0], [-2.0, -0.1]])
Y0 = np.array([2.0, 0.0])


def spiral(t, y, A):
    return anp.dot(y ** 3, A)                               # (2,): dy/dt = (y**3) A


def loss(y0, t, A, mode="backprop", tol=1e-12, info=None):
    ys = odeint(spiral, y0, t, (A,), gradient=mode, rtol=tol, atol=tol, info=info)   # (N, 2)
    return anp.sum(ys ** 2)


def pack(y0, t, A):
    return np.concatenate([y0, t, A.ravel()])               # (2 + N + 4,)


def finite_differences(y0, t, A, eps=1e-6, tol=1e-11):
    """Central differences of a tight solve in every coordinate of (y0, t, A); accurate to
    ~2e-9 here (truncation ∝ eps², solver noise ∝ tol / eps)."""
    x, N = pack(y0, t, A), len(t)
    f = lambda x: loss(x[:2], x[2:2 + N], x[2 + N:].reshape(2, 2), tol=tol)   # noqa: E731
    return np.array([(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(len(x))])


def gradient(mode, tol, y0, t, A):
    """(flat dL/d(y0, t, A), info with nfev_forward / nfev_backward)."""
    info = {}
    g = grad(lambda y0, t, A: loss(y0, t, A, mode, tol, info), argnum=(0, 1, 2))(y0, t, A)
    return pack(*g), info


def rel(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def plot(t, tols, errors, path):
    fig, (ax_y, ax_e) = plt.subplots(1, 2, figsize=(10, 4))
    t_fine = np.linspace(t[0], t[-1], 400)
    ys = odeint(spiral, Y0, t_fine, (A_TRUE,), gradient="backprop", rtol=1e-9, atol=1e-9)
    ax_y.plot(ys[:, 0], ys[:, 1], lw=0.8)
    obs = odeint(spiral, Y0, t, (A_TRUE,), gradient="backprop", rtol=1e-9, atol=1e-9)
    ax_y.plot(obs[:, 0], obs[:, 1], "o", ms=4, label="observation times t_i")
    ax_y.set_title("cubic spiral dy/dt = (y**3) A")
    ax_y.legend(fontsize=8)
    for mode, style in zip(GRADIENTS, ["o-", "s-", "x--"]):
        ax_e.loglog(tols, errors[mode], style, label=mode)
    ax_e.loglog(tols, tols, "k:", lw=1, label="error = tol")
    ax_e.invert_xaxis()
    ax_e.set_xlabel("rtol = atol")
    ax_e.set_ylabel("rel. error of dL/d(y0, t, A) vs finite differences")
    ax_e.legend(fontsize=8)
    savefig(fig, path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter horizon, 3 tolerances")
    parser.add_argument("--out", default="odeint_gradients.png")
    args = parser.parse_args()

    T, N = (2.5, 3) if args.quick else (25.0, 6)
    tols = [1e-3, 1e-6, 1e-9] if args.quick else [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8,
                                                    1e-9, 1e-10]
    t = np.linspace(0.0, T, N)
    fd = finite_differences(Y0, t, A_TRUE)
    errors = {mode: [] for mode in GRADIENTS}
    print(f"{'mode':>10} {'tol':>7} {'rel. error vs FD':>17} {'nfev fwd':>9} {'nfev bwd':>9}")
    for tol in tols:
        grads = {}
        for mode in GRADIENTS:
            grads[mode], info = gradient(mode, tol, Y0, t, A_TRUE)
            errors[mode].append(rel(grads[mode], fd))
            print(f"{mode:>10} {tol:7.0e} {errors[mode][-1]:17.2e} "
                  f"{info['nfev_forward']:9d} {info['nfev_backward']:9d}")
        print(f"{'':>10} checkpoint vs backprop {rel(grads['checkpoint'], grads['backprop']):.1e}"
              f" (same discrete gradient), adjoint vs backprop "
              f"{rel(grads['adjoint'], grads['backprop']):.1e}")
    plot(t, tols, errors, args.out)
    print(f"wrote {args.out}")
