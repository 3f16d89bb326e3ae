"""The registered experiments of `refimpl.suboptimality` (auto-discovered by the registry)."""
from .posteriors import suboptimality_posteriors  # noqa: F401  (registers suboptimality-posteriors)
