"""Gradient attacks shared by the adversarial-robustness experiments: FGSM, PGD in L∞ and L2
balls with random start, EOT (gradient averaged over a stochastic defence's draws) and transfer.

    g = cross_entropy_grad(logits_fn)          # g(x, y) -> dL/dx, x: (B, D)
    x_adv = pgd(g, x, y, eps=0.1, norm="linf", steps=40, rng=rng)
"""
from .core import (  # noqa: F401
    cross_entropy_grad, eot, eot_ensemble, eot_grad, fgsm, pgd, project, random_start, transfer_rate,
)
