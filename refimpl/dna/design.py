"""Design: the paper's three approaches (Killoran et al. 2017, Sec. 2.2–2.3), each scored
on the argmax (one-hot) re-encoded sequence by an oracle, never by the predictor:

* `gan_samples` — the GAN alone (baseline): argmax of G(z), z ~ N(0, I);
* `joint` — optimise the latent code: max_z f(G(z)) - prior · ½||z||², Adam lr 0.1,
  from the best of a pool of random codes (restarts);
* `deep_dream` — activation maximisation on a softmax-relaxed sequence:
  max_θ f(softmax(θ)), Adam lr 0.1.
"""
import autograd.numpy as np
from autograd import grad

from .layers import softmax
from .predictor import predict
from .wgan import LATENT, Adam, generate

__all__ = ["one_hot_argmax", "gan_samples", "joint", "deep_dream"]


def one_hot_argmax(P):
    """``P: (N, L, V)`` distributions -> one-hot of the argmax (the re-encoded sequence)."""
    return np.eye(P.shape[2])[np.argmax(P, axis=2)]


def gan_samples(rng, gparams, n):
    return one_hot_argmax(generate(gparams, rng.standard_normal((n, LATENT))))


def _trajectory(step, pred, X, score):
    return (step, float(np.mean(pred)), float(np.mean(score(X))) if score else float("nan"))


def joint(rng, gparams, pparams, n, steps=200, lr=0.1, prior=0.0, pool=10, score=None, every=10):
    """[DNA Sec. 2.2] Returns (one-hot designs (n, L, V), trajectory [(step, mean predictor
    score of the relaxed G(z), mean oracle score of the argmax)]). ``pool``: start from the
    best n of ``pool * n`` random codes (by the predictor on their argmax sequences)."""
    Z = rng.standard_normal((pool * n, LATENT))
    start = np.argsort(-predict(pparams, one_hot_argmax(generate(gparams, Z))))[:n]
    z = Z[start]

    def objective(z):
        return -np.sum(predict(pparams, generate(gparams, z))) + prior * 0.5 * np.sum(z ** 2)

    g, opt, traj = grad(objective), Adam(z, lr=lr, b1=0.9, b2=0.999), []
    for t in range(steps + 1):
        if t % every == 0 or t == steps:
            P = generate(gparams, opt.params)
            traj.append(_trajectory(t, predict(pparams, P), one_hot_argmax(P), score))
        if t < steps:
            opt.step(g(opt.params))
    return one_hot_argmax(generate(gparams, opt.params)), traj


def deep_dream(rng, pparams, n, L, V=4, steps=200, lr=0.1, score=None, every=10):
    """[DNA Sec. 2.3] Returns (one-hot designs, trajectory) as `joint`."""
    theta = 0.01 * rng.standard_normal((n, L, V))

    def objective(th):
        return -np.sum(predict(pparams, softmax(th, axis=2)))

    g, opt, traj = grad(objective), Adam(theta, lr=lr, b1=0.9, b2=0.999), []
    for t in range(steps + 1):
        if t % every == 0 or t == steps:
            P = softmax(opt.params, axis=2)
            traj.append(_trajectory(t, predict(pparams, P), one_hot_argmax(P), score))
        if t < steps:
            opt.step(g(opt.params))
    return one_hot_argmax(softmax(opt.params, axis=2)), traj
