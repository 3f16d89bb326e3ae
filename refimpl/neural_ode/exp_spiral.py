"""`neural-ode-spiral`: learn the cubic spiral dynamics from one observed trajectory.

The setting of the authors' `examples/ode_demo.py` (torchdiffeq): the truth
dy/dt = (y**3) A, A = [[-0.1, 2], [-2, -0.1]], y(0) = [2, 0], observed at 1000 times on
[0, 25]; the model dy/dt = MLP(y**3) (2 → 50 → 2, tanh, weights N(0, 0.1²)); every
iteration draws 20 start points and fits the next 10 observations by odeint (dopri5,
adjoint gradients) under the mean absolute error, RMSprop lr 1e-3. Reported: the error of the
whole learned trajectory, the learned vector field against the truth, and the forward and
backward evaluation counts of every iteration.

References
----------
R. T. Q. Chen, Y. Rubanova, J. Bettencourt, D. Duvenaud. Neural ordinary differential
equations. NeurIPS 2018 (Sec. 2; the torchdiffeq `ode_demo.py` example).
"""
import autograd.numpy as anp
import numpy as np
from autograd import value_and_grad

from refimpl import nn
from refimpl.ode import odeint, solve
from refimpl.nn import mlp_dynamics
from refimpl.plotting import plt, savefig

from ._util import nfe_counts
from .spirals import cubic_spiral_rhs, cubic_spiral_trajectory
from .train import Optimizer, fit

__all__ = ["run_neural_ode_spiral", "spiral_model", "init_spiral_model"]

SETTINGS = {"quick": dict(n_iter=500, eval_every=50), "full": dict(n_iter=2000, eval_every=100)}
BATCH_TIME, BATCH_SIZE = 10, 20
ODE_KW = dict(method="dopri5", rtol=1e-6, atol=1e-8)
_MLP = mlp_dynamics("tanh", time_input=False)


def spiral_model(t, y, params):
    """dy/dt = MLP(y**3); y: (B, 2) or (2,)."""
    return _MLP(t, y ** 3, params)


def init_spiral_model(rng, hidden=50):
    return nn.init_mlp(rng, [2, hidden, 2], scale=0.1)


def trajectory_mae(params, t, y_true):
    """Mean |y_model(t) − y_true| along the whole trajectory from y_true[0]."""
    sol = solve(lambda s, y: spiral_model(s, y, params), (t[0], t[-1]), y_true[0], t_eval=t,
                **ODE_KW)
    return float(np.mean(np.abs(sol.y - y_true))), sol.y


def run_neural_ode_spiral(cfg):
    s = SETTINGS["quick" if cfg.quick else "full"]
    t, y = cubic_spiral_trajectory()                                   # (1000,), (1000, 2)
    opt = Optimizer(init_spiral_model(cfg.rng(1)), "rmsprop", lr=1e-3)

    def loss(p, y0, target, info):
        pred = odeint(spiral_model, y0, t[:BATCH_TIME], (p,), info=info,
                      gradient="adjoint", **ODE_KW)                    # (T, B, 2)
        return anp.mean(anp.abs(pred - target))
    vg = value_and_grad(loss)
    evals = []

    def step(params, it):
        start = cfg.rng(2, it).choice(len(t) - BATCH_TIME, BATCH_SIZE, replace=False)
        target = np.stack([y[start + i] for i in range(BATCH_TIME)])   # (T, B, 2)
        info = {}
        value, g = vg(params, y[start], target, info)
        fwd, bwd = nfe_counts(info)
        rec = {"loss": value, "nfe_fwd": fwd, "nfe_bwd": bwd}
        if it % s["eval_every"] == 0 or it == s["n_iter"] - 1:
            rec["test_mae"] = trajectory_mae(params, t, y)[0]
        return g, rec
    hist = fit(cfg, "spiral", opt, step, s["n_iter"])
    params = opt.params
    mae, y_fit = trajectory_mae(params, t, y)
    # --- vector field on the region the trajectory covers ---
    g1, g2 = np.meshgrid(np.linspace(-2, 2, 21), np.linspace(-2, 2, 21))
    grid = np.stack([g1.ravel(), g2.ravel()], 1)                       # (441, 2)
    f_true, f_fit = cubic_spiral_rhs(0.0, grid), spiral_model(0.0, grid, params)
    field_err = float(np.linalg.norm(f_fit - f_true) / np.linalg.norm(f_true))
    metrics = {"spiral/test_mae": mae, "spiral/test_mae_init": float(hist["test_mae"][0]),
               "spiral/vector_field_rel_error": field_err,
               "spiral/nfe_fwd_mean": float(np.mean(hist["nfe_fwd"])),
               "spiral/nfe_bwd_mean": float(np.mean(hist["nfe_bwd"])),
               "spiral/final_batch_loss": float(np.mean(hist["loss"][-20:]))}
    _figure(cfg, t, y, y_fit, g1, g2, f_true, f_fit, hist)
    notes = (f"{s['n_iter']} RMSprop iterations (lr 1e-3), batches of {BATCH_SIZE} windows of "
             f"{BATCH_TIME} points; odeint dopri5 rtol {ODE_KW['rtol']} atol {ODE_KW['atol']}, "
             "adjoint gradients. test_mae: the learned ODE solved from y(0) over all 1000 "
             "times; vector_field_rel_error on [-2, 2]^2 (21 x 21 grid).")
    return {"metrics": metrics, "figures": ["spiral.png"], "notes": notes, "tables": [
        {"name": "learned cubic spiral", "columns": ["quantity", "value"],
         "rows": [[k, round(v, 5)] for k, v in metrics.items()]}]}


def _figure(cfg, t, y, y_fit, g1, g2, f_true, f_fit, hist):
    fig, ax = plt.subplots(1, 4, figsize=(17, 3.8))
    ax[0].plot(t, y[:, 0], "g-", t, y[:, 1], "g-", lw=1)
    ax[0].plot(t, y_fit[:, 0], "b--", t, y_fit[:, 1], "b--", lw=1)
    ax[0].set_title("trajectories (green: true, blue: learned)")
    ax[0].set_xlabel("t")
    ax[1].plot(y[:, 0], y[:, 1], "g-", lw=1, label="true")
    ax[1].plot(y_fit[:, 0], y_fit[:, 1], "b--", lw=1, label="learned")
    ax[1].set_title("phase portrait")
    ax[1].legend(fontsize=7)
    for field, color in ((f_true, "0.6"), (f_fit, "k")):
        u = field / np.maximum(np.linalg.norm(field, axis=1, keepdims=True), 1e-12)
        ax[2].streamplot(g1, g2, u[:, 0].reshape(g1.shape), u[:, 1].reshape(g1.shape),
                         color=color, density=0.7, linewidth=0.8)
    ax[2].set_title("vector field (grey: true, black: learned)")
    ax[3].plot(hist["nfe_fwd"], lw=0.8, label="forward")
    ax[3].plot(hist["nfe_bwd"], lw=0.8, label="backward (adjoint)")
    ax[3].set_title("evaluations per iteration")
    ax[3].set_xlabel("iteration")
    ax[3].legend(fontsize=7)
    savefig(fig, cfg.out / "spiral.png")
