"""Re-score the trained models of `refimpl run latent-ode-spirals --seeds … --out OUT` from
their final checkpoints with the current `exp_latent.evaluate` (e.g. metrics added after the
run, such as `rmse_outer` / `rmse_inner`), and save their parameters in a small npz.

    PYTHONPATH=. python numerics/latent_ode_rescore.py OUT DEST_DIR

For each OUT/seed{s}/latent-ode-spirals: rebuilds the run's test spirals and observation
sets from the seed (the experiment's streams), loads the latent ODE and every RNN width from
`checkpoint-*.npz`, checks that `rmse` reproduces the run's results.json exactly, and writes
DEST_DIR/rescored.json ({seed: metrics}) and DEST_DIR/params-seed{s}.npz (flat parameter
vectors, keys `{model}-n{n}`; unflatten with the init functions at the same sizes).
"""
import json
import sys
from pathlib import Path

import numpy as np
from autograd.misc import flatten

from refimpl.experiments import Config
from refimpl.neural_ode import exp_latent as E
from refimpl.neural_ode.latent_ode import init_latent_ode
from refimpl.neural_ode.rnn import init_rnn_baseline
from refimpl.neural_ode.spirals import archimedean_spirals, nested_subsamples


def _load(folder, tag, init):
    flat, unflatten = flatten(init)
    x = np.load(folder / f"checkpoint-{tag}.npz")["opt_x"]
    if x.shape != flat.shape:
        raise ValueError(f"checkpoint-{tag}: {x.size} parameters, expected {flat.size}")
    return unflatten(x), x


def rescore(folder, seed):
    result = json.loads((folder / "results.json").read_text())
    s = E.settings(result["quick"])
    W, Ex = s["n_window"], s["n_extrapolate"]
    cfg = Config("latent-ode-spirals", quick=result["quick"], seed=seed, out=folder,
                 progress_enabled=False)
    data = archimedean_spirals(cfg.rng(7), n_spirals=s["n_test"], n_total=s["n_total"],
                               n_window=W, noise_std=E.NOISE_STD, n_extrapolate=Ex)
    sets_te = nested_subsamples(cfg.rng(8), s["n_test"], W, s["ns"])
    run = result["metrics"]
    metrics, params = {}, {}
    for n in s["ns"]:
        ode, params[f"latent_ode-n{n}"] = _load(
            folder, f"latent-ode-n{n}", init_latent_ode(cfg.rng(3, n), dyn_hidden=s["dyn_hidden"]))
        rnns = {"rnn": (f"rnn-n{n}", s["rnn_hidden"])}
        rnns.update({f"rnn{h}": (f"rnn{h}-n{n}", h) for h in s["rnn_wide"]})
        for name, (tag, h) in rnns.items():
            rnn, params[f"{name}-n{n}"] = _load(folder, tag, init_rnn_baseline(cfg.rng(5, n),
                                                                               hidden=h))
            m = E.evaluate(ode, rnn, data, sets_te[n], data["ts"], s)[0]
            for metric, by_model in m.items():
                for model, v in by_model.items():
                    metrics[f"n{n}/{name if model == 'rnn' else model}/{metric}"] = v
        for k in (f"n{n}/latent_ode/rmse", f"n{n}/rnn/rmse"):
            if metrics[k] != run[k]:
                raise RuntimeError(f"{folder}: {k} {metrics[k]} does not reproduce the run's "
                                   f"{run[k]}")
    return metrics, params


def main(out, dest):
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    allm = {}
    for folder in sorted(Path(out).glob("seed*/latent-ode-spirals")):
        seed = int(folder.parent.name[4:])
        allm[seed], params = rescore(folder, seed)
        np.savez_compressed(dest / f"params-seed{seed}.npz", **params)
        print(f"seed {seed}:", {k: round(v, 3) for k, v in allm[seed].items()
                                if k.endswith(("/rmse", "rmse_outer", "rmse_inner"))})
    (dest / "rescored.json").write_text(json.dumps(allm, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
