"""Experiment `cnf-vs-nf`: planar CNF (M units) vs planar NF (K layers), Neural ODE Figs. 4-5.

    refimpl run cnf-vs-nf --quick

Density matching: minimise KL(q‖p) - log Z = E_q[log q(z) + U(z)] for the targets U1-U3 of
Rezende & Mohamed (q: N(0, I) pushed through the flow). Maximum likelihood: minimise
-E log q(x) on two toy datasets (moons, circles). Both flows are trained with the same Adam
schedule from the same seeds; reported losses are on fresh samples (KL) / a test set (ML).
The CNF's parameters are a hypernetwork of t, as in Chen et al.'s code (gist
rtqichen/91924063aa4cc95e7ef30b3a5491cc52, torchdiffeq examples/cnf.py; `planar_hyper`).

References
----------
R. T. Q. Chen et al. Neural ordinary differential equations. NeurIPS 2018 (Sec. 4, Figs. 4-5).
D. J. Rezende, S. Mohamed. Variational inference with normalizing flows. ICML 2015 (Table 1).
"""
import time

import autograd.numpy as anp
import numpy as np
from autograd import value_and_grad
from autograd.misc import flatten
from scipy.special import logsumexp as np_logsumexp

from refimpl.datasets import toy2d
from refimpl.experiments import experiment
from refimpl.plotting import density_on_grid, plot_density, plt, savefig, scatter_samples

from .cnf import standard_normal_logprob
from .planar import (TARGETS, init_planar_cnf, init_planar_nf, planar_cnf_flow, planar_nf_fast,
                     target_energy)
from .train import adam_step

DATASETS = ("moons", "circles")
SIZES = (1, 32, 64)
# NF iterations are ~5x cheaper than CNF ones; Chen et al. also give the NF more (500 000 vs
# 10 000). Both flows: Adam, step size lr cosine-decayed to 0 over their iterations. The CNF's
# θ(t): Chen et al.'s hypernetwork of t (`planar_hyper`); "affine" is the cheaper alternative.
QUICK = dict(time_dependence="hypernet", n_iter_nf=300, n_iter_cnf=100, batch=100, lr=3e-2,
             lr_decay="cosine", tol=1e-3, n_eval=1000, n_fig=5000, grid=32)
FULL = dict(time_dependence="hypernet", n_iter_nf=3000, n_iter_cnf=1000, batch=256, lr=1e-2,
            lr_decay="cosine", tol=1e-5, n_eval=20000, n_fig=20000, grid=80)
T_END = 1.0      # CNF integration interval [0, 1]


# --- the two objectives, for either flow -------------------------------------------------------

def kl_loss(kind, params, target, z0, tol):
    """E_q[log q(z) + U(z)] = KL(q‖p) - log Z, estimated on base samples z0: (B, 2)."""
    if kind == "nf":
        z, logdet = planar_nf_fast(params, z0)
        logq = standard_normal_logprob(z0) - logdet                  # R&M eq. (13)
    else:
        z, dlogp = planar_cnf_flow(params, z0, t0=0.0, t1=T_END, rtol=tol, atol=tol)
        logq = standard_normal_logprob(z0) + dlogp                   # Chen et al. Thm. 1
    return anp.mean(logq + target_energy(target, z))


def model_log_prob(kind, params, x, tol):
    """log q(x), (B,). NF in the normalising direction x -> z; CNF data at t=0, base at t=1."""
    if kind == "nf":
        z, logdet = planar_nf_fast(params, x)
        return standard_normal_logprob(z) + logdet
    z, dlogp = planar_cnf_flow(params, x, t0=0.0, t1=T_END, rtol=tol, atol=tol)
    return standard_normal_logprob(z) - dlogp                        # FFJORD eq. (4)


def log_partition(target, lim=6.0, n=600):
    """log Z = log ∫ exp(-U) by the midpoint rule on [-lim, lim]² (so KL = loss + log Z)."""
    xs = np.linspace(-lim, lim, n + 1)
    xs = 0.5 * (xs[1:] + xs[:-1])
    X, Y = np.meshgrid(xs, xs)
    U = target_energy(target, np.stack([X.ravel(), Y.ravel()], 1))
    return float(np_logsumexp(-U) + 2 * np.log(xs[1] - xs[0]))


