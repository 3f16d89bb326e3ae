"""The verification kit: vectors regenerate byte for byte, refimpl's own functions and the
public libraries pass, perturbed candidates fail with the right diagnosis, bad calls exit 2."""
import importlib.util
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

from refimpl import cli
from refimpl.verify import BadCall, get_kind, kinds, read_case, read_index, run_verify, write_vectors


@pytest.fixture(scope="module")
def vec(tmp_path_factory):
    d = tmp_path_factory.mktemp("vectors")
    write_vectors(d, log=lambda s: None)
    return d


def _files(d):
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(Path(d).rglob("*")) if p.is_file()}


def test_regeneration_is_byte_identical_and_needs_no_pickle(vec, tmp_path):
    write_vectors(tmp_path, log=lambda s: None)
    a, b = _files(vec), _files(tmp_path)
    assert a.keys() == b.keys() and all(a[k] == b[k] for k in a)
    import zipfile
    for name in a:
        if name.endswith(".npz"):
            with np.load(Path(vec) / name, allow_pickle=False) as z:       # arrays only
                assert all(z[k].dtype != object for k in z.files)
            with zipfile.ZipFile(Path(vec) / name) as zf:                  # no wall-clock in the bytes
                assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_round_trip_of_a_case(vec):
    arrays, meta = read_case(vec, "ode-solve/scipy", "00-decay-rtol0.001")
    assert arrays["ys"].shape == (10, 2) and int(arrays["nfev"]) > 0 and meta["problem"] == "decay"
    assert arrays["history_accepted"].dtype == bool and meta["refimpl_version"]


@pytest.mark.parametrize("kind", kinds())
def test_refimpl_own_function_passes_every_case(vec, kind):
    assert run_verify(kind, get_kind(kind).own, vec, log=lambda s: None) == 0


@pytest.mark.parametrize("kind, cand", [("ode-solve/scipy", "scipy_rk45"), ("ode-solve/scipy-dop853", "scipy_dop853"),
                                        ("ode-solve/hairer", "scipy_ode_dopri5"),
                                        ("ode-solve/torchdiffeq", "torchdiffeq_dopri5")])
def test_the_libraries_pass_their_kinds(vec, kind, cand):
    if cand.startswith("torch") and importlib.util.find_spec("torchdiffeq") is None:
        pytest.skip("torchdiffeq not installed (the bench extra)")
    assert run_verify(kind, f"refimpl.verify.adapters:{cand}", vec, log=lambda s: None) == 0


def _lines(kind, cand, vec):
    out = []
    rc = run_verify(kind, cand, vec, log=out.append)
    return rc, "\n".join(out)


def bad_safety_rk45(fun, t_span, y0, *, rtol, atol, t_eval):
    from scipy.integrate import solve_ivp
    from scipy.integrate._ivp import rk
    with mock.patch.object(rk, "SAFETY", 0.8):
        r = solve_ivp(fun, t_span, y0, rtol=rtol, atol=atol, t_eval=t_eval)
    return r.y.T, r.nfev


def other_first_step_rk45(fun, t_span, y0, *, rtol, atol, t_eval):
    from scipy.integrate import solve_ivp
    r = solve_ivp(fun, t_span, y0, rtol=rtol, atol=atol, t_eval=t_eval, first_step=1e-3)
    return r.y.T, r.nfev


def test_another_safety_factor_is_diagnosed(vec):
    rc, text = _lines("ode-solve/scipy", f"{__name__}:bad_safety_rk45", vec)
    assert rc == 1 and "FAIL" in text
    assert "safety factor of 0.8" in text


def test_another_initial_step_is_diagnosed(vec):
    rc, text = _lines("ode-solve/scipy", f"{__name__}:other_first_step_rk45", vec)
    assert rc == 1 and "attempt 0" in text and "initial step selection" in text


def stl_with_score_term(estimator, tm, tls, qm, qls, eps):
    from refimpl.verify.kinds_vi import reference_gradient
    return reference_gradient("total" if estimator == "stl" else estimator, tm, tls, qm, qls, eps)


def summed_gradients(estimator, tm, tls, qm, qls, eps):
    from refimpl.verify.kinds_vi import reference_gradient
    gm, gs = reference_gradient(estimator, tm, tls, qm, qls, eps)
    return gm * len(eps), gs * len(eps)


def test_stl_with_the_score_term_kept_is_a_named_convention(vec):
    rc, text = _lines("vi-gradients", f"{__name__}:stl_with_score_term", vec)
    assert rc == 1 and "the score term ∇_φ log q is kept" in text
    assert "FAIL  vi-gradients/3-q-equals-target-stl" in text           # nonzero where STL is exactly 0


