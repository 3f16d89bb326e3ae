"""Why is the backward pass not "roughly half" the forward? Settings of Fig. 3c, measured.

Every function returns evaluation counts of the dynamics f for ONE gradient of the ODE-Net
classifier's mean cross-entropy (`classifier.py`), or for a solve of y alone:

* `ratio_rows` — (forward, backward) for every setting of `SETTINGS_C`:
  "mixed" / "seminorm" / "rms": dopri5 adjoint, error norm of the backward solve over
  [y, a, a_θ, a_t] taken as max over the groups of their RMS (torchdiffeq), without a_θ
  (Kidger et al. 2021), or one RMS over everything; "bwd_tol_x32": mixed, with the backward
  tolerance 32× looser than the forward's (dopri5's error ~ h⁵, so 2⁵ = 32 is what halves
  the steps); "lsoda": `autograd.scipy.integrate.odeint` — scipy's LSODA forward and its
  adjoint backward over the flat [y, a, a_t, a_θ], same rtol/atol: the paper's code path
  (the first author: the paper's results used scipy's odeint, torchdiffeq issue #97);
  "trajectory": a loss on y at 5 output times (the backward restarts at each);
  "tiny_adjoint" / "large_adjoint": the loss × 1e-6 / × 1e3 (a and a_θ scale with it, y does
  not); "y_reversed" / "lsoda_y_reversed": no adjoint, y alone solved from y(1) back to
  y(0) at the same tolerance with dopri5 / LSODA (what re-integrating y backwards costs).
* `lsoda_step` — one training iteration through the paper's code path (for Fig. 3c over
  training with LSODA).
* `spectral_radius` — ρ(∂f/∂h) along the trajectory: where the dynamics are fast.

References
----------
R. T. Q. Chen, Y. Rubanova, J. Bettencourt, D. Duvenaud. Neural ordinary differential
equations. NeurIPS 2018 (Sec. 3, Fig. 3; eq. 4, Alg. 1).
P. Kidger, R. T. Q. Chen, T. Lyons. "Hey, that's not an ODE": faster ODE adjoints via
seminorms. ICML 2021.
L. Petzold. Automatic selection of methods for solving stiff and nonstiff systems of ODEs
(LSODA). SIAM J. Sci. Stat. Comput. 4 (1983): the solver behind `scipy.integrate.odeint`.
github.com/rtqichen/torchdiffeq issues #97 and #77 (the first author on Fig. 3c).
"""
import autograd.numpy as anp
import numpy as np
import scipy.integrate
from autograd import grad, make_vjp
from autograd.builtins import tuple as ag_tuple
from autograd.misc import flatten
from autograd.scipy.integrate import odeint as scipy_odeint_ad
from autograd.scipy.special import logsumexp

from refimpl.ode import odeint

from ._util import nfe_counts
from .classifier import DYNAMICS, cross_entropy

__all__ = ["RATIO_TOLS", "SETTINGS_C", "LOSS_SCALE", "LABELS", "lsoda_nfe", "lsoda_step",
           "trajectory_nfe", "reversed_nfe", "lsoda_reversed_nfe", "ratio_rows",
           "spectral_radius"]

RATIO_TOLS = (1e-3, 1e-5, 1e-7)
SETTINGS_C = ("mixed", "seminorm", "rms", "bwd_tol_x32", "lsoda", "trajectory",
              "tiny_adjoint", "large_adjoint", "y_reversed", "lsoda_y_reversed")
DOPRI_ADJOINT = ("mixed", "seminorm", "rms", "bwd_tol_x32", "tiny_adjoint", "large_adjoint")
LOSS_SCALE = {"tiny_adjoint": 1e-6, "large_adjoint": 1e3}
LABELS = {"mixed": "dopri5 mixed norm", "seminorm": "seminorm", "rms": "rms",
          "bwd_tol_x32": "backward tol x32", "lsoda": "LSODA (paper's scipy odeint)",
          "trajectory": "loss on 5 times", "tiny_adjoint": "loss x1e-6",
          "large_adjoint": "loss x1e3", "y_reversed": "y reversed (dopri5, no adjoint)",
          "lsoda_y_reversed": "y reversed (LSODA, no adjoint)"}


def _h0(params, X):
    W, b = params["inp"]
    return anp.dot(X, W) + b                                                  # (B, H)


def _xent(params, h1, y):
    W, b = params["out"]
    logits = anp.dot(h1, W) + b                                               # (B, C)
    return anp.mean(logsumexp(logits, axis=-1) - logits[..., np.arange(len(y)), y])


def lsoda_nfe(params, X, y, tol):
    """(forward, backward, grads) for one gradient of the mean cross-entropy with
    `autograd.scipy.integrate.odeint` (scipy LSODA forward, its adjoint backward, both with
    rtol = atol = tol): the paper's code path."""
    B, H = np.shape(X)[0], np.shape(params["inp"][0])[1]
    unflatten = flatten(params["mid"])[1]
    count = [0]

    def f(h, t, theta):                                     # scipy's order: f(y, t, *args)
        count[0] += 1
        return anp.ravel(DYNAMICS(t, anp.reshape(h, (B, H)), unflatten(theta)))   # (B·H,)

    def loss(p):
        # [NeuralODE eqs. 2–3] with scipy's odeint; its VJP is the adjoint, [NeuralODE eq. 4]
        h1 = scipy_odeint_ad(f, anp.ravel(_h0(p, X)), anp.array([0.0, 1.0]),
                             ag_tuple((flatten(p["mid"])[0],)), rtol=tol, atol=tol)[-1]
        return _xent(p, anp.reshape(h1, (B, H)), y)

    vjp, _ = make_vjp(loss)(params)
    n_fwd, count[0] = count[0], 0
    g = vjp(1.0)
    return n_fwd, count[0], g


