"""The LDS SVAE: global q(θ) = NIW(μ₀, Σ₀) · MNIW(A, Q), local q(x) = the Gaussian chain with
the expected potentials E_q(θ)[η_x(θ)] and the recognition network's node potentials, a
neural observation model p(y_t | x_t), natural-gradient SVI on q(θ) and Adam on the networks.

Model (official `lds_svae` / `lds_svae_dots`): x_1 ~ N(μ₀, Σ₀), x_{t+1} = A x_t + w, w ~ N(0, Q),
y_t ~ N(μ_φ(x_t), diag σ²_φ(x_t)), with conjugate priors p(μ₀, Σ₀) = NIW and p(A, Q) = MNIW.

log p(x | θ) = <η_x(θ), t(x)> exactly, with η_x(θ) the (NIW, MNIW) statistics of θ and
t(x) = ((x₁x₁ᵀ, x₁, 1, 1), (Σ_t x_t x_tᵀ, Σ_t x_t x_{t+1}ᵀ, Σ_t x_{t+1}x_{t+1}ᵀ, T − 1)) (sums over
t < T) — the increments of the natural parameters, so the natural gradient is a sum of E_q[t(x)].
"""
import autograd.numpy as np
from autograd import value_and_grad
from autograd.misc import flatten
from autograd.tracer import getval

from ..expfam import mniw, niw
from ..nn.feedforward import init_mlp, mlp
from . import lds

LOG2PI = np.log(2 * np.pi)


def init_prior(D, scaling=1.0):
    """The official `make_prior_natparam(n)`: NIW(S = 2(D+1)·I, m = 0, κ = 1/(2D), ν = D + 1) on
    (μ₀, Σ₀) and MNIW(ν = D + 1, S = 2(D+1)·I, M = I, K = I/(2D)) on (A, Q): E[A] = I,
    E[Q⁻¹] = E[Σ₀⁻¹] = I/2. Returns (niw_eta, mniw_eta)."""
    nu, S, kappa = D + 1.0, 2.0 * scaling * (D + 1) * np.eye(D), 1.0 / (2.0 * scaling * D)
    return (niw.standard_to_natural(S, np.zeros(D), kappa, nu),
            mniw.standard_to_natural(nu, S, np.eye(D), kappa * np.eye(D)))


def expected_potentials(global_eta):
    """E_q(θ)[η_x(θ)] as chain potentials: init (J₀, h₀) = (E[Σ₀⁻¹], E[Σ₀⁻¹μ₀]),
    pair (E[AᵀQ⁻¹A], −E[AᵀQ⁻¹], E[Q⁻¹]) and the constants c₀ = E[−½μ₀ᵀΣ₀⁻¹μ₀ − ½ log|Σ₀|],
    c = E[−½ log|Q|] (per transition)."""
    Ei = niw.expected_stats(global_eta[0])   # (−½E[Σ⁻¹], E[Σ⁻¹μ], −½E[μᵀΣ⁻¹μ], −½E log|Σ|)
    Em = mniw.expected_stats(global_eta[1])  # (−½E[AᵀQ⁻¹A], E[AᵀQ⁻¹], −½E[Q⁻¹], −½E log|Q|)
    return (-2.0 * Ei[0], Ei[1]), (-2.0 * Em[0], -Em[1], -2.0 * Em[2]), Ei[2] + Ei[3], Em[3]


