"""Shared set-up of the SCE experiments: data, the base classifier, the operators, and the
non-adaptive / adaptive (EOT) attacks on the ensemble."""
import time

import autograd.numpy as np
import numpy as onp
from autograd import grad
from autograd.scipy.special import logsumexp

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


def tiled_eot_loss(x, y, model, ops, draw, K, objective):
    """Both EOT objectives with the K draws stacked in one batch (fast path, one forward pass).

    draw = (mask (K*B, L), eps) for x tiled K times (draw k occupies rows kB..(k+1)B-1).
    objective "mean_ce": (1/K) sum_k sum_i CE_k,i  (its x-gradient is attacks.eot_grad's);
    objective "ensemble_ce": -sum_i log (1/K) sum_k softmax_k,i[y_i]  (attacks.eot_ensemble's).
    """
    B = x.shape[0]
    z = ensemble.member_logits(model, ops, x, draw, tile=K)                              # (K*B, C)
    lp_y = (z[onp.arange(K * B), onp.tile(y, K)] - logsumexp(z, axis=1)).reshape(K, B)  # (K, B)
    if objective == "mean_ce":
        return -np.sum(lp_y) / K
    return -np.sum(logsumexp(lp_y, axis=0) - onp.log(K))


_tiled_grad = grad(tiled_eot_loss)


def tiled_eot(model, ops, p, K, rng, objective):
    """loss_grad(x, y) for PGD: the tiled EOT gradient with K fresh draws per call."""
    if objective not in ("mean_ce", "ensemble_ce"):
        raise ValueError(f"objective: expected 'mean_ce' or 'ensemble_ce', got {objective!r}")
    return lambda x, y: _tiled_grad(x, y, model, ops, ensemble.sample_draw(rng, ops, p, K * len(x)), K, objective)


def attack_grads(model, ops, p, n_eot, rng):
    """loss_grads {"ensemble": non-adaptive (CE of the base model), "ensemble_eot": adaptive EOT
    (mean of the drawn members' CE gradients), "ensemble_eotprob": adaptive EOT of the ensemble's
    own loss (CE of the members' averaged softmax)}; both adaptive ones use n_eot fresh draws."""
    return {"ensemble": attacks.cross_entropy_grad(lambda xx: models.logits(model, xx)),
            # the tiled fast path; equal to attacks.eot / attacks.eot_ensemble on the same draws
            # (tests/sce/test_sce_attacks.py)
            "ensemble_eot": tiled_eot(model, ops, p, n_eot, rng, "mean_ce"),
            "ensemble_eotprob": tiled_eot(model, ops, p, n_eot, rng, "ensemble_ce")}
