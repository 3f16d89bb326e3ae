"""WGAN-GP on one-hot DNA as the official code (Killoran et al. 2017, Sec. 2.1; Gulrajani et
al. 2017): generator z (100) -> linear -> (L, dim) -> 5 residual blocks -> 1x1 conv ->
softmax over nucleotides; critic: 1x1 conv -> 5 residual blocks -> linear -> score.

A residual block is ``x + 0.3 * conv(relu(conv(relu(x))))`` with width-5 convolutions.
Loss (Gulrajani et al. eq. 3): critic ``E D(G(z)) - E D(x) + λ E (||∇ D(x̂)|| - 1)²``,
x̂ = εx + (1-ε)G(z), ε ~ U[0, 1] per sequence, λ = 10; generator ``-E D(G(z))``.
Adam 1e-4, β = (0.5, 0.9), 5 critic steps per generator step.

The functions here are the definition (autograd, second derivatives for the penalty). The
training loop takes its gradients from `wgan_fused`, the same step written out by hand and
tested against these to 1e-10 (``fused=False`` trains through autograd instead).
"""
import autograd.numpy as np
from autograd import elementwise_grad, value_and_grad
from autograd.misc import flatten

from . import wgan_fused
from .layers import conv1d, init_conv, init_linear, linear, relu, softmax

__all__ = ["init_generator", "init_critic", "generate", "critic", "gradient_penalty",
           "critic_loss", "generator_loss", "Adam", "wgan_iteration", "train_wgan", "LATENT", "RES_SCALE"]

LATENT, RES_SCALE, N_RES, WIDTH, LAMBDA = 100, 0.3, 5, 5, 10.0


def _init_blocks(rng, dim):
    return [[init_conv(rng, WIDTH, dim, dim), init_conv(rng, WIDTH, dim, dim)] for _ in range(N_RES)]


def _blocks(blocks, h):
    for c1, c2 in blocks:
        r = conv1d(relu(h), c1["W"], c1["b"])
        r = conv1d(relu(r), c2["W"], c2["b"])
        h = h + RES_SCALE * r
    return h


def init_generator(rng, L, dim=32, V=4):
    return {"fc": init_linear(rng, LATENT, L * dim), "res": _init_blocks(rng, dim),
            "out": init_conv(rng, 1, dim, V)}


def init_critic(rng, L, dim=32, V=4):
    return {"inp": init_conv(rng, 1, V, dim), "res": _init_blocks(rng, dim),
            "fc": init_linear(rng, L * dim, 1)}


def generate(params, z, logits=False):
    """[DNA Sec. 2.1] ``z: (B, 100)`` -> distributions over nucleotides ``(B, L, V)`` (rows sum to 1)."""
    dim = params["out"]["W"].shape[1]
    h = linear(z, params["fc"]["W"], params["fc"]["b"])               # (B, L*dim)
    h = np.reshape(h, (z.shape[0], -1, dim))                           # (B, L, dim)
    h = _blocks(params["res"], h)
    out = conv1d(h, params["out"]["W"], params["out"]["b"])           # (B, L, V)
    return out if logits else softmax(out, axis=2)


def critic(params, x):
    """[DNA Sec. 2.1] ``x: (B, L, V)`` -> ``(B,)`` critic scores."""
    h = conv1d(x, params["inp"]["W"], params["inp"]["b"])             # (B, L, dim)
    h = _blocks(params["res"], h)
    h = np.reshape(h, (x.shape[0], -1))                                # (B, L*dim)
    return linear(h, params["fc"]["W"], params["fc"]["b"])[:, 0]


def gradient_penalty(cparams, x_hat, lam=LAMBDA):
    """λ · mean_b (||∂D(x̂_b)/∂x̂_b||_2 - 1)²; the input gradient by autograd (differentiable
    again with respect to the critic's parameters)."""
    g = elementwise_grad(lambda x: critic(cparams, x))(x_hat)          # (B, L, V)
    norm = np.sqrt(np.sum(g ** 2, axis=(1, 2)) + 1e-20)
    return lam * np.mean((norm - 1.0) ** 2)


def critic_loss(cparams, gparams, x_real, z, eps, lam=LAMBDA):
    """Gulrajani et al. eq. 3 on one batch; ``eps: (B,)`` the interpolation weights."""
    x_fake = generate(gparams, z)
    x_hat = eps[:, None, None] * x_real + (1.0 - eps[:, None, None]) * x_fake
    return (np.mean(critic(cparams, x_fake)) - np.mean(critic(cparams, x_real))
            + gradient_penalty(cparams, x_hat, lam))


def generator_loss(gparams, cparams, z):
    return -np.mean(critic(cparams, generate(gparams, z)))


def _leaves(tree):
    """The arrays of a container in `autograd.misc.flatten`'s order: dict keys sorted, lists
    and tuples in order."""
    if isinstance(tree, dict):
        return [a for k in sorted(tree) for a in _leaves(tree[k])]
    if isinstance(tree, (list, tuple)):
        return [a for v in tree for a in _leaves(v)]
    return [tree]


