"""FFJORD experiments: toy 2-D densities (Fig. 2 analog) and a study of trace estimators.

    refimpl run ffjord-toy --quick           # two datasets, small nets
    refimpl run ffjord-toy --out DIR [--resume]   # FFJORD's train_toy.py protocol, 8 sets
    refimpl run trace-estimators --quick

`trace-estimators` compares the exact trace with Gaussian, Rademacher and bottleneck
Hutchinson probes: variance of log p̂(x) (measured, and in closed form Var[εᵀMε] with
M = ∫_0^T ∂f/∂z dt along each path), bias in standard errors, variance of the gradient,
training curves and seconds per iteration.

References
----------
W. Grathwohl et al. FFJORD (ICLR 2019): Fig. 2 and Sec. 5.1 (toy densities; concatsquash
2-64-64-64-2 tanh, dopri5 rtol = atol = 1e-5, exact trace in 2-D), Sec. 3.1-3.2 and
App. (Hutchinson estimator, Gaussian vs Rademacher noise, bottleneck trick).
"""

import time

import autograd.numpy as anp
import numpy as np
from autograd import grad
from autograd.misc import flatten

from refimpl.datasets import toy2d
from refimpl.experiments import experiment
from refimpl.plotting import density_on_grid, plot_density, plt, savefig, scatter_samples

from .cnf import cnf_log_prob, cnf_sample, end_time, init_cnf
from .divergence import hutchinson_variance
from .fast import fast_cnf_log_prob
from .layers import concatsquash_dynamics as DYN
from .train import train_cnf

# --- ffjord-toy ---------------------------------------------------------------------------

QUICK_TOY = dict(datasets=("8gaussians", "checkerboard"), hidden=(32, 32), n_iter=80, batch=100,
                 lr=1e-2, weight_decay=0.0, tol=1e-3, n_test=1000, grid=50, plot_tol=1e-4)
# FFJORD's train_toy.py defaults: concatsquash 2-64-64-64-2 tanh, one CNF block, T = 0.5
# trainable, exact ("brute_force") divergence, dopri5 rtol = atol = 1e-5, Adam lr 1e-3 with
# weight_decay 1e-5, batch 100, no lr schedule; 10 000 iterations (issue 25: 10 000 on
# 8gaussians and checkerboard, 2 000 on the other six).
FULL_TOY = dict(datasets=toy2d.NAMES, hidden=(64, 64, 64), batch=100, lr=1e-3, weight_decay=1e-5,
                n_iter={name: (10000 if name in ("8gaussians", "checkerboard") else 2000)
                        for name in toy2d.NAMES},
                tol=1e-5, n_test=20000, grid=80, plot_tol=1e-5)
TEST_TOL = 1e-5                      # the test NLL's solve (FFJORD: the training tolerance, 1e-5)


def _n_iter(c, name):
    return c["n_iter"][name] if isinstance(c["n_iter"], dict) else c["n_iter"]


def _gaussian_baseline(x_train, x_test):
    """Test log-likelihood of the maximum-likelihood full-covariance Gaussian (a floor)."""
    mu, S = x_train.mean(0), np.cov(x_train.T)
    d = x_test - mu
    Sinv = np.linalg.inv(S)
    return float(np.mean(-0.5 * np.einsum("ni,ij,nj->n", d, Sinv, d)
                         - 0.5 * np.log(np.linalg.det(2 * np.pi * S))))


def _loglik(blocks, x, tol, batch=2500):
    """log p(x) per test point, (n,), by the fused path (no gradient)."""
    return np.concatenate([fast_cnf_log_prob(blocks, x[i:i + batch], rtol=tol, atol=tol)
                           for i in range(0, len(x), batch)])


