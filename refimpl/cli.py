"""The `refimpl` command (also `python -m refimpl`).

    refimpl list
    refimpl run NAME [--quick] [--seed N | --seeds 0,1,2 [--jobs N]] [--out DIR] [--data-dir DIR] [--resume]
    refimpl tour [--quick] [--jobs N] [--out DIR] [--only PATTERN] [--data-dir DIR] [--seed N]
    refimpl cite [PAPER [LABEL]] [--check]

Exit codes: 0 success, 1 an experiment failed, 2 bad usage (unknown experiment, bad argument)
or unreadable data / checkpoint (`refimpl.io.DataError`), reported before anything is written.
"""
import argparse
import fnmatch
import os
import sys
import time
from pathlib import Path

# Single-threaded BLAS unless the user says otherwise. Set before NumPy is first imported:
# the experiments multiply small matrices thousands of times, where a threaded BLAS spends
# its time synchronising (measured ~5x slower for noisy K-FAC steps on 2 cores).
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from . import experiments as ex  # noqa: E402
from .io import DataError  # noqa: E402


def _cmd_list(args):
    specs = ex.discover()
    w = max([len(n) for n in specs] + [4])
    print(f"{'name':<{w}}  {'quick':>6}  {'full':>7}  paper — artefact")
    for name, s in specs.items():
        print(f"{name:<{w}}  {s.quick_seconds:>5.0f}s  {s.full_minutes:>5.1f}m  {s.paper} — {s.artefact}")
    for mod, err in ex.IMPORT_ERRORS.items():
        print(f"refimpl: could not import {mod}:\n{err}", file=sys.stderr)
    return 1 if ex.IMPORT_ERRORS else 0


def _print_results(res, stream=None):
    stream = stream or sys.stdout
    print(f"== {res['experiment']} ({res['paper']}, {res['artefact']}) "
          f"quick={res['quick']} seed={res['seed']} {res['elapsed_s']:.1f}s", file=stream)
    for k, v in res["metrics"].items():
        print(f"  {k:<48} {v if v is None else f'{v:.6g}'}", file=stream)


def _bad_common_args(args):
    """The message for a bad --data-dir / --out, or None (checked before anything runs)."""
    if args.data_dir is not None and not Path(args.data_dir).is_dir():
        return f"--data-dir: expected an existing folder, got {args.data_dir!r}"
    if Path(args.out).exists() and not Path(args.out).is_dir():
        return f"--out: expected a folder (or a new path), got the file {args.out!r}"
    return None


def _cmd_run(args):
    try:
        ex.get(args.name)
    except ex.UnknownExperimentError as e:
        print(f"refimpl: {e.args[0]}", file=sys.stderr)
        return 2
    bad = _bad_common_args(args)
    if bad:
        print(f"refimpl: {bad}", file=sys.stderr)
        return 2
    if args.seeds is not None:                   # one process per seed: OUT/seed<N>/NAME
        from .parallel import run_seeds
        outcomes = run_seeds(args.name, args.seeds, args.jobs, out=args.out, quick=args.quick,
                             data_dir=args.data_dir, resume=args.resume)
        for outcome in outcomes:
            _report_outcome(outcome)
        return 1 if any(res is None for _, res, _ in outcomes) else 0
    try:
        res = ex.run_experiment(args.name, quick=args.quick, seed=args.seed, out=args.out,
                                data_dir=args.data_dir, resume=args.resume)
    except DataError as e:                       # unreadable data or checkpoint: exit 2
        print(f"refimpl: {e}", file=sys.stderr)
        return 2
    _print_results(res)
    print(f"wrote {Path(args.out) / args.name / 'results.json'}")
    return 0


