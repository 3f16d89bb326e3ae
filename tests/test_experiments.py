"""Claims about the experiment registry, results.json, checkpoints and the CLI."""
import json
import subprocess
import sys

import numpy as np
import pytest

from refimpl import cli
from refimpl import experiments as ex
from refimpl.experiments import experiment, run_experiment


@pytest.fixture
def counting_experiment():
    """A tiny resumable experiment: sums 0..n-1 with a checkpoint after every step; can be
    told to interrupt itself (KeyboardInterrupt) after `stop_after` steps."""
    calls = {"started_at": [], "stop_after": None}

    @experiment("test-counting", paper="(test)", artefact="(test)", quick_seconds=0)
    def counting(cfg):
        ck = cfg.checkpoint("loop", every_s=0.0)
        state = ck.load()
        step, total = (int(state["step"]), float(state["total"])) if state else (0, 0.0)
        calls["started_at"].append(step)
        for i in range(step, 10):
            total += i
            ck.maybe_save(i + 1, lambda: {"step": np.array(i + 1), "total": np.array(total)})
            if calls["stop_after"] is not None and i + 1 == calls["stop_after"]:
                calls["stop_after"] = None
                raise KeyboardInterrupt
        return {"metrics": {"sum/total": total, "sum/nan": float("nan")},
                "tables": [{"name": "t", "columns": ["a", "b"], "rows": [[1, 2.5]]}]}

    yield calls
    ex.REGISTRY.pop("test-counting", None)


def test_registry_lists_the_first_experiment():
    specs = ex.discover()
    assert "toy-densities" in specs
    assert specs["toy-densities"].paper.startswith("FFJORD")


def test_every_experiment_module_imports():
    ex.discover()
    assert ex.IMPORT_ERRORS == {}, "\n".join(ex.IMPORT_ERRORS.values())


def test_duplicate_name_from_another_module_is_rejected():
    with pytest.raises(ValueError, match="registered twice"):
        experiment("toy-densities", paper="x", artefact="y")(lambda cfg: {})


def test_results_json_has_the_contract_fields(tmp_path, counting_experiment):
    res = run_experiment("test-counting", quick=True, seed=3, out=tmp_path, progress=False)
    on_disk = json.loads((tmp_path / "test-counting" / "results.json").read_text())
    assert on_disk == json.loads(json.dumps(res))
    for key in ("experiment", "paper", "artefact", "quick", "seed", "elapsed_s", "metrics",
                "tables", "figures", "provenance"):
        assert key in on_disk
    assert on_disk["metrics"]["sum/total"] == 45.0
    assert on_disk["metrics"]["sum/nan"] is None          # JSON has no NaN
    assert on_disk["seed"] == 3 and on_disk["quick"] is True
    for key in ("python", "numpy", "scipy", "autograd", "numba", "cpu", "blas", "command"):
        assert key in on_disk["provenance"]
    # atomic writes leave no temporary files behind
    assert [p.name for p in (tmp_path / "test-counting").iterdir() if p.name.startswith(".")] == []


def test_interrupted_run_resumes_from_its_checkpoint(tmp_path, counting_experiment):
    counting_experiment["stop_after"] = 6
    with pytest.raises(KeyboardInterrupt):
        run_experiment("test-counting", out=tmp_path, progress=False)
    assert not (tmp_path / "test-counting" / "results.json").exists()
    res = run_experiment("test-counting", out=tmp_path, resume=True, progress=False)
    assert counting_experiment["started_at"] == [0, 6]      # lost no completed step
    assert res["metrics"]["sum/total"] == 45.0               # same answer as uninterrupted
    # without --resume the checkpoint is ignored
    run_experiment("test-counting", out=tmp_path, resume=False, progress=False)
    assert counting_experiment["started_at"][-1] == 0


def test_checkpoint_refuses_object_arrays(tmp_path):
    ck = ex.Checkpoint(tmp_path / "c.npz")
    with pytest.raises(ValueError, match="dtype object"):
        ck.save({"bad": np.array([{"a": 1}], dtype=object)})


def test_rng_streams_are_seeded_and_independent(tmp_path):
    a = ex.Config("x", seed=1, out=tmp_path).rng(5).standard_normal(3)
    b = ex.Config("x", seed=1, out=tmp_path).rng(5).standard_normal(3)
    c = ex.Config("x", seed=1, out=tmp_path).rng(6).standard_normal(3)
    d = ex.Config("x", seed=2, out=tmp_path).rng(5).standard_normal(3)
    assert np.array_equal(a, b) and not np.allclose(a, c) and not np.allclose(a, d)


