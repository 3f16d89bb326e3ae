"""One table: each paper's training step, refimpl vs a PyTorch peer in the same process (issue 27).

Every row: the same sizes and initial weights on both sides, float64, one thread each
(OPENBLAS/OMP = 1, torch.set_num_threads(1)), one warm-up, then the median of `--repeats`
interleaved steps at the initial weights. Columns: ms per step on each side, their ratio
(refimpl / peer), and the relative difference of the first-iteration loss (for the ODE
adjoint row, which returns no loss, the max-norm relative gradient difference).

Rows reuse the existing benches and peers (import, not copy):
* FFJORD toy iteration — `bench_ffjord.refimpl_side("flat", ...)` / `bench_ffjord.torch_side`;
* odeint adjoint with plain autograd MLP dynamics — `bench_adjoint.refimpl_gradient(
  dyn.reference, ...)` / `bench_adjoint.torch_side` (torchdiffeq.odeint_adjoint);
* VAE and IWAE (K = 5, 50) steps with total / STL / DReG — `refimpl.vi.fused.vae_value_and_grad`
  (the tested twin of autograd on `refimpl.vi.vae.vae_surrogate`) against the port in
  `numerics/peers/vae_torch.py`;
* spiral dynamics fit — `neural-ode-spiral`'s loss (odeint adjoint) against torchdiffeq's
  `examples/ode_demo.py` iteration (`numerics/peers/ode_demo_torch.py`);
* planar CNF iteration — `cnf-vs-nf`'s maximum-likelihood loss (hypernetwork θ(t),
  `planar_cnf_flow`) against a port of torchdiffeq's `examples/cnf.py`
  (`numerics/peers/planar_cnf_torch.py`);
* K-FAC's damped factor inverses (Cholesky, and noisy K-FAC's eigh refresh) against
  torch.linalg on the same matrices; noisy K-FAC, noisy Adam and BBB steps on `nng-uci`'s
  network against the torch ports in `numerics/peers/nng_torch.py`;
* latent ODE iteration (backprop through the solver; adjoint) — torchdiffeq's
  `examples/latent_ode.py` model built from refimpl's blocks against a copy of the example's
  classes (`numerics/peers/latent_ode_torch.py`); ODE-Net classifier step — `odenet-classifier`'s
  loss against `examples/odenet_mnist.py`'s ODEBlock at that size
  (`numerics/peers/odenet_mnist_torch.py`). These three rows time a whole training iteration
  (forward, gradient, Adam step: the weights move, identically on both sides).

Writes numerics/results/bench_peers.md. Run: nice -n 19 python numerics/bench_peers.py
[--repeats 7] [--only SUBSTRING [--splice]] (`--quick`: tiny sizes, 2 repeats, prints only;
`--splice`: the --only rows replace their namesakes in bench_peers.md, other rows untouched).
"""
import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from refimpl.vi.fused import grad_buffers, vae_value_and_grad  # noqa: E402

import bench_peers_newer  # noqa: E402  (numerics/ on sys.path)
from refimpl.vi.vae import init_vae  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
# ratios measured by this script at commit 7d30e1b (before nn.mlp flattened N-D batches and
# bernoulli_loglik used the cheap softplus), load ~4.1-4.6 on the 2 shared cores
BEFORE = {"FFJORD": 0.53, "VAE total K=1": 3.32, "VAE stl K=1": 3.11, "VAE dreg K=1": 2.53,
          "IWAE total K=5": 4.02, "IWAE stl K=5": 3.57, "IWAE dreg K=5": 3.56,
          "IWAE total K=50": 3.77, "IWAE stl K=50": 3.79, "IWAE dreg K=50": 3.94,
          "odeint adjoint": 1.23,
          # first measurement of these rows (commit a303835, default controller: NFE differ)
          "Latent ODE iteration adjoint": 0.42, "Latent ODE iteration": 1.63,
          "ODE-Net classifier step": 0.36,
          # the newer papers' rows: their own benches before this table (bench_wgan.md at 3458538:
          # autograd path; bench_tcvae.md, bench_evidence_chains.md whole step cap 64, bench_attacks.md)
          "WGAN-GP iteration": 1.15, "β-TCVAE step": 0.29, "Evidence-chains training step": 0.86,
          "PGD L∞ attack,": 0.97}


