"""Stochastic combinatorial ensembles against adversarial examples (Adam, Smirnov, Duvenaud,
Haibe-Kains, Goldenberg 2018, arXiv:1808.06645).

    model = models.init_mlp_classifier(rng, [784, 256, 128, 10])    # L = 2 boundaries
    ops = [operators.train_vae(rng, acts) for acts in boundary activations]
    P = ensemble.ensemble_proba(model, ops, x, p=0.5, n_samples=20, rng=rng)   # 2^L members

Modules: `models` (MLP and conv net as blocks split at layer boundaries), `operators`
(VAE / DAE noise removal at a boundary), `ensemble` (members, sampling, prediction),
`train` (cross-entropy and gradient-alignment-penalised training), `detect` (triplet-loss
metric-learning detector), `experiments` (sce-robustness, sce-transferability, sce-detection).
"""
