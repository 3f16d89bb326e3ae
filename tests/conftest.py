import os

# Keep numba's on-disk cache inside the test session's temp area when asked, and make
# matplotlib headless for every test.
os.environ.setdefault("MPLBACKEND", "Agg")
