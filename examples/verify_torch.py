"""Check your own PyTorch code against refimpl's reference vectors inside your test suite.

    refimpl vectors --out vectors/            # once (or `--only vi-gradients`)
    pytest examples/verify_torch.py           # or copy the test into your project

The vectors are plain .npz + .json files: this file needs only numpy, json and torch — not
refimpl. It checks a PyTorch STL ("sticking the landing") gradient against the
`vi-gradients` cases: the path derivative of the mean over samples of log p(z) − log q(z),
with q's parameters held constant inside log q.
"""
import json
import math
from pathlib import Path

import numpy as np

VECTORS = Path("vectors")


def stl_grad_torch(target_mean, target_log_std, q_mean, q_log_std, eps):
    """Your implementation: STL gradient w.r.t. (q_mean, q_log_std) with PyTorch autograd."""
    import torch
    tm, tls, e = (torch.from_numpy(a) for a in (target_mean, target_log_std, eps))
    m = torch.tensor(q_mean, requires_grad=True)
    s = torch.tensor(q_log_std, requires_grad=True)
    z = m + torch.exp(s) * e                                            # (K, D) reparameterised
    log_p = (-0.5 * ((z - tm) / torch.exp(tls)) ** 2 - tls - 0.5 * math.log(2 * math.pi)).sum(-1)
    m0, s0 = m.detach(), s.detach()                                     # STL: stop-gradient in log q
    log_q = (-0.5 * ((z - m0) / torch.exp(s0)) ** 2 - s0 - 0.5 * math.log(2 * math.pi)).sum(-1)
    (log_p - log_q).mean().backward()
    return m.grad.numpy(), s.grad.numpy()


def test_stl_gradient_matches_refimpl():
    import pytest
    if not (VECTORS / "index.json").exists():
        pytest.skip("run `refimpl vectors --out vectors --only vi-gradients` first")
    pytest.importorskip("torch")
    index = json.loads((VECTORS / "index.json").read_text())
    n = 0
    for case in index["kinds"]["vi-gradients"]["cases"]:
        meta = json.loads((VECTORS / "vi-gradients" / f"{case}.json").read_text())
        if meta["estimator"] != "stl":
            continue
        with np.load(VECTORS / "vi-gradients" / f"{case}.npz", allow_pickle=False) as a:
            gm, gs = stl_grad_torch(a["target_mean"], a["target_log_std"], a["q_mean"], a["q_log_std"], a["eps"])
            np.testing.assert_allclose(gm, a["grad_q_mean"], rtol=1e-9, atol=1e-9, err_msg=case)
            np.testing.assert_allclose(gs, a["grad_q_log_std"], rtol=1e-9, atol=1e-9, err_msg=case)
        n += 1
    assert n >= 3


def stl_candidate(estimator, target_mean, target_log_std, q_mean, q_log_std, eps):
    """The same function to the kit's contract, for `refimpl verify vi-gradients`
    examples.verify_torch:stl_candidate` (it answers the "stl" cases only)."""
    if estimator != "stl":
        raise NotImplementedError(f"this example implements 'stl' only, not {estimator!r}")
    return stl_grad_torch(target_mean, target_log_std, q_mean, q_log_std, eps)
