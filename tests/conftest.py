import os

# Headless matplotlib, and single-threaded BLAS as the CLI uses (set before NumPy loads):
# the tests multiply small matrices, where a threaded BLAS on 2 shared cores spends its
# time synchronising.
os.environ.setdefault("MPLBACKEND", "Agg")
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
