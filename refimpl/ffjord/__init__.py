"""FFJORD: continuous normalizing flows with exact and Hutchinson trace estimators.

Convention (FFJORD's): data x = z(t0 = 0), base density N(0, I) at t1;
`dynamics(t, z, params) -> dz/dt` acts on a batch z: (B, D).

    from refimpl.ffjord import (init_concatsquash_dynamics, concatsquash_dynamics,
                                log_prob, sample)
    params = init_concatsquash_dynamics(rng, dim=2, hidden=(64, 64, 64))
    logp = log_prob(concatsquash_dynamics, params, x, t1=0.5, trace="exact")   # (B,)
    x = sample(concatsquash_dynamics, params, rng.standard_normal((n, 2)), t1=0.5)

References
----------
W. Grathwohl, R. T. Q. Chen, J. Bettencourt, I. Sutskever, D. Duvenaud. FFJORD: Free-form
continuous dynamics for scalable reversible generative models. ICLR 2019.
R. T. Q. Chen, Y. Rubanova, J. Bettencourt, D. Duvenaud. Neural ordinary differential
equations. NeurIPS 2018 (Sec. 4, continuous normalizing flows).
"""
from .divergence import (NOISES, divergence_exact, divergence_hutchinson, draw_noise,
                         dynamics_and_divergence, hutchinson_variance)
from .cnf import (TRACES, cnf_log_prob, cnf_sample, end_time, flow, init_cnf, log_prob,
                  sample, standard_normal_logprob)
from .layers import (concatsquash, concatsquash_dynamics, init_concatsquash,
                     init_concatsquash_dynamics, make_concatsquash_dynamics, mlp_with_exact_divergence)

from .planar import init_planar_cnf, planar_cnf_dynamics, planar_cnf_flow, target_energy
from .planar_nf import init_planar_nf, planar_nf_fast, planar_nf_forward, planar_u_hat
from .fast import augmented_dynamics, f_and_divergence, fast_concatsquash_dynamics, fast_log_prob

__all__ = [
    "NOISES", "draw_noise", "divergence_exact", "divergence_hutchinson",
    "dynamics_and_divergence", "hutchinson_variance",
    "init_concatsquash", "concatsquash", "init_concatsquash_dynamics",
    "make_concatsquash_dynamics", "concatsquash_dynamics", "mlp_with_exact_divergence",
    "TRACES", "standard_normal_logprob", "flow", "log_prob", "sample", "end_time", "init_cnf",
    "cnf_log_prob", "cnf_sample",
    # planar CNF / planar NF (Neural ODE Figs. 4-5) and the fused concatsquash fast path
    "target_energy", "init_planar_cnf", "planar_cnf_dynamics", "planar_cnf_flow", "init_planar_nf",
    "planar_u_hat",
    "planar_nf_forward", "planar_nf_fast",
    "augmented_dynamics", "fast_log_prob", "f_and_divergence", "fast_concatsquash_dynamics",
]
