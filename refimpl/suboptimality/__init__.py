"""Inference suboptimality in VAEs (Cremer, Li, Duvenaud, ICML 2018).

- `qstar`: the locally optimal factorised Gaussian q*_FFG and the generic local optimiser with
  the evaluation code's stopping rule (Adam, checks every 100 steps, patience 10);
- `flow`: the paper's auxiliary-variable flow posterior (amortised or one per datapoint);
- `local_grad`: hand-written gradients of the local FFG and flow bounds (autograd twins tested);
- `gaps`: FFG- and flow-encoder VAEs with entropy-only warm-up, and the decomposition of the
  inference gap into approximation and amortization gaps (log p̂ = max of AIS and IWAEs);
- `decoder_grad`: the Bernoulli decoder's log-likelihood gradient by a hand-written VJP (for AIS);
- experiments: `suboptimality-gaps` (Table 2), `suboptimality-encoder-capacity` (Table 3),
  `bdmc-validation` (`tables`, `bdmc_validation`) and `suboptimality-posteriors` (Fig. 2);
AIS and BDMC are in `refimpl.mcmc.ais`; the benchmark against a PyTorch port of the evaluation
code's AIS is numerics/bench_ais.py.
"""
from .flow import flow_forward, flow_log_weights, flow_terms, init_flow  # noqa: F401
from .gaps import evaluate_gaps, init_model, local_flow, train_vae  # noqa: F401
from .qstar import bounds_ffg, log_normal_diag, optimize_local, optimize_local_ffg  # noqa: F401