def _cmd_tour(args):
    from .report import write_report

    bad = _bad_common_args(args)
    if bad:
        print(f"refimpl: {bad}", file=sys.stderr)
        return 2
    specs = ex.discover()
    patterns = None if args.only is None else [p.strip() for p in args.only.split(",") if p.strip()]
    names = [n for n in specs
             if patterns is None or any(fnmatch.fnmatch(n, p) or p in n for p in patterns)]
    if not names:
        print(f"refimpl: no experiment matches {args.only!r}; valid names: {', '.join(specs)}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    outcomes = [(mod, None, err) for mod, err in ex.IMPORT_ERRORS.items()]
    for mod, err in ex.IMPORT_ERRORS.items():
        print(f"FAILED to import {mod}:\n{err}", file=sys.stderr)
    if args.jobs > 1:                            # N worker processes, results in name order
        from .parallel import run_pool
        kw = dict(quick=args.quick, out=args.out, data_dir=args.data_dir, resume=args.resume)
        for outcome in run_pool([(n, args.seed) for n in names], args.jobs, **kw):
            outcomes.append(outcome)
            _report_outcome(outcome)
    for i, name in enumerate(names if args.jobs <= 1 else []):
        print(f"[{i + 1}/{len(names)}] {name} ...", file=sys.stderr, flush=True)
        (outcome,) = ex.run_many([name], quick=args.quick, seed=args.seed, out=args.out,
                                 data_dir=args.data_dir, resume=args.resume)
        outcomes.append(outcome)
        _report_outcome(outcome)
    md, html = write_report(outcomes, Path(args.out), quick=args.quick,
                            elapsed=time.perf_counter() - t0)
    n_fail = sum(o[1] is None for o in outcomes)
    print(f"tour: {len(outcomes) - n_fail} ok, {n_fail} failed, {time.perf_counter() - t0:.0f}s; "
          f"wrote {md} and {html}")
    return 1 if n_fail else 0


def _report_outcome(outcome):
    name, res, err = outcome
    if res is not None:
        _print_results(res)
    else:
        print(f"FAILED {name}:\n{err}", file=sys.stderr)


def _seed(text):
    """argparse type: a seed is an integer in [0, 2**32) (numpy's SeedSequence range)."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if not 0 <= v < 2 ** 32:
        raise argparse.ArgumentTypeError(f"expected an integer in [0, 2**32), got {v}")
    return v


def _seed_list(text):
    seeds = [_seed(x) for x in text.split(",") if x.strip()]
    if not seeds or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"expected distinct comma-separated seeds, got {text!r}")
    return seeds


def _jobs(text):
    try:
        v = int(text)
    except ValueError:
        v = 0
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _cmd_cite(args):
    from . import cite

    cites, problems = cite.scan()
    papers = cite.load_papers()
    if args.paper is not None and args.paper not in cite.PAPER_KEYS:
        print(f"refimpl: PAPER: expected one of {', '.join(cite.PAPER_KEYS)}, got {args.paper!r}",
              file=sys.stderr)
        return 2
    if args.check:
        errors, uncited = cite.check(cites, problems, papers)
        for where, msg in errors:
            print(f"{where}: {msg}")
        for key, labels in uncited.items():
            print(f"{key}: key labels no code cites: {', '.join(labels)}")
        print(f"cite --check: {len(cites)} citations, {len(errors)} errors, "
              f"{len(uncited)} papers with uncited key labels")
        return 1 if errors or uncited else 0
    if args.label is not None:
        hits = [c for c in cites if c.key == args.paper and c.label == cite.normalise(args.label)]
        if not hits:
            print(f"refimpl: no code cites [{args.paper} {args.label}]", file=sys.stderr)
            return 2
        for c in hits:
            print(f"== [{c.key} {c.label}] {c.where} {c.function}")
            print("\n".join(cite.code_under(c)))
        return 0
    print("\n".join(cite.table(cites, args.paper)))
    return 0


def _cmd_vectors(args):
    from .verify import BadCall, write_vectors
    try:
        index = write_vectors(args.out, args.only)
    except BadCall as e:
        print(f"refimpl: {e}", file=sys.stderr)
        return 2
    n = sum(len(k["cases"]) for k in index["kinds"].values())
    size = sum(f.stat().st_size for f in Path(args.out).rglob("*") if f.is_file())
    print(f"vectors: {len(index['kinds'])} kinds, {n} cases, {size / 1e3:.0f} kB in {args.out}")
    return 0


def _cmd_verify(args):
    from .verify import BadCall, VectorError, run_verify
    try:
        return run_verify(args.kind, args.candidate, args.vectors)
    except (BadCall, VectorError) as e:
        print(f"refimpl: {e}", file=sys.stderr)
        return 2


def build_parser():
    p = argparse.ArgumentParser(prog="refimpl", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list every experiment").set_defaults(func=_cmd_list)

    def common(q):
        q.add_argument("--quick", action="store_true", help="smaller, faster version of the same method")
        q.add_argument("--seed", type=_seed, default=0)
        q.add_argument("--jobs", type=_jobs, default=1,
                       help="worker processes (each single-threaded BLAS; same results as serial)")
        q.add_argument("--out", default="runs", help="output folder (default: runs)")
        q.add_argument("--data-dir", default=None, help="folder with real data files (else embedded data)")
        q.add_argument("--resume", action="store_true", help="continue from saved checkpoints")

    r = sub.add_parser("run", help="run one experiment")
    r.add_argument("name")
    r.add_argument("--seeds", type=_seed_list, default=None,
                   help="comma-separated seeds, one run each into OUT/seed<N>/NAME (with --jobs)")
    common(r)
    r.set_defaults(func=_cmd_run)
    t = sub.add_parser("tour", help="run every experiment and write report.md + index.html")
    t.add_argument("--only", default=None, help="comma-separated globs or substrings of experiment names")
    common(t)
    t.set_defaults(func=_cmd_tour)
    c = sub.add_parser("cite", help="paper → label → code: list the code's citations of the papers")
    c.add_argument("paper", nargs="?", default=None, help="paper key, e.g. FFJORD")
    c.add_argument("label", nargs="?", default=None, help='e.g. "eq. 7": print the code under it')
    c.add_argument("--check", action="store_true", help="fail on unknown/malformed/uncited labels")
    c.set_defaults(func=_cmd_cite)
    v = sub.add_parser("vectors", help="write reference vectors (.npz + .json) for every solver and estimator")
    v.add_argument("--out", required=True, help="output folder")
    v.add_argument("--only", default=None, help="one kind (or a prefix such as ode-solve)")
    v.set_defaults(func=_cmd_vectors)
    w = sub.add_parser("verify", help="run your implementation against the reference vectors")
    w.add_argument("kind", help="e.g. ode-solve/scipy, vi-gradients (see `refimpl vectors`)")
    w.add_argument("candidate", help="module:function, importable from the current directory")
    w.add_argument("--vectors", default="vectors", help="folder written by `refimpl vectors` (default: vectors)")
    w.set_defaults(func=_cmd_verify)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
