"""1-D regression with a gap in the inputs: BBB, noisy Adam, noisy K-FAC and Adam next to HMC.

Methods: BBB, noisy Adam, noisy K-FAC, full-covariance noisy NG (61 parameters: the exact
Fisher is affordable) and a plain network trained by Adam (no uncertainty).
Data: x ~ U[−4, −1.5] ∪ U[1.5, 4] (the gap is (−1.5, 1.5)), y = sin(x) + N(0, σ²), σ = 0.2,
fitted with one hidden layer of 20 ReLU units (small enough for HMC to mix), prior N(0, η = 1) on every weight and bias
and the noise precision known (τ = 1/σ²) for every method, so the comparison is about the
weight posterior alone. HMC (4 chains, dual-averaging warm-up, numba transition) is the
reference; each chain starts from its own Adam (MAP) fit from a random initialisation, so
the chains start in (possibly different) modes and split-R̂ across them is informative.
Closeness to HMC is measured on a grid over [−6, 6] by the ratio of epistemic
predictive variances Var_q[f(x)] / Var_HMC[f(x)]:

    var_ratio_to_hmc   = exp(mean_x log ratio)            (1 is perfect; < 1 over-confident)
    log_var_ratio_rms  = sqrt(mean_x (log ratio)²)        (0 is perfect)

References
----------
G. Zhang et al. Noisy Natural Gradient as Variational Inference. ICML 2018, Sec. 5.1.
"""
import numpy as np

from ..mcmc import BNNPosterior, sample
from . import mlp
from .bbb import BBB, AdamMAP
from .full_cov import FullCovNNG
from .noisy_adam import NoisyAdam
from .noisy_kfac import NoisyKFAC
from .regression import FixedNoise, fit

SIGMA, ETA, H = 0.2, 1.0, 20
METHODS = ("bbb", "noisy_adam", "noisy_kfac", "full_cov", "adam")
LABELS = {"hmc": "HMC", "bbb": "Bayes by Backprop", "noisy_adam": "noisy Adam",
          "noisy_kfac": "noisy K-FAC", "full_cov": "full-cov noisy NG", "adam": "Adam (point estimate)"}


def make_data(rng, n=40):
    """x: (n, 1) on both sides of the gap, y: (n,)."""
    side = np.where(rng.uniform(size=n) < 0.5, -1.0, 1.0)
    x = side * rng.uniform(1.5, 4.0, size=n)
    y = np.sin(x) + SIGMA * rng.standard_normal(n)
    return x[:, None], y


def make_method(name, params, N):
    if name == "bbb":
        return BBB(params, N, lr=0.003, prior_var=ETA)
    if name == "noisy_adam":
        return NoisyAdam(params, N, lr=0.01, beta2=0.99, prior_var=ETA)
    if name == "noisy_kfac":
        return NoisyKFAC(params, N, lr=0.03, beta=0.01, prior_var=ETA, gamma_ex=0.01, kl_clip=1e-2)
    if name == "full_cov":
        return FullCovNNG(params, N, lr=0.03, beta=0.01, prior_var=ETA, gamma_ex=0.01, kl_clip=1e-2, T_inv=10)
    if name == "adam":
        return AdamMAP(params, N, lr=0.01, prior_var=ETA)
    raise ValueError(f"name: expected one of {METHODS}, got {name!r}")


def fit_methods(X, y, rng, n_iter, batch_size=10, n_pred=400, grid=None, progress=None):
    """Train every method; return predictive samples f(grid) per method: name -> (S, G)."""
    out = {}
    for name in METHODS:
        opt = make_method(name, mlp.init_params(rng, [1, H, 1]), X.shape[0])
        fit(opt, X, y, rng, n_iter, batch_size, noise=FixedNoise(1 / SIGMA ** 2))
        S = 1 if name == "adam" else n_pred
        out[name] = np.stack([mlp.forward(opt.sample(rng), grid)[0][:, 0] for _ in range(S)])
        if progress is not None:
            progress.update(len(out) - 1)
    return out


def run_hmc(X, y, rng, n_chains, n_warmup, n_samples, n_leapfrog, grid):
    """HMC on the same model; returns (f(grid) samples (C*S, G), diagnostics dict)."""
    target = BNNPosterior(X, y, tau=1 / SIGMA ** 2, prior_var=ETA, H=H, activation="relu")
    q0 = []
    for _ in range(n_chains):                            # one MAP fit per chain
        opt = AdamMAP(mlp.init_params(rng, [1, H, 1]), X.shape[0], lr=0.01, prior_var=ETA)
        fit(opt, X, y, rng, 2000, 10, noise=FixedNoise(1 / SIGMA ** 2))
        q0.append(mlp.flatten_layers(opt.mu))
    q0 = np.stack(q0)
    res = sample(target.logp_grad, q0, rng, n_warmup=n_warmup, n_samples=n_samples,
                 n_leapfrog=n_leapfrog, target_accept=0.8, transition_fn=target.transition("numba"))
    probe = grid[:: max(1, len(grid) // 20)]                                 # 20 probe inputs
    diag = res.diagnostics(lambda th: np.concatenate(
        [target.predict(th.reshape(-1, th.shape[-1]), probe).reshape(th.shape[0], th.shape[1], -1),
         res.logp[..., None]], axis=-1))
    f = target.predict(res.samples.reshape(-1, target.dim), grid)
    return f, diag


def closeness(f_method, f_hmc):
    """(var_ratio_to_hmc, log_var_ratio_rms) of the epistemic variances over the grid."""
    lr = np.log(f_method.var(0) + 1e-300) - np.log(f_hmc.var(0))
    return float(np.exp(lr.mean())), float(np.sqrt(np.mean(lr ** 2)))


def plot(fig_path, X, y, grid, preds, f_hmc):
    from ..plotting import plt, savefig
    names = ["hmc", *METHODS]
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.0), sharey=True)
    g = grid[:, 0]
    hm, hs = f_hmc.mean(0), f_hmc.std(0)
    for ax, name in zip(axes, names):
        f = f_hmc if name == "hmc" else preds[name]
        m, s = f.mean(0), f.std(0)
        ax.fill_between(g, m - 2 * s, m + 2 * s, color="C0", alpha=0.3, lw=0)
        ax.plot(g, m, color="C0")
        if name != "hmc":
            ax.plot(g, hm - 2 * hs, "k--", lw=0.8)
            ax.plot(g, hm + 2 * hs, "k--", lw=0.8)
        ax.plot(X[:, 0], y, "k.", ms=3)
        ax.set_ylim(-4, 4)
        ax.set_title(LABELS[name], fontsize=9)
    axes[0].set_ylabel("f(x): mean ± 2 sd (dashed: HMC ± 2 sd)")
    savefig(fig, fig_path)
