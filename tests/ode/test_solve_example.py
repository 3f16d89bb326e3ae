"""Smoke test: the example script runs with --quick and writes its figure."""


def test_example_runs_quick(run_example):
    res, out = run_example("ode_solvers.py", out="orbit.png", timeout=120)
    assert out.stat().st_size > 10_000
    assert "dopri5" in res.stdout and "dop853" in res.stdout
