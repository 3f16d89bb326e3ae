"""svae-lds-dots quick setting: which seeds learn the dot's rotation (A's angle ≈ 0.236 rad/frame), per variant.

    PYTHONPATH=. python numerics/svae_dots_seeds.py VARIANT 0,1,2,3,4,5 [n_iter=500] [nat_step=0.2] [step=1e-2] [scale=0.01]

Seed s draws data, training and evaluation from default_rng([s, k]) with the keys of `svae-lds-dots`
(so seed s is `refimpl run svae-lds-dots --quick --seed s` without the VAE). Prints one JSON line per seed."""
import sys, time, json
import numpy as np
from refimpl.svae import lds_svae, exp_lds
from refimpl.svae.dots import make_dot_data

variant, seeds = sys.argv[1], [int(s) for s in sys.argv[2].split(",")]
n_iter, nat_step, step, scale = 500, 0.2, 1e-2, None
for kv in sys.argv[3:]:
    k, v = kv.split("=")
    if k == "n_iter": n_iter = int(v)
    if k == "nat_step": nat_step = float(v)
    if k == "step": step = float(v)
    if k == "scale": scale = float(v)
if scale is not None:
    orig = lds_svae.init_mlp
    lds_svae.init_mlp = lambda rng, sizes, scale_=None: orig(rng, sizes, scale=scale)
for seed in seeds:
    t0 = time.process_time()
    rng = lambda *k: np.random.default_rng([seed, *k])
    D, n_frames, seq_len, cut, horizon = 4, 1000, 30, 25, 75
    y, _ = make_dot_data(rng(0), T=n_frames / 10.0, num_steps=n_frames, v=0.75, render_sigma=0.15, noise_sigma=0.1)
    seqs = y[: (n_frames // seq_len) * seq_len].reshape(-1, seq_len, y.shape[1])
    ge, prior, nets, hist = lds_svae.train(rng(1), seqs, D, n_iter, batch=2, step=step, nat_step=nat_step,
                                          hidden=(50,), dense=True)
    y_te, clean = make_dot_data(rng(3), T=(cut + horizon) / 10.0, num_steps=cut + horizon, x0=0.37)
    rec, _ = exp_lds.svae_reconstruct_predict(rng(4), ge, nets, y_te, cut)
    A, _ = lds_svae.mniw.expected_standard_params(ge[1])
    angs = sorted(set(np.round(np.abs(np.angle(np.linalg.eigvals(A))), 3)))
    ang = float(max(angs))
    out = dict(variant=variant, seed=seed, angle=round(ang, 3), angles=[float(a) for a in angs], learned=bool(0.2 < ang < 0.28),
               fundamental=bool(any(0.2 < a < 0.28 for a in angs)),
               predict=round(exp_lds.rmse_per_frame(rec[cut:], clean[cut:]), 3),
               recon=round(exp_lds.rmse_per_frame(rec[:cut], clean[:cut]), 3),
               final_bound=round(float(np.mean(hist[-50:])), 3), cpu=round(time.process_time() - t0, 1))
    print(json.dumps(out), flush=True)