def local_inference(global_eta, psi, eps, dense=False):
    """[SVAE Sec. 4] the local factor q(x) ∝ exp(<E_q η_x(θ), t(x)> + <ψ, t(x)>) for every
    sequence of the batch. psi = (J_node (B, T, D, D), h_node (B, T, D)), eps (B, T, D).

    dense=True runs the same posterior through `lds.dense_smooth_sample` (one batched Cholesky;
    faster under autograd for TD ≲ 300, see there); default the message-passing twin.

    Returns (x (B, T, D) a reparameterised joint sample; kl_local (B,) =
    E_q(θ) KL(q(x) ‖ p(x | θ)) = <ψ, E_q t_node(x)> − log Z_local; the global statistics
    Σ_batch E_q[t(x)] in the (NIW, MNIW) natural-parameter layout)."""
    J_node, h_node = psi
    B, T, D = np.shape(h_node)
    init, pair, c0, c = expected_potentials(global_eta)
    if dense:
        ms, Ps, cross, chain_logZ, x = lds.dense_smooth_sample(init, pair, J_node, h_node, eps)
    else:
        ms, Ps, cross, chain_logZ = lds.natural_smooth(init, pair, J_node, h_node)
        x = lds.natural_sample(init, pair, J_node, h_node, eps)
    Exx = Ps + ms[..., :, None] * ms[..., None, :]                              # (B, T, D, D)
    # log Z_local = log ∫ exp(<E η_x, t(x)> + <ψ, t(x)>) dx: the chain's normalised logZ, the
    # expected constants and the base measure (2π)^(−TD/2) of log p(x | θ)
    logZ_local = chain_logZ + c0 + (T - 1) * c - 0.5 * T * D * LOG2PI
    E_psi = -0.5 * np.sum(J_node * Exx, (-3, -2, -1)) + np.sum(h_node * ms, (-2, -1))
    kl_local = E_psi - logZ_local
    Exy = cross + ms[:, :-1, :, None] * ms[:, 1:, None, :]                       # E[x_t x_{t+1}ᵀ]
    stats = ((np.sum(Exx[:, 0], 0), np.sum(ms[:, 0], 0), float(B), float(B)),
             (np.sum(Exx[:, :-1], (0, 1)), np.sum(Exy, (0, 1)), np.sum(Exx[:, 1:], (0, 1)),
              float(B * (T - 1))))
    return x, kl_local, stats


def prior_expected_stats(global_eta):
    """E_q[t(θ)] of q(θ) = NIW · MNIW, in the natural-parameter layout."""
    return niw.expected_stats(global_eta[0]), mniw.expected_stats(global_eta[1])


def prior_logZ(global_eta):
    return niw.logZ(global_eta[0]) + mniw.logZ(global_eta[1])


def global_kl(global_eta, prior):
    return niw.kl(global_eta[0], prior[0]) + mniw.kl(global_eta[1], prior[1])


# --- networks (official `mlp_recognize` / `mlp_loglike`: one tanh hidden layer) ---------

def init_nets(rng, P, D, hidden=(50,)):
    """(recognition y (P) -> (h, log J) (2D); decoder x (D) -> (mean logit, log σ²) (2P))."""
    return init_mlp(rng, [P, *hidden, 2 * D]), init_mlp(rng, [D, *hidden, 2 * P])


def recognize(params, y, tanh_scale=10.0):
    """y (B, T, P) -> diagonal node potentials (J (B, T, D, D), h (B, T, D)); the precision is
    exp(10 tanh(·/10)) as the official `mlp_recognize`."""
    out = mlp(params, y)
    D = np.shape(out)[-1] // 2
    prec = np.exp(tanh_scale * np.tanh(out[..., D:] / tanh_scale))
    return prec[..., :, None] * np.eye(D), out[..., :D]


def decode(params, x, tanh_scale=10.0):
    """x (..., D) -> (mean in (0, 1) (..., P), log σ² (..., P)) as the official `mlp_decode`."""
    out = mlp(params, x)
    P = np.shape(out)[-1] // 2
    return 1.0 / (1.0 + np.exp(-out[..., :P])), tanh_scale * np.tanh(out[..., P:] / tanh_scale)


def decode_loglik(params, x, y):
    mu, log_var = decode(params, x)
    return -0.5 * np.sum(LOG2PI + log_var + (y - mu) ** 2 / np.exp(log_var))


