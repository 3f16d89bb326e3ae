"""`toy-densities`: the eight 2-D datasets of FFJORD Fig. 2 (data column), with their moments."""
import numpy as np

from ..experiments import experiment
from ..plotting import plt, savefig, scatter_samples
from . import images, toy2d


@experiment("toy-densities", paper="FFJORD (Grathwohl et al. 2019)", artefact="Fig. 2, data column",
            quick_seconds=3, full_minutes=0.2)
def toy_densities(cfg):
    n = 2000 if cfg.quick else 20000
    fig, axes = plt.subplots(2, 4, figsize=(10, 5.2))
    metrics, rows = {}, []
    for i, (name, ax) in enumerate(zip(toy2d.NAMES, axes.ravel())):
        x = toy2d.sample(name, n, cfg.rng(i))                                # (n, 2)
        scatter_samples(ax, x, title=name, s=0.5 if cfg.quick else 0.2)
        m, s = x.mean(0), x.std(0)
        metrics[f"{name}/mean_norm"] = float(np.linalg.norm(m))
        metrics[f"{name}/std_x"], metrics[f"{name}/std_y"] = float(s[0]), float(s[1])
        rows.append([name, n, round(float(m[0]), 3), round(float(m[1]), 3), round(float(s[0]), 3),
                     round(float(s[1]), 3)])
    fig.suptitle(f"FFJORD toy densities, {n} samples each (seed {cfg.seed})")
    savefig(fig, cfg.out / "toy_densities.png")

    X, y, _, _ = images.load(None, rng=cfg.rng(99), n_train=40, n_test=0, size=28, binarize=False)
    fig, axes = plt.subplots(4, 10, figsize=(10, 4.2))
    for ax, img, lab in zip(axes.ravel(), X, y):
        ax.imshow(img.reshape(28, 28), cmap="gray")
        ax.set_title(str(lab), fontsize=8)
        ax.axis("off")
    fig.suptitle("embedded procedural digits (default image set; MNIST via --data-dir)")
    savefig(fig, cfg.out / "procedural_digits.png")
    return {"metrics": metrics,
            "tables": [{"name": "sample moments", "columns": ["dataset", "n", "mean x", "mean y",
                                                               "std x", "std y"], "rows": rows}],
            "figures": ["toy_densities.png", "procedural_digits.png"],
            "notes": "Generators follow FFJORD's lib/toy_data.py; moments are a reproducibility check."}
