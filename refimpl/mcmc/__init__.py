"""Markov chain Monte Carlo: HMC with dual-averaging warm-up, diagnostics, BNN targets.

Modules: `ais` (annealed importance sampling with batched HMC moves, BDMC, schedules),
`hmc` (leapfrog, transition, dual averaging, multi-chain `sample`),
`diagnostics` (split-R̂, ESS), `bnn` (a one-hidden-layer regression network's log
posterior and HMC transition, NumPy and numba twins).

References
----------
R. Neal. MCMC using Hamiltonian dynamics. Handbook of MCMC, 2011.
M. Hoffman, A. Gelman. The No-U-Turn Sampler. JMLR 15, 2014.
"""
from .ais import AISResult, ais, bdmc, hmc_move, linear_schedule, sigmoid_schedule
from .bnn import BNNPosterior, bnn_logp_grad, bnn_logp_grad_numba, transition_numba
from .diagnostics import ess, split_rhat
from .hmc import DualAveraging, HMCResult, find_reasonable_step_size, leapfrog, sample, transition

__all__ = ["AISResult", "ais", "bdmc", "hmc_move", "linear_schedule", "sigmoid_schedule", "BNNPosterior", "bnn_logp_grad", "bnn_logp_grad_numba", "transition_numba", "ess",
           "split_rhat", "DualAveraging", "HMCResult", "find_reasonable_step_size", "leapfrog",
           "sample", "transition"]
