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

from .cnf import standard_normal_logprob
from .cnf_vs_nf_plots import curves, fig5, final_figure
from .planar import TARGETS, init_planar_cnf, planar_cnf_flow, target_energy
from .planar_nf import init_planar_nf, planar_nf_fast
from .train import adam_step

DATASETS = ("moons", "circles")
SIZES = (1, 32, 64)
# NF iterations are ~5x cheaper than CNF ones; Chen et al. also give the NF more (500 000 vs
# 10 000). Both flows: Adam, step size lr cosine-decayed to 0 over their iterations. The CNF's
# θ(t): Chen et al.'s hypernetwork of t (`planar_hyper`); "affine" is the cheaper alternative.
QUICK = dict(time_dependence="hypernet", n_iter_nf=150, n_iter_cnf=60, batch=100, lr=3e-2,
             lr_decay="cosine", tol=1e-3, n_eval=1000, n_fig=2000, grid=24)
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
    return standard_normal_logprob(z) - dlogp                        # [FFJORD eq. 4]


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


def _key(problem, kind, size):
    return f"{problem}__{kind}_{size}"


def _train_or_load(cfg, c, state, ck, j, problem, kind, size, final_loss):
    """Train one model, or reload it (with its curve, final loss and time) from the checkpoint."""
    key = _key(problem, kind, size)
    structure = (init_planar_nf(np.random.default_rng(0), 2, size) if kind == "nf" else
                 init_planar_cnf(np.random.default_rng(0), 2, size,
                                 time_dependence=c["time_dependence"]))
    unflatten = flatten(structure)[1]
    if state is not None and key + "__params" in state:
        return (unflatten(state[key + "__params"]), state[key + "__hist"],
                float(state[key + "__final"]), float(state[key + "__secs"]))
    t0 = time.perf_counter()
    params, hist = train(kind, size, problem, c, cfg.rng(10 * j + (kind == "cnf")),
                         cfg.progress(c[f"n_iter_{kind}"], f"{problem} {kind}_{size}"))
    secs = time.perf_counter() - t0
    final = final_loss(kind, params)
    state.update({key + "__params": flatten(params)[0], key + "__hist": hist,
                  key + "__final": np.float64(final), key + "__secs": np.float64(secs)})
    ck.save(state)                      # after every model: --resume skips the trained ones
    return params, hist, final, secs


KL_COLUMN = "KL(q‖p) = loss + log Z (U2, U3: p truncated to [-6, 6]²)"


@experiment("cnf-vs-nf", paper="Neural ODEs (Chen et al. 2018)", artefact="Figs. 4-5 (planar CNF vs NF)",
            quick_seconds=25, full_minutes=20)
def run(cfg):
    c = QUICK if cfg.quick else FULL
    problems = TARGETS + DATASETS
    ck = cfg.checkpoint("models", every_s=0)
    loaded = ck.load()
    state = dict(loaded) if loaded is not None else {}
    metrics, rows, models, hists = {}, [], {}, {}
    et = min(c["tol"], 1e-4)            # evaluation tolerance
    for j, problem in enumerate(problems):
        logZ = log_partition(problem) if problem in TARGETS else None
        x_eval = (toy2d.sample(problem, c["n_eval"], cfg.rng(100 + j)) if logZ is None
                  else cfg.rng(100 + j).standard_normal((c["n_eval"], 2)))

        def final_loss(kind, params):
            if logZ is not None:
                return float(kl_loss(kind, params, problem, x_eval, et))
            return float(-np.mean(model_log_prob(kind, params, x_eval, et)))
        for kind in ("nf", "cnf"):
            for size in SIZES:
                params, hist, final, secs = _train_or_load(cfg, c, state, ck, j, problem, kind,
                                                           size, final_loss)
                name = f"{kind}_{size}"
                metrics[f"{problem}/{name}/loss"] = final
                models[problem, kind, size], hists[problem, kind, size] = params, hist
                rows.append([problem, name, f"{final:.4f}",
                             "-" if logZ is None else f"{final + logZ:.4f}", f"{secs:.1f}"])
        if logZ is not None:
            metrics[f"{problem}/log_Z"] = logZ
    figs = [final_figure(cfg, c, TARGETS, models, SIZES, "cnf_vs_nf_density_matching.png", True,
                         model_log_prob, T=T_END),
            final_figure(cfg, c, DATASETS, models, SIZES, "cnf_vs_nf_max_likelihood.png", False,
                         model_log_prob, T=T_END),
            fig5(cfg, c, DATASETS, models, max(SIZES), T=T_END),
            curves(cfg, problems, hists)]
    return {"metrics": metrics,
            "tables": [{"name": "Final losses (KL targets: E_q[log q + U] on fresh samples; "
                                "datasets: test NLL)",
                        "columns": ["problem", "model", "loss", KL_COLUMN, "train s"],
                        "rows": rows}],
            "figures": figs,
            "notes": (f"Planar NF with K layers (R&M, tanh, invertible û) vs planar CNF with M units "
                      f"on t in [0, {T_END}]; time dependence {c['time_dependence']!r}"
                      + (" (the paper's: w, u, b, gate g of the M units from a hypernetwork "
                         "t -> 32 -> 32 -> 3MD + M with tanh, u <- u sigmoid(g), dz/dt = mean over "
                         "units; [NeuralODE Sec. 4], gist rtqichen/91924063aa4cc95e7ef30b3a5491cc52 "
                         "= torchdiffeq examples/cnf.py)" if c["time_dependence"] == "hypernet"
                         else " (θ(t) = θ0 + t θ1, not the paper's hypernetwork)")
                      + f"; exact O(MD) trace; dopri5 rtol = atol = {c['tol']:g}, adjoint gradients). "
                      f"Adam lr {c['lr']} ({c.get('lr_decay') or 'constant'} schedule), batch "
                      f"{c['batch']}, {c['n_iter_nf']} NF / {c['n_iter_cnf']} CNF iterations "
                      f"(the paper: 500 000 NF (RMSprop) / 10 000 CNF iterations). "
                      f"Evaluation on {c['n_eval']} fresh base samples / test points at tol "
                      f"{et:g}. KL column: loss + log Z with Z = ∫ exp(-U) by quadrature on "
                      "[-6, 6]². For U1 this is the true KL(q‖p) (exp(-U1) decays radially; its "
                      "mass outside the box is < e^-45). exp(-U2), exp(-U3) do not decay in z1 and "
                      "are not normalisable on R², so their column is the KL to the target "
                      "truncated to [-6, 6]² (q's mass outside the box neglected). "
                      f"cnf_vs_nf_fig5.png ([NeuralODE Fig. 5]): NF K = {max(SIZES)} and CNF "
                      f"M = {max(SIZES)} samples and density at 5-100 % of the transformation from "
                      "N(0, I) to the data (CNF: state at t = T(1 - f), density by the integrated "
                      "trace from t to T; NF: after the inverses of the last round(f K) layers, "
                      "since the ML NF maps data to base), then the target. Trained models are "
                      "checkpointed (checkpoint-models.npz) after each one; --resume reloads them "
                      "and only re-evaluates figures.")}
