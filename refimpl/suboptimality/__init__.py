"""Inference suboptimality in VAEs (Cremer, Li, Duvenaud, ICML 2018). PARTIAL: local q*_FFG
and the generic local optimiser with the evaluation code's stopping rule (`qstar`), the
auxiliary-variable flow posterior (`flow`), FFG- and flow-encoder VAEs with entropy-only
warm-up and the gap decomposition (`gaps`), the hand-written decoder gradient for AIS
(`decoder_grad`), the `suboptimality-posteriors` experiment (`posteriors`), with AIS and BDMC
in `refimpl.mcmc.ais` (benchmark: numerics/bench_ais.py). NOT built yet: the experiments
`suboptimality-gaps`, `suboptimality-encoder-capacity`, `bdmc-validation` and the gap-table
full run on real MNIST.
"""
from .flow import flow_forward, flow_log_weights, flow_terms, init_flow  # noqa: F401
from .gaps import evaluate_gaps, init_model, local_flow, train_vae  # noqa: F401
from .qstar import bounds_ffg, log_normal_diag, optimize_local, optimize_local_ffg  # noqa: F401
