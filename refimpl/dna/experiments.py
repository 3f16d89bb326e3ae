"""DNA experiments: `dna-gan`, `dna-design`, `dna-extrapolation`.

References
----------
N. Killoran, L. J. Lee, A. Delong, D. Duvenaud, B. J. Frey. Generating and designing DNA
    with deep generative models. arXiv:1712.06148v1, 2017.
"""
import time

import numpy as onp

from ..experiments import experiment
from ..parallel import fork_map
from ..plotting import plt
from . import design, metrics, motifs, predictor, sequences as sq, toydata, wgan

PAPER = "Generating and designing DNA with deep generative models (Killoran et al. 2017)"
FULL_IDS = ("MA0139.2", "MA0107.1", "MA0083.3", "MA0002.3", "MA0108.3")   # CTCF RELA SRF Runx1 TBP
L = 36


def _gan_scale(cfg, full_iters=3000):
    # quick: a smoke run (the numbers mean nothing); full: the CPU scale, 3 000 iterations
    # at 32 channels (the fused step, `wgan_fused`: ~0.5 s of CPU per iteration at batch 64 on the
    # shared 2-core Xeon, so ~25 min per GAN)
    return dict(iters=12, dim=8, batch=32) if cfg.quick else dict(iters=full_iters, dim=32, batch=64)


# --- dna-gan -----------------------------------------------------------------------

@experiment("dna-gan", paper=PAPER, quick_seconds=12, full_minutes=20,
            artefact="Sec. 3.1: WGAN-GP on the coding and motif toys (valid ORFs, k-mer spectra)")
