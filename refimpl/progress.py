"""Throttled progress on stderr: iteration, loss, elapsed, ETA, about once a second."""
import sys
import time


class Progress:
    """Report progress of a loop of `total` iterations to stderr.

    `update(i, loss=..., **scalars)` prints at most once every `interval` seconds (and
    always on the last iteration), e.g. ``spiral: it 120/500 loss=1.234e-02 12s ETA 38s``.
    """

    def __init__(self, total, desc="", interval=1.0, stream=None, enabled=True):
        self.total, self.desc, self.interval = int(total), desc, float(interval)
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.t0 = time.perf_counter()
        self._last = -float("inf")

    def update(self, i, **scalars):
        """Report that iteration `i` (0-based) finished."""
        now = time.perf_counter()
        done = i + 1
        if not self.enabled or (now - self._last < self.interval and done < self.total):
            return
        self._last = now
        elapsed = now - self.t0
        eta = elapsed / done * (self.total - done) if done > 0 else float("nan")
        vals = " ".join(f"{k}={_fmt(v)}" for k, v in scalars.items())
        print(f"{self.desc}: it {done}/{self.total} {vals} {elapsed:.0f}s ETA {eta:.0f}s",
              file=self.stream, flush=True)


def _fmt(v):
    try:
        return f"{float(v):.4g}"
    except (TypeError, ValueError):
        return str(v)
