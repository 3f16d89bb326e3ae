"""Cross-check the official β-TCVAE code's MSS estimator through `refimpl verify tcvae-mss`.

The official `VAE._log_importance_weight_matrix` and the MSS sums of `VAE.elbo`
(rtqichen/beta-tcvae, vae_quant.py) are read from a local clone at run time — nothing of
the official code is copied into this repository — and run in PyTorch (float64):

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python numerics/crosscheck_tcvae.py --official PATH

PATH: a clone (or bare git directory) of github.com/rtqichen/beta-tcvae. Writes
numerics/results/crosscheck_tcvae.md.
"""
import argparse
import ast
import subprocess
import textwrap
import sys
import tempfile
from pathlib import Path

import numpy as np

from refimpl.verify import run_verify, write_vectors

OFFICIAL = {}


def _load_official(path):
    path = Path(path)
    git = ["git", f"--git-dir={path / '.git' if (path / '.git').exists() else path}"]
    src = subprocess.run(git + ["show", "HEAD:vae_quant.py"], check=True, capture_output=True, text=True).stdout
    commit = subprocess.run(git + ["rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    # the file as a whole is Python 2-era (`x.cuda(async=True)` no longer parses): take the
    # method's lines only, from its `def` to the next method, and run them as a function
    lines = src.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.strip().startswith("def _log_importance_weight_matrix("))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].strip().startswith("def "))
    code = textwrap.dedent("\n".join(lines[start:end]))
    ast.parse(code)                                              # the method itself is valid Python 3
    import torch
    ns = {"torch": torch}
    exec(compile(code, "vae_quant.py", "exec"), ns)              # noqa: S102  (the official method)
    OFFICIAL.update(fn=ns["_log_importance_weight_matrix"], commit=commit, source=code)


def official_mss(z, mean, log_std, dataset_size, estimator):
    """The official MSS / MWS sums of `VAE.elbo` with its own weight matrix, in float64."""
    import torch
    torch.set_default_dtype(torch.float64)
    from torch import logsumexp
    B, D = z.shape
    z, m, ls = (torch.from_numpy(a) for a in (z, mean, log_std))
    _logqz = -0.5 * ((z.view(B, 1, D) - m.view(1, B, D)) * torch.exp(-ls.view(1, B, D))) ** 2 \
        - ls.view(1, B, D) - 0.5 * np.log(2 * np.pi)
    if estimator == "mws":
        c = np.log(B * dataset_size)
        logqz = logsumexp(_logqz.sum(2), dim=1) - c
        prod = (logsumexp(_logqz, dim=1) - c).sum(1)
    else:
        W = OFFICIAL["fn"](None, B, dataset_size).to(torch.float64)
        logqz = logsumexp(W + _logqz.sum(2), dim=1)
        prod = logsumexp(W.view(B, B, 1) + _logqz, dim=1).sum(1)
    return logqz.numpy(), prod.numpy()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--official", required=True, help="clone or git dir of rtqichen/beta-tcvae")
    ap.add_argument("--out", default="numerics/results/crosscheck_tcvae.md")
    args = ap.parse_args()
    _load_official(args.official)
    sys.modules.setdefault("crosscheck_tcvae", sys.modules[__name__])
    log = []
    with tempfile.TemporaryDirectory() as vec:
        write_vectors(vec, only="tcvae-mss", log=lambda s: None)
        rc = run_verify("tcvae-mss", "crosscheck_tcvae:official_mss", vec, log=log.append)
    import torch
    B, N = 6, 50
    W = OFFICIAL["fn"](None, B, N).to(torch.float64).exp().numpy()
    lines = ["## β-TCVAE MSS: the official code through `refimpl verify tcvae-mss`", "",
             f"rtqichen/beta-tcvae at commit `{OFFICIAL['commit']}`, `VAE._log_importance_weight_matrix` read from "
             "vae_quant.py at run time and executed in PyTorch (float64; its own `torch.Tensor` follows the default "
             "dtype), the MSS / MWS sums as in `VAE.elbo`. Command: `OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python "
             "numerics/crosscheck_tcvae.py --official PATH`.", "",
             f"exit code {rc}:", "", "```"] + log + ["```", "",
             f"Its weight matrix for B = {B}, N = {N} (rows: sample i; columns: datapoint j), beside the correct "
             "one's row sums:", "", "```"]
    lines += [" ".join(f"{v:8.5f}" for v in row) + f"   | row sum {row.sum():.5f}" for row in W]
    lines += ["```", "", "The correct matrix has 1/N = 0.02 on the diagonal, (N−M)/(N·M) = 0.18 on the next "
              "column (cyclically), 1/M = 0.2 elsewhere, and every row sums to 1."]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
