"""Bad calls and bad vector files exit 2 with a message naming what was expected — they are
never reported as a failing candidate (exit 1)."""
import json
import shutil

import pytest

from refimpl import cli
from refimpl.verify import write_vectors


@pytest.fixture(scope="module")
def vec(tmp_path_factory):
    d = tmp_path_factory.mktemp("vectors_bad")
    for kind in ("ode-solve/scipy", "hutchinson", "tcvae-mig"):
        write_vectors(d, only=kind, log=lambda s: None)
    return d


def two_args(fun, t_span):
    return None


def returns_none(*args, **kwargs):
    return None


def _verify(kind, cand, vec, capsys):
    rc = cli.main(["verify", kind, f"{__name__}:{cand}", "--vectors", str(vec)])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_a_candidate_with_another_signature_is_a_bad_call(vec, capsys):
    rc, out, err = _verify("ode-solve/scipy", "two_args", vec, capsys)
    assert rc == 2 and "FAIL" not in out
    assert "cannot be called as ode-solve/scipy calls it" in err
    assert "candidate(fun, t_span, y0, *, rtol, atol, t_eval) -> (ys, nfev)" in err
    rc, out, err = _verify("hutchinson", "two_args", vec, capsys)
    assert rc == 2 and "candidate(W1, b1, W2, z, eps)" in err


def test_a_candidate_returning_none_is_a_bad_call(vec, capsys):
    rc, out, err = _verify("tcvae-mig", "returns_none", vec, capsys)           # a scalar kind: None is not nan
    assert rc == 2 and "got None" in err
    rc, out, err = _verify("ode-solve/scipy", "returns_none", vec, capsys)
    assert rc == 2 and "expected a tuple (ys, nfev)" in err


def test_an_incomplete_case_file_is_a_bad_vector_folder(vec, tmp_path, capsys):
    d = tmp_path / "v"
    shutil.copytree(vec, d)
    p = d / "ode-solve/scipy/00-decay-rtol0.001.json"
    meta = json.loads(p.read_text())
    del meta["rtol"]
    p.write_text(json.dumps(meta))
    rc = cli.main(["verify", "ode-solve/scipy", "refimpl.verify.adapters:scipy_rk45", "--vectors", str(d)])
    err = capsys.readouterr().err
    assert rc == 2 and "00-decay-rtol0.001.json" in err and "'rtol'" in err
    p.write_text("[1, 2]")                                                     # JSON, but not an object
    assert cli.main(["verify", "ode-solve/scipy", "refimpl.verify.adapters:scipy_rk45", "--vectors", str(d)]) == 2
    assert "expected a JSON object" in capsys.readouterr().err


def test_a_case_missing_an_array_is_a_bad_vector_folder(vec, tmp_path, capsys):
    import numpy as np
    d = tmp_path / "v"
    shutil.copytree(vec, d)
    p = d / "hutchinson/1-D5-gaussian.npz"
    with np.load(p, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != "eps"}
    np.savez(p, **arrays)
    assert cli.main(["verify", "hutchinson", "refimpl.verify.kinds_trace:reference", "--vectors", str(d)]) == 2
    err = capsys.readouterr().err
    assert "1-D5-gaussian.npz" in err and "'eps'" in err


def test_successive_only_calls_add_up_in_the_index(vec):
    from refimpl.verify import read_index
    assert set(read_index(vec)["kinds"]) == {"ode-solve/scipy", "hutchinson", "tcvae-mig"}