# --- rows: each returns (description, refimpl step, peer step, compare(ours, peer) -> float)
NOTES = """Notes. The 'before' column: this script at commit 7d30e1b, load ~4.1-4.6. The VAE/IWAE rows
now time `refimpl.vi.fused.vae_value_and_grad`, the hand-written gradient of the surrogate
(one forward and one backward pass of plain matmuls; total / STL / DReG are per-row weights on
the same pass), which `refimpl.vi.train.fit_vae` uses by default; it equals autograd on
`vae_surrogate` (`tests/vi/test_fused.py`: value to 1e-12, every leaf to 1e-9, and whole
training runs). Through autograd the same step cost 1.6-2.2x PyTorch (bench_peers.md at commit
d1c1db2): cProfile put most of the time in autograd's primitive wrappers (tracing and the
NumPy elementwise calls they wrap: tanh, exp, the VJP's `_mut_add` accumulation).
The odeint adjoint row (plain autograd dynamics) moved from 1.23 to ~0.9 with no change to its
code path: that difference is load (bench_adjoint.md measured 0.88 earlier); per VJP call
refimpl pays ~1.8 ms, mostly autograd tracing (`make_vjp` over (y, leaves list, t) each stage).
It now runs on torchdiffeq's steps as well (`controller="torchdiffeq"`, equal NFE, gradients
equal to rounding); before, on refimpl's own controller, the gradients agreed to 5.8e-6 only.
ODE rows take the same steps on both sides: refimpl runs `odeint(..., controller="torchdiffeq")`,
torchdiffeq 0.2.x's odeint_adjoint step for step (its initial step, embedded weights and step
rule, steps past the output times with its quartic interpolant, a fresh solve with a fresh
initial step on every backward interval, its adjoint norm with a_t always in the state), and
the CNF rows solve the tuple state (z, Δlog p) as FFJORD and examples/cnf.py do
(`state="tuple"`, `refimpl.ffjord.tuple_state`: the same fused kernels), so the error norm is
the same max of the two RMS's. The NFE (fwd+bwd, in each row) are equal and the first losses
agree to rounding (tests/peers/test_bench_peers_ode.py: equal counts, <= 1e-8). Before (each
library's own controller): FFJORD 1.7e-7, spiral 3e-9 (refimpl clipped steps to the 10 output
times: 56+64 NFE against 14+114), planar CNF 2.3e-7 (flat state, RMS norm).
The adjoint row compares gradients (no loss).
Planar CNF: refimpl's trace is the closed form Σ h'(a_m) u_mᵀ w_m and the adjoint calls the
hand-written f_and_vjp (plain NumPy, `planar_cnf_augmented_fast`); the peer takes the trace by
one autograd.grad per dimension (create_graph=True) as examples/cnf.py and FFJORD do, and
its adjoint differentiates through that graph (the same function: equal to rounding).
nng rows (1 x 50 ReLU on bostonHousing split 0, batch 32, nng-uci's hyperparameters): the
random draws come from NumPy Generators with one seed on both sides, so the steps are
compared exactly (μ after step 1; BBB also its gradient, as Adam's first step is ±lr
whatever the gradient). Noisy K-FAC's draw W = M + L_A ε L_Sᵀ goes through eigenvectors of
rank-deficient factors (the output layer's A is 51 x 51 from 32 examples), whose null-space
basis eigh leaves arbitrary, so the check replays step 1 with W = M on both sides. The
factor-inversion rows are LAPACK on both sides (cProfile over 500 calls: eigh 7.3 s of 8.4 in
refimpl, 7.2 s of 10.0 in the peer; Cholesky: potrf/potri plus NumPy's trace/tril calls against
torch's cholesky and cholesky_inverse), so their ratio is per-call overhead on small matrices
(14, 50, 51, 1) and moves with the load.
VAE/IWAE rows: each side returns the loss and its gradient leaves as its training step leaves
them (refimpl: the in-place buffers `fit_vae` ascends; the peer: each leaf's .grad), with no flat
copy. Until this table refimpl's closure concatenated a fresh 3.5 MB vector every call (~1.7 ms
of page faults and copies at K = 1 by cProfile, more than the step's 1.9 ms; torch.cat cost the
peer less): the rows that hovered at 1.0-1.10 (IWAE total K=50 at 1.10 in the previous table,
VAE stl K=1 1.05 and IWAE stl K=5 1.07 in this session's first run at load ~14) were that copy.
The gradients are still compared leaf by leaf in tests/peers/test_bench_peers.py.
DReG rows: the peer takes DReG in one decoder pass (a hook on z multiplies the encoder's
cotangent by w̃ once more), as a PyTorch user writes it; until commit 2853813 it ported
refimpl's surrogate literally, with a second decoder pass at a detached z, which doubled the
peer's cost (IWAE dreg K=50: 107.6 ms against 50.1 for total) and flattered these ratios.
Latent ODE rows (torchdiffeq examples/latent_ode.py at its sizes; the peer
`numerics/peers/latent_ode_torch.py` copies the example's classes): refimpl's own
`neural-ode-latent` model differs from the example (softplus dynamics, an RNN that also reads
the time gaps, subsampled observations), so the row builds the example's model from refimpl's
blocks: `rnn.run_rnn` (Elman, 25 tanh units, read backwards over all 100 observations; h2o
on its last state, where the example applies h2o at every step and keeps the last),
`nn.mlp_dynamics("elu", time_input=False)` (4-20-20-4; ELU added to the fused MLP dynamics
for this row), `latent_ode.decode` (ReLU 4-20-2), `gaussian_loglik` (σ = 0.3) and
`gaussian_kl`, Adam 0.01 (`neural_ode.train.Optimizer`). Data: the example's draw
(`spirals.archimedean_spirals` with n_total = 500, as the script effectively uses); ε fixed
(the example draws it every iteration). These rows and the ODE-Net row time whole training
iterations (forward, gradient, Adam step; the weights move identically on both sides). Both
sides step as torchdiffeq's dopri5 (`odeint(controller="torchdiffeq")`): the same NFE, the
first loss equal to rounding. Backprop row: 1.63 when first measured (default controller,
interpolated outputs, 170 NFE against 152); cProfile: `anp.stack` in the traced stage
combinations (a traced getitem per operand, each VJP an np.add.at) ~40 %, autograd's
`maximum` VJP on the decoder's (100 000, 20) ReLU, the fused ELU through `where`, the RNN's
BPTT, a second MLP forward in every VJP maker; with the torchdiffeq controller its traced
stage sums and the quartic interpolant at each of the 100 output times (~14 traced
operations each) put the row at ~1.6. Fixes, all general and twin-tested: one primitive per
stage combination of the default controller and for stacking outputs (`refimpl/ode/traced_ops.py`
lincomb / stack), the torchdiffeq preset's stage sums as one primitive
(`preset_torchdiffeq._wsum` -> `traced_ops.wsum`; a stacked dot there put the row at 1.35) and
its interpolant as one stacked product per step over all outputs it reaches (`_interp_block`), `nn.feedforward.relu` (mask VJP, 0 at the
kink as torch), ELU as max + expm1(min), `MLPDynamics` reusing the forward's hidden layers,
`elman_rnn` with per-step buffers and the weight gradients accumulated inside the loop
(68 -> 42 ms on (1000, 100, 2); torch 37). Adjoint row: torchdiffeq solves the 99 intervals
backwards one by one, each with a fresh initial step (2304 backward NFE on both sides);
refimpl's backward solve calls the fused `f_and_vjp`.
ODE-Net classifier row: refimpl's `odenet-classifier` ODE-Net (fully connected: 196-64 input
layer on 14x14 MNIST (mnist5k test digits), dynamics [h, t]-64-64 tanh, 64-10 head, softmax
cross-entropy, batch 100, Adam 3e-3, dopri5 rtol = atol 1e-3, adjoint) against
examples/odenet_mnist.py's ODEBlock / ConcatConv2d structure at that size
(`numerics/peers/odenet_mnist_torch.py`: t prepended as ConcatConv2d does, the example's
--tol default, odeint_adjoint as its --adjoint True; Adam instead of its SGD schedule).
The newer papers' rows come from `bench_peers_newer.py`."""

