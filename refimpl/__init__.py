"""refimpl: readable, verifiable, CPU-only reference implementations of ten ML papers.

Plain NumPy, differentiated with HIPS autograd, hot loops compiled with numba.
Importing the package is cheap: subpackages are imported on first use and no
numba kernel is compiled at import time.
"""
import importlib

__version__ = "0.1.0"

_SUBPACKAGES = (
    "cli", "experiments", "testing", "nn", "plotting", "datasets", "ode", "vi", "mcmc",
    "neural_ode", "ffjord", "suboptimality", "tcvae", "svae", "nng", "evidence_chains",
    "sce", "dna",
)


def __getattr__(name):
    # Lazy subpackage access: `refimpl.ode` works without importing everything up front.
    if name in _SUBPACKAGES:
        return importlib.import_module(f"refimpl.{name}")
    raise AttributeError(f"module 'refimpl' has no attribute {name!r}")