def _lr(c, i, n_iter):
    """Adam step size at iteration i: constant, or cosine-decayed to 0 (c["lr_decay"])."""
    if c.get("lr_decay") == "cosine":
        return c["lr"] * 0.5 * (1.0 + np.cos(np.pi * i / n_iter))
    return c["lr"]


def train(kind, size, problem, c, rng, progress):
    params = (init_planar_nf(rng, 2, size) if kind == "nf" else
              init_planar_cnf(rng, 2, size, time_dependence=c["time_dependence"]))
    flat, unflatten = flatten(params)
    if problem in TARGETS:
        def loss(v, r):
            return kl_loss(kind, unflatten(v), problem, r.standard_normal((c["batch"], 2)), c["tol"])
    else:
        def loss(v, r):
            x = toy2d.sample(problem, c["batch"], r)
            return -anp.mean(model_log_prob(kind, unflatten(v), x, c["tol"]))
    vg = value_and_grad(loss)
    n_iter = c[f"n_iter_{kind}"]
    m, s, hist = np.zeros_like(flat), np.zeros_like(flat), np.zeros(n_iter)
    for i in range(n_iter):
        val, g = vg(flat, rng)
        flat, m, s = adam_step(flat, g, m, s, i, _lr(c, i, n_iter))
        hist[i] = val
        progress.update(i, loss=float(val))
    return unflatten(flat), hist


@experiment("cnf-vs-nf", paper="Neural ODEs (Chen et al. 2018)", artefact="Figs. 4-5 (planar CNF vs NF)",
            quick_seconds=45, full_minutes=20)
def run(cfg):
    c = QUICK if cfg.quick else FULL
    problems = TARGETS + DATASETS
    metrics, rows, models, curves = {}, [], {}, {}
    for j, problem in enumerate(problems):
        logZ = log_partition(problem) if problem in TARGETS else None
        x_eval = (toy2d.sample(problem, c["n_eval"], cfg.rng(100 + j)) if logZ is None
                  else cfg.rng(100 + j).standard_normal((c["n_eval"], 2)))
        for kind in ("nf", "cnf"):
            for size in SIZES:
                name = f"{kind}_{size}"
                t0 = time.perf_counter()
                params, hist = train(kind, size, problem, c, cfg.rng(10 * j + (kind == "cnf")),
                                     cfg.progress(c[f"n_iter_{kind}"], f"{problem} {name}"))
                secs = time.perf_counter() - t0
                et = min(c["tol"], 1e-4)
                if logZ is not None:
                    final = float(kl_loss(kind, params, problem, x_eval, et))
                else:
                    final = float(-np.mean(model_log_prob(kind, params, x_eval, et)))
                metrics[f"{problem}/{name}/loss"] = final
                models[problem, kind, size], curves[problem, kind, size] = params, hist
                rows.append([problem, name, f"{final:.4f}",
                             "-" if logZ is None else f"{final + logZ:.4f}", f"{secs:.1f}"])
        if logZ is not None:
            metrics[f"{problem}/log_Z"] = logZ
    figs = [_figure(cfg, c, TARGETS, models, "cnf_vs_nf_density_matching.png", kl=True),
            _figure(cfg, c, DATASETS, models, "cnf_vs_nf_max_likelihood.png", kl=False),
            _curves(cfg, problems, curves)]
    return {"metrics": metrics,
            "tables": [{"name": "Final losses (KL targets: E_q[log q + U] on fresh samples; "
                                "datasets: test NLL)",
                        "columns": ["problem", "model", "loss", "KL(q‖p) = loss + log Z", "train s"],
                        "rows": rows}],
            "figures": figs,
            "notes": (f"Planar NF with K layers (R&M, tanh, invertible û) vs planar CNF with M units "
                      f"on t in [0, {T_END}]; time dependence {c['time_dependence']!r}"
                      + (" (the paper's: w, u, b, gate g of the M units from a hypernetwork "
                         "t -> 32 -> 32 -> 3MD + M with tanh, u <- u sigmoid(g), dz/dt = mean over "
                         "units; Chen et al. Sec. 4, gist rtqichen/91924063aa4cc95e7ef30b3a5491cc52 "
                         "= torchdiffeq examples/cnf.py)" if c["time_dependence"] == "hypernet"
                         else " (θ(t) = θ0 + t θ1, not the paper's hypernetwork)")
                      + f"; exact O(MD) trace; dopri5 rtol = atol = {c['tol']:g}, adjoint gradients). "
                      f"Adam lr {c['lr']} ({c.get('lr_decay') or 'constant'} schedule), batch "
                      f"{c['batch']}, {c['n_iter_nf']} NF / {c['n_iter_cnf']} CNF iterations "
                      f"(the paper: 500 000 NF (RMSprop) / 10 000 CNF iterations). "
                      f"Evaluation on {c['n_eval']} fresh base samples / test points at tol "
                      f"{min(c['tol'], 1e-4):g}; log Z by quadrature on [-6, 6]².")}


