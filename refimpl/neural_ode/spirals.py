"""The two spiral data sets of the Neural ODE paper.

* `cubic_spiral_trajectory` — one trajectory of the cubic spiral dy/dt = (y**3) A,
  A = [[-0.1, 2], [-2, -0.1]], y(0) = [2, 0], t ∈ [0, 25] at 1000 points (the setting of the
  authors' `examples/ode_demo.py` in torchdiffeq; the data of `neural-ode-spiral`).
* `archimedean_spirals` — the latent-ODE data of Sec. 5.1: noisy 2-D Archimedean spirals
  r = a + b θ, half clockwise, half counter-clockwise, each starting at a random point,
  observed at 100 equally spaced times; optionally the next 100 times are the
  extrapolation targets of Table 2. Constants follow the authors' `examples/latent_ode.py`
  in torchdiffeq (1000 spirals, a = 0, b = 0.3, θ ∈ [0, 6π], nsample = 100, noise std 0.3,
  which its main block passes to `generate_spiral2d`), except the grid: the main block
  defines ntotal = 1000 but does NOT pass it, so the authors' data use the keyword default
  ntotal = 500 (a 100-point window spans twice the arc of ours). We keep n_total = 1000
  (the value the script states); pass n_total=500 for the script's effective grid.
  Counter-clockwise r = a + b θ centred at (+5, 0), clockwise r = a + 50 b / (6π + 1 − θ)
  centred at (−5, 0).
* `subsample_observations` — n ∈ {30, 50, 100} observation times drawn per spiral without
  replacement (Sec. 5.1, "irregular time points").
* `nested_subsamples` — the same for several n at once from one draw per spiral, so the
  30 observed points lie among the 50 and the 50 among the 100: comparisons across n are
  then paired (an n = 30 spiral is not easier or harder than its n = 50 version by luck).

References
----------
R. T. Q. Chen, Y. Rubanova, J. Bettencourt, D. Duvenaud. Neural ordinary differential
equations. NeurIPS 2018 (Sec. 5.1, Table 2; App. "Latent ODE" details).
torchdiffeq, `examples/latent_ode.py::generate_spiral2d` and `examples/ode_demo.py`
(github.com/rtqichen/torchdiffeq).
"""
import numpy as np

from refimpl.ode import solve

__all__ = ["SPIRAL_A", "cubic_spiral_rhs", "cubic_spiral_trajectory", "archimedean_spirals",
           "subsample_observations", "nested_subsamples"]

SPIRAL_A = np.array([[-0.1, 2.0], [-2.0, -0.1]])


def cubic_spiral_rhs(t, y, A=SPIRAL_A):
    """dy/dt = (y**3) @ A; y: (..., 2)."""
    return np.dot(y ** 3, A)


def cubic_spiral_trajectory(n_points=1000, t_end=25.0, y0=(2.0, 0.0), rtol=1e-10, atol=1e-12):
    """(t (n_points,), y (n_points, 2)) of the cubic spiral, solved tightly with dopri5."""
    t = np.linspace(0.0, float(t_end), int(n_points))
    sol = solve(cubic_spiral_rhs, (t[0], t[-1]), np.asarray(y0, float), rtol=rtol, atol=atol,
                t_eval=t)
    return t, sol.y


