"""The eight 2-D toy densities used by FFJORD (Grathwohl et al. 2018, Fig. 2), NumPy only.

Each generator follows FFJORD's `lib/toy_data.py` (scales and noise levels as there), with
scikit-learn's `make_swiss_roll`, `make_circles` and `make_moons` written out, and always
returns exactly `n` points of shape (n, 2), drawn from `rng` alone.

References: Grathwohl et al., "FFJORD", ICLR 2019, Sec. 5.1 and the authors' code.
"""
import numpy as np

NAMES = ("8gaussians", "pinwheel", "checkerboard", "2spirals", "rings", "moons", "swissroll",
         "circles")


def _check(name, n, rng):
    if name not in NAMES:
        raise ValueError(f"name: expected one of {list(NAMES)}, got {name!r}")
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n: expected a positive integer, got {n!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")


def _halves(n):
    return n // 2, n - n // 2


def eight_gaussians(n, rng):
    s = 1.0 / np.sqrt(2.0)
    centers = 4.0 * np.array([(1, 0), (-1, 0), (0, 1), (0, -1), (s, s), (s, -s), (-s, s), (-s, -s)])
    x = 0.5 * rng.standard_normal((n, 2)) + centers[rng.integers(0, 8, n)]
    return x / 1.414


def pinwheel(n, rng, radial_std=0.3, tangential_std=0.1, num_classes=5, rate=0.25):
    rads = np.linspace(0, 2 * np.pi, num_classes, endpoint=False)
    feats = rng.standard_normal((n, 2)) * np.array([radial_std, tangential_std])
    feats[:, 0] += 1.0
    labels = np.arange(n) % num_classes
    angles = rads[labels] + rate * np.exp(feats[:, 0])
    rot = np.stack([np.cos(angles), -np.sin(angles), np.sin(angles), np.cos(angles)], 1).reshape(-1, 2, 2)
    return 2.0 * rng.permutation(np.einsum("ti,tij->tj", feats, rot))


def checkerboard(n, rng):
    x1 = rng.uniform(size=n) * 4 - 2
    x2 = rng.uniform(size=n) - rng.integers(0, 2, n) * 2.0 + np.floor(x1) % 2
    return np.stack([x1, x2], 1) * 2.0


def two_spirals(n, rng):
    m1, m2 = _halves(n)
    t = np.sqrt(rng.uniform(size=(n, 1))) * 540 * (2 * np.pi) / 360
    d1 = np.hstack([-np.cos(t) * t, np.sin(t) * t]) + rng.uniform(size=(n, 2)) * 0.5
    x = np.vstack([d1[:m1], -d1[m1:]]) / 3.0
    return rng.permutation(x + 0.1 * rng.standard_normal((n, 2)))


def rings(n, rng):
    sizes = [n - 3 * (n // 4)] + [n // 4] * 3
    radii = [0.25, 0.5, 0.75, 1.0]
    pts = []
    for m, r in zip(sizes, radii):
        a = np.linspace(0, 2 * np.pi, m, endpoint=False)
        pts.append(np.stack([np.cos(a), np.sin(a)], 1) * r)
    x = rng.permutation(np.vstack(pts) * 3.0)
    return x + 0.08 * rng.standard_normal(x.shape)


def moons(n, rng, noise=0.1):
    m1, m2 = _halves(n)
    a1, a2 = np.linspace(0, np.pi, m1), np.linspace(0, np.pi, m2)
    outer = np.stack([np.cos(a1), np.sin(a1)], 1)
    inner = np.stack([1 - np.cos(a2), 1 - np.sin(a2) - 0.5], 1)
    x = rng.permutation(np.vstack([outer, inner])) + noise * rng.standard_normal((n, 2))
    return x * 2.0 + np.array([-1.0, -0.2])


def swissroll(n, rng, noise=1.0):
    t = 1.5 * np.pi * (1 + 2 * rng.uniform(size=n))
    x = np.stack([t * np.cos(t), t * np.sin(t)], 1) + noise * rng.standard_normal((n, 2))
    return x / 5.0


def circles(n, rng, factor=0.5, noise=0.08):
    m1, m2 = _halves(n)
    a1 = np.linspace(0, 2 * np.pi, m1, endpoint=False)
    a2 = np.linspace(0, 2 * np.pi, m2, endpoint=False)
    x = np.vstack([np.stack([np.cos(a1), np.sin(a1)], 1), factor * np.stack([np.cos(a2), np.sin(a2)], 1)])
    return (rng.permutation(x) + noise * rng.standard_normal((n, 2))) * 3.0


_GENERATORS = {"8gaussians": eight_gaussians, "pinwheel": pinwheel, "checkerboard": checkerboard,
               "2spirals": two_spirals, "rings": rings, "moons": moons, "swissroll": swissroll,
               "circles": circles}


def sample(name, n, rng):
    """Draw n points (n, 2) from toy density `name` (one of `NAMES`) using `rng`."""
    _check(name, n, rng)
    return np.ascontiguousarray(_GENERATORS[name](int(n), rng), dtype=np.float64)
