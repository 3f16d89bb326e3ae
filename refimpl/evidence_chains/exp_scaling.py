"""`evidence-chains-scaling`: cost and accuracy of evidence chains, MF-SGD and MF-ALS as the
rating set grows to 10 M ratings, users and items growing together.

[EvidenceChains title, Sec. 4] calls the model *scalable*. For each size N (ratings) and
method the experiment measures, in a fresh Python process per (method, size):

* CPU seconds per 10⁵ training ratings (chains: a few timed Adam steps, `train.time_steps`;
  MF: the mean SGD epoch / ALS sweep of a short training run, after a warm-up) and the epoch
  time it extrapolates to;
* peak memory: the peak resident set (VmHWM) during training and evaluation above the
  resident set after imports and data generation (Linux: VmHWM is reset through
  /proc/self/clear_refs after the data are made; elsewhere ru_maxrss minus that RSS);
* test RMSE after a fixed budget of CPU seconds of training (`time.process_time`, so other
  processes' load on a shared machine does not change how much training is done);

and log-log slopes of cost against N (least squares on log10 cost vs log10 N).

Shape: the embedded generator (`data.synthetic`) with users = 943·(N/10⁵)^a and
items = 1682·(N/10⁵)^b, a = ln(162541/943)/ln 250, b = ln(59047/1682)/ln 250: the power
law through MovieLens-100K (943 × 1682 at 10⁵ ratings) and ml-25m (162 541 × 59 047 at
2.5·10⁷), so users and items grow together and the largest sizes have ml-25m's shape.
(Users and items proportional to N at ml-25m's ratios would make 10⁵ ratings 650 × 236,
65 % dense — beyond the generator's half-the-catalogue cap per user.)
"""
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["SCALING", "shape_for", "loglog_slope", "run_job", "run_scaling", "train_mf_budget"]

#: the knobs of the full and the --quick run (same code, different sizes and budget)
SCALING = {
    "full": dict(sizes=(10**5, 10**6, 10**7), budget_s=300.0, budget_sizes=(10**7, 10**6, 10**5),
                 cost_budget_s=3.0, n_eval=20_000, time_steps=10, batch=500, isolate=True, workers=3),
    "quick": dict(sizes=(5_000, 20_000), budget_s=1.0, budget_sizes=(20_000, 5_000), cost_budget_s=0.3,
                  n_eval=2_000, time_steps=2, batch=200, isolate=False),
}
METHODS = ("evidence_chains", "mf_sgd", "mf_als")
_A = math.log(162541 / 943) / math.log(250)      # users ∝ N^a  (a ≈ 0.933)
_B = math.log(59047 / 1682) / math.log(250)      # items ∝ N^b  (b ≈ 0.644)


def shape_for(n_ratings):
    """(n_users, n_items) for N ratings on the MovieLens growth path (module docstring);
    below 3000 ratings the matrix would be more than half full (the generator's cap)."""
    if n_ratings < 3000:
        raise ValueError(f"n_ratings: expected >= 3000, got {n_ratings}")
    s = n_ratings / 1e5
    return int(round(943 * s ** _A)), int(round(1682 * s ** _B))


