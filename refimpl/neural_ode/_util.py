"""Small helpers shared by the Neural ODE experiments."""

__all__ = ["nfe_counts"]


def nfe_counts(info):
    """(forward, backward) evaluation counts from an `odeint` info dict (0 when absent)."""
    return int(info.get("nfev_forward", 0)), \
        int(info.get("nfev_backward", 0))