def test_a_sum_over_samples_is_a_named_convention(vec):
    rc, text = _lines("vi-gradients", f"{__name__}:summed_gradients", vec)
    assert rc == 1 and "a sum over the K samples instead of their mean" in text


def official_mss(z, mean, log_std, N, estimator):
    from refimpl.tcvae.mss import log_qz_mss, log_qz_mws, official_log_importance_weight_matrix
    if estimator == "mws":
        return log_qz_mws(z, mean, log_std, N)
    return log_qz_mss(z, mean, log_std, N, official_log_importance_weight_matrix(len(z), N))


def test_the_official_mss_matrix_is_named_as_the_known_defect(vec):
    rc, text = _lines("tcvae-mss", f"{__name__}:official_mss", vec)
    assert rc == 1 and "known defect" in text and "PASS  tcvae-mss/0-B5-mws" in text


def wrong_shape(fun, t_span, y0, *, rtol, atol, t_eval):
    return np.zeros((3,)), 1


def none_nfev(fun, t_span, y0, *, rtol, atol, t_eval):
    from refimpl.verify.adapters import scipy_rk45
    return scipy_rk45(fun, t_span, y0, rtol=rtol, atol=atol, t_eval=t_eval)[0], None


def stretch_last_step_rk45(fun, t_span, y0, *, rtol, atol, t_eval):
    # scipy's RK45, except that a step whose end lies within 1.5 h of t1 is stretched onto t1
    from scipy.integrate._ivp import rk
    orig = rk.RungeKutta._step_impl

    def step(self):
        t, h = self.t, self.h_abs if self.h_abs is not None else 0.0
        if h and self.direction * (t + 1.5 * h * self.direction - self.t_bound) > 0:
            self.h_abs = abs(self.t_bound - t)
        return orig(self)
    from scipy.integrate import solve_ivp
    with mock.patch.object(rk.RungeKutta, "_step_impl", step):
        r = solve_ivp(fun, t_span, y0, rtol=rtol, atol=atol, t_eval=t_eval)
    return r.y.T, r.nfev


def test_last_step_stretching_is_named(vec):
    rc, text = _lines("ode-solve/scipy", f"{__name__}:stretch_last_step_rk45", vec)
    assert rc == 1 and "last-step clipping: the candidate lengthens this step" in text
    # right after a rejection the same step could be a growth rule: both are named there
    for d in (ln for ln in text.splitlines() if "growth cap after a rejection" in ln):
        assert "stretches steps onto t1" in d


def test_bad_calls_exit_2_with_a_message(vec, capsys):
    assert cli.main(["verify", "ode-solve/scipy", f"{__name__}:none_nfev", "--vectors", str(vec)]) == 2
    assert "expected nfev as an int" in capsys.readouterr().err
    assert cli.main(["verify", "ode-solve/nope", "x:y", "--vectors", str(vec)]) == 2
    assert "KIND: expected one of" in capsys.readouterr().err
    assert cli.main(["verify", "vi-gradients", "no_such_module_xyz:f", "--vectors", str(vec)]) == 2
    assert "cannot import module" in capsys.readouterr().err
    assert cli.main(["verify", "vi-gradients", "refimpl.verify.adapters", "--vectors", str(vec)]) == 2
    assert "expected 'module:function'" in capsys.readouterr().err
    assert cli.main(["verify", "ode-solve/scipy", f"{__name__}:wrong_shape", "--vectors", str(vec)]) == 2
    assert "expected ys" in capsys.readouterr().err


def test_malformed_vector_folders_exit_2(vec, tmp_path, capsys):
    assert cli.main(["verify", "hutchinson", "refimpl.verify.kinds_trace:reference", "--vectors",
                     str(tmp_path / "missing")]) == 2
    assert "--vectors" in capsys.readouterr().err
    (tmp_path / "v").mkdir()
    assert cli.main(["verify", "hutchinson", "refimpl.verify.kinds_trace:reference", "--vectors",
                     str(tmp_path / "v")]) == 2
    assert "index.json" in capsys.readouterr().err
    write_vectors(tmp_path / "w", only="hutchinson", log=lambda s: None)
    (tmp_path / "w" / "hutchinson" / "0-D2-rademacher.npz").write_bytes(b"not a zip")
    assert cli.main(["verify", "hutchinson", "refimpl.verify.kinds_trace:reference", "--vectors",
                     str(tmp_path / "w")]) == 2
    assert "0-D2-rademacher.npz" in capsys.readouterr().err
    assert cli.main(["verify", "vi-gradients", "refimpl.verify.kinds_vi:reference_gradient", "--vectors",
                     str(tmp_path / "w")]) == 2                            # kind not in these vectors
    assert "no kind 'vi-gradients'" in capsys.readouterr().err


