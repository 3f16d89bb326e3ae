"""The GMM-SVAE surrogate bound, its natural gradient on the global factor, and training.

    L̂ = (N/|B|) Σ_{n∈B} (E_q log p(x_n | z_n) − KL_local,n) − KL(q(θ) || p(θ)),  divided by N

as the official `make_gradfun` (mattjj/svae svae/svae.py). Networks: 2 hidden tanh layers
plus a linear residual path (official `resnet`-style MLPs).
"""
import autograd.numpy as np
from autograd import value_and_grad
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
    one component: svae/ari = 0 — tests/svae/test_pinwheel.py.) Parameterisation differs from
    the official `gaussian_info`/`gaussian_mean` heads: the official recognition net emits h
    linearly and J = softplus(·), its decoder σ² = softplus(·); here both emit (mean, log σ²)."""
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
    if not (N > 0 and B > 0):
        raise ValueError(f"N, B: expected positive data-set and batch sizes, got {N}, {B}")
    f_eta, unflat = flatten(global_eta)
    return unflat((flatten(prior)[0] + (N / B) * flatten(stats)[0] - f_eta) / N)


OPTIMIZERS = ("sgd", "adam")


def train(rng, X, K=15, D=2, n_iter=1000, batch=50, step=1e-3, natgrad_scale=1e4,
          hidden=(40, 40), callback=None, every=50, optimizer="sgd", mass=0.9):
    """[SVAE Sec. 4.2] SVI on (q(θ), networks). Returns (global_eta, prior, nets, history of the
    minibatch bound). Random draws, in order: `gmm.init_global`, the two `init_net`s, then per
    iteration a batch (`rng.choice(N, batch, replace=False)`) and its noise (batch, D).

    optimizer="sgd" (default, the official `experiments/gmm_svae_synth.py`): autograd's SGD with
    momentum (`autograd.misc.optimizers.sgd`, mass 0.9, step 1e-3) on the whole tuple
    (q(θ), nets) (official order: (q(θ), decoder, recognition)), the "gradient" of q(θ) being
    −natgrad_scale·∇̃ as the official
    `make_gradfun` returns it:  v ← mass·v − (1 − mass)·g,  x ← x + step·v. So q(θ) moves by a
    running average of natural gradients (effective step step·natgrad_scale/N per unit of ∇̃·N).
    optimizer="adam": Adam on the networks (step·3) and momentum-free natural-gradient steps
    η ← η + step·natgrad_scale·∇̃ on q(θ) (a convex combination of η and its VB target)."""
    from autograd.misc.optimizers import sgd
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer: expected one of {OPTIMIZERS}, got {optimizer!r}")
    X = np.asarray(X)
    if X.ndim != 2 or not np.all(np.isfinite(X)):
        raise ValueError(f"X: expected a finite (N, P) array, got shape {X.shape}")
    if int(K) != K or K < 1 or int(D) != D or D < 1:
        raise ValueError(f"K, D: expected integers >= 1, got {K}, {D}")
    if not (0 < step and 0 < natgrad_scale and n_iter >= 0):
        raise ValueError(f"step, natgrad_scale, n_iter: expected > 0, > 0, >= 0; got {step}, {natgrad_scale}, {n_iter}")
    N, P = X.shape
    if not 1 <= batch <= N:
        raise ValueError(f"batch: must be in [1, N = {N}], got {batch}")
    prior, global_eta = gmm.init_global(rng, K, D)
    nets = (init_net(rng, P, 2 * D, hidden), init_net(rng, D, 2 * P, hidden))
    rho = step * natgrad_scale  # times ng (already / N): the official effective step
    if rho / N > 1:
        raise ValueError(f"step, natgrad_scale: step·natgrad_scale/N = {rho / N:.3g} > 1 overshoots the VB update")
    saved = {}

    def bound_of_nets(nets_, ge, xb, eps):
        bound, saved["stats"] = surrogate(ge, prior, nets_, xb, eps, N)  # stats carry no tape
        return bound
    vgfun = value_and_grad(bound_of_nets)
    hist = []

    def gradfun(params, it):
        """The official make_gradfun: (−natgrad_scale·∇̃, −∇ nets) of the bound per datapoint."""
        ge, nets_ = params
        idx = rng.choice(N, batch, replace=False)
        xb, eps = X[idx], rng.standard_normal((batch, D))
        bound, g_nets = vgfun(nets_, ge, xb, eps)
        if not np.isfinite(bound):
            raise FloatingPointError(f"train: the bound became {float(bound)} at iteration {it}")
        hist.append(float(bound))
        ng = natural_gradient(ge, prior, saved["stats"], N, batch)
        return (tree_scale(ng, -natgrad_scale), tree_scale(g_nets, -1.0))

    def cb(params, it, g):
        if callback is not None and it % every == 0:
            callback(it, params[0], params[1], hist[-1])

    if optimizer == "sgd":
        global_eta, nets = sgd(gradfun, (global_eta, nets), callback=cb, num_iters=n_iter,
                               step_size=step, mass=mass)
        return global_eta, prior, nets, hist
    flat, unflat = flatten(nets)
    m, v = np.zeros_like(flat), np.zeros_like(flat)
    for it in range(n_iter):
        g_ng, g_nets = gradfun((global_eta, unflat(flat)), it)
        cb((global_eta, unflat(flat)), it, None)
        g = flatten(g_nets)[0]
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g ** 2
        flat = flat - step * 3 * (m / (1 - 0.9 ** (it + 1))) / (np.sqrt(v / (1 - 0.999 ** (it + 1))) + 1e-8)
        ge_flat, ge_unflat = flatten(global_eta)
        global_eta = ge_unflat(ge_flat - step * flatten(g_ng)[0])
    return global_eta, prior, unflat(flat), hist


def tree_scale(tree, c):
    """c × every array of a nested tuple/list/dict tree (no flatten: its unflatten is a backward pass)."""
    if isinstance(tree, dict):
        return {k: tree_scale(v, c) for k, v in tree.items()}
    if isinstance(tree, (tuple, list)):
        return type(tree)(tree_scale(v, c) for v in tree)
    return c * tree
