"""SVAE experiments: `svae-gmm-pinwheel` (the paper's pinwheel figure, GMM SVAE vs a plain
VB GMM on the data). `svae-lds-dots` and `svae-natgrad` are not built yet."""
import numpy as np

from ..experiments import experiment
from ..expfam import dirichlet, niw
from ..plotting import plt, savefig
from . import gmm
from .data import adjusted_rand_index, make_pinwheel
from .objective import recognize, surrogate, train

PAPER = "Structured VAEs (Johnson et al. 2016)"


def vb_gmm(rng, X, K, n_iter=100):
    """Classic VB GMM on the data: δ-like node potentials (precision 1e8) on X and natural-
    gradient steps of size 1 (tests/svae: equals Bishop's VB update)."""
    N, D = X.shape
    prior, q = gmm.init_global(rng, K, D, mean_scale=float(X.std()))
    psi = (np.tile(1e8 * np.eye(D), (N, 1, 1)), 1e8 * X)
    for _ in range(n_iter):
        *_, r, _, stats = gmm.local_meanfield(q, psi)
        q = (prior[0] + stats[0], tuple(a + b for a, b in zip(prior[1], stats[1])))
    *_, r, _, _ = gmm.local_meanfield(q, psi)
    return q, r


def _used(q):
    w = q[0] + 1.0
    return w / w.sum()


def _ellipse(ax, mean, cov, color):
    vals, vecs = np.linalg.eigh(cov)
    t = np.linspace(0, 2 * np.pi, 60)
    pts = mean + (vecs @ (2 * np.sqrt(np.maximum(vals, 0))[:, None] * np.stack([np.cos(t), np.sin(t)]))).T
    ax.plot(pts[:, 0], pts[:, 1], color=color, lw=1)


@experiment("svae-gmm-pinwheel", paper=PAPER, artefact="Fig. 6 (GMM SVAE on the pinwheel data)",
            quick_seconds=12, full_minutes=10)
def gmm_pinwheel(cfg):
    K = 10 if cfg.quick else 15
    n_iter = 400 if cfg.quick else 6000
    X, lab = make_pinwheel(cfg.rng(0))
    Xte, _ = make_pinwheel(cfg.rng(1))
    pb = cfg.progress(n_iter // 100 + 1, desc="svae-gmm-pinwheel")
    cb = lambda it, ge, nets, b: pb.update(it // 100, bound=b)
    q, prior, nets, hist = train(cfg.rng(2), X, K=K, n_iter=n_iter, batch=50, step=1e-3,
                                 natgrad_scale=1e4, callback=cb, every=100)
    rng = cfg.rng(3)
    held = np.mean([surrogate(q, prior, nets, Xte, rng.standard_normal((len(Xte), 2)), len(Xte))[0]
                    for _ in range(5)])
    eta_z, _, r, _, _ = gmm.local_meanfield(q, recognize(nets[0], X))
    w = _used(q)
    metrics = {"svae/heldout_bound": float(held), "svae/components_used": int(np.sum(w > 0.05)),
               "svae/ari": adjusted_rand_index(lab, np.argmax(r, 1))}
    qg, rg = vb_gmm(cfg.rng(4), X, K)
    wg = _used(qg)
    metrics.update({"gmm/components_used": int(np.sum(wg > 0.05)),
                    "gmm/ari": adjusted_rand_index(lab, np.argmax(rg, 1))})

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    zmean = np.linalg.solve(eta_z[0], eta_z[1][..., None])[..., 0]
    axes[0].scatter(zmean[:, 0], zmean[:, 1], c=lab, s=4, cmap="tab10")
    S, m, kap, nu = niw.natural_to_standard(q[1])
    for k in range(K):
        if w[k] > 0.05:
            _ellipse(axes[0], m[k], S[k] / (nu[k] - 3), "k")
    axes[0].set_title(f"SVAE latent space: E_q z (colour = arm), components with weight > 0.05")
    axes[1].plot(hist, lw=0.5)
    axes[1].set_xlabel("iteration")
    axes[1].set_ylabel("minibatch surrogate bound / N")
    axes[1].set_title("SVAE training")
    axes[2].scatter(X[:, 0], X[:, 1], c=lab, s=4, cmap="tab10")
    S, m, kap, nu = niw.natural_to_standard(qg[1])
    for k in range(K):
        if wg[k] > 0.05:
            _ellipse(axes[2], m[k], S[k] / (nu[k] - 3), "k")
    axes[2].set_title("plain VB GMM on the data (2σ ellipses)")
    savefig(fig, cfg.out / "svae_gmm_pinwheel.png")
    notes = (f"K = {K}, {n_iter} iterations, batch 50, nets 2×40 tanh + linear residual initialised as the "
             "official init_gresnet (norm-preserving linear path, MLP weights N(0, 1e-4)), Adam on the "
             "nets (official: SGD with momentum), natural-gradient steps step·natgrad_scale = 10 on q(θ). "
             "The earlier latent collapse (svae/ari = 0, 1 component) came from the network "
             "initialisation (a 0.1-scaled random linear path and a LeCun-scaled MLP shrank the latents "
             "into one blob); tests/svae/test_pinwheel.py. Still doubtful: with other training seeds "
             "(K = 10, same data) 300 iterations give ARI 0.82, 0.27, 0.44, 0.91 (seeds 3-6) and 1000 "
             "iterations collapse seeds 4 and 5 again (ARI 0, 1-2 components): a second, slower collapse "
             "remains: with the official SGD with momentum on the nets instead of Adam those seeds reach "
             "ARI 0.88 and 0.64 at 1000 iterations (the switch is not made yet). The VAE baseline is "
             "not built.")
    return {"metrics": metrics, "figures": ["svae_gmm_pinwheel.png"], "notes": notes}
from . import exp_lds  # noqa: E402,F401  (registers svae-lds-dots)
