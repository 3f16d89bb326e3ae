"""Figures of `cnf-vs-nf`, and the intermediate stages of a trained flow (Neural ODE Fig. 5).

Fig. 5 of Chen et al. shows, for maximum likelihood, samples and density part of the way from
the base N(0, I) to the data. With the conventions of `exp_cnf_vs_nf` (ML flows map data x to
base z), a fraction f ∈ [0, 1] of the generative transformation is:

* CNF (data at t = 0, base at t = T): the state at t_f = T (1 - f). Samples solve the ODE
  backwards from z(T) ~ N(0, I) to t_f; the density of z(t_f) is the change of variables with
  the integrated trace, log p_f(y) = log N(z(T)) - ∫_{t_f}^T -Tr(∂f/∂z) dt  ([FFJORD eq. 4]
  started at t_f instead of 0).
* NF (layers 1..K map x -> z): generating inverts layer K first, so after n = round(f K)
  generative layers a sample is the inverse of layers K-n+1..K applied to ε ~ N(0, I), and its
  density is log p_f(y) = log N(F_K ∘ ... ∘ F_{K-n+1}(y)) + Σ_{k>K-n} log|det J_k| (R&M eq. (13)).
  A planar layer is inverted through the scalar a = wᵀz + b, which solves the monotone equation
  a + (wᵀû) tanh(a) = wᵀy + b (wᵀû ≥ -1), by bisection on [c - |wᵀû|, c + |wᵀû|].

References
----------
R. T. Q. Chen et al. Neural ordinary differential equations. NeurIPS 2018 (Figs. 4-5).
D. J. Rezende, S. Mohamed. Variational inference with normalizing flows. ICML 2015.
"""
import numpy as np

from refimpl.datasets import toy2d
from refimpl.plotting import density_on_grid, plot_density, plt, savefig, scatter_samples

from .cnf import standard_normal_logprob
from .planar import planar_cnf_augmented_fast, planar_cnf_flow, target_energy
from .planar_nf import planar_nf_fast, planar_u_hat

FRACTIONS = (0.05, 0.2, 0.4, 0.6, 0.8, 1.0)      # [NeuralODE Fig. 5] columns


def _check_f(f):
    if not 0.0 <= float(f) <= 1.0:
        raise ValueError(f"f: expected a fraction in [0, 1], got {f!r}")
    return float(f)


def _nf_tail(params, f):
    """The last n = round(f K) layers of an NF as a parameter dict (n may be 0)."""
    K = np.shape(params["w"])[0]
    n = int(round(_check_f(f) * K))
    return {k: v[K - n:] for k, v in params.items()}, n


def nf_inverse(params, y, n_bisect=60):
    """Inverse of `planar_nf_forward`'s map: x with F_K ∘ ... ∘ F_1(x) = y; y: (B, D)."""
    W, b = np.asarray(params["w"]), np.asarray(params["b"])                # (K, D), (K,)
    U = np.asarray(planar_u_hat(W, np.asarray(params["u"])))               # (K, D)
    s = np.sum(W * U, axis=1)                                              # (K,) wᵀû ≥ -1
    z = np.array(y, dtype=np.float64)
    for k in range(W.shape[0] - 1, -1, -1):
        c = z @ W[k] + b[k]                                                # (B,) wᵀy + b
        lo, hi = c - abs(s[k]), c + abs(s[k])                              # bracket of a
        for _ in range(n_bisect):                                          # g(a) = a + s tanh a - c
            mid = 0.5 * (lo + hi)
            up = mid + s[k] * np.tanh(mid) > c
            hi, lo = np.where(up, mid, hi), np.where(up, lo, mid)
        z = z - np.tanh(0.5 * (lo + hi))[:, None] * U[k]                   # R&M eq. (10) inverted
    return z


def stage_log_prob(kind, params, y, f, T=1.0, tol=1e-4):
    """log-density (B,) at y: (B, 2) of the ML flow's state a fraction f of the way base -> data."""
    if kind == "nf":
        tail, n = _nf_tail(params, f)
        if n == 0:
            return standard_normal_logprob(y)
        z, logdet = planar_nf_fast(tail, y)
        return standard_normal_logprob(z) + logdet
    t = T * (1.0 - _check_f(f))
    if t >= T:
        return standard_normal_logprob(y)
    z, dlogp = planar_cnf_flow(params, y, t0=t, t1=T, rtol=tol, atol=tol)
    return standard_normal_logprob(z) - dlogp                             # [FFJORD eq. 4] from t


def stage_samples(kind, params, eps, fractions, T=1.0, tol=1e-4):
    """Samples (len(fractions), B, 2) of the stages at `fractions`, from base draws eps: (B, 2)."""
    fr = [_check_f(f) for f in fractions]
    if kind == "nf":
        return np.stack([eps if _nf_tail(params, f)[1] == 0 else nf_inverse(_nf_tail(params, f)[0], eps)
                         for f in fr])
    from refimpl.ode import odeint
    times = np.array([T] + [T * (1.0 - f) for f in fr])                  # decreasing, from T
    if np.any(np.diff(times) >= 0):
        raise ValueError(f"fractions: expected strictly increasing values in (0, 1], got {fractions!r}")
    y0 = np.concatenate([eps, np.zeros((len(eps), 1))], axis=1)
    ys = odeint(planar_cnf_augmented_fast, y0, times, (params,), rtol=tol, atol=tol)
    return np.asarray(ys)[1:, :, :-1]