def test_cli_run_writes_results_and_figures(tmp_path, capsys):
    assert cli.main(["run", "toy-densities", "--quick", "--out", str(tmp_path), "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert "8gaussians/std_x" in out
    res = json.loads((tmp_path / "toy-densities" / "results.json").read_text())
    assert res["seed"] == 4
    for f in res["figures"]:
        assert (tmp_path / "toy-densities" / f).stat().st_size > 1000


def test_cli_unknown_experiment_exits_2_and_lists_names(tmp_path, capsys):
    assert cli.main(["run", "no-such-thing", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no-such-thing" in err and "toy-densities" in err


def test_cli_bad_data_dir_exits_2(tmp_path, capsys):
    assert cli.main(["run", "toy-densities", "--data-dir", str(tmp_path / "missing"), "--out", str(tmp_path)]) == 2
    assert "--data-dir" in capsys.readouterr().err


def test_tour_writes_report_and_static_html(tmp_path, counting_experiment):
    rc = cli.main(["tour", "--quick", "--out", str(tmp_path), "--only", "to*-densities"])
    assert rc == (1 if ex.IMPORT_ERRORS else 0)   # a broken package fails the tour (tested below)
    md = (tmp_path / "report.md").read_text()
    page = (tmp_path / "index.html").read_text()
    assert "## toy-densities" in md and "toy-densities/toy_densities.png" in md
    assert '<img src="toy-densities/toy_densities.png"' in page
    assert "<script" not in page and "http" not in page.replace("http-equiv", "")
    assert "test-counting" not in md                     # --only filters


def test_tour_reports_a_failure_and_continues(tmp_path):
    @experiment("test-broken", paper="(test)", artefact="(test)")
    def broken(cfg):
        raise RuntimeError("deliberate failure")
    try:
        rc = cli.main(["tour", "--quick", "--out", str(tmp_path), "--only", "test-broken,toy-densities"])
    finally:
        ex.REGISTRY.pop("test-broken", None)
    assert rc == 1
    md = (tmp_path / "report.md").read_text()
    assert "deliberate failure" in md and "**FAILED**" in md and "## toy-densities" in md


def test_python_dash_m_lists_experiments():
    out = subprocess.run([sys.executable, "-m", "refimpl", "list"], capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, out.stderr
    assert "toy-densities" in out.stdout


def test_import_is_quick_and_compiles_nothing():
    # No wall-clock limit (never in unit tests): the claim is structural — importing the
    # package imports neither numba nor scipy nor matplotlib, so nothing can compile.
    code = "import sys, refimpl; print([m for m in ('numba', 'scipy', 'matplotlib') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=1800)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


# --- parallel runs: --jobs and --seeds give the serial results ----------------------------
@pytest.fixture
def seeded_experiment():
    @experiment("test-seeded", paper="(test)", artefact="(test)", quick_seconds=0)
    def seeded(cfg):
        rng = cfg.rng()
        x = rng.standard_normal(1000)
        return {"metrics": {"draw/mean": float(x.mean()), "draw/sd": float(x.std()),
                            "seed/value": float(cfg.seed)}}
    yield "test-seeded"
    ex.REGISTRY.pop("test-seeded", None)


def test_seeds_in_parallel_equal_serial_runs(tmp_path, seeded_experiment):
    from refimpl.parallel import run_pool
    serial = [run_experiment(seeded_experiment, seed=s, out=tmp_path / "serial", progress=False)
              for s in (0, 1, 2)]
    pooled = list(run_pool([(seeded_experiment, s) for s in (0, 1, 2)], 2, out=tmp_path / "pool"))
    assert [o[2] for o in pooled] == [None, None, None]
    assert [o[1]["metrics"] for o in pooled] == [r["metrics"] for r in serial]
    assert len({r["metrics"]["draw/mean"] for r in serial}) == 3       # the seeds differ
    for s in (0, 1, 2):                                                  # OUT/seed<N>/NAME
        assert (tmp_path / "pool" / f"seed{s}" / seeded_experiment / "results.json").exists()


def test_cli_run_seeds_and_tour_jobs(tmp_path, seeded_experiment, capsys):
    assert cli.main(["run", seeded_experiment, "--seeds", "3,4", "--jobs", "2",
                     "--out", str(tmp_path)]) == 0
    r3 = json.loads((tmp_path / "seed3" / seeded_experiment / "results.json").read_text())
    assert r3["seed"] == 3 and r3["metrics"]["seed/value"] == 3.0
    assert cli.main(["tour", "--only", "test-seeded,test-counting", "--jobs", "2",
                     "--out", str(tmp_path / "tour")]) == 0
    assert (tmp_path / "tour" / seeded_experiment / "results.json").exists()


@pytest.mark.parametrize("argv", [["run", "toy-densities", "--seed", "-1"],
                                  ["run", "toy-densities", "--seeds", "1,1"],
                                  ["tour", "--jobs", "0"]])
def test_cli_bad_numbers_exit_2(argv):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 2


def test_cli_out_pointing_to_a_file_exits_2(tmp_path, capsys):
    f = tmp_path / "afile"
    f.write_text("x")
    assert cli.main(["run", "toy-densities", "--quick", "--out", str(f)]) == 2
    assert "--out" in capsys.readouterr().err


# --- checkpoints are stamped with the run that wrote them ---------------------------------
def test_resume_refuses_another_seeds_checkpoint(tmp_path, counting_experiment, capsys):
    counting_experiment["stop_after"] = 4
    with pytest.raises(KeyboardInterrupt):
        run_experiment("test-counting", seed=3, out=tmp_path, progress=False)
    assert cli.main(["run", "test-counting", "--seed", "4", "--resume", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "checkpoint-loop.npz" in err and "seed: checkpoint 3, this run 4" in err
    res = run_experiment("test-counting", seed=3, out=tmp_path, resume=True, progress=False)
    assert res["metrics"]["sum/total"] == 45.0


def test_checkpoint_beyond_the_runs_steps_is_refused(tmp_path):
    ck = ex.Checkpoint(tmp_path / "c.npz", resume=True, fingerprint={"a": 1}, total=10)
    ck.save({"x": np.zeros(2)}, step=20)
    with pytest.raises(ex.CheckpointError, match="step 20, beyond this run's 10"):
        ck.load()
    ck.save({"x": np.zeros(2)}, step=10)
    assert set(ck.load()) == {"x"}


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04truncated", bytes(range(256)) * 4])
def test_corrupt_checkpoint_names_its_path(tmp_path, content):
    p = tmp_path / "checkpoint-x.npz"
    p.write_bytes(content)
    with pytest.raises(ex.CheckpointError, match="checkpoint-x.npz"):
        ex.Checkpoint(p, resume=True).load()


def test_unstamped_checkpoint_is_refused(tmp_path):
    from refimpl.io import save_npz_atomic
    p = tmp_path / "old.npz"
    save_npz_atomic(p, {"step": np.array(3)})
    with pytest.raises(ex.CheckpointError, match="no run fingerprint"):
        ex.Checkpoint(p, resume=True, fingerprint={"seed": 0}).load()


def test_resume_refuses_a_checkpoint_written_by_other_code(tmp_path, counting_experiment, monkeypatch):
    counting_experiment["stop_after"] = 4
    with pytest.raises(KeyboardInterrupt):
        run_experiment("test-counting", seed=3, out=tmp_path, progress=False)
    monkeypatch.setattr(ex, "_SOURCE_HASH", ["0123456789abcdef"])      # as after a code edit
    with pytest.raises(ex.CheckpointError, match="code: checkpoint '.*', this run '0123456789abcdef'"):
        run_experiment("test-counting", seed=3, out=tmp_path, resume=True, progress=False)


def test_fork_map_keeps_item_order_and_runs_closures_in_children():
    """`parallel.fork_map`: results in item order, from other processes when processes > 1, and
    serial (this process) when processes <= 1."""
    import os
    from refimpl.parallel import fork_map
    offset = 10                                             # a closure: children inherit it by fork
    res = fork_map(lambda x: (x + offset, os.getpid()), [3, 1, 2], 2)
    assert [r[0] for r in res] == [13, 11, 12]
    assert all(pid != os.getpid() for _, pid in res)
    assert fork_map(lambda x: os.getpid(), [1, 2], 1) == [os.getpid()] * 2
