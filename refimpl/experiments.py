"""The experiment registry and the runner behind `refimpl run` and `refimpl tour`.

An experiment is a function of a `Config` that returns a dict::

    @experiment("toy-densities", paper="FFJORD", artefact="Fig. 2 (data row)", quick_seconds=5)
    def toy_densities(cfg):
        rng = cfg.rng()                       # seeded numpy Generator
        ...                                   # save figures into cfg.out
        return {"metrics": {"8gaussians/mean_norm": 2.8},          # flat "a/b/c" -> number
                "tables": [{"name": "...", "columns": [...], "rows": [[...], ...]}],
                "figures": ["toy_densities.png"],                  # relative to cfg.out
                "notes": "optional free text"}

Experiments live in `refimpl/<package>/experiments.py`; every such module is imported
when the registry is first listed, so adding a paper package needs no edit here.
`run_experiment` adds the bookkeeping (seed, timing, provenance) and writes
`results.json` atomically.
"""
import importlib
import json
import math
import pkgutil
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .claims import evaluate as evaluate_claims
from .io import CheckpointError, atomic_write_json, load_npz, save_npz_atomic
from .progress import Progress
from .provenance import provenance

REGISTRY = {}
IMPORT_ERRORS = {}   # module name -> traceback text, for experiment modules that failed to import


class UnknownExperimentError(KeyError):
    """Raised for an experiment name that is not registered (CLI exit code 2)."""


@dataclass(frozen=True)
class ExperimentSpec:
    name: str
    func: object
    paper: str
    artefact: str
    quick_seconds: float
    full_minutes: float
    module: str


def experiment(name, *, paper, artefact, quick_seconds=30.0, full_minutes=5.0):
    """Register `func(cfg) -> dict` as experiment `name`.

    `paper` names the paper, `artefact` what it reproduces ("Fig. 3", "Table 1"),
    `quick_seconds` / `full_minutes` the expected run times on 2 CPU cores
    (shown by `refimpl list`).
    """
    def register(func):
        if name in REGISTRY and REGISTRY[name].func.__module__ != func.__module__:
            raise ValueError(f"experiment name {name!r} registered twice "
                             f"({REGISTRY[name].module} and {func.__module__})")
        REGISTRY[name] = ExperimentSpec(name, func, paper, artefact, float(quick_seconds),
                                        float(full_minutes), func.__module__)
        return func
    return register


def discover():
    """Import every `refimpl.<pkg>.experiments` module; return the registry sorted by name."""
    import refimpl

    for mod in pkgutil.iter_modules(refimpl.__path__):
        name = f"refimpl.{mod.name}.experiments"
        if not mod.ispkg or name in IMPORT_ERRORS:
            continue
        try:
            if importlib.util.find_spec(name) is not None:
                importlib.import_module(name)
        except Exception:  # one broken package must not hide the others; reported by the CLI
            IMPORT_ERRORS[name] = traceback.format_exc()
    return dict(sorted(REGISTRY.items()))


def get(name):
    specs = discover()
    if name not in specs:
        raise UnknownExperimentError(
            f"unknown experiment {name!r}; valid names: {', '.join(specs) or '(none)'}")
    return specs[name]


# --- what an experiment receives --------------------------------------------------

@dataclass
class Config:
    """Everything an experiment needs from the command line.

    `out` is the experiment's own folder (`--out/NAME`), already created.
    `data_dir` is the user's `--data-dir` (a Path) or None: use embedded data then.
    """
    name: str
    quick: bool = False
    seed: int = 0
    out: Path = field(default_factory=lambda: Path("runs"))
    data_dir: Path = None
    resume: bool = False
    progress_enabled: bool = True

    def rng(self, *keys):
        """A `numpy.random.Generator` seeded by (seed, *keys); integer keys only.

        Distinct keys give independent streams, so adding a stream never shifts others.
        """
        return np.random.default_rng([int(self.seed), *[int(k) for k in keys]])

    def progress(self, total, desc=None):
        return Progress(total, desc or self.name, enabled=self.progress_enabled)

    def checkpoint(self, tag="state", every_s=30.0, total=None):
        """A `Checkpoint` in `out/checkpoint-<tag>.npz`; honours `--resume`. It is stamped
        with this run's fingerprint (experiment, seed, quick, data, refimpl version) and
        `--resume` refuses a checkpoint whose stamp differs. `total`: the loop's number of
        steps, when known (a checkpoint beyond it is refused)."""
        return Checkpoint(self.out / f"checkpoint-{tag}.npz", resume=self.resume, every_s=every_s,
                          fingerprint=self.fingerprint(), total=total)

    def fingerprint(self):
        """What a checkpoint must match to be resumed by this run (JSON-able dict): the
        experiment and its configuration (seed, quick, data folder) and the code — the
        refimpl version and a hash of every source file of the package, so a checkpoint
        written before any code or hyperparameter edit is refused, not silently resumed."""
        from . import __version__
        return {"experiment": self.name, "seed": int(self.seed), "quick": bool(self.quick),
                "data_dir": str(self.data_dir) if self.data_dir else None,
                "refimpl": __version__, "code": source_hash()}


_SOURCE_HASH = []


def source_hash():
    """sha256 (first 16 hex digits) of every ``refimpl/**/*.py`` (path and bytes, sorted);
    computed once per process."""
    if not _SOURCE_HASH:
        import hashlib
        root = Path(__file__).resolve().parent
        h = hashlib.sha256()
        for f in sorted(root.rglob("*.py")):
            h.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes() + b"\0")
        _SOURCE_HASH.append(h.hexdigest()[:16])
    return _SOURCE_HASH[0]