def loglog_slope(x, y):
    """Least-squares slope of log10 y on log10 x (cost ∝ x^slope); needs >= 2 distinct x
    and positive values."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.shape != y.shape or x.ndim != 1 or np.unique(x).size < 2:
        raise ValueError(f"x, y: expected equal 1-d shapes with >= 2 distinct x, got {x.shape}, {y.shape}")
    if (x <= 0).any() or (y <= 0).any():
        raise ValueError("x, y: expected positive values for a log-log fit")
    return float(np.polyfit(np.log10(x), np.log10(y), 1)[0])


# --- memory -----------------------------------------------------------------------------------

def _status_kb(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _trim_heap():
    """Return freed heap memory to the OS (glibc malloc_trim), so the resident set counts
    live data only; a no-op elsewhere."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_peak():
    """Reset this process's peak RSS to its current RSS (after trimming the heap);
    returns (rss_kb, how)."""
    import gc
    gc.collect()
    _trim_heap()
    rss = _status_kb("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return rss, "VmHWM"
    except OSError:
        return rss if rss is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "ru_maxrss"


def _peak_kb(how):
    return _status_kb("VmHWM") if how == "VmHWM" else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# --- budgeted training --------------------------------------------------------------------------

def train_mf_budget(train, rng, method, budget_s, clock=time.process_time, **kw):
    """Biased MF by "sgd" epochs or "als" sweeps until `budget_s` seconds of `clock` (CPU
    of this process by default) have passed; at least one epoch; the budget is checked
    between epochs, so the overshoot is below one epoch. Returns (mf, epochs, seconds,
    seconds of the first epoch)."""
    from . import baselines as B
    if method not in ("sgd", "als"):
        raise ValueError(f"method: expected 'sgd' or 'als', got {method!r}")
    if not budget_s > 0:
        raise ValueError(f"budget_s: expected > 0, got {budget_s}")
    mf = B.init_mf(rng, train.n_users, train.n_items, kw.get("rank", 10), mu=float(train.ratings.mean()))
    epochs, spent, first = 0, 0.0, None
    while epochs == 0 or spent < budget_s:
        c0 = clock()
        if method == "sgd":
            B.sgd_epoch(mf, train, rng.permutation(len(train)), kw.get("lr", 0.01), kw.get("reg", 0.05))
        else:
            B.als_sweep(mf, train, kw.get("lam", 5.0))
        dt = clock() - c0
        first = dt if first is None else first
        spent += dt
        epochs += 1
    return mf, epochs, spent, first


def run_job(spec):
    """One (method, size) measurement; `spec`: dict(method, n_ratings, seed, budget_s, n_eval,
    time_steps, batch, ec_kw (the chains' `fit` settings), tree_kw). Returns a JSON-able dict."""
    from autograd.misc import flatten
    from . import baselines as B
    from .data import split, synthetic
    from .train import build_training_graph, evaluate, fit, rmse, time_steps
    from .model import init_params
    method, N, seed = spec["method"], int(spec["n_ratings"]), int(spec["seed"])
    ec, tree_kw = spec["ec_kw"], spec["tree_kw"]
    rng = lambda *k: np.random.default_rng([seed, N, *k])          # noqa: E731
    U, I = shape_for(N)
    c0 = time.process_time()
    data = synthetic(rng(0), n_users=U, n_items=I, n_ratings=N)
    train, test = split(data, rng(1))
    gen_s = time.process_time() - c0
    ev = test.subset(np.arange(min(int(spec["n_eval"]), len(test))))  # test order is random already
    del data
    if method != "evidence_chains":                 # compile / load the numba kernels first
        train_mf_budget(train.subset(np.arange(min(100, len(train)))), rng(9), method[3:], 1e-9)
    base_kb, how = _reset_peak()
    budget = float(spec["budget_s"])
    c0 = time.process_time()
    if method == "evidence_chains":
        graph = build_training_graph(train, *ec["n_proto"])
        params = init_params(rng(2), *ec["n_proto"], ec["dim"], ec["hidden"], mu=float(train.ratings.mean()),
                             kappa=ec["kappa"])
        s_per = time_steps(params, graph, train, rng(3), int(spec["time_steps"]), int(spec["batch"]),
                           ec["predictor"], clock=time.process_time, **tree_kw)
        batch = int(spec["batch"])
        c1 = time.process_time()
        params, graph, hist = fit(train, rng(4), graph=graph, epochs=10**6 // max(len(train) // batch, 1) + 1,
                                  batch_size=batch, max_seconds=budget, tree_kw=tree_kw, **ec)
        train_s = time.process_time() - c1
        epochs = hist[-1]["epoch"] if hist else 0.0
        c1 = time.process_time()
        r, _ = evaluate(params, graph, ev, rng(5), ec["predictor"], **tree_kw)
        extra = dict(predictions_per_s=len(ev) / max(time.process_time() - c1, 1e-9),
                     n_params=int(flatten(params)[0].size), mf_n_params=(U + I) * 11 + 1)
    else:
        mf, n_ep, train_s, first = train_mf_budget(train, rng(4), method[3:], budget)
        s_per, epochs, extra = train_s / n_ep / len(train), float(n_ep), {}   # mean epoch
        r = rmse(np.clip(B.mf_predict(mf, ev.users, ev.items), *train.scale), ev.ratings)
    total_s = time.process_time() - c0
    peak_kb = _peak_kb(how)
    return dict(method=method, n_ratings=N, n_users=U, n_items=I, n_train=len(train), gen_cpu_s=gen_s,
                s_per_1e5=1e5 * s_per, epoch_s=s_per * len(train), train_cpu_s=train_s, epochs=epochs,
                rmse=r, n_eval=len(ev), total_cpu_s=total_s, peak_mb=max(peak_kb - base_kb, 0) / 1024,
                base_mb=base_kb / 1024, memory_how=how, **extra)


def _job_main():
    """Entry point of the per-job subprocess: spec JSON on stdin, result JSON on stdout."""
    spec = json.loads(sys.stdin.read())
    res = run_job(spec)
    sys.stdout.write("\n@@RESULT@@" + json.dumps(res) + "\n")


def run_isolated(spec):
    """`run_job` in a fresh Python process (so its memory is measured alone)."""
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-c", "from refimpl.evidence_chains.exp_scaling import _job_main; _job_main()"]
    p = subprocess.run(cmd, input=json.dumps(spec), capture_output=True, text=True, env=env)
    if p.returncode != 0 or "@@RESULT@@" not in p.stdout:
        raise RuntimeError(f"scaling job {spec} failed (exit {p.returncode}):\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.rsplit("@@RESULT@@", 1)[1])


# --- the experiment ------------------------------------------------------------------------------

def _jobs(knobs):
    """The run's jobs in priority order: first a short "cost" job per (size, method) — CPU
    s per 10⁵ ratings and peak memory, on `cost_budget_s` of training, largest size first —
    then a "budget" job per (size, method) in `budget_sizes` order — RMSE after `budget_s`."""
    cost = [("cost", N, m) for N in sorted(knobs["sizes"], reverse=True) for m in METHODS]
    return cost + [("budget", N, m) for N in knobs["budget_sizes"] for m in METHODS]


def run_scaling(cfg, knobs=None, ec_kw=None, tree_kw=None):
    """All jobs (each checkpointed, so `--resume` skips finished ones; each finished job is
    also appended to out/jobs.jsonl, so a run cut short can be summarised with
    `summarise(*read_jobs(out), knobs)`). `ec_kw`, `tree_kw`: the chains' settings (those of
    the `evidence-chains` experiment). Returns (cost, budget, knobs): dicts keyed by (N, method)."""
    import threading
    knobs = knobs or SCALING["quick" if cfg.quick else "full"]
    done, todo, lock = {}, [], threading.Lock()
    for job in _jobs(knobs):
        state = cfg.checkpoint("-".join(map(str, job)), every_s=0).load()
        if state is not None:
            done[job] = json.loads(bytes(state["result"]).decode("utf-8"))
        else:
            todo.append(job)

    def one(job):
        phase, N, m = job
        spec = dict(method=m, n_ratings=N, seed=cfg.seed, n_eval=knobs["n_eval"], time_steps=knobs["time_steps"],
                    batch=knobs["batch"], ec_kw=ec_kw, tree_kw=tree_kw,
                    budget_s=knobs["budget_s" if phase == "budget" else "cost_budget_s"])
        res = {**(run_isolated(spec) if knobs["isolate"] else run_job(spec)), "phase": phase}
        cfg.checkpoint("-".join(map(str, job)), every_s=0).save(
            {"result": np.frombuffer(json.dumps(res).encode("utf-8"), np.uint8)})
        with lock, open(cfg.out / "jobs.jsonl", "a") as f:
            f.write(json.dumps(res) + "\n")
        print(f"[scaling] {phase} {m} N={N}: {res['s_per_1e5']:.3g} s/1e5, rmse {res['rmse']:.4f}, "
              f"{res['epochs']:.3g} epochs, peak +{res['peak_mb']:.0f} MB", file=sys.stderr, flush=True)
        return job, res

    if knobs["isolate"] and knobs.get("workers", 1) > 1:
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(knobs["workers"]) as pool:
            done.update(pool.map(one, todo))
    else:
        done.update(map(one, todo))
    cost = {(N, m): r for (ph, N, m), r in done.items() if ph == "cost"}
    budget = {(N, m): r for (ph, N, m), r in done.items() if ph == "budget"}
    return cost, budget, knobs


def read_jobs(out):
    """(cost, budget) from out/jobs.jsonl (the jobs a run finished, possibly cut short)."""
    cost, budget = {}, {}
    for line in open(Path(out) / "jobs.jsonl"):
        r = json.loads(line)
        (cost if r["phase"] == "cost" else budget)[r["n_ratings"], r["method"]] = r
    return cost, budget


def summarise(cost, budget, knobs):
    """(metrics, table rows, slope rows): cost and memory from the cost jobs, RMSE and
    epochs from the budget jobs (NaN where a budget job did not run)."""
    metrics, rows, slope_rows = {}, [], []
    sizes = sorted({N for N, _ in cost})
    for N in sizes:
        for m in METHODS:
            c, b = cost[N, m], budget.get((N, m))
            for k in ("s_per_1e5", "epoch_s", "peak_mb"):
                metrics[f"n{N}/{m}/{k}"] = c[k]
            if b is not None:
                metrics[f"n{N}/{m}/rmse"], metrics[f"n{N}/{m}/epochs"] = b["rmse"], b["epochs"]
            rows.append([m, N, c["n_users"], c["n_items"], round(c["s_per_1e5"], 4), round(c["epoch_s"], 2),
                         round(c["peak_mb"], 1), "-" if b is None else round(b["epochs"], 4),
                         "-" if b is None else round(b["rmse"], 4)])
    for m in METHODS:
        x = [N for N in sizes]
        if len(x) >= 2:
            for k in ("epoch_s", "s_per_1e5", "peak_mb"):
                floor = 1e-3 if k == "peak_mb" else 0.0        # a job may allocate nothing new
                metrics[f"slope/{m}/{k}"] = loglog_slope(x, [max(cost[N, m][k], floor) for N in x])
            slope_rows.append([m] + [round(metrics[f"slope/{m}/{k}"], 3) for k in ("epoch_s", "s_per_1e5", "peak_mb")])
    for N in sizes:                        # the keys of the earlier scaling experiment (chains)
        c, k = cost[N, "evidence_chains"], f"scale{N // sizes[0]}"
        metrics.update({f"{k}/n_params": c["n_params"], f"{k}/mf_n_params": c["mf_n_params"],
                        f"{k}/train_ms_per_rating": c["s_per_1e5"] / 100.0, f"{k}/epoch_seconds": c["epoch_s"],
                        f"{k}/predictions_per_s": c["predictions_per_s"]})
    return metrics, rows, slope_rows


def report_scaling(cfg, ec_kw, tree_kw):
    """The registered experiment: jobs, then `build_report`."""
    cost, budget, knobs = run_scaling(cfg, ec_kw=ec_kw, tree_kw=tree_kw)
    return build_report(cfg.out, cost, budget, knobs, ec_kw, tree_kw)


def write_partial(out, ec_kw, tree_kw, knobs=None):
    """The report of a run cut short, from out/jobs.jsonl: writes out/scaling.png and
    out/partial_results.json (metrics, tables, notes); every cost job must have finished."""
    knobs = knobs or SCALING["full"]
    res = build_report(Path(out), *read_jobs(out), knobs, ec_kw, tree_kw)
    missing = [f"{m} N={N}" for N in knobs["budget_sizes"] for m in METHODS
               if f"n{N}/{m}/rmse" not in res["metrics"]]
    res["notes"] += f" Cut short: budget jobs not run: {', '.join(missing) or 'none'}."
    (Path(out) / "partial_results.json").write_text(json.dumps(res, indent=1))
    return res


def build_report(out, cost, budget, knobs, ec_kw, tree_kw):
    """metrics, tables, figure (out/scaling.png) and notes from the finished jobs."""
    from ..plotting import plt, savefig
    metrics, rows, slope_rows = summarise(cost, budget, knobs)
    sizes = sorted({N for N, _ in cost})
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.8))
    for m, mk in zip(METHODS, "os^"):
        rs = [cost[N, m] for N in sizes]
        ax[0].loglog(sizes, [r["epoch_s"] for r in rs], mk + "-",
                     label=f"{m} (slope {metrics[f'slope/{m}/epoch_s']:.2f})")
        ax[1].loglog(sizes, [max(r["peak_mb"], 1e-3) for r in rs], mk + "-", label=m)
        xb = [N for N in sizes if (N, m) in budget]
        ax[2].semilogx(xb, [budget[N, m]["rmse"] for N in xb], mk + "-", label=m)
    ax[0].set_ylabel("CPU s per epoch (from s per 10⁵ ratings)")
    ax[1].set_ylabel("peak memory above data (MB)")
    ax[2].set_ylabel(f"test RMSE after {knobs['budget_s']:g} CPU s")
    for a in ax:
        a.set_xlabel("ratings N")
        a.legend(fontsize=7)
    savefig(fig, Path(out) / "scaling.png")
    how = next(iter(cost.values()))["memory_how"]
    notes = (f"Sizes {sizes} ratings; users x items on the power law through MovieLens-100K and ml-25m "
             "(users = 943 (N/1e5)^0.933, items = 1682 (N/1e5)^0.644; the embedded low-rank generator, 90/10 "
             f"split). Each job runs in {'a fresh Python process' if knobs['isolate'] else 'this process'}: per (method, "
             f"size) a cost job ({knobs['cost_budget_s']:g} CPU s of training: cost and memory) and a budget job "
             "(RMSE). s/1e5: CPU seconds (time.process_time) per 10^5 training ratings — chains: "
             f"{knobs['time_steps']} timed Adam steps of {knobs['batch']} ratings after a warm-up (train.time_steps); "
             "MF: the mean SGD epoch / ALS sweep of the cost job (at least one); epoch s = s/1e5 x N_train/1e5 (extrapolated for the chains). "
             f"Memory (cost job): peak resident set ({how}) during training and evaluation minus the resident set after "
             "imports and data generation (freed heap returned to the OS first, glibc malloc_trim). RMSE: after a budget of "
             f"{knobs['budget_s']:g} CPU seconds of training (chains: fit's max_seconds, checked after each step; "
             "MF: checked between epochs, at least one epoch), on the first "
             f"{knobs['n_eval']} test ratings (same for all methods); '-': budget job not run. Slopes: least squares of log10 cost on "
             f"log10 N. Chains settings as `evidence-chains`: {ec_kw}, {tree_kw}.")
    return {"metrics": metrics,
            "tables": [{"name": "Scaling: cost, memory and RMSE on a fixed CPU budget",
                        "columns": ["method", "N", "users", "items", "CPU s / 1e5 ratings", "epoch CPU s",
                                    "peak MB", "epochs in budget", "test RMSE"], "rows": rows},
                       {"name": "Log-log slopes of cost vs N", "columns": ["method", "epoch s", "s per 1e5",
                                                                         "peak MB"], "rows": slope_rows}],
            "figures": ["scaling.png"], "notes": notes}
