"""The classifiers of the Neural ODE paper's Table 1, with fully connected blocks (CPU scale).

All three share the input layer h_0 = x W_in + b_in (P → H) and the output layer
logits = h_1 W_out + b_out (H → 10); they differ in the middle:

* ResNet (6 residual blocks, [NeuralODE eq. 1]):  h_{l+1} = h_l + f_l(h_l),  f_l = MLP H → H → H (tanh),
  six blocks with their own weights.
* RK-Net: h(1) = h(0) + ∫_0^1 f(t, h(t)) dt with ONE block f(t, h) = MLP [h, t] → H → H (tanh),
  integrated by fixed-step RK4 and differentiated by backpropagating through the solver's
  arithmetic (`odeint(..., method="rk4", gradient="backprop")`); memory grows with the steps.
* ODE-Net: the same f, integrated by adaptive dopri5 and differentiated by the adjoint
  ([NeuralODE Alg. 1]; `odeint(..., gradient="adjoint")`): memory independent of the step count.

The dynamics are `refimpl.nn.mlp_dynamics("tanh")` (time concatenated to the state), so
RK-Net and ODE-Net differ only in the solver and the gradient. The paper's models are
convolutional (downsampling, 6 residual blocks / one ODE block, 0.60M vs 0.22M parameters);
the ratio of parameter counts is kept (one block vs six).

`peak_memory_mb` measures the peak of Python/NumPy allocations (`tracemalloc`) during one
gradient — the paper's "memory" column, as a number instead of O(L).

References
----------
R. T. Q. Chen, Y. Rubanova, J. Bettencourt, D. Duvenaud. Neural ordinary differential
equations. NeurIPS 2018 (Sec. 3, Table 1; eq. 1; Alg. 1).
K. He, X. Zhang, S. Ren, J. Sun. Deep residual learning for image recognition. CVPR 2016.
"""
import tracemalloc

import autograd.numpy as np
from autograd import grad
from autograd.scipy.special import logsumexp

from refimpl import nn
from refimpl.nn import init_mlp_dynamics, mlp_dynamics


__all__ = ["KINDS", "init_classifier", "classifier_logits", "cross_entropy", "error_rate",
           "peak_memory_mb", "DYNAMICS"]

KINDS = ("resnet", "rknet", "odenet")
DYNAMICS = mlp_dynamics("tanh", time_input=True)      # f(t, h, θ): [h, t] → H → H


def init_classifier(rng, kind, d_in, width=64, n_classes=10, n_blocks=6):
    """Parameters {"inp": (W (P, H), b), "mid": ..., "out": (W (H, C), b)}.

    "mid" is a list of `n_blocks` MLPs H → H → H for the ResNet, one MLP [H, t] → H → H for
    RK-Net and ODE-Net."""
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")
    H = int(width)
    inp = nn.init_mlp(rng, [int(d_in), H])[0]
    if kind == "resnet":
        mid = [nn.init_mlp(rng, [H, H, H]) for _ in range(int(n_blocks))]
    else:
        mid = init_mlp_dynamics(rng, H, hidden=(H,), time_input=True)
    out = nn.init_mlp(rng, [H, int(n_classes)])[0]
    return {"inp": inp, "mid": mid, "out": out}


def _middle(kind, mid, h, ode_kw, info):
    if kind == "resnet":
        for block in mid:
            # [NeuralODE eq. 1]: h_{t+1} = h_t + f(h_t, θ_t)
            h = h + nn.mlp(block, h, activation="tanh")                  # (B, H)
        if info is not None:
            info["nfe"] = len(mid)
        return h
    from refimpl.ode import odeint
    # [NeuralODE eqs. 2–3]: h(1) = h(0) + ∫_0^1 f(h(t), t, θ) dt
    ts = np.array([0.0, 1.0])
    if kind == "rknet":
        kw = {"method": "rk4", "step_size": 0.25, "gradient": "backprop", **ode_kw}
    else:
        kw = {"method": "dopri5", "rtol": 1e-3, "atol": 1e-3, "gradient": "adjoint", **ode_kw}
    return odeint(DYNAMICS, h, ts, (mid,), info=info, **kw)[-1]


def classifier_logits(kind, params, x, ode_kw=None, info=None):
    """Class scores (B, C) for images x: (B, P). `ode_kw` overrides the odeint options
    (RK-Net default: rk4, step 0.25, backprop; ODE-Net: dopri5, rtol = atol = 1e-3, adjoint);
    `info` (a dict) receives the solver's evaluation counts."""
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")
    W, b = params["inp"]
    h = np.dot(x, W) + b                                                  # (B, H)
    h = _middle(kind, params["mid"], h, ode_kw or {}, info)
    W, b = params["out"]
    return np.dot(h, W) + b                                               # (B, C)


def cross_entropy(kind, params, x, y, ode_kw=None, info=None):
    """Mean softmax cross-entropy; y: (B,) integer labels."""
    logits = classifier_logits(kind, params, x, ode_kw, info)
    return np.mean(logsumexp(logits, axis=1) - logits[np.arange(len(y)), y])


def error_rate(kind, params, x, y, ode_kw=None, batch=500):
    """Fraction of misclassified rows (evaluated in batches)."""
    wrong = 0
    for i in range(0, len(y), batch):
        logits = classifier_logits(kind, params, x[i:i + batch], ode_kw)
        wrong += int(np.sum(np.argmax(logits, axis=1) != y[i:i + batch]))
    return wrong / max(len(y), 1)


def peak_memory_mb(kind, params, x, y, ode_kw=None):
    """Peak traced allocation (MB) during one gradient of the loss (tracemalloc)."""
    g = grad(lambda p: cross_entropy(kind, p, x, y, ode_kw))
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    g(params)
    peak = tracemalloc.get_traced_memory()[1]
    if not was_tracing:
        tracemalloc.stop()
    return (peak - base) / 2 ** 20
