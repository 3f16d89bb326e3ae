"""beta-TCVAE (Chen, Li, Grosse, Duvenaud, NeurIPS 2018): the ELBO's total-correlation
decomposition with minibatch weighted / stratified sampling.

References: arXiv:1802.04942v5. PARTIAL: MSS weight matrix, MWS/MSS log q(z), the
full-dataset decomposition and both MIG estimators (NumPy only) are here; the numba kernel,
objectives, training loop, experiments, example and benchmark are NOT built yet.
"""
from .mss import (log_importance_weight_matrix, official_log_importance_weight_matrix,  # noqa
                  log_qz_mws, log_qz_mss)
from .decomposition import elbo_decomposition  # noqa: F401
from .mig import mig_histogram  # noqa: F401
from .mig_sampled import mi_matrix, mig_from_matrix, mig_sampled  # noqa: F401