# --- the surrogate and the natural gradient -----------------------------------------------

def surrogate(global_eta, prior, nets, y, eps, n_seqs, n_frames, dense=False):
    """[SVAE Sec. 4.1] L̂ = (S/|B|) Σ_{b∈B} (log p(y_b | x_b) − KL_local,b) − KL(q(θ) ‖ p(θ)),
    divided by the number of frames, as the official `make_gradfun` (S = n_seqs sequences in the
    data set, |B| in the batch; x_b the reparameterised joint sample). y (B, T, P).
    Returns (bound, statistics for the natural gradient)."""
    x, kl_local, stats = local_inference(global_eta, recognize(nets[0], y), eps, dense)
    scale = n_seqs / np.shape(y)[0]
    bound = scale * (decode_loglik(nets[1], x, y) - np.sum(kl_local)) - global_kl(global_eta, prior)
    return bound / n_frames, stats


def natural_gradient(global_eta, prior, stats, n_seqs, batch, n_frames):
    """[SVAE Prop. 4.2] ∇̃ = (η⁰ + (S/|B|) Σ_{b∈B} E_q[t(x_b)] − η) / n_frames (the official scaling),
    without the term through the local optimum (official issue #16)."""
    f_eta, unflat = flatten(global_eta)
    return unflat((flatten(prior)[0] + (n_seqs / batch) * flatten(stats)[0] - f_eta) / n_frames)


def train(rng, seqs, D, n_iter, batch=1, step=1e-3, nat_step=0.1, hidden=(50,), callback=None,
          every=50, dense=True):
    """[SVAE Sec. 4.2] SVI on sequences seqs (S, T, P): each iteration a minibatch of `batch`
    sequences; q(θ) takes the natural-gradient step η += nat_step · n_frames · ∇̃ (a convex
    combination of η and the minibatch's conjugate update, so q(θ) stays valid; the official
    `nat_stepsize`·natgrad_scale/N), the networks an Adam step (as the official dots experiment,
    `adam(..., stepsize=1e-3)`). q(θ) starts at the prior, as the official. dense: the local
    step's path (see `local_inference`; same values).
    Returns (global_eta, prior, nets, history of the minibatch bound)."""
    S, T, P = np.shape(seqs)
    if not 0 < nat_step <= 1:
        raise ValueError(f"nat_step: expected a fraction in (0, 1], got {nat_step}")
    if not 1 <= batch <= S:
        raise ValueError(f"batch: expected 1 <= batch <= {S} sequences, got {batch}")
    prior = init_prior(D)
    global_eta = prior
    flat, unflat = flatten(init_nets(rng, P, D, hidden))
    m, v = np.zeros_like(flat), np.zeros_like(flat)
    N = S * T
    saved = {}

    def objective(f, yb, eps):  # minus the surrogate; the statistics are kept from the same pass
        bound, saved["stats"] = surrogate(global_eta, prior, unflat(f), yb, eps, S, N, dense)
        return -bound
    vgrad = value_and_grad(objective)
    hist = []
    for it in range(n_iter):
        yb = seqs[rng.choice(S, batch, replace=False)]
        eps = rng.standard_normal((batch, T, D))
        val, g = vgrad(flat, yb, eps)
        stats = tuple(tuple(getval(a) for a in part) for part in saved["stats"])
        bound = -val
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g ** 2
        flat = flat - step * (m / (1 - 0.9 ** (it + 1))) / (np.sqrt(v / (1 - 0.999 ** (it + 1))) + 1e-8)
        ng = flatten(natural_gradient(global_eta, prior, stats, S, batch, N))[0]
        ge_flat, ge_unflat = flatten(global_eta)
        global_eta = ge_unflat(ge_flat + nat_step * N * ng)
        hist.append(float(bound))
        if callback is not None and it % every == 0:
            callback(it, global_eta, unflat(flat), float(bound))
    return global_eta, prior, unflat(flat), hist