def vae_row(objective, estimator, K, quick=False, seed=0):
    """VAE/IWAE step: x (B, X) binary, encoder X-H-H-2Dz, decoder Dz-H-H-X (tanh), loss -bound."""
    from peers import vae_torch
    X, H, Dz, B = (20, 8, 2, 4) if quick else (784, 200, 50, 20)
    rng = np.random.default_rng(seed)
    params = init_vae(rng, X, Dz, hidden=(H, H))
    x = (rng.random((B, X)) < 0.3).astype(float)
    eps = rng.standard_normal((K, B, Dz))

    g_flat, g_tree = grad_buffers(params)       # as `refimpl.vi.train.fit_vae`: the gradient in place

    # Each side returns (loss, gradient leaves in (enc, dec) order) as its training step leaves
    # them — no flat copy on either side (a fresh MB-sized concatenation costs refimpl ~1.7 ms of
    # page faults at K = 1, more than the step). refimpl's leaves are the in-place gradient of
    # the surrogate (`fit_vae` ascends it); the loss's gradient is their negation.
    def ours():                 # the fused twin of value_and_grad(vae_surrogate) (tests/vi/test_fused.py)
        v, g = vae_value_and_grad(params, x, eps, objective, estimator, out=g_tree)
        return -v, [a for k in ("enc", "dec") for W, b in g[k] for a in (W, b)]
    peer = vae_torch.step_fn(params, x, eps, objective, estimator)
    desc = (f"{objective.upper()} {estimator} K={K} (x {X}, {H}-{H} tanh, z {Dz}, batch {B}, "
            "synthetic binary x)")
    return desc, ours, peer, _loss_and_grad_diff


def ffjord_row(quick=False):
    import bench_ffjord as bf
    from refimpl.datasets import toy2d
    from refimpl.ffjord import init_concatsquash_dynamics
    hidden, batch = ((8, 8), 16) if quick else (bf.HIDDEN, bf.BATCH)
    rng = np.random.default_rng(0)
    params = init_concatsquash_dynamics(rng, 2, hidden)
    x = toy2d.sample("8gaussians", batch, rng)
    # torchdiffeq's steps on the refimpl side: FFJORD's tuple state (z, Δlog p), the preset
    step_ours, _ = bf.refimpl_side("flat", params, x, state="tuple", controller="torchdiffeq")
    step_peer, _ = bf.torch_side(params, x)
    (_, _, nf, nb), (_, _, pf, pb) = step_ours(), step_peer()
    desc = (f"FFJORD toy iteration (8gaussians, concatsquash 2-{'-'.join(map(str, hidden))}-2, "
            f"batch {batch}, dopri5 1e-5, exact trace, adjoint, torchdiffeq steps; NFE fwd+bwd "
            f"refimpl {nf}+{nb}, torchdiffeq {pf}+{pb})")
    return (desc, lambda: step_ours()[:2], lambda: step_peer()[:2],
            lambda a, b: abs(a[0] - b[0]) / abs(b[0]))


