"""The eight 2-D toy densities used by FFJORD (Grathwohl et al. 2018, Fig. 2), NumPy only.

Each generator follows FFJORD's `lib/toy_data.py` (scales and noise levels as there), with
scikit-learn's `make_swiss_roll`, `make_circles` and `make_moons` written out, and always
returns exactly `n` points of shape (n, 2), drawn from `rng` alone.

References: Grathwohl et al., "FFJORD", ICLR 2019, Sec. 5.1 and the authors' code.
"""
import functools

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


# --- densities known in closed form, and their entropies ---------------------------------
# (for the others, moons, circles, rings, 2spirals, swissroll and pinwheel, the generators
# mix a curve with noise and no closed-form density is written here)

KNOWN_DENSITY = ("8gaussians", "checkerboard")
_S8 = 1.0 / 1.414                                  # 8gaussians: the generator's final scaling


def _eight_centres():
    s = 1.0 / np.sqrt(2.0)
    return 4.0 * np.array([(1, 0), (-1, 0), (0, 1), (0, -1), (s, s), (s, -s), (-s, s), (-s, -s)]) * _S8


def log_density(name, x):
    """log p(x), (n,), of the toy density `name` (one of `KNOWN_DENSITY`) at x: (n, 2).

    8gaussians: the equal mixture of N(c_k, σ²I), c_k the 8 centres × 4 / 1.414,
    σ = 0.5 / 1.414. checkerboard: x1 ~ U[-2, 2); x2 = u - 2b + (⌊x1⌋ mod 2), u ~ U[0, 1),
    b ∈ {0, 1}: uniform on the 8 unit squares of [-2, 2]² with ⌊x1⌋ + ⌊x2⌋ even, then × 2:
    uniform on 8 squares of area 4, p = 1/32 there and 0 elsewhere (log p = -inf)."""
    if name not in KNOWN_DENSITY:
        raise ValueError(f"name: expected one of {list(KNOWN_DENSITY)} (densities known in "
                         f"closed form), got {name!r}")
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"x: expected shape (n, 2), got {x.shape}")
    if name == "checkerboard":
        u = x / 2.0                                                   # back to [-2, 2]²
        inside = np.all((u >= -2) & (u < 2), axis=1)
        black = (np.floor(u[:, 0]) + np.floor(u[:, 1])) % 2 == 0
        return np.where(inside & black, -np.log(32.0), -np.inf)
    var = (0.5 * _S8) ** 2
    d2 = np.sum((x[:, None, :] - _eight_centres()[None]) ** 2, axis=2)     # (n, 8)
    comp = -0.5 * d2 / var - np.log(2 * np.pi * var)                       # log N(x; c_k, σ²I)
    m = comp.max(axis=1, keepdims=True)
    return (m + np.log(np.mean(np.exp(comp - m), axis=1, keepdims=True)))[:, 0]


def quadrature_entropy(log_density_fn, lim, n):
    """H = -∫ p log p over [-lim, lim]², by the midpoint rule on an n × n grid (spectrally
    accurate for smooth densities that vanish well inside the box). Also returns the mass
    ∫ p, whose distance from 1 bounds what the box and the grid miss: (H, mass)."""
    if not (np.isfinite(lim) and lim > 0):
        raise ValueError(f"lim: expected a positive number, got {lim!r}")
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n: expected an integer >= 2, got {n!r}")
    h = 2.0 * lim / n
    g = -lim + h * (np.arange(n) + 0.5)
    xx, yy = np.meshgrid(g, g)
    lp = log_density_fn(np.stack([xx.ravel(), yy.ravel()], 1))                 # (n²,)
    p = np.exp(lp)
    plogp = np.where(p > 0, p * np.where(p > 0, lp, 0.0), 0.0)
    return float(-np.sum(plogp) * h * h), float(np.sum(p) * h * h)


@functools.lru_cache(maxsize=None)
def entropy(name):
    """Differential entropy -E[log p(x)] (nats) of `name` (one of `KNOWN_DENSITY`).

    checkerboard: log 32 exactly (uniform on total area 8 × 4 = 32); 8gaussians: 2-D
    quadrature of its mixture density (between log(2πeσ²) and that + log 8; the components
    are ≈ 6σ apart, so close to the upper end)."""
    if name == "checkerboard":
        return float(np.log(32.0))
    if name == "8gaussians":
        # h = 0.02 = σ/18: the midpoint rule's error is far below 1e-9 (300 points agree)
        return quadrature_entropy(lambda x: log_density(name, x), lim=6.0, n=600)[0]
    raise ValueError(f"name: expected one of {list(KNOWN_DENSITY)} (densities known in "
                     f"closed form), got {name!r}")


def sample(name, n, rng):
    """Draw n points (n, 2) from toy density `name` (one of `NAMES`) using `rng`."""
    _check(name, n, rng)
    return np.ascontiguousarray(_GENERATORS[name](int(n), rng), dtype=np.float64)