# --- figures ------------------------------------------------------------------------------------

def fig5(cfg, c, datasets, models, size, fname="cnf_vs_nf_fig5.png", T=1.0):
    """[NeuralODE Fig. 5] layout: per dataset rows NF samples | NF density | CNF samples |
    CNF density, columns 5 % ... 100 % of the transformation from N(0, I), then the target."""
    nc = len(FRACTIONS) + 1
    fig, axes = plt.subplots(4 * len(datasets), nc, figsize=(1.7 * nc, 1.75 * 4 * len(datasets)),
                             squeeze=False)
    for d, problem in enumerate(datasets):
        data = toy2d.sample(problem, c["n_fig"], cfg.rng(9, d))
        eps = cfg.rng(10, d).standard_normal((c["n_fig"], 2))
        for r, kind in enumerate(("nf", "cnf")):
            params = models[problem, kind, size]
            lab = f"{kind.upper()} {'K' if kind == 'nf' else 'M'}={size}"
            ax_s, ax_d = axes[4 * d + 2 * r], axes[4 * d + 2 * r + 1]
            zs = stage_samples(kind, params, eps, FRACTIONS, T=T)
            for col, f in enumerate(FRACTIONS):
                title = f"{100 * f:.0f}%" if r == 0 else None
                scatter_samples(ax_s[col], zs[col], title=title, s=0.5, alpha=0.3)
                xs, ys, lp = density_on_grid(lambda p: stage_log_prob(kind, params, p, f, T=T),
                                             lim=4.0, n=c["grid"])
                plot_density(ax_d[col], xs, ys, lp)
            scatter_samples(ax_s[-1], data, title="target" if r == 0 else None, s=0.5, alpha=0.3)
            H, _, _ = np.histogram2d(data[:, 1], data[:, 0], bins=c["grid"], range=[[-4, 4], [-4, 4]])
            ax_d[-1].imshow(H, origin="lower", extent=[-4, 4, -4, 4], cmap="viridis")
            ax_d[-1].set_xticks([])
            ax_d[-1].set_yticks([])
            ax_s[0].set_ylabel(f"{problem}\n{lab}\nsamples", fontsize=8)
            ax_d[0].set_ylabel(f"{problem}\n{lab}\ndensity", fontsize=8)
    savefig(fig, cfg.out / fname)
    return fname


def final_figure(cfg, c, problems, models, sizes, fname, kl, model_log_prob, T=1.0):
    """Paper layout: one row per problem; columns target | NF K=1,32,64 | CNF M=1,32,64."""
    fig, axes = plt.subplots(len(problems), 1 + 2 * len(sizes), figsize=(12.6, 1.9 * len(problems)),
                             squeeze=False)
    for ax_row, problem in zip(axes, problems):
        if kl:
            xs, ys, lp = density_on_grid(lambda p: -target_energy(problem, p), lim=4.0, n=c["grid"])
            plot_density(ax_row[0], xs, ys, lp, title=f"{problem}: target")
        else:
            scatter_samples(ax_row[0], toy2d.sample(problem, 2000, cfg.rng(7)), title=f"{problem}: data")
        for col, (kind, size) in enumerate([(k, s) for k in ("nf", "cnf") for s in sizes], start=1):
            params = models[problem, kind, size]
            label = f"{kind.upper()} {'K' if kind == 'nf' else 'M'}={size}"
            if kl:       # q as a histogram of its samples (q's density needs the inverse flow)
                z0 = cfg.rng(8).standard_normal((c["n_fig"], 2))
                z = planar_nf_fast(params, z0)[0] if kind == "nf" else \
                    planar_cnf_flow(params, z0, t0=0.0, t1=T, rtol=1e-4, atol=1e-4)[0]
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


def curves(cfg, problems, hists, fname="cnf_vs_nf_curves.png"):
    """Smoothed training loss against the fraction of training, one panel per problem."""
    fig, axes = plt.subplots(1, len(problems), figsize=(3.0 * len(problems), 2.6), squeeze=False)
    for ax, problem in zip(axes[0], problems):
        for (p, kind, size), h in hists.items():
            if p == problem:
                w = max(1, len(h) // 20)
                sm = np.convolve(h, np.ones(w) / w, mode="valid")
                ax.plot(np.linspace(0, 1, len(sm)), sm, ls="-" if kind == "cnf" else "--",
                        label=f"{kind} {size}")
        ax.set_title(problem, fontsize=9)
        ax.set_xlabel("fraction of training")
    axes[0, 0].set_ylabel("training loss")
    axes[0, 0].legend(fontsize=6)
    savefig(fig, cfg.out / fname)
    return fname