def _figure(cfg, c, problems, models, fname, kl):
    """Paper layout: one row per problem; columns target | NF K=1,32,64 | CNF M=1,32,64."""
    fig, axes = plt.subplots(len(problems), 7, figsize=(12.6, 1.9 * len(problems)), squeeze=False)
    for ax_row, problem in zip(axes, problems):
        if kl:
            xs, ys, lp = density_on_grid(lambda p: -target_energy(problem, p), lim=4.0, n=c["grid"])
            plot_density(ax_row[0], xs, ys, lp, title=f"{problem}: target")
        else:
            scatter_samples(ax_row[0], toy2d.sample(problem, 2000, cfg.rng(7)), title=f"{problem}: data")
        for col, (kind, size) in enumerate([(k, s) for k in ("nf", "cnf") for s in SIZES], start=1):
            params, label = models[problem, kind, size], f"{kind.upper()} {'K' if kind == 'nf' else 'M'}={size}"
            if kl:       # q as a histogram of its samples (q's density needs the inverse flow)
                z0 = cfg.rng(8).standard_normal((c["n_fig"], 2))
                z = planar_nf_fast(params, z0)[0] if kind == "nf" else \
                    planar_cnf_flow(params, z0, t0=0.0, t1=T_END, rtol=1e-4, atol=1e-4)[0]
                H, _, _ = np.histogram2d(z[:, 1], z[:, 0], bins=c["grid"], range=[[-4, 4], [-4, 4]])
                ax_row[col].imshow(H, origin="lower", extent=[-4, 4, -4, 4], cmap="viridis")
                ax_row[col].set_xticks([])
                ax_row[col].set_yticks([])
                ax_row[col].set_title(label, fontsize=9)
            else:
                xs, ys, lp = density_on_grid(lambda p: model_log_prob(kind, params, p, 1e-4),
                                             lim=4.0, n=c["grid"])
                plot_density(ax_row[col], xs, ys, lp, title=label)
    savefig(fig, cfg.out / fname)
    return fname


def _curves(cfg, problems, curves):
    fig, axes = plt.subplots(1, len(problems), figsize=(3.0 * len(problems), 2.6))
    for ax, problem in zip(axes, problems):
        for (p, kind, size), h in curves.items():
            if p == problem:
                w = max(1, len(h) // 20)
                sm = np.convolve(h, np.ones(w) / w, mode="valid")
                ax.plot(np.linspace(0, 1, len(sm)), sm, ls="-" if kind == "cnf" else "--",
                        label=f"{kind} {size}")
        ax.set_title(problem, fontsize=9)
        ax.set_xlabel("fraction of training")
    axes[0].set_ylabel("training loss")
    axes[0].legend(fontsize=6)
    savefig(fig, cfg.out / "cnf_vs_nf_curves.png")
    return "cnf_vs_nf_curves.png"