def _toy_one(cfg, c, k, name):
    """Train on `name`, evaluate, and return (metrics, table row, panel); the result is
    cached in its own checkpoint so a resumed run skips finished sets."""
    done = cfg.checkpoint(f"toy-{name}-result", every_s=0.0)
    st = done.load()
    if st is None:
        st = _train_and_evaluate(cfg, c, k, name)
        done.save(st)
    m = {f"{name}/{key}": float(st[key]) for key in
         ("test_loglik", "test_loglik_se", "gaussian_baseline_loglik", "end_time",
          "train_seconds", "sec_per_iter", "train_cpu_seconds", "cpu_sec_per_iter",
          "eval_cpu_seconds", "nfe_forward_last")}
    if name in toy2d.KNOWN_DENSITY:
        # test NLL - H(p_data) = KL(p_data || p_model) + Monte Carlo error (SE beside it)
        m[f"{name}/nll_minus_entropy"] = -m[f"{name}/test_loglik"] - toy2d.entropy(name)
        m[f"{name}/nll_minus_entropy_se"] = m[f"{name}/test_loglik_se"]
    gap = m.get(f"{name}/nll_minus_entropy")
    row = [name, int(st["n_iter"]), round(m[f"{name}/test_loglik"], 3),
           "-" if gap is None else f"{gap:.3f} ± {m[f'{name}/test_loglik_se']:.3f}",
           round(m[f"{name}/gaussian_baseline_loglik"], 3), round(m[f"{name}/end_time"], 3),
           round(m[f"{name}/cpu_sec_per_iter"], 3), round(m[f"{name}/train_cpu_seconds"] / 60, 1),
           round(m[f"{name}/train_seconds"] / 60, 1),
           round(m[f"{name}/nfe_forward_last"], 1)]
    panel = (name, st["x_test_plot"], (st["grid_x"], st["grid_y"], st["grid_logp"]), st["x_gen"])
    return m, row, panel, (st["loss"], st["nfe"])


