"""Stochastic combinatorial ensembles (Adam et al. 2018) in one page, attacked honestly.

Train a ReLU MLP on digits, fit a VAE on its activations at each of the L = 2 layer boundaries,
and build the 2^L-member ensemble that inserts each VAE with probability 0.5 on every forward
pass. Then attack it twice with L∞ PGD: non-adaptively (gradients of the base model) and
adaptively (EOT: the ensemble's loss averaged over 10 member draws per step), and print the accuracies.

    python examples/sce.py [--quick] [--data-dir ../shared/data/mnist5k] [--out sce.png]
"""
import argparse

import numpy as np

from refimpl import attacks
from refimpl.sce import ensemble, models, operators, pipeline, train

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer digits and steps (smoke test)")
    ap.add_argument("--data-dir", default=None, help="folder with MNIST IDX files (default: procedural digits)")
    ap.add_argument("--out", default="sce.png")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    n_test, steps, eps_grid = (100, 10, (0.1, 0.2)) if args.quick else (500, 40, (0.05, 0.1, 0.2, 0.3))
    rng = np.random.default_rng(args.seed)

    # 1. data: pixels in [0, 1], flattened 28 x 28
    Xtr, ytr, Xte, yte = pipeline.load_data(args.data_dir, rng, 3000, n_test)

    # 2. the base classifier: blocks 784 -> 256 -> 128 -> 10, boundaries after each hidden layer
    model = models.init_mlp_classifier(rng, [784, 256, 128, 10])
    model = train.fit(rng, model, Xtr, ytr, epochs=3 if args.quick else 5, lr=2e-3)

    # 3. one VAE per boundary, trained on clean and noisy activations at that boundary
    ops = [operators.train(rng, h, kind="vae", latent=16, iters=150 if args.quick else 800)
           for h in models.activations(model, Xtr)]
    print(f"members: {len(ensemble.enumerate_members(len(ops)))} (2^{len(ops)})")

    # 4. the ensemble: each draw inserts boundary l's VAE with probability p, softmax averaged
    p, S = 0.5, 20
    acc = lambda pred: float(np.mean(pred == yte))  # noqa: E731
    print(f"clean accuracy: base {acc(models.predict(model, Xte)):.3f}, "
          f"ensemble {acc(ensemble.ensemble_predict(model, ops, Xte, p, S, rng)):.3f}")

    # 5. attacks: PGD on the base model (non-adaptive) and EOT-PGD on the ensemble (adaptive)
    g_base = attacks.cross_entropy_grad(lambda x: models.logits(model, x))
    # EOT of the ensemble's own loss (CE of the averaged softmax): the mean of members' CE gradients
    # is dominated by members that are already fooled and was weaker here (see refimpl/sce/robustness.py)
    g_eot = attacks.eot_ensemble(lambda x, d: ensemble.member_logits(model, ops, x, d),
                                 lambda r, b: ensemble.sample_draw(r, ops, p, b), 10, rng)
    rows = []
    for eps in eps_grid:
        x_na = attacks.pgd(g_base, Xte, yte, eps, "linf", steps, rng=np.random.default_rng(int(eps * 1000)))
        x_ad = attacks.pgd(g_eot, Xte, yte, eps, "linf", steps, rng=np.random.default_rng(int(eps * 1000)))
        rows.append((eps, acc(models.predict(model, x_na)), acc(ensemble.ensemble_predict(model, ops, x_na, p, S, rng)),
                     acc(ensemble.ensemble_predict(model, ops, x_ad, p, S, rng))))
        print(f"eps {eps:4.2f}: base {rows[-1][1]:.3f}  ensemble/non-adaptive {rows[-1][2]:.3f}  "
              f"ensemble/EOT {rows[-1][3]:.3f}")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    r = np.array(rows)
    plt.figure(figsize=(4.5, 3.2))
    for j, lab in enumerate(["base, PGD", "ensemble, non-adaptive PGD", "ensemble, EOT-PGD"], start=1):
        plt.plot(r[:, 0], r[:, j], "o-", label=lab)
    plt.xlabel("eps (L∞)")
    plt.ylabel("accuracy")
    plt.legend(fontsize=7)
    plt.tight_layout()
    plt.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")
