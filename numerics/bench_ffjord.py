"""Benchmark: one FFJORD training iteration (loss + gradient), refimpl vs PyTorch + torchdiffeq.

Problem (issue 8): 2-D toy (8gaussians), concatsquash 2-64-64-64-2, tanh, batch 512, dopri5
rtol = atol = 1e-5, exact trace, adjoint gradients, end time T = 0.5 fixed, float64, CPU,
one thread each (OPENBLAS/OMP = 1, torch.set_num_threads(1)), identical initial weights.
Sides, timed interleaved in one process (median of `--repeats`, one warm-up each):

* refimpl fast: `fast_log_prob` — f and the exact trace from one fused forward sweep, the VJP
  from a hand-written reverse sweep (`refimpl.ffjord.sweep`), the augmented state solved as
  one flat array; the adjoint's backward solve calls `AugmentedDynamics.f_and_vjp` (forward +
  reverse sweep on one tape) at every stage, with no autograd tracing (`refimpl.ffjord.fast`);
* refimpl fused in log_prob: the same primitive through `log_prob`'s tuple state (z, Δlog p);
* refimpl plain: `log_prob(concatsquash_dynamics, ...)` — the autograd twin (forward-mode J);
* peer: PyTorch ConcatSquashLinear stack with FFJORD's exact trace (one `autograd.grad` per
  dimension, create_graph=True) and `torchdiffeq.odeint_adjoint` (adjoint_params = weights).

Error norms: the peer and the `log_prob` sides use torchdiffeq's mixed norm over the tuple
state (z, Δlog p); the fast sides solve one flat (B, D + 1) state (RMS over [z, Δlog p]
forward; in the backward solve y and a are one group each). The controllers differ too, so
evaluation counts (forward solve / backward solve) are reported for both and the cost per
evaluation is compared as well as the time per iteration: per iteration (time / all
evaluations, forward and backward mixed) and for the forward solve alone (no gradient; time /
forward evaluations).

Writes numerics/results/bench_ffjord.md. Run: python numerics/bench_ffjord.py [--repeats 7]
(`--smoke`: a tiny problem, one repeat, prints only: checks that the script runs.)
`--profile` instead prints where one fast-side iteration spends its time (cProfile, own time
grouped into the sweeps, autograd, refimpl.ode and the rest; writes nothing).
"""
import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"                          # one thread each, whatever the shell says

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import autograd.numpy as anp  # noqa: E402
import numpy as np  # noqa: E402
from autograd import value_and_grad  # noqa: E402
from autograd.misc import flatten  # noqa: E402

from refimpl.datasets import toy2d  # noqa: E402
from refimpl.ffjord import concatsquash_dynamics, init_concatsquash_dynamics, log_prob  # noqa: E402
from refimpl.ffjord.fast import fast_concatsquash_dynamics, fast_log_prob  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
T1, TOL, BATCH, HIDDEN = 0.5, 1e-5, 512, (64, 64, 64)


def refimpl_side(dyn, params, x, **fast_kw):
    """(step, forward): one training iteration -> (loss, flat grad, NFE fwd, NFE bwd); the
    forward solve alone (no gradient) -> NFE fwd. fast_kw: more keywords of `fast_log_prob`
    (dyn="flat"), e.g. state="tuple", controller="torchdiffeq" (bench_peers.py)."""
    info = {}

    def loss(p):
        if dyn == "flat":
            return -anp.mean(fast_log_prob(p, x, t1=T1, rtol=TOL, atol=TOL, info=info,
                                           **fast_kw))
        return -anp.mean(log_prob(dyn, p, x, t1=T1, rtol=TOL, atol=TOL, info=info))
    vg = value_and_grad(loss)

    def step():
        val, g = vg(params)
        return float(val), flatten(g)[0], info["nfev_forward"], info["nfev_backward"]

    def forward():
        loss(params)
        return info["nfev_forward"]
    return step, forward


