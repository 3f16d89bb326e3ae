"""beta-TCVAE (Chen, Li, Grosse, Duvenaud, NeurIPS 2018): the ELBO's total-correlation
decomposition with minibatch weighted / stratified sampling.

References: arXiv:1802.04942v5. Built: dSprites renderer (`refimpl.datasets.shapes`), MSS
weight matrix (and the official one, a named defect), MWS/MSS log q(z), the full-dataset
decomposition, both MIG estimators, the objectives (β-TCVAE, β-VAE, VAE; `objectives`),
training and evaluation (`train`), numba kernels with readable twins (`kernels`,
`pairwise`), three experiments (`experiments`) and numerics/bench_tcvae.py. Not built: an
examples/ script.
"""
from .mss import (log_importance_weight_matrix, official_log_importance_weight_matrix,  # noqa
                  log_qz_mws, log_qz_mss)
from .decomposition import elbo_decomposition  # noqa: F401
from .mig import mig_histogram  # noqa: F401
from .mig_sampled import mi_matrix, mig_from_matrix, mig_sampled  # noqa: F401
