"""Gradient accuracy vs tolerance for odeint's three gradient modes.

For each problem and tolerance (rtol = atol = tol) one gradient of L = sum(y(T)**2) with
respect to (y0, every parameter array) is computed with "adjoint" (mixed norm and
seminorm), "backprop" and "checkpoint", and compared with a tight reference ("backprop" at
rtol = atol = 1e-13): relative error = max|g - g_ref| / max|g_ref|.

Problems:
1. cubic spiral dy/dt = (y**3) A, A = [[-0.1, 2], [-2, -0.1]] (A differentiated), y0 = (2, 0),
   T = 5 — well conditioned in both directions of time.
2. MLP dynamics 2 -> 32 -> 32 -> 2 (tanh, t concatenated), batch 16, T = 1.
3. stiff decay dy/dt = A y + c cos(3t), A = -diag(2, 10, 20) + 0.3 N(0, 1) (A and c
   differentiated), T = 1. Forward in time the fast modes decay; the adjoint's backward
   solve re-integrates y in reverse time, where they grow like e^{20 t}: the tolerance-sized
   error of the stored y(T) is amplified ~e^{20} and the continuous adjoint is inaccurate,
   while backprop/checkpoint differentiate the (stable) forward arithmetic.

Writes numerics/results/adjoint_accuracy.md and adjoint_accuracy.png.
Run: python numerics/adjoint_accuracy.py
"""
from pathlib import Path

import autograd.numpy as anp
import numpy as np
from autograd import grad

from refimpl.ode import init_mlp_dynamics, mlp_dynamics, odeint
from refimpl.plotting import plt, savefig

RESULTS = Path(__file__).resolve().parent / "results"
TOLS = [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12]
MODES = [("adjoint", "mixed"), ("adjoint", "seminorm"), ("backprop", "mixed"),
         ("checkpoint", "mixed")]


def problems():
    rng = np.random.default_rng(0)
    spiral = dict(name="cubic spiral (T=5)", func=lambda t, y, A: anp.dot(y ** 3, A),
                  y0=np.array([2.0, 0.0]), T=5.0,
                  args=(np.array([[-0.1, 2.0], [-2.0, -0.1]]),))
    dyn = mlp_dynamics("tanh")
    mlp = dict(name="MLP dynamics, batch 16 (T=1)", func=dyn, T=1.0,
               args=(init_mlp_dynamics(rng, 2, (32, 32)),), y0=rng.standard_normal((16, 2)))
    A = -np.diag([2.0, 10.0, 20.0]) + 0.3 * rng.standard_normal((3, 3))
    stiff = dict(name="stiff decay, reverse-unstable (T=1)",
                 func=lambda t, y, A, c: anp.dot(A, y) + c * anp.cos(3.0 * t),
                 y0=rng.standard_normal(3), T=1.0, args=(A, rng.standard_normal(3)))
    return [spiral, mlp, stiff]


def _flat(g):
    if isinstance(g, (list, tuple)):
        return np.concatenate([_flat(x) for x in g])
    return np.ravel(g)


def gradient(prob, tol, mode, norm):
    info = {}
    t = np.array([0.0, prob["T"]])

    def loss(y0, args):
        return anp.sum(odeint(prob["func"], y0, t, args, rtol=tol, atol=tol, gradient=mode,
                              adjoint_norm=norm, info=info)[-1] ** 2)
    g = grad(loss, argnum=(0, 1))(prob["y0"], prob["args"])
    return _flat(g), info


def main():
    rows, results = [], {}
    for prob in problems():
        ref, _ = gradient(prob, 1e-13, "backprop", "mixed")
        for mode, norm in MODES:
            label = mode if mode != "adjoint" else f"adjoint ({norm})"
            errs = []
            for tol in TOLS:
                g, info = gradient(prob, tol, mode, norm)
                err = float(np.max(np.abs(g - ref)) / np.max(np.abs(ref)))
                errs.append(err)
                rows.append(f"| {prob['name']} | {label} | {tol:.0e} | {err:.2e} | "
                            f"{info['nfev_forward']} | {info['nfev_backward']} |")
            results[(prob["name"], label)] = errs
            print(prob["name"], label, " ".join(f"{e:.1e}" for e in errs), flush=True)

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for ax, prob in zip(axes, problems()):
        for (pname, label), errs in results.items():
            if pname == prob["name"]:
                style = dict(ls="--", marker="x", ms=7) if label == "checkpoint" else \
                    dict(ls="-", marker="o", ms=4)
                ax.loglog(TOLS, errs, label=label, **style)
        ax.loglog(TOLS, TOLS, "k:", lw=1, label="error = tol")
        ax.set_title(prob["name"], fontsize=10)
        ax.set_xlabel("rtol = atol")
        ax.invert_xaxis()
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("relative gradient error vs tight backprop")
    axes[0].legend(fontsize=8)
    RESULTS.mkdir(parents=True, exist_ok=True)
    savefig(fig, RESULTS / "adjoint_accuracy.png")

    stiff = problems()[2]["name"]
    i8 = TOLS.index(1e-8)
    headline = (f"Headline: on the reverse-unstable stiff problem at rtol = atol = 1e-8 the "
                f"continuous adjoint's gradient error is "
                f"{results[(stiff, 'adjoint (mixed)')][i8]:.1e} while checkpointing gives "
                f"{results[(stiff, 'checkpoint')][i8]:.1e} (backprop "
                f"{results[(stiff, 'backprop')][i8]:.1e}); on the well-conditioned problems all "
                f"modes track the tolerance (spiral at 1e-8: adjoint "
                f"{results[(problems()[0]['name'], 'adjoint (mixed)')][i8]:.1e}, checkpoint "
                f"{results[(problems()[0]['name'], 'checkpoint')][i8]:.1e}).")
    text = "\n".join([
        "# Gradient accuracy vs tolerance: adjoint, backprop, checkpoint",
        "",
        "Relative max-norm error of dL/d(y0, params) for L = sum(y(T)**2) against backprop at "
        "rtol = atol = 1e-13; dopri5. Command: `python numerics/adjoint_accuracy.py`.",
        "",
        headline,
        "",
        "![accuracy](adjoint_accuracy.png)",
        "",
        "| problem | mode | rtol = atol | rel. error | forward nfev | backward nfev |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
    ])
    (RESULTS / "adjoint_accuracy.md").write_text(text)
    print(headline)


if __name__ == "__main__":
    main()
