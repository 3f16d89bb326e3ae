"""sce-robustness: accuracy vs eps of the base model, of the ensemble under the non-adaptive
attack (PGD crafted on the base model), and of the ensemble under the adaptive attack (PGD whose
gradient is the EOT average over n_eot fresh member draws per step) [SCE Sec. 5].

Both attacks use the same digits, the same PGD steps and step size, and the same random start.
"""
import numpy as onp

from .. import attacks
from . import ensemble, models, pipeline

EPS = {"linf": (0.05, 0.1, 0.2, 0.3), "l2": (0.5, 1.0, 2.0, 3.0)}


def evaluate(model, ops, X, y, eps_grid, p, steps, n_eot, n_samples, rng, progress=None):
    """{key: accuracy} with keys {base,ensemble,ensemble_eot}/{norm}/eps{E}/acc and .../clean/acc."""
    out = {"base/clean/acc": float(onp.mean(models.predict(model, X) == y))}
    out["ensemble/clean/acc"] = float(onp.mean(ensemble.ensemble_predict(model, ops, X, p, n_samples, rng) == y))
    out["ensemble_eot/clean/acc"] = out["ensemble/clean/acc"]
    g_base, g_eot = pipeline.attack_grads(model, ops, p, n_eot, rng)
    i = 0
    for norm, grid in eps_grid.items():
        for eps in grid:
            seed = int(rng.integers(2 ** 31))            # same random start for both attacks
            x_na = attacks.pgd(g_base, X, y, eps, norm, steps, rng=onp.random.default_rng(seed))
            x_ad = attacks.pgd(g_eot, X, y, eps, norm, steps, rng=onp.random.default_rng(seed))
            key = f"{norm}/eps{eps:g}/acc"
            out[f"base/{key}"] = float(onp.mean(models.predict(model, x_na) == y))
            out[f"ensemble/{key}"] = float(onp.mean(ensemble.ensemble_predict(model, ops, x_na, p, n_samples, rng) == y))
            out[f"ensemble_eot/{key}"] = float(onp.mean(ensemble.ensemble_predict(model, ops, x_ad, p, n_samples, rng) == y))
            if progress is not None:
                progress.update(i)
            i += 1
    return out


def table_rows(metrics, eps_grid):
    rows = [["clean", "-"] + [f"{metrics[f'{m}/clean/acc']:.3f}" for m in ("base", "ensemble", "ensemble_eot")]]
    for norm, grid in eps_grid.items():
        for eps in grid:
            rows.append([norm, f"{eps:g}"] + [f"{metrics[f'{m}/{norm}/eps{eps:g}/acc']:.3f}"
                                              for m in ("base", "ensemble", "ensemble_eot")])
    return rows


def plot(path, metrics, eps_grid):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for ax, (norm, grid) in zip(axes, eps_grid.items()):
        xs = [0.0] + list(grid)
        for m, lab in (("base", "base model, PGD"), ("ensemble", "ensemble, non-adaptive PGD"),
                       ("ensemble_eot", "ensemble, adaptive EOT-PGD")):
            ys = [metrics[f"{m}/clean/acc"]] + [metrics[f"{m}/{norm}/eps{e:g}/acc"] for e in grid]
            ax.plot(xs, ys, "o-", label=lab)
        ax.set_xlabel(f"eps ({norm})")
        ax.set_ylabel("accuracy")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
