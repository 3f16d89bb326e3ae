"""sce-transferability: transfer rate vs input-gradient cosine over ordered model pairs, and a
pair trained without / with the gradient-alignment penalty [SCE Sec. 4].

For a pair (src -> dst): PGD L∞ crafted on src; rate = fraction of the examples that fool src
which also fool dst (on digits both classify correctly); cosine = mean over the same clean
digits of cos(grad_x CE_src, grad_x CE_dst).
"""
import numpy as onp
from scipy import stats

from .. import attacks
from . import models, train


def zoo(rng, X, y, quick, lam=2.0):
    """{name: model}: independently trained MLPs (several seeds and widths), optionally a conv net,
    and 'penalised', trained from the same initialisation as 'mlp128-b' but with the alignment
    penalty against 'mlp128-a'."""
    ep = 3 if quick else 8
    specs = [("mlp128-a", [784, 128, 10]), ("mlp128-b", [784, 128, 10]), ("mlp64", [784, 64, 10]),
             ("mlp256-64", [784, 256, 64, 10])] + ([] if quick else [("mlp128-c", [784, 128, 10])])
    out, inits = {}, {}
    for name, sizes in specs:
        inits[name] = models.init_mlp_classifier(rng, sizes)
        out[name] = train.fit(rng, inits[name], X, y, epochs=ep)
    if not quick:
        out["conv"] = train.fit(rng, models.init_conv_classifier(rng), X, y, epochs=3)
    out["penalised"] = train.fit(rng, inits["mlp128-b"], X, y, epochs=ep, ref=out["mlp128-a"], lam=lam)
    return out


def gradient_cosine(m1, m2, x, y):
    g1 = train.input_gradients(m1["params"], m1, x, y)
    g2 = train.input_gradients(m2["params"], m2, x, y)
    return float(onp.mean(train.cosine_rows(g1, g2)))


def pairs(zoo_, X, y, eps, steps, rng):
    """List of (src, dst, transfer rate, n fooling src, gradient cosine) over ordered pairs,
    self-pairs included (rate 1, cosine 1 by construction)."""
    adv = {}
    for name, m in zoo_.items():
        g = attacks.cross_entropy_grad(lambda xx, m=m: models.logits(m, xx))
        adv[name] = attacks.pgd(g, X, y, eps, "linf", steps, rng=rng)
    rows = []
    for s, ms in zoo_.items():
        for d, md in zoo_.items():
            rate, n = attacks.transfer_rate(X, adv[s], y, lambda xx: models.predict(ms, xx),
                                            lambda xx: models.predict(md, xx))
            rows.append((s, d, rate, n, gradient_cosine(ms, md, X, y)))
    return rows


def correlation(rows):
    """Pearson and Spearman correlation of rate vs cosine over distinct ordered pairs."""
    r = [(c, t) for s, d, t, n, c in rows if s != d and n > 0]
    cos, rate = onp.array(r).T
    return float(stats.pearsonr(cos, rate)[0]), float(stats.spearmanr(cos, rate)[0]), len(r)


def plot(path, rows):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(4.8, 3.6))
    for s, d, t, n, c in rows:
        if s == d or n == 0:
            continue
        pen = "penalised" in (s, d)
        ax.plot(c, t, "s" if pen else "o", color="C3" if pen else "C0", alpha=0.8)
    ax.plot([], [], "o", color="C0", label="independently trained pair")
    ax.plot([], [], "s", color="C3", label="pair with the alignment-penalised model")
    ax.set_xlabel("mean cosine of input gradients")
    ax.set_ylabel("transfer rate (PGD L∞)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
