"""Noisy natural gradient as variational inference (Zhang, Sun, Duvenaud, Grosse 2018).

Modules: `mlp` (bias-row MLP, closed-form per-example backprop), `kfac` (Kronecker factors,
damping, preconditioning, the K-FAC optimizer), `noisy_adam` (Alg. 1), `noisy_kfac`
(Alg. 2), `full_cov` (full-covariance noisy NG), `bbb` (Bayes by Backprop, Adam MAP),
`regression` (learned noise precision, training loop, UCI metrics), `experiments`
(`nng-toy-regression`, `nng-uci`).

References
----------
G. Zhang, S. Sun, D. Duvenaud, R. Grosse. Noisy Natural Gradient as Variational
    Inference. ICML 2018.
J. Martens, R. Grosse. Optimizing Neural Networks with Kronecker-factored Approximate
    Curvature. ICML 2015.
"""
from .bbb import BBB, AdamMAP, bbb_grad, bbb_objective
from .full_cov import FullCovNNG
from .kfac import KFAC, batch_stats
from .mlp import forward, init_params
from .noisy_adam import NoisyAdam
from .noisy_kfac import NoisyKFAC
from .regression import GammaNoise, evaluate, fit, predictive_samples

__all__ = ["BBB", "AdamMAP", "bbb_grad", "bbb_objective", "FullCovNNG", "KFAC", "batch_stats",
           "forward", "init_params", "NoisyAdam", "NoisyKFAC", "GammaNoise", "evaluate", "fit",
           "predictive_samples"]
