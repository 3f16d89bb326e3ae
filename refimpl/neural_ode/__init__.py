"""Neural Ordinary Differential Equations (Chen, Rubanova, Bettencourt, Duvenaud 2018): the
paper's experiments on top of `refimpl.ode.odeint`.

* `spirals` — the cubic-spiral trajectory and the noisy Archimedean spirals (Sec. 5.1).
* `rnn` — the backwards recognition RNN and the RNN baseline of Table 2.
* `latent_ode` — the latent ODE VAE (Sec. 5): ELBO, prediction.
* `classifier` — ResNet / RK-Net / ODE-Net with fully connected blocks (Table 1).
* `nfe_study` — Fig. 3c: backward vs forward evaluations under each adjoint error norm,
  backward tolerance, the LSODA code path of the paper, and y solved backwards alone.
* `experiments` — `neural-ode-spiral`, `neural-ode-nfe`, `latent-ode-spirals`,
  `odenet-classifier`.

References
----------
R. T. Q. Chen, Y. Rubanova, J. Bettencourt, D. Duvenaud. Neural ordinary differential
equations. NeurIPS 2018.
"""
from .spirals import (SPIRAL_A, archimedean_spirals, cubic_spiral_rhs, cubic_spiral_trajectory,
                      nested_subsamples, subsample_observations)
from .rnn import (init_recognition_rnn, init_rnn_baseline, recognition_rnn, rnn_baseline_filter,
                  rnn_baseline_loss, rnn_baseline_predict, run_rnn)
from .latent_ode import decode, elbo, encode_predict, gaussian_kl, init_latent_ode
from .classifier import (KINDS, classifier_logits, cross_entropy, error_rate, init_classifier,
                         peak_memory_mb)

__all__ = ["SPIRAL_A", "archimedean_spirals", "cubic_spiral_rhs", "cubic_spiral_trajectory",
           "subsample_observations", "nested_subsamples", "rnn_baseline_filter",
           "init_recognition_rnn", "init_rnn_baseline",
           "recognition_rnn", "rnn_baseline_loss", "rnn_baseline_predict", "run_rnn", "decode",
           "elbo", "encode_predict", "gaussian_kl", "init_latent_ode", "KINDS",
           "classifier_logits", "cross_entropy", "error_rate", "init_classifier",
           "peak_memory_mb"]
