"""`svae-lds-dots`: the paper's dot-video figure — LDS SVAE reconstruction up to a cut point and
prediction of the following frames from the posterior at the cut, beside a per-frame VAE
without dynamics. Imported by `refimpl/svae/experiments.py` so the registry finds it."""
import autograd.numpy as np
from autograd import value_and_grad
from autograd.misc import flatten

from ..experiments import experiment
from ..plotting import plt, savefig
from . import lds, lds_numba, lds_svae
from .dots import make_dot_data

PAPER = "Structured VAEs (Johnson et al. 2016)"


# --- the baseline: a VAE on single frames (no dynamics) ------------------------------------

def vae_elbo(nets, y, eps):
    """Per-frame VAE ELBO summed over frames y (N, P): the same networks as the SVAE, node
    potentials read as q(z) = N(h/J, 1/J), prior N(0, I), one reparameterised sample."""
    J, h = lds_svae.recognize(nets[0], y)
    prec = np.diagonal(J, 0, -1, -2)
    mean, var = h / prec, 1.0 / prec
    z = mean + np.sqrt(var) * eps
    kl = 0.5 * np.sum(var + mean ** 2 - 1.0 - np.log(var))
    return lds_svae.decode_loglik(nets[1], z, y) - kl


def train_vae(rng, frames, D, n_iter, batch=50, step=1e-3, hidden=(50,)):
    N, P = frames.shape
    flat, unflat = flatten(lds_svae.init_nets(rng, P, D, hidden))
    vgrad = value_and_grad(lambda f, y, e: -vae_elbo(unflat(f), y, e) / len(y))
    m, v = np.zeros_like(flat), np.zeros_like(flat)
    hist = []
    for it in range(n_iter):
        idx = rng.choice(N, batch, replace=False)
        val, g = vgrad(flat, frames[idx], rng.standard_normal((batch, D)))
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g ** 2
        flat = flat - step * (m / (1 - 0.9 ** (it + 1))) / (np.sqrt(v / (1 - 0.999 ** (it + 1))) + 1e-8)
        hist.append(-float(val))
    return unflat(flat), hist


# --- reconstruction and prediction --------------------------------------------------------

def svae_reconstruct_predict(rng, global_eta, nets, y, cut, n_samples=20):
    """Frames (T, P): potentials of frames < cut only (the official `zero_after_prefix`), the
    posterior of the whole window under the expected potentials, decoded and averaged over
    n_samples joint samples (for t ≥ cut: rolling the LDS forward from the posterior at the cut).
    Returns (mean images (T, P), posterior means (T, D))."""
    J, h = lds_svae.recognize(nets[0], y[None])
    keep = (np.arange(len(y)) < cut)[None, :, None]
    J, h = J * keep[..., None], h * keep
    init, pair, _, _ = lds_svae.expected_potentials(global_eta)
    ms = lds_numba.natural_smooth(init, pair, J[0], h[0])[0]
    S = n_samples
    x = lds.natural_sample(init, pair, np.broadcast_to(J, (S,) + J.shape[1:]),
                           np.broadcast_to(h, (S,) + h.shape[1:]), rng.standard_normal((S,) + h.shape[1:]))
    return lds_svae.decode(nets[1], x)[0].mean(0), ms


def vae_reconstruct_predict(nets, y, cut):
    """Per-frame VAE: frames < cut decoded from their posterior means; the 'prediction' for
    t ≥ cut repeats the last observed frame's latent (posterior mean at cut − 1)."""
    J, h = lds_svae.recognize(nets[0], y[:cut])
    z = h / np.diagonal(J, 0, -1, -2)
    z = np.concatenate([z, np.repeat(z[-1:], len(y) - cut, 0)])
    return lds_svae.decode(nets[1], z)[0]


def rmse_per_frame(pred, clean):
    """Mean over frames of the per-frame root-mean-square pixel error."""
    return float(np.mean(np.sqrt(np.mean((pred - clean) ** 2, -1))))