def torch_side(params, x):
    import torch
    from torchdiffeq import odeint, odeint_adjoint
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)

    class ConcatSquash(torch.nn.Module):          # FFJORD's ConcatSquashLinear
        def __init__(self, layer):
            super().__init__()
            self.W = torch.nn.Parameter(torch.tensor(layer["W"]))
            self.b = torch.nn.Parameter(torch.tensor(layer["b"]))
            self.wg = torch.nn.Parameter(torch.tensor(layer["w_gate"]))
            self.bg = torch.nn.Parameter(torch.tensor(layer["b_gate"]))
            self.wh = torch.nn.Parameter(torch.tensor(layer["w_hyper"]))

        def forward(self, t, h):
            return (h @ self.W + self.b) * torch.sigmoid(t * self.wg + self.bg) + t * self.wh

    class ODEFunc(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = torch.nn.ModuleList([ConcatSquash(layer) for layer in params])
            self.nfe = 0

        def forward(self, t, state):
            self.nfe += 1
            z = state[0]
            with torch.enable_grad():
                z = z.requires_grad_(True)
                h = z
                for i, layer in enumerate(self.layers):
                    h = layer(t, h)
                    if i < len(self.layers) - 1:
                        h = torch.tanh(h)
                # FFJORD's exact trace: one autograd.grad per dimension
                div = 0.0
                for i in range(z.shape[1]):
                    div = div + torch.autograd.grad(h[:, i].sum(), z, create_graph=True)[0][:, i]
            return h, -div

    func = ODEFunc()
    xt = torch.tensor(x)
    ts = torch.tensor([0.0, T1])
    D = x.shape[1]

    def step():
        func.zero_grad()
        func.nfe = 0
        z1, dlogp = odeint_adjoint(func, (xt, torch.zeros(len(xt))), ts, rtol=TOL, atol=TOL,
                                   method="dopri5", adjoint_params=tuple(func.parameters()))
        logp = -0.5 * (z1[-1] ** 2).sum(1) - 0.5 * D * np.log(2 * np.pi) - dlogp[-1]
        loss = -logp.mean()
        nf = func.nfe
        loss.backward()
        g = np.concatenate([np.concatenate([l_.W.grad.numpy().ravel(), l_.b.grad.numpy(),
                                            l_.wg.grad.numpy(), l_.bg.grad.numpy(), l_.wh.grad.numpy()])
                            for l_ in func.layers])
        return float(loss.detach()), g, nf, func.nfe - nf

    def forward():
        func.nfe = 0
        with torch.no_grad():                     # the trace still uses enable_grad inside
            odeint(func, (xt, torch.zeros(len(xt))), ts, rtol=TOL, atol=TOL, method="dopri5")
        return func.nfe
    return step, forward


def _flat_ours(g_flat_params, params):
    # reorder autograd.misc.flatten's dict order (sorted keys) into W, b, w_gate, b_gate, w_hyper
    return np.concatenate([np.concatenate([layer[k].ravel() for k in ("W", "b", "w_gate", "b_gate",
                                                                      "w_hyper")])
                           for layer in g_flat_params])


def main(repeats=7, batch=BATCH, hidden=HIDDEN, write=True):
    global TOL
    rng = np.random.default_rng(0)
    params = init_concatsquash_dynamics(rng, 2, hidden)
    x = toy2d.sample("8gaussians", batch, rng)
    _, unflatten = flatten(params)
    peer = "PyTorch + torchdiffeq"
    sides = {"refimpl fast (fused, flat state: fast_log_prob)": refimpl_side("flat", params, x),
             "refimpl fused primitive in log_prob": refimpl_side(fast_concatsquash_dynamics, params, x),
             "refimpl plain (autograd twin)": refimpl_side(concatsquash_dynamics, params, x),
             peer: torch_side(params, x)}
    res = {k: [] for k in sides}
    res_fwd = {k: [] for k in sides}
    last, nfe_fwd = {}, {}
    for k, (step, forward) in sides.items():
        last[k], nfe_fwd[k] = step(), forward()         # warm-up
    for _ in range(repeats):                            # interleaved: the same load for all
        for k, (step, forward) in sides.items():
            t0 = time.perf_counter()
            last[k] = step()
            res[k].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            nfe_fwd[k] = forward()
            res_fwd[k].append(time.perf_counter() - t0)
    grads = {k: (_flat_ours(unflatten(v[1]), params) if k.startswith("refimpl") else v[1])
             for k, v in last.items()}
    t_peer = statistics.median(res[peer])
    nfe_peer = last[peer][2] + last[peer][3]
    lines = ["# FFJORD training iteration: refimpl vs PyTorch + torchdiffeq (CPU, float64, 1 thread)", "",
             f"2-D 8gaussians, concatsquash 2-{'-'.join(map(str, hidden))}-2 tanh, batch {batch}, "
             f"dopri5 rtol = atol = {TOL:g}, exact trace, adjoint, T = {T1}, identical initial weights; "
             f"median of {repeats} iterations at initialisation (`python numerics/bench_ffjord.py`).", "",
             "| side | s / iter | NFE fwd | NFE bwd | ms / evaluation (iter) | ms / evaluation "
             "(forward solve only) | loss | time ratio vs peer | max rel. grad diff vs peer |",
             "|---|---|---|---|---|---|---|---|---|"]
    for k in sides:
        t, (val, g, nf, nb) = statistics.median(res[k]), last[k]
        t_fwd = statistics.median(res_fwd[k])
        rel = np.max(np.abs(grads[k] - grads[peer])) / np.max(np.abs(grads[peer]))
        lines.append(f"| {k} | {t:.3f} | {nf} | {nb} | {1e3 * t / (nf + nb):.2f} "
                     f"| {1e3 * t_fwd / nfe_fwd[k]:.2f} | {val:.6f} | {t / t_peer:.2f} | {rel:.1e} |")
    lines += ["", f"Per-evaluation cost (iter) = time per iteration / (NFE fwd + NFE bwd), forward and "
              f"backward evaluations mixed; the peer's is {1e3 * t_peer / nfe_peer:.2f} ms. "
              f"(forward solve only) = time of the loss alone, no gradient / its NFE. "
              f"Target (issue 8): ≤ 0.7× the peer's time per iteration."]
    # which side's 1e-5 gradient is closer to the exact one? reference: refimpl at 1e-9
    tol, TOL = TOL, 1e-9
    g_ref = _flat_ours(unflatten(refimpl_side("flat", params, x)[0]()[1]), params)
    g_peer_tight = torch_side(params, x)[0]()[1]
    TOL = tol
    m = np.max(np.abs(g_ref))
    lines += ["", "Gradient accuracy (max abs error / max |g|, reference = refimpl at rtol = atol = 1e-9): "
              + ", ".join(f"{k}: {np.max(np.abs(grads[k] - g_ref)) / m:.1e}" for k in sides)
              + f"; PyTorch peer at 1e-9 vs the reference: {np.max(np.abs(g_peer_tight - g_ref)) / m:.1e}."
              + " The last step differs (numerics/DIFFERENCES.md): refimpl lands on T, torchdiffeq "
              "steps past T and interpolates y(T)."]
    if write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "bench_ffjord.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def profile(iters=5):
    """cProfile of the fast side; own time per group. Approximate: NumPy ufuncs (matmul, tanh)
    are not profiled as functions, so their time counts towards the function calling them."""
    import cProfile
    import pstats
    rng = np.random.default_rng(0)
    params = init_concatsquash_dynamics(rng, 2, HIDDEN)
    x = toy2d.sample("8gaussians", BATCH, rng)
    step = refimpl_side("flat", params, x)[0]
    step()                                                # warm-up
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(iters):
        step()
    pr.disable()

    def group(path, name):
        if path.endswith("sweep.py") and name in ("forward", "backward"):
            return f"sweep.{name} (BLAS + elementwise)"
        for key, label in (("autograd", "autograd (tracing, VJP bookkeeping)"),
                           ("refimpl/ode", "refimpl.ode (solver, controller, adjoint)"),
                           ("refimpl/ffjord", "refimpl.ffjord glue")):
            if key in path.replace(os.sep, "/"):
                return label
        return "NumPy calls outside the sweeps, builtins"
    own = {}
    for (path, _, name), (_, _, tt, _, _) in pstats.Stats(pr).stats.items():
        own[group(path, name)] = own.get(group(path, name), 0.0) + tt
    total = sum(own.values())
    print(f"fast side, profiled: {1e3 * total / iters:.1f} ms / iteration (cProfile inflates "
          f"small calls)")
    for k, v in sorted(own.items(), key=lambda kv: -kv[1]):
        print(f"  {100 * v / total:5.1f} %  {k}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--profile", action="store_true", help="print a profile of the fast side")
    ap.add_argument("--smoke", action="store_true",
                    help="check the script runs (batch 16, 2-8-8-2, 1 repeat); writes nothing")
    a = ap.parse_args()
    if a.profile:
        profile()
    elif a.smoke:
        main(1, batch=16, hidden=(8, 8), write=False)
    else:
        main(a.repeats)
