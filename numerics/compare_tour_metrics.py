"""Compare two tour output folders metric by metric: every <experiment>/results.json.

    python numerics/compare_tour_metrics.py BEFORE AFTER [--rtol 0]

Prints one line per experiment (metrics compared, metrics that differ) and each difference;
exit 1 if an experiment or a metric is missing on one side or a value differs (beyond rtol;
the default 0 means bit-identical floats). Timing-like metrics (names ending in 'seconds',
'per_s' or '_ms', or containing 'sec_per', 'ms_per', '_time_' or 'peak_mem' (tracemalloc
peaks move by a few bytes with the modules loaded)) are listed but not compared: they measure the machine.
"""
import argparse
import json
import math
import sys
from pathlib import Path


def is_timing(name):
    n = name.lower()
    return (n.endswith("seconds") or "sec_per" in n or "ms_per" in n or n.endswith("per_s")
            or n.endswith("_ms") or "_time_" in n or "peak_mem" in n)


def load(folder):
    return {p.parent.name: json.loads(p.read_text())["metrics"]
            for p in sorted(Path(folder).glob("*/results.json"))}


def same(a, b, rtol):
    if a is None or b is None:
        return a is b
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if rtol == 0:
        return a == b
    return abs(a - b) <= rtol * max(abs(a), abs(b))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("before")
    p.add_argument("after")
    p.add_argument("--rtol", type=float, default=0.0)
    a = p.parse_args(argv)
    before, after = load(a.before), load(a.after)
    bad = 0
    for name in sorted(set(before) | set(after)):
        if name not in before or name not in after:
            print(f"{name}: only in {'after' if name in after else 'before'}")
            bad += 1
            continue
        mb, ma = before[name], after[name]
        keys = sorted(set(mb) | set(ma))
        timing = [k for k in keys if is_timing(k)]
        diffs = [k for k in keys if k not in timing and (k not in mb or k not in ma or not same(mb[k], ma[k], a.rtol))]
        print(f"{name:<28} {len(keys) - len(timing):>3} metrics compared, {len(timing)} measurements skipped, "
              f"{len(diffs)} differ")
        for k in timing:
            if mb.get(k) != ma.get(k) and "peak_mem" in k:
                print(f"    (measurement) {k}: before {mb.get(k)!r} after {ma.get(k)!r}")
        for k in diffs:
            print(f"    {k}: before {mb.get(k, '<missing>')!r} after {ma.get(k, '<missing>')!r}")
        bad += len(diffs)
    print(f"{len(set(before) & set(after))} experiments; {'IDENTICAL' if bad == 0 else f'{bad} DIFFERENCES'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
