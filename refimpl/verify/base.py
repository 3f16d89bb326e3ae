"""The verification kit's moving parts: kinds, the registry, `vectors` and `verify`.

A *kind* (`Kind`) is a family of reference cases for one solver or estimator: how to make
them (refimpl's own functions), the contract a user's candidate must follow, how to run a
candidate on a case, and how to compare (agreement in units of the stated tolerance, and a
diagnosis when it fails). Kinds live in `refimpl/verify/kinds_*.py` and are found through
`KIND_MODULES` — module *names*, imported on demand, so the kit adds no import cycle and
importing refimpl.verify imports no paper package.
"""
import importlib
import inspect
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from .store import VectorError, case_names, read_case, read_index, write_case, write_index

__all__ = ["Kind", "CaseResult", "BadCall", "KIND_MODULES", "kinds", "get_kind", "resolve_candidate",
           "write_vectors", "run_verify"]

KIND_MODULES = {
    "ode-solve/default": "refimpl.verify.kinds_ode",
    "ode-solve/scipy": "refimpl.verify.kinds_ode",
    "ode-solve/scipy-dop853": "refimpl.verify.kinds_ode",
    "ode-solve/hairer": "refimpl.verify.kinds_ode",
    "ode-solve/torchdiffeq": "refimpl.verify.kinds_ode",
    "odeint-grad": "refimpl.verify.kinds_odeint",
    "evidence-chains": "refimpl.verify.kinds_ec",
    "kfac": "refimpl.verify.kinds_kfac",
    "vi-gradients": "refimpl.verify.kinds_vi",
    "hutchinson": "refimpl.verify.kinds_trace",
    "tcvae-mss": "refimpl.verify.kinds_tcvae",
    "tcvae-mig": "refimpl.verify.kinds_tcvae",
}


class BadCall(ValueError):
    """A call `verify` cannot make sense of (exit code 2): unknown kind, unimportable
    candidate, a return value of the wrong type or shape. The message says what was expected."""


@dataclass
class CaseResult:
    """passed; agreement: max |difference| / tolerance (<= 1 passes); message: one line;
    diagnosis: text naming the likely cause when it fails (may be empty)."""
    passed: bool
    agreement: float
    message: str = ""
    diagnosis: str = ""


@dataclass
class Kind:
    """name; contract: the candidate's signature and conventions (documented, a public
    contract); make_cases() -> [(case, arrays, meta)]; run(candidate, arrays, meta) -> output;
    compare(arrays, meta, output) -> CaseResult; own: "module:function" of refimpl's own
    candidate (which must pass)."""
    name: str
    contract: str
    make_cases: object
    run: object
    compare: object
    own: str
    extra: dict = field(default_factory=dict)


def kinds():
    return sorted(KIND_MODULES)


def get_kind(name):
    if name not in KIND_MODULES:
        raise BadCall(f"KIND: expected one of {kinds()}, got {name!r}")
    mod = importlib.import_module(KIND_MODULES[name])
    return mod.KINDS[name]


def resolve_candidate(spec):
    """'module:function' (importable from the current directory) -> the callable."""
    if not isinstance(spec, str) or spec.count(":") != 1 or not all(spec.split(":")):
        raise BadCall(f"CANDIDATE: expected 'module:function' (e.g. refimpl.verify.adapters:scipy_rk45), got {spec!r}")
    mod_name, fn_name = spec.split(":")
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")
    try:
        mod = importlib.import_module(mod_name)
    except Exception as e:                                        # noqa: BLE001  (any import failure)
        raise BadCall(f"CANDIDATE: cannot import module {mod_name!r}: {type(e).__name__}: {e}") from None
    fn = getattr(mod, fn_name, None)
    if not callable(fn):
        raise BadCall(f"CANDIDATE: module {mod_name!r} has no callable {fn_name!r}")
    return fn


def write_vectors(out, only=None, log=print):
    """Write every kind's cases (or only the kind `only`, or else the kinds whose name starts
    with `only`) under `out`.
    Returns the index dict (also written as out/index.json; with `only`, the kinds an
    existing index.json lists are kept, so successive --only calls add up)."""
    names = [only] if only in KIND_MODULES else [k for k in kinds() if only is None or k.startswith(only)]
    if not names:
        raise BadCall(f"--only: expected a kind or a kind prefix among {kinds()}, got {only!r}")
    index = {"refimpl_version": __version__, "kinds": {}}
    if only is not None and (Path(out) / "index.json").is_file():    # --only adds to an existing folder
        try:
            index["kinds"] = {k: v for k, v in read_index(out)["kinds"].items() if k in KIND_MODULES}
        except VectorError:
            pass
    for name in names:
        kind = get_kind(name)
        t0 = time.perf_counter()
        cases = kind.make_cases()
        for case, arrays, meta in cases:
            meta = {"kind": name, "case": case, "refimpl_version": __version__, "produced_by": kind.own,
                    "contract": kind.contract, **meta}
            write_case(out, name, case, arrays, meta)
        index["kinds"][name] = {"cases": [c[0] for c in cases], "contract": kind.contract}
        log(f"{name}: {len(cases)} cases ({time.perf_counter() - t0:.1f} s)")
    write_index(out, index)
    return index


