"""beta-TCVAE (Chen, Li, Grosse, Duvenaud, NeurIPS 2018): the ELBO's total-correlation
decomposition with minibatch weighted / stratified sampling, both published MIG estimators,
the objectives, training and the experiments `tcvae-mig`, `tcvae-decomposition`,
`tcvae-traversals`.

Modules: `mss` (MSS weights, MWS/MSS log q(z), the official matrix's defect reproduced),
`objectives` (β-TCVAE eq. 4, β-VAE, VAE), `pairwise` (the O(B²D) minibatch sums, numba with
its VJP), `kernels` (full-dataset mixture sums, numba + NumPy twins), `decomposition`,
`mig` (histogram, disentanglement_lib's), `mig_sampled` (the paper's), `train`, `experiments`.
References: arXiv:1802.04942v5.
"""
from .mss import (log_importance_weight_matrix, official_log_importance_weight_matrix,  # noqa
                  log_qz_mws, log_qz_mss)
from .decomposition import elbo_decomposition  # noqa: F401
from .mig import mig_histogram  # noqa: F401
from .mig_sampled import mi_matrix, mig_from_matrix, mig_sampled  # noqa: F401
