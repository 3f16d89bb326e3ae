"""Smoke test: examples/odeint_gradients.py runs with --quick, writes its figure, and the
numbers it prints say what the example claims (modes agree with finite differences)."""
import re


def test_odeint_gradients_example_runs_quick(run_example):
    res, out = run_example("odeint_gradients.py", out="odeint_gradients.png", timeout=180)
    assert out.stat().st_size > 10_000
    rows = re.findall(r"^\s*(adjoint|backprop|checkpoint)\s+(\S+)\s+(\S+)\s+(\d+)\s+(\d+)$",
                      res.stdout, flags=re.M)
    assert len(rows) == 9, res.stdout                      # 3 modes x 3 tolerances
    for mode, tol, err, nfev_fwd, nfev_bwd in rows[-3:]:   # tightest tolerance, 1e-9
        assert float(err) < 1e-6, (mode, tol, err)
        assert int(nfev_fwd) > 0 and int(nfev_bwd) > 0
    same = [float(x) for x in re.findall(r"checkpoint vs backprop (\S+)", res.stdout)]
    assert len(same) == 3 and max(same) < 1e-12            # the same discrete gradient