def run_verify(kind_name, candidate_spec, vectors, log=print):
    """Run a candidate on every case of a kind; returns the exit code (0 all pass, 1 any fails).
    Raises BadCall (exit 2) for a bad call and VectorError for a bad vector folder."""
    kind = get_kind(kind_name)
    cand = resolve_candidate(candidate_spec)
    if not Path(vectors).is_dir():
        raise BadCall(f"--vectors: expected a folder written by `refimpl vectors`, got {str(vectors)!r}")
    read_index(vectors)
    names = case_names(vectors, kind_name)
    n_fail = 0
    call = _signature_checked(cand, candidate_spec, kind)
    for case in names:
        arrays, meta = read_case(vectors, kind_name, case)
        where = Path(vectors) / kind_name / case
        arrays, meta = _Strict(arrays, f"{where}.npz", "array"), _Strict(meta, f"{where}.json", "key")
        try:
            out = kind.run(call, arrays, meta)
        except (BadCall, VectorError):
            raise
        except Exception as e:                                    # noqa: BLE001  (the candidate's own failure)
            res = CaseResult(False, float("inf"), f"candidate raised {type(e).__name__}: {e}")
        else:
            res = kind.compare(arrays, meta, out)
        n_fail += not res.passed
        log(f"{'PASS' if res.passed else 'FAIL'}  {kind_name}/{case}: agreement {res.agreement:.3g} "
            f"(<= 1 passes){'; ' + res.message if res.message else ''}")
        if res.diagnosis:
            log("      diagnosis: " + res.diagnosis.replace("\n", "\n      "))
    log(f"{kind_name}: {len(names) - n_fail} of {len(names)} cases pass")
    return 0 if n_fail == 0 else 1


class _Strict(dict):
    """A case's arrays or meta: a missing entry is a malformed vector file (VectorError naming
    the file and the entry), not a failure of the candidate."""

    def __init__(self, d, where, what):
        super().__init__(d)
        self.where, self.what = where, what

    def __missing__(self, key):
        raise VectorError(f"{self.where}: expected the {self.what} {key!r} (the case file is incomplete, or "
                          f"written by another refimpl version: regenerate with `refimpl vectors`)")


def _signature_checked(cand, spec, kind):
    """The candidate, called through a check that the kind's call binds to its signature: a
    candidate with another signature is a bad call (exit 2), not a failing case."""
    try:
        sig = inspect.signature(cand)
    except (TypeError, ValueError):                               # builtins without a signature
        return cand

    def call(*args, **kwargs):
        try:
            sig.bind(*args, **kwargs)
        except TypeError as e:
            lines = [ln.strip() for ln in kind.contract.splitlines()]
            want = next((ln for ln in lines if ln.startswith("candidate(") or ": candidate(" in ln), lines[0])
            raise BadCall(f"CANDIDATE: {spec} cannot be called as {kind.name} calls it ({e}); expected "
                          f"{want} (the kind's contract: index.json)") from None
        return cand(*args, **kwargs)
    return call


def check_array(out, name, shape, what):
    """The candidate's output `name` as a float array of `shape`, else BadCall naming it."""
    if out is None:
        raise BadCall(f"candidate: expected {what} as a numeric array of shape {shape}, got None")
    try:
        a = np.asarray(out, dtype=float)
    except (TypeError, ValueError):
        raise BadCall(f"candidate: expected {what} as a numeric array of shape {shape}, got "
                      f"{type(out).__name__}") from None
    if a.shape != tuple(shape):
        raise BadCall(f"candidate: expected {what} of shape {tuple(shape)}, got shape {a.shape}")
    return a


def rel_agreement(got, ref, tol, floor=1e-300):
    """max |got - ref| / (tol · max(|ref|, floor))."""
    got, ref = np.asarray(got, float), np.asarray(ref, float)
    if not np.all(np.isfinite(got)):
        return float("inf")
    return float(np.max(np.abs(got - ref) / (tol * np.maximum(np.abs(ref), floor)), initial=0.0))


__all__ += ["check_array", "rel_agreement", "VectorError"]
