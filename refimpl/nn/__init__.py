"""Shared neural-network building blocks: the one home of MLP code used by more than one paper.

* `feedforward` — multilayer perceptrons as pure functions on lists of (W, b) pairs:
  `init_mlp`, `mlp`, `activation_fn`, `n_params`, `flatten` (= `autograd.misc.flatten`);
  `affine` (x W + b with plain-matmul VJPs) and `mlp2d` (`mlp` through it, for 2-D batches).
* `time_mlp` — an MLP with the time as an input, used as ODE dynamics f(t, y; θ) by the
  Neural ODE and FFJORD packages, with a fused forward/VJP (`MLPDynamics.f_and_vjp`) that the
  adjoint calls at every stage (was `refimpl.ode.mlp`; `refimpl.ode` re-exports its names).

Paper-specific networks stay in their papers' packages: `refimpl.nng.mlp` (the bias-row MLP
that stores the activations and pre-activation gradients K-FAC needs) and
`refimpl.ffjord.layers` (FFJORD's concatsquash layers).

Layering: `refimpl.nn` imports nothing from refimpl; the ODE engine and the paper packages
import it (tests/test_import_layering.py).
"""
from .feedforward import ACTIVATIONS, activation_fn, affine, flatten, init_mlp, mlp, mlp2d, n_params
from .time_mlp import FAST_ACTIVATIONS, MLPDynamics, init_mlp_dynamics, mlp_dynamics

__all__ = ["ACTIVATIONS", "activation_fn", "affine", "flatten", "init_mlp", "mlp", "mlp2d", "n_params",
           "FAST_ACTIVATIONS", "MLPDynamics", "init_mlp_dynamics", "mlp_dynamics"]
