"""The GMM-SVAE surrogate bound, its natural gradient on the global factor, and training.

    L̂ = (N/|B|) Σ_{n∈B} (E_q log p(x_n | z_n) − KL_local,n) − KL(q(θ) || p(θ)),  divided by N

as the official `make_gradfun` (mattjj/svae svae/svae.py). Networks: 2 hidden tanh layers
plus a linear residual path (official `resnet`-style MLPs).
"""
import autograd.numpy as np
from autograd import grad
from autograd.misc import flatten

from ..nn.feedforward import init_mlp, mlp
from . import gmm

LOG2PI = np.log(2 * np.pi)


def init_net(rng, d_in, d_out, hidden=(40, 40), mlp_scale=1e-2):
    """A residual Gaussian net as the official `init_gresnet`: the tanh MLP starts near zero
    (weights N(0, mlp_scale²)) and the linear path maps x to the first d_out/2 outputs (the
    mean) by a random partial isometry, to the last half (the log-variance) by zeros. At
    initialisation the net is thus a norm-preserving linear map with unit variances, so the
    latent means keep the data's geometry (clusters stay apart) and every node potential has
    precision ≈ 1. (A small random linear path with a LeCun-scaled MLP instead shrinks the
    latents into one blob with precisions spread over 1e-2…1e2, and the mixture collapses onto
    one component: svae/ari = 0 — tests/svae/test_pinwheel.py.)"""
    half = d_out // 2
    if d_out != 2 * half:
        raise ValueError(f"d_out: expected an even width (mean and log-variance halves), got {d_out}")
    n = max(d_in, half)
    iso = np.linalg.qr(rng.standard_normal((n, n)))[0][:d_in, :half]  # orthonormal rows or columns
    W = np.concatenate([iso, np.zeros((d_in, d_out - half))], axis=1)
    return {"mlp": init_mlp(rng, [d_in, *hidden, d_out], scale=mlp_scale), "W": W}


def net(params, x):
    return mlp(params["mlp"], x, activation="tanh") + np.dot(x, params["W"])


def recognize(params, x):
    """x (B, P) -> diagonal Gaussian node potentials psi = (J (B, D, D), h (B, D))."""
    out = net(params, x)
    D = out.shape[1] // 2
    mean, log_var = out[:, :D], out[:, D:]
    prec = np.exp(-log_var)
    return prec[:, :, None] * np.eye(D), prec * mean


def decode_loglik(params, z, x):
    """Σ log N(x | μ(z), diag σ²(z)) over the batch; z (B, D), x (B, P)."""
    out = net(params, z)
    P = x.shape[1]
    mu, log_var = out[:, :P], out[:, P:]
    return -0.5 * np.sum(LOG2PI + log_var + (x - mu) ** 2 / np.exp(log_var))


def sample_z(eta_z, eps):
    """Reparameterised z = J⁻¹h + L⁻ᵀ ε with J = L Lᵀ: (B, D)."""
    J, h = eta_z
    L = np.linalg.cholesky(J)
    mean = np.linalg.solve(J, h[..., None])[..., 0]
    return mean + np.linalg.solve(np.swapaxes(L, -1, -2), eps[..., None])[..., 0]


def surrogate(global_eta, prior, nets, x, eps, N, exact=False):
    """[SVAE Sec. 4.1] the minibatch-scaled surrogate bound per datapoint, and the local
    prior statistics (for the natural gradient). nets = (recognition, decoder)."""
    psi = recognize(nets[0], x)
    eta_z, _, r, kl_local, stats = gmm.local_meanfield(global_eta, psi, exact=exact)
    z = sample_z(eta_z, eps)
    B = x.shape[0]
    bound = (N / B) * (decode_loglik(nets[1], z, x) - kl_local) - gmm.global_kl(global_eta, prior)
    return bound / N, stats


def natural_gradient(global_eta, prior, stats, N, B):
    """[SVAE Prop. 4.2] ∇̃ = (η⁰ + (N/|B|) Σ_{n∈B} E_q[t_n] − η) / N (the official scaling),
    without the term that flows through the local optimum (official issue #16)."""
    f_eta, unflat = flatten(global_eta)
    return unflat((flatten(prior)[0] + (N / B) * flatten(stats)[0] - f_eta) / N)


def train(rng, X, K=15, D=2, n_iter=1000, batch=50, step=1e-3, natgrad_scale=1e4,
          hidden=(40, 40), callback=None, every=50):
    """[SVAE Sec. 4.2] SVI: natural-gradient steps on q(θ) (η += step·natgrad_scale·∇̃, no momentum,
    so the NIW stays valid as a convex combination), Adam on the networks (the official
    uses SGD with momentum). Returns (global_eta, prior, nets, history of the batch bound)."""
    N, P = X.shape
    if batch > N:
        raise ValueError(f"batch: must be <= N = {N}, got {batch}")
    prior, global_eta = gmm.init_global(rng, K, D)
    nets = (init_net(rng, P, 2 * D, hidden), init_net(rng, D, 2 * P, hidden))
    flat, unflat = flatten(nets)
    m, v = np.zeros_like(flat), np.zeros_like(flat)
    gfun = grad(lambda f, ge, xb, eps: surrogate(ge, prior, unflat(f), xb, eps, N)[0])
    hist = []
    rho = step * natgrad_scale  # times ng (already / N): the official effective step
    if rho / N > 1:
        raise ValueError(f"step, natgrad_scale: step·natgrad_scale/N = {rho / N:.3g} > 1 overshoots the VB update")
    for it in range(n_iter):
        idx = rng.choice(N, batch, replace=False)
        xb, eps = X[idx], rng.standard_normal((batch, D))
        bound, stats = surrogate(global_eta, prior, unflat(flat), xb, eps, N)
        g = -gfun(flat, global_eta, xb, eps)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g ** 2
        flat = flat - step * 3 * (m / (1 - 0.9 ** (it + 1))) / (np.sqrt(v / (1 - 0.999 ** (it + 1))) + 1e-8)
        ng = natural_gradient(global_eta, prior, stats, N, batch)
        ge_flat, ge_unflat = flatten(global_eta)
        global_eta = ge_unflat(ge_flat + rho * flatten(ng)[0])
        hist.append(float(bound))
        if callback is not None and it % every == 0:
            callback(it, global_eta, unflat(flat), float(bound))
    return global_eta, prior, unflat(flat), hist
