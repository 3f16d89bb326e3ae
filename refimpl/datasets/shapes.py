"""dSprites rendered by NumPy, and a loader for the real `dsprites_ndarray_*.npz`.

Factors (original grid): shape (square, ellipse, heart) 3, scale 6 (0.5..1), orientation
40 over [0, 2pi), position x 32, position y 32 (both over [0, 1]). `render` returns binary
images and the integer factor indices (N, 5) on a full factorial (sub-)grid, so conditional
entropies per factor value can be computed.

Default: 32x32 pixels on the sub-grid 3 x 6 x 10 x 16 x 16 = 46 080 images; `full=True`
gives 64x64 on the whole grid (737 280 images, ~3 GB as uint8: by flag only).
"""
import os

import numpy as np

FULL_GRID = (3, 6, 40, 32, 32)   # shape, scale, orientation, pos x, pos y
SUB_GRID = (3, 6, 10, 16, 16)
FACTOR_NAMES = ("shape", "scale", "orientation", "pos_x", "pos_y")


def _inside(shape, u, v):
    # u, v: (P,) canonical coordinates in [-1, 1] (unit-size shape) -> (P,) bool
    if shape == 0:                                   # square
        return (np.abs(u) <= 0.8) & (np.abs(v) <= 0.8)
    if shape == 1:                                   # ellipse, axes 1 : 0.55
        return (u / 1.0) ** 2 + (v / 0.55) ** 2 <= 1.0
    # heart: classic implicit curve (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0, scaled to the box
    x, y = 1.15 * u, -1.15 * v + 0.15
    return (x ** 2 + y ** 2 - 1.0) ** 3 - x ** 2 * y ** 3 <= 0.0


def render(full=False, size=None):
    """Render the factorial grid. Returns imgs (N, S, S) uint8 in {0,1}, factors (N, 5) int64.

    Index order is C order over (shape, scale, orientation, pos_x, pos_y), as in dSprites.
    """
    grid = FULL_GRID if full else SUB_GRID
    size = (64 if full else 32) if size is None else int(size)
    if size < 8:
        raise ValueError(f"size: expected an image side >= 8, got {size}")
    # each sub-grid value is the original grid value at the same relative index
    sub = [np.linspace(0, f - 1, g).round().astype(int) for f, g in zip(FULL_GRID, grid)]
    scales = np.linspace(0.5, 1.0, 6)[sub[1]]
    angles = (np.arange(40) * 2 * np.pi / 40)[sub[2]]
    pos = np.linspace(0.0, 1.0, 32)
    px, py = pos[sub[3]], pos[sub[4]]
    c = (np.arange(size) + 0.5) / size                         # pixel centres in [0, 1]
    yy, xx = np.meshgrid(c, c, indexing="ij")                  # (S, S)
    # half extent at scale 1, in image widths: the square's side is 0.8 * 2 * half = 0.32 of the
    # image at scale 1 (dSprites: ~20 of 64 pixels), 0.16 at scale 0.5
    half = 0.2
    n = int(np.prod(grid))
    imgs = np.zeros((n,) + (size, size), dtype=np.uint8)
    factors = np.stack(np.unravel_index(np.arange(n), grid), axis=1).astype(np.int64)
    i = 0
    margin = 0.2                                               # keep shapes inside the frame
    for s in range(grid[0]):
        for k, sc in enumerate(scales):
            for a in angles:
                ca, sa = np.cos(a), np.sin(a)
                for x0 in px:
                    cx = margin + (1 - 2 * margin) * x0
                    dx = (xx - cx)
                    for y0 in py:
                        cy = margin + (1 - 2 * margin) * y0
                        dy = (yy - cy)
                        r = half * sc
                        u = (ca * dx + sa * dy) / r
                        v = (-sa * dx + ca * dy) / r
                        imgs[i] = _inside(s, u, v)
                        i += 1
    return imgs, factors


def load_npz(data_dir):
    """Read the real dSprites file: only `imgs` (N, 64, 64) and `latents_classes` (N, 6).

    Its `metadata` entry is a pickle and is never loaded (allow_pickle=False). Returns
    imgs uint8 and factors (N, 5) int64 (the constant colour column dropped).
    """
    path = data_dir
    if os.path.isdir(data_dir):
        names = [f for f in sorted(os.listdir(data_dir)) if f.startswith("dsprites_ndarray")
                 and f.endswith(".npz")]
        if not names:
            raise ValueError(f"data_dir: expected a dsprites_ndarray_*.npz in it, got {data_dir!r}")
        path = os.path.join(data_dir, names[0])
    with np.load(path, allow_pickle=False) as f:
        imgs = np.asarray(f["imgs"], dtype=np.uint8)
        classes = np.asarray(f["latents_classes"], dtype=np.int64)
    if classes.ndim != 2 or classes.shape[1] != 6:
        raise ValueError(f"latents_classes: expected shape (N, 6), got {classes.shape}")
    return imgs, classes[:, 1:]