def test_cli_vectors_reports_kinds_cases_and_size(tmp_path, capsys):
    assert cli.main(["vectors", "--out", str(tmp_path), "--only", "tcvae"]) == 0
    assert "2 kinds, 9 cases" in capsys.readouterr().out          # tcvae-mig 3 + tcvae-mss 6
    assert cli.main(["vectors", "--out", str(tmp_path), "--only", "nothing"]) == 2


def test_step_reconstruction_recovers_the_reference_history(vec):
    from refimpl.verify.diagnose_ode import reconstruct_attempts
    from refimpl.verify.kinds_ode import KINDS
    arrays, meta = read_case(vec, "ode-solve/scipy", "02-vanderpol-rtol0.0001")
    from refimpl.verify.adapters import scipy_rk45
    out = KINDS["ode-solve/scipy"].run(scipy_rk45, arrays, meta)
    att = reconstruct_attempts(out["eval_times"], arrays["t_span"][0])
    assert len(att) == len(arrays["history_t"])
    np.testing.assert_allclose([a[1] for a in att], arrays["history_h"], rtol=1e-12)
    assert [a[2] for a in att] == arrays["history_accepted"].tolist()
    assert not all(arrays["history_accepted"])                          # the case has rejections


def kfac_summed_factors(abar, ds, V, gamma, damping, M, scale, eps):
    from refimpl.verify.kinds_kfac import reference
    A, S, pc, smp = reference(abar, ds, V, gamma, damping, M, scale, eps)
    return A * len(abar), S, pc, smp


def kfac_other_damping(abar, ds, V, gamma, damping, M, scale, eps):
    from refimpl.verify.kinds_kfac import reference
    return reference(abar, ds, V, gamma, "eigen" if damping == "factored" else "factored", M, scale, eps)


def test_kfac_conventions_are_named(vec):
    rc, text = _lines("kfac", f"{__name__}:kfac_summed_factors", vec)
    assert rc == 1 and "A is a sum over the batch" in text
    rc, text = _lines("kfac", f"{__name__}:kfac_other_damping", vec)
    assert rc == 1 and "convention: 'eigen' damping where 'factored' was asked" in text


def odeint_no_param_grads(W1, b1, W2, b2, y0, t, cot, *, rtol, atol, gradient):
    from refimpl.verify.kinds_odeint import reference
    out = reference(W1, b1, W2, b2, y0, t, cot, rtol=rtol, atol=atol, gradient=gradient)
    return out[:3] + tuple(0.0 * g for g in out[3:])


def test_odeint_grad_names_the_block(vec):
    rc, text = _lines("odeint-grad", f"{__name__}:odeint_no_param_grads", vec)
    assert rc == 1 and "only the parameter gradients differ" in text and "g_W1" in text


def test_torchdiffeq_passes_odeint_grad(vec):
    pytest.importorskip("torchdiffeq")
    assert run_verify("odeint-grad", "refimpl.verify.adapters:torchdiffeq_odeint_grad", vec, log=lambda s: None) == 0


def ec_python_twin(graph, q_kind, q_ent, *, max_depth, evidence, node_cap):
    from refimpl.evidence_chains.trees_reference import build_forest_reference
    from refimpl.verify.kinds_ec import _G
    f = build_forest_reference(_G(graph), q_kind, q_ent, max_depth=max_depth, evidence=evidence,
                               node_cap=node_cap)
    return f.kind, f.entity, f.parent, f.depth, f.root_ptr


def ec_no_halving(graph, q_kind, q_ent, *, max_depth, evidence, node_cap):
    from refimpl.verify.kinds_ec import reference
    return reference(graph, q_kind, q_ent, max_depth=max_depth, evidence=2 * evidence, node_cap=node_cap)


def test_evidence_trees_python_twin_passes_and_a_wrong_limit_is_located(vec):
    assert run_verify("evidence-chains", f"{__name__}:ec_python_twin", vec, log=lambda s: None) == 0
    rc, text = _lines("evidence-chains", f"{__name__}:ec_no_halving", vec)
    assert rc == 1 and "first difference at node" in text and "evidence limit" in text


def miscounting_rk45(fun, t_span, y0, *, rtol, atol, t_eval):
    from refimpl.verify.adapters import scipy_rk45
    ys, nfev = scipy_rk45(fun, t_span, y0, rtol=rtol, atol=atol, t_eval=t_eval)
    return ys, nfev + 1                                   # right solution, wrong evaluation count


def test_a_wrong_evaluation_count_fails_even_with_the_right_solution(vec):
    rc, text = _lines("ode-solve/scipy", f"{__name__}:miscounting_rk45", vec)
    n_cases = len(read_index(vec)["kinds"]["ode-solve/scipy"]["cases"])
    assert rc == 1 and text.count("FAIL") == n_cases and "agreement 0 " in text
    assert text.count("nfev bookkeeping") == n_cases