def spiral_row(quick=False):
    """`neural-ode-spiral`'s iteration (its loss, verbatim) vs torchdiffeq's examples/ode_demo.py."""
    import autograd.numpy as anp
    from autograd import value_and_grad
    from autograd.misc import flatten
    from peers import ode_demo_torch
    from refimpl.neural_ode.exp_spiral import BATCH_SIZE, BATCH_TIME, ODE_KW, init_spiral_model, \
        spiral_model
    from refimpl.neural_ode.spirals import cubic_spiral_trajectory
    from refimpl.ode import odeint
    n_points, batch_size = (200, 4) if quick else (1000, BATCH_SIZE)
    t, y = cubic_spiral_trajectory(n_points=n_points, t_end=25.0 * n_points / 1000)
    params = init_spiral_model(np.random.default_rng(1))
    start = np.random.default_rng(2).choice(len(t) - BATCH_TIME, batch_size, replace=False)
    target = np.stack([y[start + i] for i in range(BATCH_TIME)])       # (T, B, 2)

    def loss(p, info):                          # exp_spiral.run_neural_ode_spiral's loss
        pred = odeint(spiral_model, y[start], t[:BATCH_TIME], (p,), info=info,
                      gradient="adjoint", controller="torchdiffeq", **ODE_KW)  # (T, B, 2)
        return anp.mean(anp.abs(pred - target))
    vg = value_and_grad(loss)

    def ours():
        info = {}
        v, g = vg(params, info)
        return v, flatten(g)[0], info["nfev_forward"], info["nfev_backward"]
    peer = ode_demo_torch.step_fn(params, t, y, start, BATCH_TIME, ODE_KW["rtol"], ODE_KW["atol"])
    (_, _, nf, nb), (_, _, pf, pb) = ours(), peer()
    desc = (f"Spiral dynamics fit (ode_demo.py: MLP 2-50-2 tanh on y**3, batch_time {BATCH_TIME}, "
            f"batch {batch_size}, dopri5 rtol {ODE_KW['rtol']:g} atol {ODE_KW['atol']:g}, adjoint, "
            f"torchdiffeq steps; NFE fwd+bwd refimpl {nf}+{nb}, torchdiffeq {pf}+{pb})")
    return desc, ours, peer, _loss_and_grad_diff


def planar_cnf_row(quick=False):
    """`cnf-vs-nf`'s CNF maximum-likelihood iteration (hypernetwork time dependence) vs a port of
    torchdiffeq's examples/cnf.py (peers/planar_cnf_torch.py)."""
    import autograd.numpy as anp
    from autograd import value_and_grad
    from peers import planar_cnf_torch
    from refimpl.datasets import toy2d
    from refimpl.ffjord.cnf import standard_normal_logprob
    from refimpl.ffjord.exp_cnf_vs_nf import FULL, T_END
    from refimpl.ffjord.planar import init_planar_cnf, planar_cnf_flow
    M, batch, tol = (4, 16, 1e-3) if quick else (64, FULL["batch"], FULL["tol"])
    rng = np.random.default_rng(0)
    params = init_planar_cnf(rng, 2, M, time_dependence="hypernet")
    x = toy2d.sample("circles", batch, rng)
    info = {}

    def loss(p):        # exp_cnf_vs_nf.train's ML loss, model_log_prob("cnf", ...) written out
        z, dlogp = planar_cnf_flow(p, x, t0=0.0, t1=T_END, rtol=tol, atol=tol, info=info,
                                   state="tuple", controller="torchdiffeq")
        return -anp.mean(standard_normal_logprob(z) - dlogp)
    vg = value_and_grad(loss)

    def ours():
        v, g = vg(params)
        return v, g, info["nfev_forward"], info["nfev_backward"]
    nf, nb = ours()[2:]
    peer = planar_cnf_torch.step_fn(params, x, T_END, tol)
    _, pf, pb = peer()
    desc = (f"Planar CNF iteration (cnf-vs-nf ML loss, circles, M {M} units, hypernetwork 1-32-32, "
            f"batch {batch}, dopri5 rtol = atol {tol:g}, exact trace, adjoint, torchdiffeq steps; "
            f"NFE fwd+bwd refimpl {nf}+{nb}, torchdiffeq {pf}+{pb})")
    return desc, ours, peer, _loss_and_grad_diff


def _refimpl_training_step(loss, params, lr, info):
    """value_and_grad(loss) then an Adam step (`refimpl.neural_ode.train.Optimizer`, as the
    experiments' `fit`); returns a closure () -> (loss before the step, nfe fwd, nfe bwd)."""
    from autograd import value_and_grad
    from refimpl.neural_ode.train import Optimizer
    opt = Optimizer(params, "adam", lr=lr)
    vg = value_and_grad(loss)

    def step():
        v, g = vg(opt.params)
        opt.step(g)
        return v, info.get("nfev_forward", 0), info.get("nfev_backward", 0)
    return step


