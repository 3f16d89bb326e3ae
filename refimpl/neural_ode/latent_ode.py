"""The latent ODE of the Neural ODE paper (Sec. 5), trained as a VAE.

Generative model ([NeuralODE eqs. 11–13]):

    z_t0 ~ N(0, I),   z_t1..z_tN = ODESolve(z_t0, f, θ_f, t0, ..., tN),   x_ti ~ N(dec(z_ti), σ² I)

Recognition model: q(z_t0 | x) = N(μ, diag exp(logvar)) from an RNN read backwards in time
(`refimpl.neural_ode.rnn.recognition_rnn`), anchored at t0 = ts[0]; it also reads the
offset of the first observation from ts[0], which subsampling makes random. Objective: the ELBO

    ELBO = E_q[ Σ_i log N(x_ti | dec(z_ti), σ²) ] − KL(q(z_t0) ‖ N(0, I)),

one reparameterised sample z_t0 = μ + exp(logvar / 2) ⊙ ε (ε passed in, so the objective is
a deterministic function that `check_grads` can test) and the KL in closed form.

Architecture (paper App.; sizes from the issue and the authors' script): latent dimension 4,
dynamics f an MLP 4 → 20 → 20 → 4 by default (`latent-ode-spirals`: 4 → 50 → 50 → 4, issue
#25's study; softplus where the authors use ELU — both unbounded
above, which the fast-growing clockwise spirals need; tanh extrapolated worse; autonomous;
`refimpl.nn.mlp_dynamics`, whose forward and VJP are fused kernels), decoder
4 → 20 → 2 (ReLU, as the authors' `Decoder`), encoder 25 units.

Irregular observations: every spiral lives on one shared grid `ts` (T,); a spiral observes
the grid points `obs_idx` (B, n). The ODE is solved once for the batch at the union of the
observed grid times, and each spiral's likelihood uses its own points.

References
----------
R. T. Q. Chen, Y. Rubanova, J. Bettencourt, D. Duvenaud. Neural ordinary differential
equations. NeurIPS 2018 (Sec. 5, eqs. 11–13; Table 2).
D. P. Kingma, M. Welling. Auto-encoding variational Bayes. ICLR 2014 (App. B: Gaussian KL).
"""
import autograd.numpy as np
import numpy as onp

from refimpl import nn
from refimpl.nn import init_mlp_dynamics, mlp_dynamics

from .rnn import init_recognition_rnn, recognition_rnn

__all__ = ["init_latent_ode", "latent_trajectory", "decode", "gaussian_kl", "gaussian_loglik",
           "elbo", "encode_predict", "DYNAMICS"]

DYNAMICS = mlp_dynamics("softplus", time_input=False)     # f(t, z, θ_f), autonomous


def init_latent_ode(rng, obs_dim=2, latent_dim=4, rnn_hidden=25, dyn_hidden=(20, 20),
                    dec_hidden=20):
    """{"rec": encoder, "dyn": [(W, b)] of f, "dec": [(W, b)] of the decoder}.

    dyn_hidden: an int (one hidden layer) or a tuple of widths (default (20, 20), the
    authors' `LatentODEfunc`: two hidden layers of 20)."""
    hidden = tuple(int(h) for h in onp.atleast_1d(dyn_hidden))
    return {"rec": init_recognition_rnn(rng, obs_dim, latent_dim, rnn_hidden),
            "dyn": init_mlp_dynamics(rng, latent_dim, hidden=hidden, time_input=False),
            "dec": nn.init_mlp(rng, [latent_dim, dec_hidden, obs_dim])}


def latent_trajectory(dyn_params, z0, ts, info=None, **odeint_kw):
    """z at times ts: (T,) from z0: (B, L) at ts[0]; returns (T, B, L). [NeuralODE eq. 12]."""
    from refimpl.ode import odeint
    return odeint(DYNAMICS, z0, ts, (dyn_params,), info=info, **odeint_kw)


def decode(dec_params, z):
    """Mean of p(x | z): (..., L) -> (..., D)."""
    # flatten the leading axes; mlp2d's `affine` VJPs are plain matmuls (a dot's is a tensordot)
    out = nn.mlp2d(dec_params, np.reshape(z, (-1, z.shape[-1])), activation="relu")
    return np.reshape(out, z.shape[:-1] + (out.shape[-1],))


def gaussian_kl(mean, logvar):
    """KL(N(mean, diag e^logvar) ‖ N(0, I)) per row: (B, L) -> (B,). Kingma & Welling App. B."""
    return 0.5 * np.sum(np.exp(logvar) + mean ** 2 - 1.0 - logvar, axis=-1)


def gaussian_loglik(x, mean, noise_std):
    """Σ over the trailing axis of log N(x | mean, σ²); (..., D) -> (...)."""
    r = (x - mean) / noise_std
    return -0.5 * np.sum(r ** 2 + np.log(2 * np.pi * noise_std ** 2), axis=-1)


def _grid_solve(params, z0, ts, idx_sets, info, odeint_kw):
    # solve at the union of the needed grid points (always including ts[0]); return a map
    # grid index -> row of the solution, and the (T_u, B, L) solution
    need = onp.union1d(onp.concatenate([onp.ravel(i) for i in idx_sets]), [0])
    zs = latent_trajectory(params["dyn"], z0, ts[need], info=info, **odeint_kw)
    row = onp.full(len(ts), -1)
    row[need] = onp.arange(len(need))
    return zs, row


def elbo(params, x_obs, obs_idx, ts, eps, noise_std=0.3, info=None, **odeint_kw):
    """Mean over the batch of the single-sample ELBO ([NeuralODE Sec. 5]).

    x_obs: (B, n, D) observations at grid points obs_idx: (B, n) of ts: (T,); eps: (B, L)."""
    B = x_obs.shape[0]
    t_obs = ts[obs_idx]                                              # (B, n)
    mean, logvar = recognition_rnn(params["rec"], x_obs, t_obs, ts[0])   # (B, L) each
    z0 = mean + np.exp(0.5 * logvar) * eps                           # reparameterisation
    zs, row = _grid_solve(params, z0, ts, [obs_idx], info, odeint_kw)   # (T_u, B, L)
    z_obs = zs[row[obs_idx], onp.arange(B)[:, None]]                 # (B, n, L)
    # [NeuralODE eq. 13]: x_ti ~ N(dec(z_ti), σ²); the KL of q(z_t0) to the prior N(0, I)
    loglik = np.sum(gaussian_loglik(x_obs, decode(params["dec"], z_obs), noise_std), axis=1)
    return np.mean(loglik - gaussian_kl(mean, logvar))


def encode_predict(params, x_obs, obs_idx, ts, pred_idx, info=None, **odeint_kw):
    """Posterior-mean prediction: encode, take z_t0 = μ, solve, decode at ts[pred_idx].

    pred_idx: (T_p,) grid indices shared by the batch. Returns (x̂ (B, T_p, D), z (T_p, B, L))."""
    mean, _ = recognition_rnn(params["rec"], x_obs, ts[obs_idx], ts[0])
    zs, row = _grid_solve(params, mean, ts, [onp.asarray(pred_idx)], info, odeint_kw)
    z = zs[row[onp.asarray(pred_idx)]]                               # (T_p, B, L)
    return np.transpose(decode(params["dec"], z), (1, 0, 2)), z