def lsoda_step(X, y, tol):
    """step(params, batch_idx) -> (grads, record) for `train.fit`: one LSODA-adjoint
    gradient on the rows batch_idx, recording its forward/backward evaluations."""
    def step(params, b):
        fwd, bwd, g = lsoda_nfe(params, X[b], y[b], tol)
        return g, {"nfe_fwd": fwd, "nfe_bwd": bwd}
    return step


def trajectory_nfe(params, X, y, tol, n_times=5):
    """(forward, backward) of one adjoint gradient (dopri5, mixed norm) of the mean over
    t_i in linspace(0, 1, n_times)[1:] of the cross-entropy of y(t_i)."""
    info = {}

    def loss(p):
        hs = odeint(DYNAMICS, _h0(p, X), np.linspace(0.0, 1.0, n_times), (p["mid"],),
                    rtol=tol, atol=tol, info=info)                          # (T, B, H)
        return _xent(p, hs[1:], y)
    grad(loss)(params)
    return nfe_counts(info)


def reversed_nfe(params, X, tol):
    """(forward, reversed) evaluations with dopri5: y from 0 to 1, then y alone from y(1)
    back to 0 at the same tolerance (no adjoint)."""
    i_fwd, i_rev = {}, {}
    h1 = odeint(DYNAMICS, _h0(params, X), np.array([0.0, 1.0]), (params["mid"],), rtol=tol,
                atol=tol, info=i_fwd)[-1]
    odeint(DYNAMICS, h1, np.array([1.0, 0.0]), (params["mid"],), rtol=tol, atol=tol,
           info=i_rev)
    return nfe_counts(i_fwd)[0], nfe_counts(i_rev)[0]


def lsoda_reversed_nfe(params, X, tol):
    """(forward, reversed) evaluations as `reversed_nfe`, with scipy's LSODA (its counts)."""
    h0 = _h0(params, X)

    def f(h, t):
        return DYNAMICS(t, h.reshape(h0.shape), params["mid"]).ravel()
    ys, i1 = scipy.integrate.odeint(f, h0.ravel(), [0.0, 1.0], rtol=tol, atol=tol,
                                    full_output=True)
    _, i2 = scipy.integrate.odeint(f, ys[-1], [1.0, 0.0], rtol=tol, atol=tol,
                                   full_output=True)
    return int(i1["nfe"][-1]), int(i2["nfe"][-1])


def _dopri_adjoint(params, X, y, tol, setting):
    info, c = {}, LOSS_SCALE.get(setting, 1.0)
    kw = {"rtol": tol, "atol": tol, "adjoint_norm": setting
          if setting in ("mixed", "seminorm", "rms") else "mixed"}
    if setting == "bwd_tol_x32":
        kw.update(adjoint_rtol=32 * tol, adjoint_atol=32 * tol)
    grad(lambda p: c * cross_entropy("odenet", p, X, y, kw, info))(params)
    return nfe_counts(info) + (info["n_rejected_forward"], info["n_rejected_backward"])


def ratio_rows(params, X, y, stage, tols=RATIO_TOLS):
    """[{stage, setting, tol, fwd, bwd, ratio, rej_fwd, rej_bwd}] for every setting of
    `SETTINGS_C` (rej_*: rejected steps of the dopri5-adjoint settings, else None)."""
    rows = []
    for tol in tols:
        for setting in SETTINGS_C:
            rej = (None, None)
            if setting in DOPRI_ADJOINT:
                fwd, bwd, *rej = _dopri_adjoint(params, X, y, tol, setting)
            elif setting == "lsoda":
                fwd, bwd, _ = lsoda_nfe(params, X, y, tol)
            elif setting == "trajectory":
                fwd, bwd = trajectory_nfe(params, X, y, tol)
            elif setting == "y_reversed":
                fwd, bwd = reversed_nfe(params, X, tol)
            else:
                fwd, bwd = lsoda_reversed_nfe(params, X, tol)
            rows.append(dict(stage=stage, setting=setting, tol=tol, fwd=int(fwd), bwd=int(bwd),
                             ratio=bwd / fwd, rej_fwd=rej[0], rej_bwd=rej[1]))
    return rows


def spectral_radius(params, X, ts=(0.0, 1.0)):
    """Mean over the images of ρ(∂f/∂h) at y(t) for t in ts, shape (len(ts),).

    For f(t, h) = tanh([h, t] W1 + b1) W2 + b2 on a row h, ∂f/∂h acts as
    h ↦ h W1[:H] diag(1 - tanh²) W2 (H × H per image)."""
    (W1, b1), (W2, _) = params["mid"]
    H = W2.shape[1]
    hs = odeint(DYNAMICS, _h0(params, X), np.asarray(ts, float), (params["mid"],),
                rtol=1e-8, atol=1e-8)                                       # (T, B, H)
    out = []
    for t, h in zip(ts, hs):
        s = 1.0 - np.tanh(h @ W1[:H] + t * W1[H] + b1) ** 2                 # (B, hidden)
        J = np.einsum("ik,bk,kj->bij", W1[:H], s, W2)                       # (B, H, H)
        out.append(float(np.mean(np.max(np.abs(np.linalg.eigvals(J)), axis=1))))
    return np.array(out)