def latent_ode_row(gradient="backprop", quick=False, controller=None):
    """torchdiffeq's examples/latent_ode.py training iteration (RecognitionRNN read backwards
    over every observation, ELU LatentODEfunc 4-20-20-4, ReLU Decoder 4-20-2, Gaussian
    log-likelihood σ = 0.3 and the analytic KL, Adam lr 0.01, dopri5 rtol 1e-7 atol 1e-9)
    with refimpl's building blocks (`rnn.run_rnn`, `nn.mlp_dynamics("elu")`, `odeint`,
    `latent_ode.decode / gaussian_loglik / gaussian_kl`) against the port in
    `numerics/peers/latent_ode_torch.py`. refimpl's own `neural-ode-latent` model differs
    (softplus dynamics, the RNN also reads the time gaps, subsampled observations), so the
    row builds the example's model, not refimpl's experiment."""
    import autograd.numpy as anp
    from peers import latent_ode_torch
    from refimpl import nn
    from refimpl.neural_ode.latent_ode import decode, gaussian_kl, gaussian_loglik
    from refimpl.neural_ode.rnn import init_rnn_cell, run_rnn
    from refimpl.neural_ode.spirals import archimedean_spirals
    from refimpl.ode import odeint
    L, obs, nh, nh_rnn, noise_std, lr = 4, 2, 20, 25, 0.3, 0.01
    n_spirals, n_samp, rtol, atol = (16, 20, 1e-5, 1e-7) if quick else (1000, 100, 1e-7, 1e-9)
    # the example's data: generate_spiral2d(nspiral=1000, start=0, stop=6π, noise_std=0.3,
    # a=0, b=0.3) with its default ntotal = 500 (the main block does not pass its 1000)
    data = archimedean_spirals(np.random.default_rng(0), n_spirals, n_total=500, n_window=n_samp,
                               n_extrapolate=0)
    x, ts = data["x_obs"], data["ts"]                               # (B, T, 2), (T,)
    x_tb = np.ascontiguousarray(np.swapaxes(x, 0, 1))               # (T, B, 2)
    rng = np.random.default_rng(1)
    params = {"rec": {"cell": init_rnn_cell(rng, obs, nh_rnn),
                      "out": nn.init_mlp(rng, [nh_rnn, 2 * L])[0]},
              "dyn": nn.init_mlp_dynamics(rng, L, hidden=(nh, nh), time_input=False),
              "dec": nn.init_mlp(rng, [L, nh, obs])}
    eps = np.random.default_rng(2).standard_normal((n_spirals, L))
    dyn = nn.mlp_dynamics("elu", time_input=False)
    ode_kw = dict(method="dopri5", rtol=rtol, atol=atol, gradient=gradient)
    ode_kw.update({"controller": controller} if controller else {"output": "interpolate"})
    info = {}

    def loss(p):
        _, h = run_rnn(p["rec"]["cell"], x, reverse=True)           # (B, H), read backwards
        W, b = p["rec"]["out"]
        out = anp.dot(h, W) + b                                     # (B, 2L)
        mean, logvar = out[:, :L], out[:, L:]
        z0 = eps * anp.exp(0.5 * logvar) + mean                     # (B, L)
        zs = odeint(dyn, z0, ts, (p["dyn"],), info=info, **ode_kw)  # (T, B, L)
        loglik = anp.sum(gaussian_loglik(x_tb, decode(p["dec"], zs), noise_std), axis=0)  # (B,)
        return -anp.mean(loglik - gaussian_kl(mean, logvar))
    ours = _refimpl_training_step(loss, params, lr, info)
    peer = latent_ode_torch.step_fn(params, x, ts, eps, noise_std, lr, rtol, atol,
                                    adjoint=gradient == "adjoint")
    (_, nf, nb), (_, pf, pb) = ours(), peer()
    ours = _refimpl_training_step(loss, params, lr, info)           # fresh optimizers
    peer = latent_ode_torch.step_fn(params, x, ts, eps, noise_std, lr, rtol, atol,
                                    adjoint=gradient == "adjoint")
    how = "adjoint" if gradient == "adjoint" else "backprop through the solver"
    nfe = (f"NFE fwd+bwd refimpl {nf}+{nb}, torchdiffeq {pf}+{pb}" if gradient == "adjoint"
           else f"NFE refimpl {nf}, torchdiffeq {pf}")
    desc = (f"Latent ODE iteration{' adjoint' if gradient == 'adjoint' else ''} (latent_ode.py: "
            f"{n_spirals} spirals x {n_samp} samples, RNN 25 backwards, ELU 4-{nh}-{nh}-4, "
            f"decoder 4-{nh}-2, σ {noise_std}, Adam {lr}; dopri5 rtol {rtol:g} atol {atol:g}, "
            f"{how}, controller {controller or 'default (interpolated outputs)'}; {nfe})")
    return desc, ours, peer, _first_loss_diff


def odenet_classifier_row(quick=False, controller=None):
    """`odenet-classifier`'s ODE-Net training step (refimpl/neural_ode/classifier.py: 196-64
    input layer, dynamics [h, t]-64-64 tanh, dopri5 rtol = atol 1e-3, adjoint, 64-10 head,
    softmax cross-entropy, Adam 3e-3, batch 100) against torchdiffeq's odenet_mnist.py
    structure at that size (`numerics/peers/odenet_mnist_torch.py`)."""
    from peers import odenet_mnist_torch
    from refimpl.datasets import images
    from refimpl.neural_ode.classifier import cross_entropy, init_classifier
    from refimpl.neural_ode.exp_classifier import LR, SETTINGS
    s = SETTINGS["full"]
    batch, width = (8, 8) if quick else (s["batch"], s["width"])
    folder = Path("/work/shared/data/mnist5k")
    data_dir = folder if folder.is_dir() and not quick else None
    X, y = images.load(data_dir, rng=np.random.default_rng(0), n_train=1, n_test=batch,
                       size=14, binarize=False)[2:]
    params = init_classifier(np.random.default_rng(1), "odenet", X.shape[1], width)
    ode_kw = {"controller": controller} if controller else {}
    info = {}

    def loss(p):
        return cross_entropy("odenet", p, X, y, ode_kw, info)
    ours = _refimpl_training_step(loss, params, LR, info)
    (_, nf, nb), (_, pf, pb) = ours(), odenet_mnist_torch.step_fn(params, X, y, 1e-3, LR)()
    ours = _refimpl_training_step(loss, params, LR, info)
    peer = odenet_mnist_torch.step_fn(params, X, y, 1e-3, LR)
    desc = (f"ODE-Net classifier step (odenet-classifier: {'MNIST' if data_dir else 'procedural'} "
            f"14x14, batch {batch}, 196-{width}, dynamics [h, t]-{width}-{width} tanh, "
            f"{width}-10, Adam {LR:g}; dopri5 rtol = atol 1e-3, adjoint, controller "
            f"{controller or 'default'}; NFE fwd+bwd refimpl {nf}+{nb}, torchdiffeq {pf}+{pb})")
    return desc, ours, peer, _first_loss_diff


