"""Summarise `refimpl run latent-ode-spirals --seeds 0,1,2 --out OUT` into issue #25's keys.

    PYTHONPATH=. python numerics/latent_ode_seeds.py OUT [DEST.json]
"""
import json
import sys
from pathlib import Path

from refimpl.neural_ode.exp_latent import PAPER_TABLE2, seed_summary


def main(out, dest=None):
    files = sorted(Path(out).glob("seed*/latent-ode-spirals/results.json"))
    summ = seed_summary([json.loads(f.read_text())["metrics"] for f in files])
    wide = sorted({k.split("/")[1] for k in summ if k.count("/") == 2
                   and k.split("/")[1].startswith("rnn") and k.split("/")[1] != "rnn"})
    print("n    RNN paper  RNN ours (mean ± sd)  " + "".join(f"{w} ours (mean ± sd)  " for w in wide)
          + "latent ODE paper  latent ODE ours (mean ± sd)")
    for n, p in PAPER_TABLE2.items():
        cells = "".join(f"{summ[f'n{n}/{w}/rmse']:.3f} ± {summ[f'n{n}/{w}/rmse_sd']:.3f}"
                        + " " * 11 for w in wide)
        print(f"{n:<4} {p['rnn']:.3f}      {summ[f'n{n}/rnn/rmse']:.3f} ± {summ[f'n{n}/rnn/rmse_sd']:.3f}"
              f"         {cells}{p['latent_ode']:.3f}             "
              f"{summ[f'n{n}/latent_ode/rmse']:.3f} ± {summ[f'n{n}/latent_ode/rmse_sd']:.3f}")
    print("other definitions (3-seed mean ± sd; see exp_latent.evaluate):")
    for k in ("extrap_rmse_first_half", "obs_rmse", "interp_rmse", "recon_rmse",
              "rmse_clockwise", "rmse_counterclockwise", "rmse_tight_solve"):
        for n in PAPER_TABLE2:
            cells = [f"{m} {summ[f'n{n}/{m}/{k}']:.3f} ± {summ[f'n{n}/{m}/{k}_sd']:.3f}"
                     for m in ("latent_ode", "rnn", *wide) if f"n{n}/{m}/{k}" in summ]
            if cells:
                print(f"  {k:<24} n{n:<4} " + "   ".join(cells))
    if dest:
        Path(dest).write_text(json.dumps({"seeds_from": [str(f) for f in files], "metrics": summ}, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
