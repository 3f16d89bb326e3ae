"""The registered experiments of `refimpl.suboptimality` (auto-discovered by the registry)."""
from .posteriors import suboptimality_posteriors  # noqa: F401  (registers suboptimality-posteriors)
from .tables import suboptimality_encoder_capacity, suboptimality_gaps  # noqa: F401  (registers both)
from .bdmc_validation import bdmc_validation  # noqa: F401  (registers bdmc-validation)
