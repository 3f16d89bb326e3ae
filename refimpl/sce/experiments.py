"""SCE experiments: `sce-robustness`, `sce-transferability`, `sce-detection`.

References
----------
G. A. Adam, P. Smirnov, D. Duvenaud, B. Haibe-Kains, A. Goldenberg. Stochastic Combinatorial
    Ensembles for Defending Against Adversarial Examples. arXiv:1808.06645v2, 2018.
"""
import time

import numpy as onp

from ..experiments import experiment
from . import pipeline, robustness

PAPER = "Stochastic Combinatorial Ensembles for Defending Against Adversarial Examples (Adam et al. 2018)"
P_INSERT, N_SAMPLES = 0.5, 20


def _data(cfg, n_test):
    n_train = 4000 if cfg.data_dir is not None else 3000
    return pipeline.load_data(cfg.data_dir, cfg.rng(1), n_train, n_test)


@experiment("sce-robustness", paper=PAPER, quick_seconds=12, full_minutes=10,
            artefact="accuracy vs eps: base, ensemble (non-adaptive PGD), ensemble (adaptive EOT-PGD)")
def robustness_experiment(cfg):
    # quick: fewer training steps and 10 (not 20) members per prediction, to stay under 12 s
    n_test, steps, n_eot, n_samples = (200, 10, 10, 10) if cfg.quick else (500, 40, 20, N_SAMPLES)
    eps_grid = ({"linf": (0.1, 0.2), "l2": (1.0, 2.0)} if cfg.quick else robustness.EPS)
    Xtr, ytr, Xte, yte = _data(cfg, n_test)
    model, ops, t_build = pipeline.build(cfg.rng(2), Xtr, ytr, epochs=4 if cfg.quick else 5,
                                         op_iters=100 if cfg.quick else 1000)
    t0 = time.perf_counter()
    prog = cfg.progress(sum(len(g) for g in eps_grid.values()), "sce-robustness/attacks")
    metrics = robustness.evaluate(model, ops, Xte, yte, eps_grid, P_INSERT, steps, n_eot, n_samples, cfg.rng(3), prog)
    # standard error of an accuracy on n_test digits, and the adaptive-minus-non-adaptive gap
    # (positive = EOT weaker than the non-adaptive attack: a warning sign, not a result)
    gaps = [min(metrics[f"ensemble_eot/{n}/eps{e:g}/acc"], metrics[f"ensemble_eotprob/{n}/eps{e:g}/acc"])
            - metrics[f"ensemble/{n}/eps{e:g}/acc"] for n, g in eps_grid.items() for e in g]
    metrics.update({"n_test": n_test, "pgd_steps": steps, "eot_draws": n_eot, "build_seconds": t_build,
                    "attack_seconds": time.perf_counter() - t0, "eot_minus_nonadaptive/max": max(gaps),
                    "acc_se/max": 0.5 / onp.sqrt(n_test)})
    robustness.plot(cfg.out / "robustness.png", metrics, eps_grid)
    cols = ["norm", "eps", "base (PGD on base)", "ensemble (non-adaptive)", "ensemble (EOT, mean member CE)",
            "ensemble (EOT, ensemble CE)", "ensemble (worst of the three)"]
    tables = [{"name": "VAE ensemble: accuracy under attack (same digits, same PGD steps and random start)",
               "columns": cols, "rows": robustness.table_rows(metrics, eps_grid)}]
    figures = ["robustness.png"]
    if not cfg.quick:
        # the denoising-autoencoder variant of the operators, same base model and digits
        from . import models, operators
        dae = [operators.train(cfg.rng(4), h, kind="dae", iters=1000) for h in models.activations(model, Xtr)]
        m2 = robustness.evaluate(model, dae, Xte, yte, eps_grid, P_INSERT, steps, n_eot, n_samples, cfg.rng(3))
        metrics.update({f"dae/{k}": v for k, v in m2.items()})
        robustness.plot(cfg.out / "robustness_dae.png", m2, eps_grid)
        figures.append("robustness_dae.png")
        tables.append({"name": "DAE ensemble (same base model, digits and attacks)", "columns": cols,
                       "rows": robustness.table_rows(m2, eps_grid)})
    se = 0.5 / onp.sqrt(n_test)
    warning = (f"WARNING: an adaptive (EOT) attack is weaker than the non-adaptive one by "
               f"{max(gaps):.3f} > 2 se ({2 * se:.3f}) at some eps: investigate (gradient masking "
               "or a weak attack), do not read it as robustness. " if max(gaps) > 2 * se else "")
    return {"metrics": metrics, "figures": figures, "tables": tables,
            "notes": warning + (f"{'MNIST' if cfg.data_dir else 'procedural digits'}; ReLU MLP 784-256-128-10, L = 2 "
                      f"boundaries, one VAE (latent 16) per boundary trained on clean + noisy activations; "
                      f"ensemble: p = {P_INSERT} per boundary (4 members), prediction averages the softmax of "
                      f"{n_samples} sampled members. PGD {steps} steps, step 2.5 eps/steps, uniform random start; "
                      f"non-adaptive = PGD on the base model; adaptive = PGD on an EOT gradient over {n_eot} "
                      "fresh member draws per step, of the mean member cross-entropy (ensemble_eot) or of the "
                      "ensemble's own cross-entropy of the averaged softmax (ensemble_eotprob); ensemble_worst = "
                      "correct under all three attacks. eot_minus_nonadaptive/max > 0 would flag an adaptive "
                      f"attack weaker than the non-adaptive one. {n_test} test digits (accuracy s.e. <= "
                      f"{0.5 / onp.sqrt(n_test):.3f}).")}


