"""The plain-VAE baseline of the SVAE paper's comparison: the same recognition and decoder
networks (`objective.init_net`, `recognize`, `decode_loglik`), the prior N(0, I) on z instead
of the GMM, no local optimisation: q(z | x) is the recognition potential itself,

    L = (1/|B|) Σ_{n∈B} (E_q log p(x_n | z_n) − KL(q(z_n | x_n) || N(0, I)))   per datapoint,

the KL in closed form (`expfam.gaussian.kl`, information form) and one reparameterised sample
(`objective.sample_z`), trained with the same optimiser as `objective.train`."""
import autograd.numpy as np
from autograd import value_and_grad

from ..expfam import gaussian
from .objective import OPTIMIZERS, decode_loglik, init_net, recognize, sample_z, tree_scale


def vae_bound(nets, x, eps):
    """The minibatch ELBO per datapoint; nets = (recognition, decoder), x (B, P), eps (B, D)."""
    eta_q = recognize(nets[0], x)                       # (J (B, D, D), h (B, D))
    B, D = np.shape(eta_q[1])
    prior = (np.tile(np.eye(D), (B, 1, 1)), np.zeros((B, D)))
    z = sample_z(eta_q, eps)
    return (decode_loglik(nets[1], z, x) - gaussian.kl(eta_q, prior)) / B


def train_vae(rng, X, D=2, n_iter=1000, batch=50, step=1e-3, hidden=(40, 40), optimizer="sgd",
              mass=0.9):
    """Returns (nets, history of the minibatch bound). optimizer "sgd": autograd's SGD with
    momentum (mass, step) as the SVAE's default; "adam": autograd's Adam with step·3 (the
    SVAE's Adam option). Draws: the two `init_net`s, then per iteration a batch and its noise."""
    from autograd.misc.optimizers import adam, sgd
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer: expected one of {OPTIMIZERS}, got {optimizer!r}")
    N, P = X.shape
    if batch > N:
        raise ValueError(f"batch: must be <= N = {N}, got {batch}")
    nets = (init_net(rng, P, 2 * D, hidden), init_net(rng, D, 2 * P, hidden))
    hist = []
    vg = value_and_grad(vae_bound)

    def gradfun(params, it):
        idx = rng.choice(N, batch, replace=False)
        xb, eps = X[idx], rng.standard_normal((batch, D))
        bound, g = vg(params, xb, eps)
        hist.append(float(bound))
        return tree_scale(g, -1.0)   # the optimisers minimise

    if optimizer == "sgd":
        nets = sgd(gradfun, nets, num_iters=n_iter, step_size=step, mass=mass)
    else:
        nets = adam(gradfun, nets, num_iters=n_iter, step_size=3 * step)
    return nets, hist
