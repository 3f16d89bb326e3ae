"""Inference suboptimality in VAEs (Cremer, Li, Duvenaud, ICML 2018). PARTIAL: the locally
optimal factorised Gaussian q*_FFG and its bounds (`qstar`) are here, with AIS and BDMC in
`refimpl.mcmc.ais`; the flow posterior, the VAEs, the gap tables and the experiments are NOT
built yet.
"""
from .qstar import bounds_ffg, log_normal_diag, optimize_local_ffg  # noqa: F401