def _tree_views(flat, tree):
    """``tree``'s arrays as views into ``flat`` (in `_leaves` order): `flatten`'s unflatten
    without its backward pass (~2 ms a call, measured)."""
    out, i = [], 0
    for a in _leaves(tree):
        out.append(flat[i:i + np.size(a)].reshape(np.shape(a)))
        i += np.size(a)
    it = iter(out)

    def build(t):
        if isinstance(t, dict):
            return {k: build(t[k]) for k in sorted(t)}
        if isinstance(t, (list, tuple)):
            return type(t)(build(v) for v in t)
        return next(it)
    return build(tree)


class Adam:
    """Adam on a parameter container (flattened as `autograd.misc.flatten` does). A class
    because a GAN interleaves two optimisers, which `autograd.misc.optimizers.adam`'s
    closed loop cannot. ``params`` are read-only views of the current flat vector."""

    def __init__(self, params, lr=1e-4, b1=0.5, b2=0.9, eps=1e-8):
        self.flat, self._template = flatten(params)[0], params
        self.flat.flags.writeable = False
        self.m, self.v = np.zeros_like(self.flat), np.zeros_like(self.flat)
        self.lr, self.b1, self.b2, self.eps, self.t = lr, b1, b2, eps, 0

    @property
    def params(self):
        return _tree_views(self.flat, self._template)

    def step(self, g):
        g = np.concatenate([np.ravel(a) for a in _leaves(g)])
        if g.shape != self.flat.shape:
            raise ValueError(f"g: expected {self.flat.size} numbers in the parameters' structure, got {g.size}")
        self.t += 1
        self.m = self.b1 * self.m + (1 - self.b1) * g
        self.v = self.b2 * self.v + (1 - self.b2) * g ** 2
        mhat, vhat = self.m / (1 - self.b1 ** self.t), self.v / (1 - self.b2 ** self.t)
        self.flat = self.flat - self.lr * mhat / (np.sqrt(vhat) + self.eps)
        self.flat.flags.writeable = False
        return self.params


_gc = value_and_grad(critic_loss, 0)
_gg = value_and_grad(generator_loss, 0)


def _gc_fused(cparams, gparams, x_real, z, eps, lam, ws):
    x_fake = wgan_fused.generate_plain(gparams, z, ws)
    return wgan_fused.critic_value_and_grad(cparams, x_real, x_fake, eps, lam, ws)


def wgan_iteration(optD, optG, x_reals, zs, epss, z_gen, lam=LAMBDA, fused=True, ws=None):
    """One WGAN-GP iteration: a critic step per batch in ``x_reals`` (n_critic of them, with
    codes ``zs`` and interpolation weights ``epss``), then one generator step on ``z_gen``.
    Returns (critic losses before each critic step, generator loss before its step).
    ``fused``: gradients by the hand-written twin `wgan_fused` (default, ~3x faster), else
    by autograd through `critic_loss` / `generator_loss` (the definition); ``ws``: the
    fused path's `wgan_fused.Workspace`, to reuse across iterations (None: a fresh one)."""
    ws = wgan_fused.Workspace() if ws is None else ws
    d_losses = []
    for xb, z, eps in zip(x_reals, zs, epss):
        if fused:
            loss, g = _gc_fused(optD.params, optG.params, xb, z, eps, lam, ws)
        else:
            loss, g = _gc(optD.params, optG.params, xb, z, eps, lam)
        optD.step(g)
        d_losses.append(float(loss))
    if fused:
        loss, g = wgan_fused.generator_value_and_grad(optG.params, optD.params, z_gen, ws)
    else:
        loss, g = _gg(optG.params, optD.params, z_gen)
    optG.step(g)
    return d_losses, float(loss)


def train_wgan(rng, X, iters, dim=32, batch=64, n_critic=5, lr=1e-4, lam=LAMBDA,
               callback=None, every=100, fused=True):
    """Train on one-hot ``X: (N, L, V)`` for ``iters`` generator steps; returns generator
    params, critic params and a list of (iter, critic loss, generator loss).
    ``callback(it, gparams)`` runs every ``every`` iterations. ``fused``: as `wgan_iteration`."""
    if X.ndim != 3 or X.shape[0] < 1:
        raise ValueError(f"X: expected one-hot (N, L, V) with N >= 1, got shape {X.shape}")
    for name, v in (("iters", iters), ("dim", dim), ("batch", batch), ("n_critic", n_critic), ("every", every)):
        if int(v) != v or v < 1:
            raise ValueError(f"{name}: expected a positive integer, got {v!r}")
    N, L, V = X.shape
    optG = Adam(init_generator(rng, L, dim, V), lr)
    optD = Adam(init_critic(rng, L, dim, V), lr)
    history, ws = [], wgan_fused.Workspace()
    for it in range(iters):
        xs = [X[rng.integers(0, N, batch)] for _ in range(n_critic)]
        zs = [rng.standard_normal((batch, LATENT)) for _ in range(n_critic)]
        epss = [rng.uniform(size=batch) for _ in range(n_critic)]
        d_losses, g_loss = wgan_iteration(optD, optG, xs, zs, epss, rng.standard_normal((batch, LATENT)), lam,
                                           fused, ws)
        if (it + 1) % every == 0 or it + 1 == iters:
            history.append((it + 1, d_losses[-1], g_loss))
            if callback is not None:
                callback(it + 1, optG.params)
    return optG.params, optD.params, history
