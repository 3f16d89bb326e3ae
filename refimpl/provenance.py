"""What produced a result: versions, git commit, CPU, BLAS, the command line."""
import importlib.metadata
import platform
import subprocess
import sys
from pathlib import Path


def _version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:  # not installed: not reported
        return None


def _git_commit():
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip() if out.returncode == 0 else None
    except Exception:
        return None


def cpu_name():
    """The CPU's model name (/proc/cpuinfo), else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _blas():
    try:
        import numpy as np

        cfg = np.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:
        return None


def provenance():
    import refimpl

    return {
        "refimpl": refimpl.__version__,
        "git_commit": _git_commit(),
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "scipy": _version("scipy"),
        "autograd": _version("autograd"),
        "numba": _version("numba"),
        "matplotlib": _version("matplotlib"),
        "platform": platform.platform(),
        "cpu": cpu_name(),
        "blas": _blas(),
        "command": " ".join(sys.argv),
    }
