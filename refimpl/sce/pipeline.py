"""Shared set-up of the SCE experiments: data, the base classifier, the operators, and the
non-adaptive / adaptive (EOT) attacks on the ensemble."""
import time

import numpy as onp

from .. import attacks
from ..datasets import images
from . import ensemble, models, operators, train


def load_data(data_dir, rng, n_train, n_test):
    """Real MNIST (pixels in [0, 1], not binarised) from data_dir, else procedural digits."""
    return images.load(data_dir, rng=rng, n_train=n_train, n_test=n_test, binarize=False)


def build(rng, Xtr, ytr, arch="mlp", epochs=5, op_kind="vae", op_iters=300, latent=16):
    """Train the base classifier and one operator per boundary; returns (model, ops, seconds)."""
    t0 = time.perf_counter()
    if arch == "mlp":
        model = models.init_mlp_classifier(rng, [Xtr.shape[1], 256, 128, 10])
    elif arch == "conv":
        model = models.init_conv_classifier(rng)
    else:
        raise ValueError(f"arch: expected 'mlp' or 'conv', got {arch!r}")
    model = train.fit(rng, model, Xtr, ytr, epochs=epochs, batch=100, lr=2e-3)
    acts = models.activations(model, Xtr)
    ops = [operators.train(rng, a, kind=op_kind, iters=op_iters, latent=latent) for a in acts]
    return model, ops, time.perf_counter() - t0


def member_grad(model, ops):
    """loss_grad of one drawn member: member_grad(x, y, draw) = d/dx sum CE(member(x), y)."""
    def g(x, y, draw):
        return attacks.cross_entropy_grad(lambda xx: ensemble.member_logits(model, ops, xx, draw))(x, y)
    return g


def attack_grads(model, ops, p, n_eot, rng):
    """(non-adaptive loss_grad on the base model, adaptive EOT loss_grad on the ensemble)."""
    base = attacks.cross_entropy_grad(lambda xx: models.logits(model, xx))
    eot = attacks.eot(member_grad(model, ops), lambda r, b: ensemble.sample_draw(r, ops, p, b), n_eot, rng)
    return base, eot
