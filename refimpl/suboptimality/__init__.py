"""Inference suboptimality in VAEs (Cremer, Li, Duvenaud, ICML 2018). PARTIAL: the locally
optimal factorised Gaussian q*_FFG and its bounds (`qstar`) and the auxiliary-variable flow
posterior (`flow`) are here, with AIS and BDMC in `refimpl.mcmc.ais`; the local q*_flow
optimiser, the VAEs, the gap tables and the experiments are NOT built yet.
"""
from .flow import flow_forward, flow_log_weights, init_flow  # noqa: F401
from .qstar import bounds_ffg, log_normal_diag, optimize_local_ffg  # noqa: F401
