"""Datasets: embedded generators (the default for every experiment) and readers for real
files the user already has (`--data-dir`).

- `toy2d`  — the eight 2-D toy densities of FFJORD.
- `images` — procedurally rendered digits with labels, and an MNIST IDX reader.
- `uci`    — the UCI regression folders with their standard splits.
"""
from . import images, toy2d, uci  # noqa: F401