def archimedean_spirals(rng, n_spirals=1000, n_total=1000, n_window=100, stop=6 * np.pi,
                        noise_std=0.3, a=0.0, b=0.3, n_extrapolate=None):
    """Noisy Archimedean spirals with an observation window and an extrapolation window.

    Each spiral is a window of W + E consecutive points (W = n_window, E = n_extrapolate,
    default W) of one of the two base curves (θ on `n_total` points of [0, stop]), starting
    at index t0 drawn uniformly from [W, n_total − W − E). With E = 0 this is exactly the
    authors' draw (`generate_spiral2d`: t0 ∈ [nsample, ntotal − nsample)), so the windows
    cover the whole curve; with E > 0 the start leaves room for the extrapolation targets.
    Directions: exactly half clockwise, half counter-clockwise, in random order (the authors
    flip a fair coin per spiral).

    Returns a dict:
      ts      (W+E,)       window times, starting at 0 (the dynamics are autonomous)
      x_true  (N, W+E, 2)  noise-free trajectories
      x_obs   (N, W+E, 2)  x_true + N(0, noise_std²) noise
      clockwise (N,) bool
      radius  (N, W+E)     the noise-free point's distance from its curve's centre
    The first W columns are the observation window, the last E the extrapolation targets.
    """
    n_spirals, n_total, W = int(n_spirals), int(n_total), int(n_window)
    E = W if n_extrapolate is None else int(n_extrapolate)
    if n_spirals < 1:
        raise ValueError(f"n_spirals: expected a positive integer, got {n_spirals}")
    if E < 0:
        raise ValueError(f"n_extrapolate: expected a non-negative integer, got {E}")
    if n_total < 2 * W + E + 1:
        raise ValueError(f"n_total: expected at least 2 * n_window + n_extrapolate + 1 = "
                         f"{2 * W + E + 1}, got {n_total}")
    orig_ts = np.linspace(0.0, stop, n_total)                    # (n_total,)
    # clockwise: θ runs down from stop + 1 to 1, radius 50 b / θ grows; centre (−5, 0)
    z_cw = stop + 1.0 - orig_ts
    r_cw = a + b * 50.0 / z_cw
    cw = np.stack([r_cw * np.cos(z_cw) - 5.0, r_cw * np.sin(z_cw)], axis=1)   # (n_total, 2)
    # counter-clockwise: r = a + b θ; centre (+5, 0)
    r_cc = a + b * orig_ts
    cc = np.stack([r_cc * np.cos(orig_ts) + 5.0, r_cc * np.sin(orig_ts)], axis=1)
    clockwise = rng.permutation(np.arange(n_spirals) < n_spirals // 2)
    t0 = rng.integers(W, n_total - W - E, size=n_spirals)                   # (N,)
    idx = t0[:, None] + np.arange(W + E)[None, :]                            # (N, W+E)
    x_true = np.where(clockwise[:, None, None], cw[idx], cc[idx])           # (N, W+E, 2)
    x_obs = x_true + noise_std * rng.standard_normal(x_true.shape)
    radius = np.where(clockwise[:, None], r_cw[idx], r_cc[idx])             # (N, W+E)
    return {"ts": orig_ts[:W + E] - orig_ts[0], "x_true": x_true, "x_obs": x_obs,
            "clockwise": clockwise, "radius": radius}


def subsample_observations(rng, n_spirals, n_window, n_obs):
    """Sorted observation indices (N, n_obs) into the window, drawn without replacement."""
    n_obs, n_window = int(n_obs), int(n_window)
    if not 1 <= n_obs <= n_window:
        raise ValueError(f"n_obs: expected an integer in [1, {n_window}], got {n_obs}")
    keys = rng.random((int(n_spirals), n_window))
    return np.sort(np.argsort(keys, axis=1)[:, :n_obs], axis=1)


def nested_subsamples(rng, n_spirals, n_window, ns):
    """{n: sorted indices (N, n)} for every n in ns, nested: one random order of the window
    per spiral, of which each n keeps the first n (so idx[30] ⊂ idx[50] ⊂ idx[100] row-wise).
    Each idx[n] alone has the law of `subsample_observations` (n of W without replacement)."""
    n_window = int(n_window)
    for n in ns:
        if not 1 <= int(n) <= n_window:
            raise ValueError(f"ns: expected integers in [1, {n_window}], got {n}")
    order = np.argsort(rng.random((int(n_spirals), n_window)), axis=1)     # (N, W)
    return {int(n): np.sort(order[:, :int(n)], axis=1) for n in ns}