def _plot_curves(curves, path):
    """Training loss (moving average over 2 % of the run) and forward NFE per iteration; the
    data entropy (the loss's floor) as a dashed line where it is known."""
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
    for j, (name, (loss, nfe)) in enumerate(curves.items()):
        w = max(1, len(loss) // 50)
        sm = np.convolve(loss, np.ones(w) / w, mode="valid")
        line, = ax[0].plot(np.arange(len(sm)) + w, sm, label=name, lw=1)
        if name in toy2d.KNOWN_DENSITY:
            ax[0].axhline(toy2d.entropy(name), color=line.get_color(), ls="--", lw=0.8)
        ax[1].plot(np.arange(len(nfe)) + 1, np.convolve(nfe, np.ones(w) / w, mode="same"), lw=1)
    ax[0].set(xlabel="iteration", ylabel="training loss -log p (nats)", xscale="log")
    ax[1].set(xlabel="iteration", ylabel="forward NFE", xscale="log")
    ax[0].legend(fontsize=7)
    savefig(fig, path)


def _train_and_evaluate(cfg, c, k, name):
    n_iter = _n_iter(c, name)
    rng = cfg.rng(k)
    blocks = init_cnf(rng, 2, c["hidden"], n_blocks=1, t1=0.5)
    progress = cfg.progress(n_iter, name)
    progress.interval = 1.0 if cfg.quick else 30.0                 # a line every 30 s in full runs
    blocks, hist = train_cnf(
        blocks, lambda r: toy2d.sample(name, c["batch"], r), n_iter=n_iter, rng=rng,
        lr=c["lr"], weight_decay=c["weight_decay"], trace="exact", rtol=c["tol"], atol=c["tol"],
        fused=True, checkpoint=cfg.checkpoint(f"toy-{name}", every_s=60.0), progress=progress)
    c0 = time.process_time()
    x_test = toy2d.sample(name, c["n_test"], cfg.rng(100 + k))
    lp = _loglik(blocks, x_test, TEST_TOL)
    base = _gaussian_baseline(toy2d.sample(name, 20000, cfg.rng(200 + k)), x_test)
    pt = c["plot_tol"]
    xs, ys, glp = density_on_grid(lambda p: fast_cnf_log_prob(blocks, p, rtol=pt, atol=pt),
                                  lim=4.0, n=c["grid"])
    x_gen = cnf_sample(DYN, blocks, cfg.rng(300 + k).standard_normal((2000, 2)), rtol=pt, atol=pt)
    tail = hist["nfe"][-max(1, n_iter // 20):]                     # the last 5 % of iterations
    return {"n_iter": n_iter, "test_loglik": lp.mean(), "test_loglik_se": lp.std() / np.sqrt(len(lp)),
            "gaussian_baseline_loglik": base, "end_time": float(end_time(blocks[0])),
            "train_seconds": np.nansum(hist["seconds"]), "sec_per_iter": np.nanmean(hist["seconds"]),
            "train_cpu_seconds": np.nansum(hist["cpu_seconds"]),
            "cpu_sec_per_iter": np.nanmean(hist["cpu_seconds"]),
            "eval_cpu_seconds": time.process_time() - c0,
            "nfe_forward_last": np.nanmean(tail), "x_test_plot": x_test[:2000],
            "grid_x": xs, "grid_y": ys, "grid_logp": glp, "x_gen": x_gen,
            "loss": hist["loss"], "seconds": hist["seconds"], "cpu_seconds": hist["cpu_seconds"],
            "nfe": hist["nfe"]}


def _toy_claims(metrics):
    out = []
    for name, bound in (("8gaussians", 0.15), ("checkerboard", 0.3)):
        v = metrics.get(f"{name}/nll_minus_entropy")
        if v is not None:
            out.append({"claim": f"{name}: the learned density is close to the data's "
                                 "(test NLL - entropy, issue 25's bar for FFJORD Fig. 2)",
                        "paper_value": f"≤ {bound} nats", "ours": f"{v:.3f}",
                        "reproduced": "yes" if v <= bound else "no"})
    return out


@experiment("ffjord-toy", paper="FFJORD (Grathwohl et al. 2019)", artefact="Fig. 2 (toy densities)",
            quick_seconds=20, full_minutes=300)
def ffjord_toy(cfg):
    c = QUICK_TOY if cfg.quick else FULL_TOY
    metrics, rows, panels, curves = {}, [], [], {}
    for k, name in enumerate(c["datasets"]):
        m, row, panel, curves[name] = _toy_one(cfg, c, k, name)
        metrics.update(m)
        rows.append(row)
        panels.append(panel)
    _plot_curves(curves, cfg.out / "ffjord_toy_training.png")
    fig, axes = plt.subplots(len(panels), 3, figsize=(6.6, 2.2 * len(panels)), squeeze=False)
    for ax, (name, x_test, (xs, ys, lp), x_gen) in zip(axes, panels):
        scatter_samples(ax[0], x_test, title=f"{name}: data")
        plot_density(ax[1], xs, ys, lp, title="learned density")
        scatter_samples(ax[2], x_gen, title="samples")
    savefig(fig, cfg.out / "ffjord_toy.png")
    iters = ", ".join(f"{n} {_n_iter(c, n)}" for n in c["datasets"])
    return {"metrics": metrics, "claims": _toy_claims(metrics),
            "tables": [{"name": "Test log-likelihood (nats, higher is better); test NLL minus the "
                                "data's entropy where it is known",
                        "columns": ["dataset", "iterations", "FFJORD", "NLL - H (± SE)", "Gaussian",
                                    "end time T", "CPU s / iter", "train CPU minutes",
                                    "train wall minutes", "NFE / iter (fwd, last 5 %)"],
                        "rows": rows}],
            "figures": ["ffjord_toy.png", "ffjord_toy_training.png"],
            "notes": (f"Concatsquash MLP 2-{'-'.join(map(str, c['hidden']))}-2 (tanh), one CNF block, "
                      f"trainable end time (T = s², init 0.5), exact trace (FFJORD's 'brute_force' "
                      f"divergence), adjoint gradients through the fused kernels "
                      f"(refimpl.ffjord.fast.fast_cnf_log_prob), dopri5 rtol = atol = {c['tol']:g} "
                      f"in training (error norm: RMS over the flat state [z, Δlog p]; torchdiffeq: "
                      f"per-tensor), {TEST_TOL:g} at test; Adam lr {c['lr']}, weight decay "
                      f"{c['weight_decay']:g} (L2 on the gradient, as torch's Adam), no schedule, "
                      f"batch {c['batch']}; iterations: {iters} (FFJORD's train_toy.py: 10 000; "
                      f"float64 here, float32 there). Test sets: {c['n_test']} fresh samples. "
                      f"NLL - H: H = log 32 for checkerboard (uniform on 8 squares of area 4), "
                      f"2-D quadrature of the mixture density for 8gaussians "
                      f"({toy2d.entropy('8gaussians'):.4f} nats); absent for the other six sets "
                      f"(no closed-form density). CPU s / iter: process CPU time of the loss + "
                      f"gradient step, mean over training (wall minutes: the same steps' wall "
                      f"time, on a 2-core Xeon shared with other jobs, this one under nice 19).")}


# --- trace-estimators -----------------------------------------------------------------------

ESTIMATORS = {  # name: (trace, noise, bottleneck?)
    "exact": ("exact", None, False),
    "gaussian": ("hutchinson", "gaussian", False),
    "rademacher": ("hutchinson", "rademacher", False),
    "bottleneck-gaussian": ("hutchinson", "gaussian", True),
    "bottleneck-rademacher": ("hutchinson", "rademacher", True),
}
QUICK_TR = dict(D=8, hidden=(4, 32), n_iter=30, batch=64, lr=1e-2, tol=1e-4, n_eval=64,
                k_loglik=40, k_grad=6)
FULL_TR = dict(D=8, hidden=(4, 64), n_iter=150, batch=100, lr=5e-3, tol=1e-5, n_eval=128,
               k_loglik=100, k_grad=20)


def lifted_8gaussians(n, rng, D, Q):
    """8gaussians in a 2-D plane of R^D plus N(0, 0.3²) in the other D - 2 directions."""
    x = np.concatenate([toy2d.sample("8gaussians", n, rng), 0.3 * rng.standard_normal((n, D - 2))], 1)
    return x @ Q.T


def _integrated_jacobian(block, x, tol):
    """M_b = ∫_0^T (∂f/∂z)ᵀ(z_b(t), t) dt along each path, (n, D, D).

    With a probe ε held fixed during the solve, log p̂(x) - log p(x) = εᵀMε - tr M exactly
    (z(t) does not depend on ε), so Var[log p̂(x)] = hutchinson_variance(M): a closed form
    for the variance of the log-likelihood estimate of a trained model.
    """
    from refimpl.ode import odeint
    n, D = x.shape

    def func(t, state, net):
        return DYN.with_jacobian(t, state[0], net)                  # (dz/dt, dM/dt)
    _, Ms = odeint(func, (x, np.zeros((n, D, D))), np.array([0.0, float(end_time(block))]),
                   (block["net"],), rtol=tol, atol=tol)
    return Ms[-1]


def _estimator_kw(name, rng):
    trace, noise, bn = ESTIMATORS[name]
    return dict(trace=trace, noise=noise or "rademacher", rng=rng,
                bottleneck=DYN.bottleneck if bn else None)


@experiment("trace-estimators", paper="FFJORD (Grathwohl et al. 2019)",
            artefact="Sec. 3.1-3.2 (Hutchinson noise, bottleneck trick)", quick_seconds=60,
            full_minutes=30)
def trace_estimators(cfg):
    c = QUICK_TR if cfg.quick else FULL_TR
    D = c["D"]
    Q = np.linalg.qr(cfg.rng(1).standard_normal((D, D)))[0]
    x_test = lifted_8gaussians(c["n_eval"], cfg.rng(2), D, Q)
    init = init_cnf(cfg.rng(3), D, c["hidden"], n_blocks=1, t1=0.5)
    metrics, rows, curves, trained = {}, [], {}, {}
    for j, name in enumerate(ESTIMATORS):
        rng = cfg.rng(10 + j)
        blocks, hist = train_cnf(
            init, lambda r: lifted_8gaussians(c["batch"], r, D, Q), n_iter=c["n_iter"], rng=rng,
            lr=c["lr"], rtol=c["tol"], atol=c["tol"], checkpoint=cfg.checkpoint(f"trace-{name}"),
            progress=cfg.progress(c["n_iter"], name), **{k: v for k, v in _estimator_kw(name, rng).items()
                                                        if k != "rng"})
        trained[name], curves[name] = blocks, hist
        metrics[f"{name}/sec_per_iter"] = float(np.nanmean(hist["seconds"]))
        metrics[f"{name}/test_loglik"] = float(np.mean(cnf_log_prob(DYN, blocks, x_test, rtol=1e-6, atol=1e-6)))
    # --- variance of log p(x) and of its gradient, on the model trained with the exact trace ---
    ref = trained["exact"]
    exact_lp = cnf_log_prob(DYN, ref, x_test, rtol=1e-6, atol=1e-6)                 # (n,)
    loss = lambda bl, x, kw: -anp.mean(cnf_log_prob(DYN, bl, x, rtol=1e-6, atol=1e-6, **kw))  # noqa: E731
    g_exact = flatten(grad(loss)(ref, x_test, {}))[0]
    M = _integrated_jacobian(ref[0], x_test, 1e-6)                                  # (n, D, D)
    for j, name in enumerate(ESTIMATORS):
        if name == "exact":
            continue
        kw = _estimator_kw(name, cfg.rng(50 + j))
        xs = np.repeat(x_test, c["k_loglik"], axis=0)                               # one probe per row
        lp = cnf_log_prob(DYN, ref, xs, rtol=1e-6, atol=1e-6, **kw).reshape(-1, c["k_loglik"])
        per_point_var = lp.var(axis=1, ddof=1)
        d = lp.mean(axis=1) - exact_lp                                              # (n,)
        bias_se = d.mean() / (d.std(ddof=1) / np.sqrt(len(d)))
        gs = np.stack([flatten(grad(loss)(ref, x_test, _estimator_kw(name, cfg.rng(70 + j, r))))[0]
                       for r in range(c["k_grad"])])
        grad_var = float(np.sum(gs.var(axis=0, ddof=1)) / np.sum(g_exact ** 2))
        metrics[f"{name}/loglik_variance"] = float(per_point_var.mean())
        closed = "-"
        if not ESTIMATORS[name][2]:
            # Var[εᵀMε] in closed form, averaged over the points ([FFJORD Sec. 3.1] estimator)
            closed = float(np.mean([hutchinson_variance(Mb, ESTIMATORS[name][1]) for Mb in M]))
            metrics[f"{name}/loglik_variance_closed_form"] = closed
            closed = f"{closed:.4g}"
        metrics[f"{name}/loglik_bias_in_se"] = float(bias_se)
        metrics[f"{name}/grad_relative_variance"] = grad_var
        rows.append([name, f"{per_point_var.mean():.4g}", closed, f"{bias_se:+.2f}", f"{grad_var:.4g}",
                     f"{metrics[name + '/sec_per_iter']:.3f}", f"{metrics[name + '/test_loglik']:.3f}"])
    rows.insert(0, ["exact", "0", "0", "0", "0", f"{metrics['exact/sec_per_iter']:.3f}",
                    f"{metrics['exact/test_loglik']:.3f}"])
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
    w = max(1, c["n_iter"] // 20)
    for name, h in curves.items():
        sm = np.convolve(h["loss"], np.ones(w) / w, mode="valid")
        ax[0].plot(np.arange(len(sm)) + w - 1, sm, label=name)
        ax[1].plot(np.cumsum(h["seconds"])[w - 1:], sm, label=name)
    ax[0].set_xlabel("iteration")
    ax[1].set_xlabel("seconds")
    for a in ax:
        a.set_ylabel("training loss (-log p, moving avg)")
    ax[0].legend(fontsize=7)
    savefig(fig, cfg.out / "trace_estimators.png")
    return {"metrics": metrics,
            "tables": [{"name": "Trace estimators on the model trained with the exact trace",
                        "columns": ["estimator", "Var[log p̂(x)] per point",
                                    "closed form Var[εᵀMε], M = ∫J dt", "bias (SE units)",
                                    "tr Cov[∇̂] / |∇|²", "s / iter", "test log p (own training)"],
                        "rows": rows}],
            "figures": ["trace_estimators.png"],
            "notes": (f"Data: 8gaussians in a 2-D plane of R^{D} plus N(0, 0.3²) noise in the other "
                      f"directions. Dynamics: concatsquash {D}-{'-'.join(map(str, c['hidden']))}-{D} "
                      f"(tanh); the first hidden width {c['hidden'][0]} < D is the bottleneck h of "
                      f"[FFJORD Sec. 3.2], so bottleneck probes live in R^{c['hidden'][0]}. Each estimator "
                      f"trains the same initialisation for {c['n_iter']} iterations (batch {c['batch']}, "
                      f"Adam lr {c['lr']}, dopri5 tol {c['tol']:g}); variances use {c['k_loglik']} probes "
                      f"per point on {c['n_eval']} points and {c['k_grad']} gradient draws.")}
from . import exp_cnf_vs_nf, exp_tabular  # noqa: F401  (issue 8 experiments)