def _first_loss_diff(a, b):
    return abs(a[0] - b[0]) / abs(b[0])


def _uci_problem(quick):
    """nng-uci's setting: bostonHousing split 0 (13 inputs; the synthetic set without the data),
    1 x 50 ReLU, batch 32, τ̄ = the initial E[τ] of GammaNoise, HYPER of `uci_run`."""
    from refimpl.nng import mlp, uci_run
    from refimpl.nng.regression import GammaNoise
    folder = Path("/work/shared/data/uci/bostonHousing")
    if quick or not folder.is_dir():
        sp = uci_run.synthetic_splits(np.random.default_rng(7), n=40 if quick else 400, n_splits=1)[0]
        name = "synthetic"
    else:
        from refimpl.datasets import uci
        sp, name = uci.split(uci.load(folder), 0), "bostonHousing"
    H, B = (8, 8) if quick else (uci_run.H, uci_run.BATCH)
    X, y = sp["X_train"], sp["y_train"][:, None]
    N = len(X)
    idx = np.random.default_rng(3).choice(N, B, replace=False)
    params = mlp.init_params(np.random.default_rng(4), [X.shape[1], H, 1])
    return dict(X=X[idx], y=y[idx], N=N, params=params, tau=GammaNoise(N).mean(), H=H, B=B,
                name=name, d=X.shape[1])


def _max_rel(a, b):
    a = np.concatenate([np.ravel(np.asarray(x)) for x in a])
    b = np.concatenate([np.ravel(np.asarray(x)) for x in b])
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def kfac_inverse_rows(quick=False):
    """K-FAC's damped factor inverses on the UCI network's factors (two rows: the Cholesky
    refresh of `nng.KFAC` / `kfac.factored_inverse`, and noisy K-FAC's eigh refresh with both
    dampings, `NoisyKFAC._refresh`) vs torch.linalg on the same matrices."""
    import torch
    from peers import nng_torch
    from refimpl.nng import NoisyKFAC, batch_stats, kfac, uci_run
    torch.set_num_threads(1)
    u = _uci_problem(quick)
    st = batch_stats(u["params"], u["X"], u["y"], u["tau"], np.random.default_rng(5), "relu", "sampled")
    opt = NoisyKFAC(u["params"], u["N"], prior_var=uci_run.ETA, **uci_run.HYPER["noisy_kfac"])
    opt.A, opt.S = st["A"], st["S"]
    At, St = [torch.from_numpy(A) for A in st["A"]], [torch.from_numpy(S) for S in st["S"]]
    g_in, g = opt.gamma_in, opt.gamma
    shapes = ", ".join(f"A {A.shape[0]}, S {S.shape[0]}" for A, S in zip(st["A"], st["S"]))
    where = f"{u['name']}, 1x{u['H']} ReLU, batch {u['B']}: {shapes}"

    def chol_ours():
        return [m for A, S in zip(st["A"], st["S"]) for m in
                (lambda P: (P["Ainv"], P["Sinv"]))(kfac.factored_inverse(A, S, g))]

    def chol_peer():
        return [m.numpy() for A, S in zip(At, St) for m in nng_torch.factored_inverse(A, S, g)]

    def eig_ours():
        opt._refresh()
        return [m for Pi, P in zip(opt.P_in, opt.P) for m in (Pi["LA"], Pi["LS"], P["Ainv"], P["Sinv"])]

    def eig_peer():
        return [m.numpy() for A, S in zip(At, St) for m in nng_torch.eig_refresh(A, S, g_in, g)]

    def eig_cmp(a, b):      # eigenvectors carry a sign: compare L Lᵀ for the square roots
        fix = [x @ x.T if i % 4 < 2 else x for i, x in enumerate(a)]
        fiy = [x @ x.T if i % 4 < 2 else x for i, x in enumerate(b)]
        return _max_rel(fix, fiy)
    return [(f"K-FAC factor inversion, Cholesky (factored damping, both layers' factors; {where}; "
             "max rel. diff of the inverses)", chol_ours, chol_peer, _max_rel, 50),
            (f"Noisy K-FAC inverse refresh, eigh + both dampings ({where}; max rel. diff of "
             "the inverses and L Lᵀ)", eig_ours, eig_peer, eig_cmp, 20)]