def gan_experiment(cfg):
    sc, n = _gan_scale(cfg), (1000 if cfg.quick else 4000)
    motif_str = motifs.consensus(motifs.embedded_motifs()[2])
    data = {"coding": toydata.coding_sequences(cfg.rng(1), n),
            "motif": toydata.motif_sequences(cfg.rng(2), n, motif=motif_str)[0]}
    out, rows, curves = {}, [], {}

    def train_toy(name):                       # one toy's GAN with its curve over training
        seqs, curve = data[name], []

        def cb(it, gp):
            gen = sq.decode(design.gan_samples(cfg.rng(9, it), gp, 500))
            val = (metrics.valid_orf_fraction(gen) if name == "coding"
                   else metrics.motif_fraction(gen, motif_str))
            curve.append((it, val, metrics.kmer_js(gen, seqs, 6)))
        t0 = time.process_time()
        gp, _, _ = wgan.train_wgan(cfg.rng(3), sq.encode(seqs), sc["iters"], dim=sc["dim"],
                                   batch=sc["batch"], callback=cb, every=max(sc["iters"] // 6, 1))
        return gp, curve, time.process_time() - t0
    # the two toys' GANs are independent: one process each in the full run (2 cores)
    trained = dict(zip(data, fork_map(train_toy, list(data), 1 if cfg.quick else 2)))
    for name, seqs in data.items():
        gp, curve, cpu_s = trained[name]
        gen = sq.decode(design.gan_samples(cfg.rng(4), gp, 1000))
        for k in range(1, 7):
            out[f"{name}/kmer{k}_js"] = metrics.kmer_js(gen, seqs, k)
        # a reference floor: k-mer JS between two independent samples of the real data
        fresh = (toydata.coding_sequences(cfg.rng(5), 1000) if name == "coding"
                 else toydata.motif_sequences(cfg.rng(5), 1000, motif=motif_str)[0])
        out[f"{name}/kmer6_js_real_vs_real"] = metrics.kmer_js(fresh, seqs, 6)
        out[f"{name}/train_seconds"] = cpu_s                       # CPU seconds of its process
        curves[name] = curve
        if name == "coding":
            out["coding/valid_orf_fraction"] = metrics.valid_orf_fraction(gen)
            out["coding/valid_orf_fraction_train"] = metrics.valid_orf_fraction(seqs)
        else:
            out["motif/motif_fraction"] = metrics.motif_fraction(gen, motif_str)
            out["motif/motif_fraction_train"] = metrics.motif_fraction(seqs, motif_str)
        rows += [[name, it, round(v, 4), round(js, 4)] for it, v, js in curve]
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
    for name, curve in curves.items():
        c = onp.array(curve)
        ax[0].plot(c[:, 0], c[:, 1], "o-", label=f"{name}: {'valid ORF' if name == 'coding' else 'motif present'}")
        ax[1].plot(c[:, 0], c[:, 2], "o-", label=name)
    ax[0].set(xlabel="generator iteration", ylabel="fraction of samples", ylim=(0, 1)); ax[0].legend()
    ax[1].set(xlabel="generator iteration", ylabel="6-mer JS (nats)"); ax[1].legend()
    fig.tight_layout(); fig.savefig(cfg.out / "dna_gan.png", dpi=100); plt.close(fig)
    return {"metrics": out, "figures": ["dna_gan.png"],
            "tables": [{"name": "over training (500 samples each)", "rows": rows,
                        "columns": ["toy", "iteration", "valid ORF / motif fraction", "6-mer JS"]}],
            "notes": f"WGAN-GP at CPU scale: {sc} (official: dim 100+, many more iterations); "
                     f"{n} training sequences of length 36."}


# --- dna-design --------------------------------------------------------------------

def _design_scale(cfg):
    if cfg.quick:
        return dict(n_train=1000, epochs=3, n=10, steps=30, pool=5, edit_ref=300)
    return dict(n_train=5000, epochs=12, n=50, steps=300, pool=10, edit_ref=2000)


def _methods(cfg, gp, pp, motif, ds, seed):
    score = lambda X: motifs.oracle(X, motif)                        # noqa: E731
    res = {"gan": (design.gan_samples(cfg.rng(seed, 1), gp, ds["n"]), [])}
    res["joint"] = design.joint(cfg.rng(seed, 2), gp, pp, ds["n"], steps=ds["steps"], pool=ds["pool"],
                                score=score, every=max(ds["steps"] // 10, 1))
    res["deepdream"] = design.deep_dream(cfg.rng(seed, 3), pp, ds["n"], L, steps=ds["steps"],
                                         score=score, every=max(ds["steps"] // 10, 1))
    return res


@experiment("dna-design", paper=PAPER, quick_seconds=12, full_minutes=20,
            artefact="Sec. 3.3: design for binding (GAN alone, joint latent optimisation, deep dream) "
                     "scored by JASPAR PWM oracles")
def design_experiment(cfg):
    ds, sc = _design_scale(cfg), _gan_scale(cfg)
    ms = (motifs.load_motifs(cfg.data_dir, FULL_IDS) if cfg.data_dir is not None
          else motifs.embedded_motifs()[:3])
    # the GAN learns the binding data's sequences (uniform random probes, shared by all motifs)
    X = sq.encode(toydata.random_sequences(cfg.rng(1), ds["n_train"], L))
    t0 = time.perf_counter()
    gp, _, _ = wgan.train_wgan(cfg.rng(2), X, sc["iters"], dim=sc["dim"], batch=sc["batch"])
    out, rows, claims_ok = {"gan_train_seconds": time.perf_counter() - t0}, [], []
    fig, axes = plt.subplots(1, len(ms), figsize=(3.4 * len(ms), 3.2), squeeze=False)
    ref = sq.decode(X[:ds["edit_ref"]])
    for j, m in enumerate(ms):
        key = m.label
        y = motifs.oracle(X, m)
        y_noisy = y + 0.5 * cfg.rng(3, j).standard_normal(y.shape)
        pp, _ = predictor.train_predictor(cfg.rng(4, j), X, y_noisy, epochs=ds["epochs"])
        Xt = sq.encode(toydata.random_sequences(cfg.rng(5, j), 1000, L))
        out[f"{key}/predictor_test_corr"] = float(onp.corrcoef(predictor.predict(pp, Xt), motifs.oracle(Xt, m))[0, 1])
        out[f"{key}/train_max"], out[f"{key}/oracle_optimum"] = float(y.max()), motifs.oracle_optimum(m)
        for meth, (D, traj) in _methods(cfg, gp, pp, m, ds, 10 + j).items():
            s = motifs.oracle(D, m)
            out[f"{key}/{meth}/oracle_mean"], out[f"{key}/{meth}/oracle_max"] = float(s.mean()), float(s.max())
            out[f"{key}/{meth}/frac_above_train_max"] = float(onp.mean(s > y.max()))
            ed = metrics.edit_distance_to_nearest(sq.decode(D), ref)
            out[f"{key}/{meth}/edit_to_train_mean"] = float(ed.mean())
            rows.append([key, meth, round(float(s.mean()), 3), round(float(s.max()), 3),
                         round(float(y.max()), 3), round(motifs.oracle_optimum(m), 3), round(float(ed.mean()), 1)])
            if traj:
                t = onp.array(traj)
                axes[0, j].plot(t[:, 0], t[:, 2], "o-", ms=3, label=meth)
            else:
                axes[0, j].axhline(s.mean(), color="gray", ls=":", label="gan")
        # a motif whose training maximum already equals the oracle optimum (a short motif: some
        # random probe holds the consensus) cannot be exceeded by any design: not counted
        if out[f"{key}/train_max"] < out[f"{key}/oracle_optimum"] - 1e-9:
            claims_ok.append(out[f"{key}/joint/oracle_mean"] > out[f"{key}/train_max"])
        axes[0, j].axhline(y.max(), color="k", ls="--", label="train max")
        axes[0, j].axhline(motifs.oracle_optimum(m), color="r", ls="--", label="optimum")
        axes[0, j].set(title=f"{m.id} {m.name}", xlabel="design step", ylabel="oracle score (mean)")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout(); fig.savefig(cfg.out / "dna_design.png", dpi=100); plt.close(fig)
    claims = [{"claim": "joint method's mean oracle score exceeds the best training sequence (Sec. 3.3)",
               "paper_value": "designed sequences above the training maximum",
               "ours": f"{sum(claims_ok)}/{len(claims_ok)} motifs whose train max is below the optimum "
                       f"({len(ms) - len(claims_ok)} of {len(ms)} have train max = optimum)",
               "reproduced": "yes" if claims_ok and all(claims_ok) else ("partly" if any(claims_ok) else "no")}]
    return {"metrics": out, "figures": ["dna_design.png"], "claims": claims,
            "tables": [{"name": "oracle scores of argmax re-encoded designs", "rows": rows,
                        "columns": ["motif", "method", "oracle mean", "oracle max", "train max",
                                    "oracle optimum", "edit dist. to nearest train (mean)"]}],
            "notes": f"GAN {sc} on {ds['n_train']} uniform random binding sequences (length {L}); "
                     f"design scale {ds}; labels = oracle + N(0, 0.5²); PWM pseudocount 0.8."}


# --- dna-extrapolation -------------------------------------------------------------

@experiment("dna-extrapolation", paper=PAPER, quick_seconds=12, full_minutes=15,
            artefact="Sec. 3.3: predictor trained below a score threshold; do designs go beyond it?")
def extrapolation_experiment(cfg):
    ds, sc = _design_scale(cfg), _gan_scale(cfg)
    m = (motifs.load_motifs(cfg.data_dir, FULL_IDS[:1]) if cfg.data_dir is not None
         else motifs.embedded_motifs()[:1])[0]
    X = sq.encode(toydata.random_sequences(cfg.rng(1), ds["n_train"], L))
    y = motifs.oracle(X, m)
    thr = float(onp.percentile(y, 90))
    keep = y < thr
    y_noisy = y + 0.5 * cfg.rng(3).standard_normal(y.shape)
    gp, _, _ = wgan.train_wgan(cfg.rng(2), X, sc["iters"], dim=sc["dim"], batch=sc["batch"])
    pp, _ = predictor.train_predictor(cfg.rng(4), X[keep], y_noisy[keep], epochs=ds["epochs"])
    out = {"threshold": thr, "train_max_below": float(y[keep].max()), "oracle_optimum": motifs.oracle_optimum(m)}
    rows = []
    for meth, (D, _) in _methods(cfg, gp, pp, m, ds, 20).items():
        s = motifs.oracle(D, m)
        out[f"{meth}/oracle_mean"], out[f"{meth}/oracle_max"] = float(s.mean()), float(s.max())
        out[f"{meth}/frac_above_threshold"] = float(onp.mean(s > thr))
        rows.append([meth, round(float(s.mean()), 3), round(float(s.max()), 3), round(float(onp.mean(s > thr)), 3)])
    return {"metrics": out,
            "tables": [{"name": f"{m.id} {m.name}: predictor trained on the {int(keep.sum())} sequences "
                                f"below the 90th percentile {thr:.2f}", "rows": rows,
                        "columns": ["method", "oracle mean", "oracle max", "fraction above threshold"]}],
            "notes": f"optimum {motifs.oracle_optimum(m):.2f}; GAN {sc}; design scale {ds}."}
