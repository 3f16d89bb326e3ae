"""A resumable first-order training loop for the Neural ODE experiments.

`autograd.misc.optimizers.adam` / `rmsprop` keep their moments inside a closure, so a run
cannot be checkpointed and resumed; `Optimizer` holds the same update rules with its state
in arrays (the flat parameter vector of `autograd.misc.flatten`, the moments, the step).

    opt = Optimizer(params, "adam", lr=1e-2)
    hist = fit(cfg, "latent-n30", opt, step_fn, n_iter)   # step_fn(params, i) -> (grad, record)

`fit` draws nothing itself: `step_fn(params, i)` must derive its minibatch and noise from
the iteration number (e.g. `cfg.rng(stream, i)`), so a resumed run repeats the same
iterations bit for bit.

References
----------
D. P. Kingma, J. Ba. Adam: a method for stochastic optimization. ICLR 2015 (Alg. 1).
T. Tieleman, G. Hinton. RMSprop, COURSERA lecture 6.5 (2012); as `autograd.misc.optimizers`.
"""
import numpy as np
from autograd.misc import flatten

__all__ = ["Optimizer", "fit"]


class Optimizer:
    """Adam or RMSprop on a flattened parameter container (state: x, m, v, t)."""

    def __init__(self, params, kind="adam", lr=1e-3, b1=0.9, b2=0.999, gamma=0.9, eps=1e-8):
        if kind not in ("adam", "rmsprop"):
            raise ValueError(f"kind: expected 'adam' or 'rmsprop', got {kind!r}")
        self.x, self.unflatten = flatten(params)
        self.kind, self.lr, self.b1, self.b2, self.gamma, self.eps = kind, lr, b1, b2, gamma, eps
        self.m = np.zeros_like(self.x)
        self.v = np.zeros_like(self.x) if kind == "adam" else np.ones_like(self.x)
        self.t = 0

    @property
    def params(self):
        return self.unflatten(self.x)

    def step(self, g_tree):
        g = flatten(g_tree)[0]
        self.t += 1
        if self.kind == "adam":
            # Kingma & Ba Alg. 1: biased moments, bias correction, x -= lr m̂ / (√v̂ + ε)
            self.m = self.b1 * self.m + (1 - self.b1) * g
            self.v = self.b2 * self.v + (1 - self.b2) * g ** 2
            mhat = self.m / (1 - self.b1 ** self.t)
            vhat = self.v / (1 - self.b2 ** self.t)
            self.x = self.x - self.lr * mhat / (np.sqrt(vhat) + self.eps)
        else:
            # RMSprop as autograd.misc.optimizers.rmsprop (avg_sq_grad starts at 1)
            self.v = self.gamma * self.v + (1 - self.gamma) * g ** 2
            self.x = self.x - self.lr * g / (np.sqrt(self.v) + self.eps)

    def state(self):
        return {"opt_x": self.x, "opt_m": self.m, "opt_v": self.v, "opt_t": np.array(self.t)}

    def load(self, d):
        if d["opt_x"].shape != self.x.shape:
            raise ValueError(f"checkpoint: expected {self.x.shape[0]} parameters, "
                             f"got {d['opt_x'].shape[0]}")
        self.x, self.m, self.v = d["opt_x"].copy(), d["opt_m"].copy(), d["opt_v"].copy()
        self.t = int(d["opt_t"])


def fit(cfg, tag, opt, step_fn, n_iter, every_s=30.0):
    """Run `opt` for n_iter iterations of step_fn(params, i) -> (grad, {name: scalar}).

    Saves/restores (with `--resume`) the optimizer and the recorded history in
    `cfg.out/checkpoint-<tag>.npz`. Returns the history {name: (n_iter,) array}."""
    ck = cfg.checkpoint(tag, every_s=every_s, total=n_iter)
    hist = {}
    state = ck.load()
    if state is not None:
        opt.load(state)
        hist = {k[2:]: list(v) for k, v in state.items() if k.startswith("h_")}

    def snapshot():
        return {**opt.state(), **{"h_" + k: np.asarray(v, float) for k, v in hist.items()}}

    pb = cfg.progress(n_iter, desc=f"{cfg.name}:{tag}")
    for i in range(opt.t, int(n_iter)):
        g, rec = step_fn(opt.params, i)
        opt.step(g)
        for k, v in rec.items():
            hist.setdefault(k, []).append(float(v))
        pb.update(i, **rec)
        ck.maybe_save(i + 1, snapshot)
    ck.save(snapshot(), step=int(n_iter))
    return {k: np.asarray(v) for k, v in hist.items()}
