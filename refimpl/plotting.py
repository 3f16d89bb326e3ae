"""Shared matplotlib helpers. The Agg backend is selected before pyplot is imported, so
figures render without a display; `savefig` writes PNGs atomically."""
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .io import atomic_write_bytes  # noqa: E402

__all__ = ["plt", "savefig", "scatter_samples", "density_on_grid", "plot_density"]


def savefig(fig, path, dpi=110):
    """Save `fig` as a PNG at `path` (atomically) and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return path


def scatter_samples(ax, x, lim=4.0, title=None, s=1.0, alpha=0.5):
    """Scatter 2-D samples x: (n, 2) into `ax` on a square [-lim, lim]² window."""
    ax.scatter(x[:, 0], x[:, 1], s=s, alpha=alpha, linewidths=0)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)


def density_on_grid(log_density, lim=4.0, n=100):
    """Evaluate `log_density(points (n*n, 2)) -> (n*n,)` on a grid over [-lim, lim]².

    Returns (xs (n,), ys (n,), logp (n, n)) with logp[i, j] at (xs[j], ys[i]).
    """
    xs = np.linspace(-lim, lim, n)
    X, Y = np.meshgrid(xs, xs)
    pts = np.stack([X.ravel(), Y.ravel()], axis=1)
    return xs, xs, np.asarray(log_density(pts)).reshape(n, n)


def plot_density(ax, xs, ys, logp, title=None):
    """Show exp(logp) as an image (see `density_on_grid`)."""
    ax.imshow(np.exp(logp), origin="lower", extent=[xs[0], xs[-1], ys[0], ys[-1]], cmap="viridis")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