def nng_step_row(method, quick=False):
    """One noisy Adam / BBB step (`nng-uci`'s hyperparameters) vs the torch port; both sides
    draw from NumPy Generators with the same seed, so the compared quantity (the posterior
    mean after the first step) is deterministic and identical."""
    import torch
    from peers import nng_torch
    from refimpl.nng import uci_run
    torch.set_num_threads(1)
    u = _uci_problem(quick)
    hyper = dict(uci_run.HYPER[method])
    ours_opt = uci_run.make_method(method, u["params"], u["N"])
    cls = {"noisy_adam": nng_torch.NoisyAdam, "bbb": nng_torch.BBB,
           "noisy_kfac": nng_torch.NoisyKFAC}[method]
    peer_opt = cls(u["params"], u["N"], prior_var=uci_run.ETA, **hyper)
    r_ours, r_peer = np.random.default_rng(6), np.random.default_rng(6)
    Xt, yt = torch.from_numpy(u["X"]), torch.from_numpy(u["y"])

    # BBB: also Adam's first moment (0.1 x the gradient of μ and ρ; Adam's first step alone is
    # ±lr whatever the gradient's size)
    def ours():
        ours_opt.step(u["X"], u["y"], u["tau"], r_ours)
        return [m.copy() for m in ours_opt.mu] + (ours_opt.adam.m if method == "bbb" else [])

    def peer():
        peer_opt.step(Xt, yt, u["tau"], r_peer)
        out = [m.detach().numpy().copy() for m in peer_opt.mu]
        if method == "bbb":
            out += [peer_opt.opt.state[p]["exp_avg"].numpy().copy()
                    for p in peer_opt.mu + peer_opt.rho]
        return out
    label = {"noisy_adam": "Noisy Adam step (Alg. 1, sampled Fisher)",
             "noisy_kfac": "Noisy K-FAC step (Alg. 2, sampled Fisher, factored damping, eigh "
                           "refresh every T_inv steps amortised)",
             "bbb": "BBB step (closed-form gradient + Adam; peer autograd + torch.optim.Adam)"}[method]
    what = {"bbb": "μ and the gradient", "noisy_adam": "μ",
            "noisy_kfac": "μ, A, S with the weight draw replaced by the mean"}[method]
    desc = (f"{label} ({u['name']} {u['d']} inputs, 1x{u['H']} ReLU, batch {u['B']}, {hyper}; "
            f"max rel. diff of {what} after step 1)")
    compare = _max_rel
    if method == "noisy_kfac":
        # the draw W = M + L_A ε L_Sᵀ goes through eigenvectors of rank-deficient factors (A of
        # the output layer: 51 x 51 from a batch of 32), whose null-space basis eigh leaves
        # arbitrary, so the same ε gives different (equally distributed) W on the two sides.
        # The check: a fresh step 1 on both sides with W = M (sampling off), all else as is.
        def compare(a, b):
            o = uci_run.make_method(method, u["params"], u["N"])
            q = cls(u["params"], u["N"], prior_var=uci_run.ETA, **hyper)
            o.sample, q.sample = (lambda rng: o.mu), (lambda rng: q.mu)
            o.step(u["X"], u["y"], u["tau"], np.random.default_rng(6))
            q.step(Xt, yt, u["tau"], np.random.default_rng(6))
            return _max_rel(o.mu + o.A + o.S, [x.numpy() for x in q.mu + q.A + q.S])
    return desc, ours, peer, compare, 20


def adjoint_plain_row(quick=False):
    """`bench_adjoint`'s plain-autograd-dynamics gradient on torchdiffeq's steps
    (`controller="torchdiffeq"`: the same NFE, gradients equal to rounding)."""
    import bench_adjoint as ba
    from refimpl.ode import mlp_dynamics
    params, y0 = ba.make_problem(batch=8 if quick else 100)
    dyn = mlp_dynamics("tanh")
    run_peer, counts = ba.torch_side(params, y0)[:2]
    info = {}

    def ours():
        return ba.refimpl_gradient(dyn.reference, params, y0, 1e-5, info,
                                   controller="torchdiffeq")
    ours(), run_peer()
    desc = ("odeint adjoint gradient, plain autograd MLP dynamics 2-64-64-2 tanh, batch "
            f"{len(y0)}, dopri5 1e-5, torchdiffeq steps; NFE fwd+bwd refimpl "
            f"{info['nfev_forward']}+{info['nfev_backward']}, torchdiffeq "
            f"{counts['nfev_forward']}+{counts['nfev_backward']} (gradient diff)")
    return desc, ours, run_peer, ba.rel


def _loss_and_grad_diff(a, b):
    return abs(a[0] - b[0]) / abs(b[0])


def _ms(seconds):
    ms = 1e3 * seconds
    return f"{ms:.1f}" if ms >= 1 else f"{ms:.3f}"


def time_row(ours, peer, repeats, inner=1):
    """Warm-up (returns the first-iteration results), then interleaved medians (s per call) of
    the process CPU time (one thread each side: on the shared 2-core machine wall time also
    counts the other sessions' time slices); sub-millisecond rows time blocks of `inner` calls."""
    first = (ours(), peer())
    t = ([], [])
    for _ in range(repeats):
        for f, acc in zip((ours, peer), t):
            t0 = time.process_time()
            for _ in range(inner):
                f()
            acc.append((time.process_time() - t0) / inner)
    return first, statistics.median(t[0]), statistics.median(t[1])


def _keyed(key, build):
    """A row builder whose description starts with `key`: `--only` can skip it unbuilt (the
    builders run a first iteration on both sides)."""
    build.key = key
    return build