@experiment("sce-transferability", paper=PAPER, quick_seconds=8, full_minutes=3,
            artefact="transfer rate vs input-gradient cosine over model pairs; aligned vs penalised pair")
def transferability_experiment(cfg):
    from . import train, transfer
    n_test, eps, steps = (200, 0.1, 10) if cfg.quick else (500, 0.1, 40)
    Xtr, ytr, Xte, yte = _data(cfg, n_test)
    zoo = transfer.zoo(cfg.rng(2), Xtr, ytr, cfg.quick)
    rows = transfer.pairs(zoo, Xte, yte, eps, steps, cfg.rng(3))
    pearson, spearman, n_pairs = transfer.correlation(rows)
    transfer.plot(cfg.out / "transfer_vs_cosine.png", rows)
    get = {(s, d): (t, c) for s, d, t, n, c in rows}
    metrics = {"corr/pearson": pearson, "corr/spearman": spearman, "n_pairs": n_pairs,
               "self/transfer_min": min(t for s, d, t, n, c in rows if s == d),
               "self/cosine_min": min(c for s, d, t, n, c in rows if s == d)}
    for tag, dst in (("aligned", "mlp128-b"), ("penalised", "penalised")):
        metrics[f"{tag}/transfer_from_ref"], metrics[f"{tag}/cosine"] = get[("mlp128-a", dst)]
        metrics[f"{tag}/transfer_to_ref"] = get[(dst, "mlp128-a")][0]
    for name, m in zoo.items():
        metrics[f"clean_acc/{name}"] = train.accuracy(m, Xte, yte)
    return {"metrics": metrics, "figures": ["transfer_vs_cosine.png"],
            "tables": [{"name": f"Transfer (PGD L∞ eps {eps}, {steps} steps) over ordered pairs",
                        "columns": ["source", "target", "transfer rate", "n fooling source", "gradient cosine"],
                        "rows": [[s, d, f"{t:.3f}", n, f"{c:.3f}"] for s, d, t, n, c in rows]}],
            "notes": ("'aligned' = mlp128-b, trained like the reference mlp128-a from its own seed; 'penalised' = the "
                      "same initialisation as mlp128-b trained with CE + 2 * mean cos^2(input gradient, mlp128-a's "
                      "input gradient) (double backprop). Rate counts examples that fool the source among digits "
                      "both models classify correctly; cosine is on the clean digits. Correlation over "
                      f"{n_pairs} distinct ordered pairs.")}


