"""FGSM, PGD (L∞ / L2, random start), EOT and transfer attacks.

An attack sees the model only through `loss_grad(x, y) -> (B, D)`, the gradient with respect to
the inputs of the summed per-example loss, so one attack serves a plain classifier, a stochastic
defence member, or an EOT average. Every attack returns x_adv with ||x_adv - x|| <= eps in its
norm (per example) and lo <= x_adv <= hi.

References
----------
I. Goodfellow, J. Shlens, C. Szegedy. Explaining and harnessing adversarial examples. ICLR 2015
    (FGSM: x + eps sign(grad)); the L2 "fast gradient method" is its L2 analogue.
A. Madry et al. Towards deep learning models resistant to adversarial attacks. ICLR 2018
    (PGD with a uniform random start, step 2.5 eps / steps).
A. Athalye, N. Carlini, D. Wagner. Obfuscated gradients give a false sense of security. ICML 2018
    (EOT: attack a randomised defence with the gradient averaged over its random draws).
"""
import autograd.numpy as anp
import numpy as np
from autograd import grad
from autograd.scipy.special import logsumexp

NORMS = ("linf", "l2")
_TINY = 1e-12


def _check(x, eps, norm, lo, hi):
    if norm not in NORMS:
        raise ValueError(f"norm: expected one of {NORMS}, got {norm!r}")
    if not eps >= 0:
        raise ValueError(f"eps: expected a budget >= 0, got {eps!r}")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"x: expected a (batch, features) array, got shape {x.shape}")
    if lo >= hi or x.min() < lo - 1e-12 or x.max() > hi + 1e-12:
        raise ValueError(f"x: expected pixels in [lo, hi] = [{lo}, {hi}], got [{x.min()}, {x.max()}]")
    return x


def cross_entropy_grad(logits_fn):
    """loss_grad(x, y) = d/dx sum_i CE(logits_fn(x)_i, y_i) for logits_fn: (B, D) -> (B, K)."""
    def loss(x, y):
        z = logits_fn(x)                                            # (B, K)
        return anp.sum(logsumexp(z, axis=1) - z[np.arange(len(y)), y])
    g = grad(loss)
    return lambda x, y: g(np.asarray(x, dtype=np.float64), np.asarray(y))


def _unit(g, norm):
    # steepest-ascent direction of unit norm: sign(g) for L∞, g/||g||_2 for L2 (per row)
    if norm == "linf":
        return np.sign(g)
    return g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), _TINY)


def project(x_adv, x, eps, norm, lo=0.0, hi=1.0):
    """Project x_adv onto {||d|| <= eps} around x, then clip to [lo, hi].

    Clipping after the ball projection keeps the budget: x is inside [lo, hi], so clipping only
    moves each coordinate towards x and cannot lengthen d in either norm.
    """
    d = x_adv - x                                                   # (B, D)
    if norm == "linf":
        d = np.clip(d, -eps, eps)
    else:
        n = np.linalg.norm(d, axis=1, keepdims=True)
        d = d * np.minimum(1.0, eps / np.maximum(n, _TINY))
    return np.clip(x + d, lo, hi)


def random_start(rng, x, eps, norm, lo=0.0, hi=1.0):
    """A uniform draw from the eps-ball around x (Madry et al. 2018), clipped to [lo, hi]."""
    B, D = x.shape
    if norm == "linf":
        d = rng.uniform(-eps, eps, size=(B, D))
    else:
        # uniform in the L2 ball: direction uniform on the sphere, radius eps * U^(1/D)
        u = rng.standard_normal((B, D))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        d = u * eps * rng.uniform(size=(B, 1)) ** (1.0 / D)
    return np.clip(x + d, lo, hi)


def fgsm(loss_grad, x, y, eps, norm="linf", lo=0.0, hi=1.0):
    """One step of size eps along the steepest-ascent direction (FGSM for L∞, FGM for L2)."""
    x = _check(x, eps, norm, lo, hi)
    return project(x + eps * _unit(loss_grad(x, y), norm), x, eps, norm, lo, hi)