def rows(quick=False):
    """Row builders in the issue's order of priority (ODE/CNF, VAE/IWAE, then the adjoint row)."""
    out = [lambda: ffjord_row(quick), lambda: spiral_row(quick), lambda: planar_cnf_row(quick)]
    for objective, K in (("vae", 1), ("iwae", 5), ("iwae", 50)):
        for est in ("total", "stl", "dreg"):
            out.append(lambda o=objective, e=est, k=K: vae_row(o, e, k, quick))
    out.append(lambda: adjoint_plain_row(quick))
    td = "torchdiffeq"                  # torchdiffeq's dopri5 step for step: the same NFE
    out += [_keyed("Latent ODE iteration", lambda: latent_ode_row("backprop", quick, td)),
            _keyed("Latent ODE iteration adjoint", lambda: latent_ode_row("adjoint", quick, td)),
            _keyed("ODE-Net classifier step", lambda: odenet_classifier_row(quick, td))]
    out.append(lambda: kfac_inverse_rows(quick)[0])
    out.append(lambda: kfac_inverse_rows(quick)[1])
    out += [lambda m=m: nng_step_row(m, quick) for m in ("noisy_kfac", "noisy_adam", "bbb")]
    out += [lambda b=b: b(quick) for b in bench_peers_newer.ROWS]
    return out


def _row_key(line):
    """'| Latent ODE iteration (...) | ...' -> 'Latent ODE iteration' (the row's name)."""
    return line[2:].split(" (")[0].split(" |")[0]


def splice(new_lines, repeats, path=None, only=None):
    """Put `new_lines` (rows of this script's table) into the existing bench_peers.md: a row
    with the same name is replaced, a new one appended to the table; the other rows and the
    header stay as they were measured. The notes are rewritten from NOTES, and each spliced
    row gets a line with its own command and load."""
    path = path or RESULTS / "bench_peers.md"
    text = path.read_text().rstrip("\n").split("\n")
    start = next(i for i, ln in enumerate(text) if ln.startswith("|---"))
    end = next((i for i in range(start + 1, len(text)) if not text[i].startswith("|")), len(text))
    table = text[start + 1:end]
    rest = ["", *NOTES.split("\n")] + [ln for ln in text[end:] if ln.startswith("Spliced row '")]
    load = os.getloadavg()
    for line in new_lines:
        key = _row_key(line)
        same = [i for i, ln in enumerate(table) if _row_key(ln) == key]
        if same:
            table[same[0]] = line
        else:
            table.append(line)
        note = (f"Spliced row '{key}': measured alone (`--only \"{only or key}\" --splice`, median of "
                f"{repeats}), load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at its end.")
        rest = [ln for ln in rest if not ln.startswith(f"Spliced row '{key}':")] + [note]
    path.write_text("\n".join(text[:start + 1] + table + rest) + "\n")


def main(repeats=7, quick=False, only=None, write=True, splice_rows=False):
    lines = ["| row | refimpl ms | peer ms | ratio (refimpl / peer) | before | first-loss rel. diff |",
             "|---|---|---|---|---|---|"]
    behind = []
    print(lines[0], flush=True)
    for build in rows(quick):
        key = getattr(build, "key", None)
        if only and key and not (only.lower() in key.lower() or key.lower() in only.lower()):
            continue
        desc, ours, peer, compare, *inner = build()
        if only and only.lower() not in desc.lower():
            continue
        first, t_ours, t_peer = time_row(ours, peer, repeats, *inner)
        before = next((f"{v:.2f}" for k, v in BEFORE.items() if desc.startswith(k + " ")), "")
        line = (f"| {desc} | {_ms(t_ours)} | {_ms(t_peer)} | {t_ours / t_peer:.2f} | "
                f"{before} | {compare(*first):.1e} |")
        # issue 27: a row behind PyTorch leaves the table for a note (its profile in NOTES)
        if t_ours <= t_peer:
            lines.append(line)
        else:
            behind.append("- " + line.strip("| ").replace(" | ", "; "))
        print(line, flush=True)
    import torch
    load = os.getloadavg()
    head = ["# Training steps: refimpl vs PyTorch peers (CPU, float64, 1 thread)", "",
            f"{platform.processor() or platform.machine()}, 2 cores shared; load average "
            f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the end of the run; torch {torch.__version__}, "
            f"NumPy {np.__version__}. Median process CPU time of {repeats} interleaved steps after one warm-up "
            f"(`nice -n 19 python numerics/bench_peers.py --repeats {repeats}`); rows under 1 ms time blocks of 20-50 calls.", ""]
    notes = ["", NOTES]
    if behind:
        notes = ["", "Rows behind PyTorch in this run (ratio > 1.0: out of the table, profile and "
                 "reason in the notes below):", *behind] + notes
    text = "\n".join(head + lines + notes) + "\n"
    if splice_rows and not quick:
        splice(lines[2:], repeats, only=only)
        for b in behind:                # its old row (if any) stays: the lead decides
            print(f"not spliced (ratio > 1.0): {b}", flush=True)
    elif write and not quick:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "bench_peers.md").write_text(text)
    print(text)
    return text


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, 2 repeats, writes nothing")
    ap.add_argument("--only", default=None, help="run only rows whose description contains this")
    ap.add_argument("--splice", action="store_true",
                    help="with --only: replace (or append) these rows in results/bench_peers.md, "
                         "leaving the other rows as measured")
    a = ap.parse_args()
    if a.splice and not a.only:
        ap.error("--splice: needs --only (a full run rewrites the whole file)")
    main(2 if a.quick else a.repeats, quick=a.quick, only=a.only, write=a.only is None,
         splice_rows=a.splice)