@experiment("sce-detection", paper=PAPER, quick_seconds=8, full_minutes=3,
            artefact="ROC / AUC of the metric-learning detector at several eps, non-adaptive and adaptive")
def detection_experiment(cfg):
    from .. import attacks
    from . import detect, models, train
    n_test, steps, iters = (200, 10, 200) if cfg.quick else (500, 40, 1500)
    eps_grid = (0.05, 0.1, 0.2) if cfg.quick else (0.05, 0.1, 0.2, 0.3)
    Xtr, ytr, Xte, yte = _data(cfg, n_test)
    rng = cfg.rng(2)
    model = train.fit(rng, models.init_mlp_classifier(rng, [784, 256, 128, 10]), Xtr, ytr, epochs=5, lr=2e-3)
    emb = detect.fit(cfg.rng(4), Xtr, ytr, dims=(128, 32), iters=iters)
    C = detect.centroids(emb, Xtr, ytr)
    s_clean = detect.score(emb, C, model, Xte)
    half = n_test // 2
    metrics = {"clf/clean/acc": train.accuracy(model, Xte, yte),
               "clean_vs_clean/auc": detect.auc(s_clean[:half], s_clean[half:]),
               "auc_null_se": float(onp.sqrt((n_test + 1) / (12.0 * half * (n_test - half))))}
    grads = {"nonadaptive": attacks.cross_entropy_grad(lambda xx: models.logits(model, xx)),
             "adaptive": detect.adaptive_grad(emb, C, model, c=1.0)}
    curves, rows, arng = {}, [], cfg.rng(3)
    for eps in eps_grid:
        seed = int(arng.integers(2 ** 31))
        for name, g in grads.items():
            xa = attacks.pgd(g, Xte, yte, eps, "linf", steps, rng=onp.random.default_rng(seed))
            fooled = models.predict(model, xa) != yte
            s_adv = detect.score(emb, C, model, xa[fooled])
            a = detect.auc(s_clean, s_adv)
            metrics[f"{name}/linf/eps{eps:g}/auc"] = a
            metrics[f"{name}/linf/eps{eps:g}/success_rate"] = float(fooled.mean())
            curves[(name, eps)] = detect.roc(s_clean, s_adv) if fooled.any() else None
            rows.append([name, f"{eps:g}", f"{fooled.mean():.3f}", f"{a:.3f}"])
    _plot_roc(cfg.out / "detection_roc.png", curves, eps_grid)
    return {"metrics": metrics, "figures": ["detection_roc.png"],
            "tables": [{"name": "Detector AUC, clean vs successful adversarial digits (PGD L∞)",
                        "columns": ["attacker", "eps", "attack success rate", "AUC"], "rows": rows}],
            "notes": (f"Embedding: ReLU MLP 784-128-32 trained {iters} Adam steps with the triplet loss (margin 1) on "
                      "clean training digits; score = distance to the clean centroid of the predicted class. Adaptive "
                      "attacker: PGD on CE - 1 * score^2. Positives: adversarial digits that fool the classifier; "
                      f"negatives: all {n_test} clean test digits. Clean-vs-clean AUC compares the two halves of the "
                      "clean test digits (null s.e. in auc_null_se).")}


def _plot_roc(path, curves, eps_grid):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.6), sharey=True)
    for ax, name in zip(axes, ("nonadaptive", "adaptive")):
        for i, eps in enumerate(eps_grid):
            if curves[(name, eps)] is not None:
                ax.plot(*curves[(name, eps)], color=f"C{i}", label=f"eps {eps:g}")
        ax.plot([0, 1], [0, 1], "k:", lw=0.8)
        ax.set_title(f"{name} attacker", fontsize=9)
        ax.set_xlabel("false positive rate")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("true positive rate")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