def pgd(loss_grad, x, y, eps, norm="linf", steps=40, step_size=None, rng=None, lo=0.0, hi=1.0):
    """Projected gradient ascent on the loss inside the eps-ball (Madry et al. 2018).

    step_size defaults to 2.5 eps / steps; rng=None means no random start (then one step with
    step_size = eps is exactly `fgsm`).
    """
    x = _check(x, eps, norm, lo, hi)
    if int(steps) < 1:
        raise ValueError(f"steps: expected >= 1, got {steps!r}")
    alpha = 2.5 * eps / steps if step_size is None else float(step_size)
    xa = x.copy() if rng is None else random_start(rng, x, eps, norm, lo, hi)
    for _ in range(int(steps)):
        xa = project(xa + alpha * _unit(loss_grad(xa, y), norm), x, eps, norm, lo, hi)
    return xa


def eot_grad(member_grad, x, y, draws):
    """EOT gradient for fixed draws: (1/K) sum_k member_grad(x, y, draw_k) (Athalye et al. 2018)."""
    draws = list(draws)
    if not draws:
        raise ValueError("draws: expected at least one draw of the defence's randomness, got none")
    g = member_grad(x, y, draws[0])
    for d in draws[1:]:
        g = g + member_grad(x, y, d)
    return g / len(draws)


def eot(member_grad, sample_draw, n_draws, rng):
    """A loss_grad(x, y) that averages member_grad over n_draws fresh draws per call
    (`sample_draw(rng, batch_size)` -> one draw); plug it into `pgd` for an adaptive attack."""
    if int(n_draws) < 1:
        raise ValueError(f"n_draws: expected >= 1, got {n_draws!r}")
    return lambda x, y: eot_grad(member_grad, x, y, [sample_draw(rng, len(x)) for _ in range(int(n_draws))])


def eot_ensemble(member_logits, sample_draw, n_draws, rng):
    """loss_grad of the ensemble's own cross-entropy, -sum_i log (1/K) sum_k softmax(member_k(x_i))[y_i],
    over K = n_draws fresh draws per call; `member_logits(x, draw)` -> (B, n_classes).

    Its gradient is the members' cross-entropy gradients weighted by each member's probability of
    the true class, so members that are already fooled no longer dominate (with a single draw it
    is that member's cross-entropy gradient). This is the EOT objective matched to a defence that
    averages softmax outputs (Athalye et al. 2018 optimise the expectation of the attacker's
    objective; here the objective is the averaged prediction).
    """
    if int(n_draws) < 1:
        raise ValueError(f"n_draws: expected >= 1, got {n_draws!r}")

    def loss(x, y, draws):
        lp = [member_logits(x, d) for d in draws]
        lp_y = anp.stack([z[np.arange(len(y)), y] - logsumexp(z, axis=1) for z in lp])   # (K, B)
        return -anp.sum(logsumexp(lp_y, axis=0) - np.log(len(draws)))
    g = grad(loss)
    return lambda x, y: g(np.asarray(x, dtype=np.float64), np.asarray(y),
                          [sample_draw(rng, len(x)) for _ in range(int(n_draws))])


def transfer_rate(x, x_adv, y, predict_src, predict_dst):
    """Fraction of the adversarial examples that fool the source model which also fool the target.

    Only inputs both models classify correctly when clean count; returns (rate, n_fooling_src).
    A model's transfer rate to itself is 1 whenever the attack fools it at all.
    """
    ok = (predict_src(x) == y) & (predict_dst(x) == y)
    fool_src = ok & (predict_src(x_adv) != y)
    n = int(fool_src.sum())
    if n == 0:
        return float("nan"), 0
    return float(np.mean(predict_dst(x_adv[fool_src]) != y[fool_src])), n
