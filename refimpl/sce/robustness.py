"""sce-robustness: accuracy vs eps of the base model, of the ensemble under the non-adaptive
attack (PGD crafted on the base model), and of the ensemble under adaptive attacks (PGD whose
gradient is an EOT average over n_eot fresh member draws per step) [SCE Sec. 5].

All attacks use the same digits, the same PGD steps and step size, and the same random start.
Two adaptive objectives are run: `ensemble_eot`, the mean of the drawn members' cross-entropy
gradients (Athalye et al. 2018), and `ensemble_eotprob`, the gradient of the ensemble's own loss
(cross-entropy of the averaged softmax). `ensemble_worst` counts a digit as robust only if the
ensemble classifies it correctly under all three attacks (per-example worst case, as Carlini et
al. 2019 recommend reporting); it is the defence's robust accuracy.
"""
import numpy as onp

from .. import attacks
from . import ensemble, models, pipeline

EPS = {"linf": (0.05, 0.1, 0.2, 0.3), "l2": (0.5, 1.0, 2.0, 3.0)}
ROWS = ("base", "ensemble", "ensemble_eot", "ensemble_eotprob", "ensemble_worst")


def evaluate(model, ops, X, y, eps_grid, p, steps, n_eot, n_samples, rng, progress=None):
    """{key: accuracy}, keys {ROWS}/{norm}/eps{E}/acc and {ROWS}/clean/acc."""
    out = {"base/clean/acc": float(onp.mean(models.predict(model, X) == y))}
    ens_clean = float(onp.mean(ensemble.ensemble_predict(model, ops, X, p, n_samples, rng) == y))
    for m in ROWS[1:]:
        out[f"{m}/clean/acc"] = ens_clean
    grads = pipeline.attack_grads(model, ops, p, n_eot, rng)
    i = 0
    for norm, grid in eps_grid.items():
        for eps in grid:
            seed = int(rng.integers(2 ** 31))            # same random start for every attack
            # the same member draws to evaluate every attack (common random numbers: the rows
            # differ by the attack only, not by which members happened to be sampled)
            eval_seed = int(rng.integers(2 ** 31))
            key = f"{norm}/eps{eps:g}/acc"
            worst = onp.ones(len(y), dtype=bool)
            for name, g in grads.items():
                xa = attacks.pgd(g, X, y, eps, norm, steps, rng=onp.random.default_rng(seed))
                if name == "ensemble":
                    out[f"base/{key}"] = float(onp.mean(models.predict(model, xa) == y))
                ok = ensemble.ensemble_predict(model, ops, xa, p, n_samples,
                                               onp.random.default_rng(eval_seed)) == y
                out[f"{name}/{key}"] = float(onp.mean(ok))
                worst &= ok
            out[f"ensemble_worst/{key}"] = float(onp.mean(worst))
            if progress is not None:
                progress.update(i)
            i += 1
    return out


def table_rows(metrics, eps_grid):
    rows = [["clean", "-"] + [f"{metrics[f'{m}/clean/acc']:.3f}" for m in ROWS]]
    for norm, grid in eps_grid.items():
        for eps in grid:
            rows.append([norm, f"{eps:g}"] + [f"{metrics[f'{m}/{norm}/eps{eps:g}/acc']:.3f}" for m in ROWS])
    return rows


LABELS = {"base": "base model, PGD", "ensemble": "ensemble, non-adaptive PGD",
          "ensemble_eot": "ensemble, EOT-PGD (mean member CE)",
          "ensemble_eotprob": "ensemble, EOT-PGD (ensemble CE)", "ensemble_worst": "ensemble, worst of the three"}


def plot(path, metrics, eps_grid):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for ax, (norm, grid) in zip(axes, eps_grid.items()):
        xs = [0.0] + list(grid)
        for m in ROWS:
            ys = [metrics[f"{m}/clean/acc"]] + [metrics[f"{m}/{norm}/eps{e:g}/acc"] for e in grid]
            ax.plot(xs, ys, "o-", label=LABELS[m], ms=3)
        ax.set_xlabel(f"eps ({norm})")
        ax.set_ylabel("accuracy")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