class Checkpoint:
    """Save and restore a training loop's state as a flat dict of arrays.

    Usage::

        ck = cfg.checkpoint("train", every_s=30)
        state = ck.load()                     # dict of arrays, or None (fresh start)
        start = int(state["step"]) if state else 0
        for step in range(start, n):
            ...
            ck.maybe_save(step + 1, lambda: {"step": step + 1, **flatten_params(...)})

    `maybe_save` writes (atomically) when `every_s` seconds have passed since the last
    write, so an interrupted run loses at most one interval. `every_s=0` saves each call.
    """

    _META = "__refimpl_checkpoint__"     # JSON (fingerprint, step) as a uint8 array

    def __init__(self, path, resume=False, every_s=30.0, fingerprint=None, total=None):
        self.path, self.resume, self.every_s = Path(path), bool(resume), float(every_s)
        self.fingerprint = dict(fingerprint or {})
        self.total = None if total is None else int(total)
        self._last = time.monotonic()
        self._step = None
        self.n_saves = 0

    def load(self):
        """The saved state (dict of arrays), or None for a fresh start. Refuses (a
        `CheckpointError` naming the file and both values) a checkpoint written by another
        run configuration, one with no stamp, or one past `total` steps."""
        if not self.resume or not self.path.exists():
            return None
        state = load_npz(self.path)
        if self._META not in state:
            raise CheckpointError(f"{self.path}: has no run fingerprint (written by an older "
                                  "refimpl or by hand); delete it or run without --resume")
        meta = json.loads(bytes(state.pop(self._META)).decode("utf-8"))
        saved = meta.get("fingerprint", {})
        diff = {k: (saved.get(k), v) for k, v in self.fingerprint.items() if saved.get(k) != v}
        if diff:
            what = "; ".join(f"{k}: checkpoint {a!r}, this run {b!r}" for k, (a, b) in diff.items())
            raise CheckpointError(f"{self.path}: written by another run ({what}); "
                                  "resume with the same settings or use another --out")
        step = meta.get("step")
        if self.total is not None and step is not None and step > self.total:
            raise CheckpointError(f"{self.path}: at step {step}, beyond this run's {self.total} "
                                  "steps; resume with the same settings or use another --out")
        return state

    def save(self, state, step=None):
        meta = {"fingerprint": self.fingerprint,
                "step": None if step is None else int(step)}
        stamp = np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), dtype=np.uint8)
        save_npz_atomic(self.path, {**state, self._META: stamp})
        self._last = time.monotonic()
        self.n_saves += 1

    def maybe_save(self, step, state_fn):
        if time.monotonic() - self._last >= self.every_s:
            self.save(state_fn(), step=step)
            return True
        return False

    def clear(self):
        if self.path.exists():
            self.path.unlink()


# --- running ----------------------------------------------------------------------

def _check_result(name, res, out):
    if not isinstance(res, dict):
        raise TypeError(f"experiment {name!r} returned {type(res).__name__}, expected a dict")
    unknown = set(res) - {"metrics", "tables", "figures", "notes", "claims"}
    if unknown:
        raise ValueError(f"experiment {name!r} returned unknown keys {sorted(unknown)}")
    metrics = {}
    for k, v in res.get("metrics", {}).items():
        v = float(v)
        metrics[str(k)] = v if math.isfinite(v) else None  # JSON has no NaN/inf: null
    tables = []
    for t in res.get("tables", []):
        cols = list(t["columns"])
        rows = [list(r) for r in t["rows"]]
        for r in rows:
            if len(r) != len(cols):
                raise ValueError(f"table {t['name']!r} of {name!r}: row {r} does not match columns {cols}")
        tables.append({"name": t["name"], "columns": cols, "rows": rows})
    figures = [str(f) for f in res.get("figures", [])]
    for f in figures:
        if not (out / f).exists():
            raise FileNotFoundError(f"experiment {name!r} lists figure {f!r} but {out / f} does not exist")
    claims = [{k: str(c[k]) for k in ("claim", "paper_value", "ours", "reproduced")}
              for c in res.get("claims", [])]
    return metrics, tables, figures, str(res.get("notes", "")), claims


def run_experiment(name, *, quick=False, seed=0, out="runs", data_dir=None, resume=False,
                   progress=True):
    """Run one experiment; write `out/NAME/results.json`; return the results dict."""
    spec = get(name)
    folder = Path(out) / name
    folder.mkdir(parents=True, exist_ok=True)
    if data_dir is not None:
        data_dir = Path(data_dir)
        if not data_dir.is_dir():
            raise ValueError(f"data_dir: expected an existing folder, got {str(data_dir)!r}")
    cfg = Config(name=name, quick=quick, seed=seed, out=folder, data_dir=data_dir, resume=resume,
                 progress_enabled=progress)
    t0 = time.perf_counter()
    res = spec.func(cfg)
    elapsed = time.perf_counter() - t0
    metrics, tables, figures, notes, claims = _check_result(name, res, folder)
    claims += evaluate_claims(name, {k: v for k, v in metrics.items() if v is not None})
    results = {
        "experiment": name, "paper": spec.paper, "artefact": spec.artefact,
        "quick": bool(quick), "seed": int(seed), "elapsed_s": round(elapsed, 3),
        "data_dir": str(data_dir) if data_dir else None,
        "metrics": metrics, "tables": tables, "figures": figures, "notes": notes,
        "claims": claims,
        "provenance": provenance(),
    }
    atomic_write_json(folder / "results.json", results)
    return results


def run_many(names, *, stream=None, **kwargs):
    """Run several experiments; a failure is recorded and the others still run.

    Returns a list of (name, results or None, error text or None).
    """
    outcomes = []
    for name in names:
        try:
            outcomes.append((name, run_experiment(name, **kwargs), None))
        except Exception:  # reported in the tour, reflected in the exit code
            outcomes.append((name, None, traceback.format_exc()))
    return outcomes