@experiment("svae-lds-dots", paper=PAPER, artefact="Fig. 5 (LDS SVAE on the bouncing-dot video)",
            quick_seconds=15, full_minutes=15)
def lds_dots(cfg):
    q = cfg.quick
    D = 4 if q else 10
    n_frames = 1000 if q else 5000
    seq_len, cut, horizon = (30 if q else 50), 25, (75 if q else 175)
    n_iter = 500 if q else 5000
    batch = 2 if q else 4
    y, _ = make_dot_data(cfg.rng(0), T=n_frames / 10.0, num_steps=n_frames, v=0.75, render_sigma=0.15,
                         noise_sigma=0.1)
    P = y.shape[1]
    seqs = y[: (n_frames // seq_len) * seq_len].reshape(-1, seq_len, P)
    pb = cfg.progress(n_iter // 100 + 1, desc="svae-lds-dots")
    global_eta, prior, nets, hist = lds_svae.train(
        cfg.rng(1), seqs, D, n_iter, batch=batch, step=1e-2 if q else 3e-3, nat_step=0.2 if q else 0.05,
        hidden=(50,), callback=lambda it, ge, n, b: pb.update(it // 100, bound=b), every=100,
        dense=q)  # dense (TD, TD) path: ~6x faster at TD = 120; the O(T) twin at TD = 500 (~150 ms/step)
    vae_nets, vae_hist = train_vae(cfg.rng(2), y, D, n_iter=n_iter, batch=50, step=1e-2 if q else 3e-3)

    # held-out video: same dynamics, another start and noise draw
    y_te, clean_te = make_dot_data(cfg.rng(3), T=(cut + horizon) / 10.0, num_steps=cut + horizon, x0=0.37)
    rec_s, ms = svae_reconstruct_predict(cfg.rng(4), global_eta, nets, y_te, cut)
    rec_v = vae_reconstruct_predict(vae_nets, y_te, cut)
    err = lambda r, sl: rmse_per_frame(r[sl], clean_te[sl])
    before, after = slice(0, cut), slice(cut, None)
    metrics = {"svae/recon_rmse_per_frame": err(rec_s, before), "svae/predict_rmse_per_frame": err(rec_s, after),
               "vae/recon_rmse_per_frame": err(rec_v, before), "vae/predict_rmse_per_frame": err(rec_v, after),
               "blank/predict_rmse_per_frame": err(np.full_like(clean_te, clean_te.mean()), after)}
    A, _ = lds_svae.mniw.expected_standard_params(global_eta[1])
    eig = np.abs(np.linalg.eigvals(A))
    ang = np.abs(np.angle(np.linalg.eigvals(A)))
    metrics["svae/A_max_eig_modulus"] = float(eig.max())
    metrics["svae/A_max_rotation_rad_per_frame"] = float(ang.max())    # the video's: 2π/26.7 = 0.236

    fig, axes = plt.subplots(2, 2, figsize=(13, 7))
    for ax, img, title in [(axes[0, 0], y_te, "held-out video (noisy)"),
                           (axes[0, 1], rec_s, "LDS SVAE: reconstruction | prediction (mean of 20 samples)"),
                           (axes[1, 0], rec_v, "per-frame VAE: reconstruction | last latent repeated")]:
        ax.imshow(img.T, cmap="gray", aspect="auto", vmin=0, vmax=1)
        ax.axvline(cut - 0.5, color="r", lw=2)
        ax.set_title(title)
        ax.set_xlabel("frame")
        ax.set_ylabel("pixel")
    t = np.arange(cut + horizon)
    for r, lab in [(rec_s, "SVAE"), (rec_v, "VAE")]:
        axes[1, 1].plot(t, np.sqrt(np.mean((r - clean_te) ** 2, -1)), label=lab)
    axes[1, 1].axvline(cut - 0.5, color="r", lw=1)
    axes[1, 1].set_xlabel("frame")
    axes[1, 1].set_ylabel("RMSE vs clean frame")
    axes[1, 1].legend()
    fig.tight_layout()
    savefig(fig, cfg.out / "svae_lds_dots.png")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(hist, lw=0.5, label="SVAE minibatch surrogate / frame")
    ax.plot(np.asarray(vae_hist) / 1.0, lw=0.5, label="VAE ELBO / frame")
    ax.set_xlabel("iteration")
    ax.legend()
    savefig(fig, cfg.out / "svae_lds_dots_training.png")

    notes = (f"latent D = {D}, {n_frames} training frames (20 pixels, official generator: v = 0.75, "
             f"render σ 0.15, noise σ 0.1) in sequences of {seq_len}, {n_iter} SVI iterations of {batch} "
             f"sequences; cut at frame {cut}, prediction horizon {horizon} frames of a held-out video "
             "(x0 = 0.37, new noise). RMSE per frame against the clean frames. SVAE prediction: the "
             "posterior with the recognition potentials of frames ≥ cut set to zero (the official "
             "zero_after_prefix), i.e. the LDS rolled forward from the posterior at the cut, images "
             "averaged over 20 joint samples. VAE 'prediction': the last observed frame's latent "
             "repeated. blank/: a constant image at the clean video's mean (a floor any predictor "
             "should beat). Seed dependence of the quick settings (training seeds 0-5, same data, "
             "another held-out draw): predict RMSE 0.228, 0.293, 0.273, 0.283, 0.279, 0.275; only "
             "seed 0 (this run's) learns the video's rotation (0.235 rad/frame); the others settle on "
             "its 2nd or 3rd harmonic (0.47, 0.70 rad/frame), which a frame cannot disambiguate, and "
             "predict little better than the constant image (0.307) - still better than the VAE (0.40). "
             "Latent D = 3 learned no rotation on 6 of 6 seeds. Study (issue #21; quick setting, --seed 0-5, i.e. "
             "data and training streams; numerics/results/svae_dots_seeds.md): the seeds that settle on a "
             "harmonic reach an equal or higher training bound (seeds 1-4: 14.0, 13.8, 13.3, 13.1 per frame vs "
             "13.2 for seed 0) and a lower reconstruction error (0.031-0.043 vs 0.056), so the objective at "
             "D = 4 and 500 iterations does not prefer the true rotation. Official differences tried: its "
             "weight init N(0, 1e-4) (seed 0 then settles on 0.54 rad/frame, bound 11.8); its global step "
             "ratio (the official nat step 1/N_frames per step with 150 000 Adam steps lets the networks lead "
             "and q(θ) follow ~100x slower than here): nat_step 0.005 leaves A without rotation in 500 "
             "iterations (seeds 0, 1: 0.0 rad/frame, predict 0.335, 0.317); nat_step 0.05: seed 0 learns it, seed 1 the 3rd "
             "harmonic, as with 0.2. No fix found within the quick budget. The full settings (D = 10 as the "
             "official, 5000 frames, sequences of 50, 5000 iterations, ~130 ms CPU per step) were run once "
             "(seed 0; numerics/results/full_runs/svae-lds-dots); their seed dependence is not measured.")
    sp, vp, bp = (metrics[k] for k in ("svae/predict_rmse_per_frame", "vae/predict_rmse_per_frame",
                                        "blank/predict_rmse_per_frame"))
    claims = [{"claim": "the LDS SVAE predicts the dot's future frames from the posterior at the cut "
                        "(Fig. 5); a VAE without dynamics cannot",
               "paper_value": "qualitative (figure)",
               "ours": f"predict RMSE/frame SVAE {sp:.3f}, VAE (last latent) {vp:.3f}, constant image {bp:.3f}",
               "reproduced": "yes" if sp < min(vp, bp) else ("partly" if sp < vp else "no")}]
    return {"metrics": metrics, "figures": ["svae_lds_dots.png", "svae_lds_dots_training.png"],
            "notes": notes, "claims": claims}
