"""The sequence -> score predictor, as the official ``train_predictor.py`` (Killoran et al.
2017, Sec. 3.3): conv (width 15, 100 filters, 'valid') -> leaky ReLU (0.1) -> max- and
average-pool over positions, concatenated (200) -> 2 x 200 fully connected (leaky ReLU 0.1)
-> score. Trained by mean squared error on standardised labels with Adam.
"""
import autograd.numpy as np
from autograd import grad

from .layers import conv1d, init_conv, init_linear, leaky_relu, linear
from .wgan import Adam

__all__ = ["init_predictor", "predict", "train_predictor"]


def init_predictor(rng, V=4, width=15, filters=100, hidden=200):
    return {"conv": init_conv(rng, width, V, filters),
            "fc1": init_linear(rng, 2 * filters, hidden), "fc2": init_linear(rng, hidden, hidden),
            "out": init_linear(rng, hidden, 1), "scale": np.array([0.0, 1.0])}


def predict(params, X):
    """``X: (N, L, V)`` one-hot or relaxed -> ``(N,)`` predicted scores (label units)."""
    K = params["conv"]["W"].shape[0]
    if np.ndim(X) != 3 or np.shape(X)[1] < K:
        raise ValueError(f"X: expected (N, L, V) with L >= the conv width {K}, got shape {np.shape(X)}")
    h = leaky_relu(conv1d(X, params["conv"]["W"], params["conv"]["b"], padding="valid"))  # (N, L-14, F)
    h = np.concatenate([np.max(h, axis=1), np.mean(h, axis=1)], axis=1)                     # (N, 2F)
    h = leaky_relu(linear(h, params["fc1"]["W"], params["fc1"]["b"]))
    h = leaky_relu(linear(h, params["fc2"]["W"], params["fc2"]["b"]))
    s = linear(h, params["out"]["W"], params["out"]["b"])[:, 0]
    mu, sd = params["scale"]
    return mu + sd * s


def train_predictor(rng, X, y, epochs=10, batch=128, lr=1e-3):
    """Fit on (X, y); the label mean and std are stored in ``params["scale"]`` (not trained).
    Returns (params, per-epoch training MSE in label units)."""
    X, y = np.asarray(X), np.asarray(y, dtype=float)
    if X.ndim != 3 or y.ndim != 1 or len(X) != len(y) or len(y) < 2:
        raise ValueError(f"X, y: expected (N, L, V) and (N,) with N >= 2, got {X.shape} and {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"y: expected finite labels, got {int(np.sum(~np.isfinite(y)))} non-finite")
    params = init_predictor(rng, X.shape[2])
    scale = np.array([y.mean(), y.std() + 1e-12])
    params["scale"] = scale

    def loss(p, xb, yb):
        p = dict(p, scale=scale)
        return np.mean((predict(p, xb) - yb) ** 2) / scale[1] ** 2

    g = grad(loss)
    opt = Adam(params, lr=lr, b1=0.9, b2=0.999)
    hist = []
    for ep in range(epochs):
        perm = rng.permutation(len(y))
        for i in range(0, len(y), batch):
            idx = perm[i:i + batch]
            dp = g(opt.params, X[idx], y[idx])
            dp["scale"] = np.zeros(2)
            opt.step(dp)
        hist.append(float(np.mean((predict(opt.params, X[:2000]) - y[:2000]) ** 2)))
    return opt.params, hist
