"""The bouncing-dot video of the official LDS-SVAE experiment (mattjj/svae
experiments/lds_svae_dots.py, removed upstream in 85c8b26; read at its parent commit):
a Gaussian bump on a 1-D grid of pixels moving at constant speed between reflecting walls.

    position(t) = triangle(v (t + (1 + x0)/2)),  triangle(s) = sawtooth(π s, width ½) ∈ [−1, 1]
    frame(t)    = exp(−½ (grid − position(t))² / render_sigma²) + noise_sigma · N(0, I)

on grid = linspace(−1, 1, image_width) at num_steps times linspace(0, T, num_steps). Official
call: make_dot_data(20, 500, 5000, v=0.75, render_sigma=0.15, noise_sigma=0.1) — 20 pixels,
5000 frames, time step ≈ 0.1, period 2/v ≈ 26.7 frames.
"""
import numpy as np
from scipy.signal import sawtooth


def make_dot_data(rng, image_width=20, T=500.0, num_steps=5000, x0=0.0, v=0.75, render_sigma=0.15,
                  noise_sigma=0.1):
    """Returns (noisy frames (num_steps, image_width), clean frames (same))."""
    if image_width < 2 or num_steps < 1:
        raise ValueError(f"image_width, num_steps: expected >= 2 and >= 1, got {image_width}, {num_steps}")
    if render_sigma <= 0 or noise_sigma < 0:
        raise ValueError(f"render_sigma, noise_sigma: expected > 0 and >= 0, got {render_sigma}, {noise_sigma}")
    grid = np.linspace(-1, 1, image_width)
    t = np.linspace(0, T, num_steps)
    pos = sawtooth(np.pi * v * (t + (1 + x0) / 2.0), width=0.5)                     # (num_steps,)
    clean = np.exp(-0.5 * (grid[None, :] - pos[:, None]) ** 2 / render_sigma ** 2)
    return clean + noise_sigma * rng.standard_normal(clean.shape), clean
