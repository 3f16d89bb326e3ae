"""The verification kit: reference vectors any language can load, and a command that runs
a user's implementation against them and says where and why it differs.

    refimpl vectors --out vectors/                      # every kind's cases
    refimpl verify ode-solve/scipy refimpl.verify.adapters:scipy_rk45 --vectors vectors/

Modules: `base` (kinds, registry, `write_vectors`, `run_verify`), `store` (.npz/.json
files, deterministic), `kinds_*` (one family of cases each, with its candidate contract),
`diagnose_ode` (step reconstruction and controller diagnosis), `adapters` (scipy,
torchdiffeq and refimpl's own functions as candidates).
"""
from .base import KIND_MODULES, BadCall, CaseResult, Kind, get_kind, kinds, run_verify, write_vectors  # noqa: F401
from .store import VectorError, read_case, read_index  # noqa: F401
