"""tcvae-mss and tcvae-mig: β-TCVAE's minibatch estimators of log q(z) and the histogram MIG.

Candidate contracts::

    tcvae-mss:  candidate(z, mean, log_std, dataset_size, estimator) -> (log_qz (B,), log_qz_prod (B,))
    tcvae-mig:  candidate(codes, factors) -> float

tcvae-mss: estimator "mws" (log q(z_i) ≈ logsumexp_j log q(z_i|n_j) − log(B·N)) or "mss"
(stratified weights: self 1/N, the next sample (N − M)/(N·M), the rest 1/M, B = M + 1) for a
batch z, mean, log_std (B, D) of diagonal-Gaussian posteriors; log_qz_prod = Σ_d of the
per-dimension estimates. tcvae-mig: disentanglement_lib's MIG — encoder means `codes` (N, D),
20 equal-width bins per latent, discrete MI with each integer factor (N, K), normalised by the
factor's empirical entropy, averaged over factors (`refimpl.tcvae.mig_histogram`).
"""
import numpy as np

from ..tcvae import mig_histogram
from ..tcvae.mss import log_importance_weight_matrix, log_qz_mss, log_qz_mws, official_log_importance_weight_matrix
from .base import CaseResult, Kind, check_array

__all__ = ["KINDS", "reference_mss", "reference_mig"]

TOL = 1e-10


def reference_mss(z, mean, log_std, dataset_size, estimator):
    if estimator == "mws":
        return log_qz_mws(z, mean, log_std, dataset_size)
    return log_qz_mss(z, mean, log_std, dataset_size, log_importance_weight_matrix(len(z), dataset_size))


def reference_mig(codes, factors):
    return mig_histogram(codes, factors)


def _mss_cases():
    rng = np.random.default_rng(1802)
    cases = []
    for i, (B, D, N) in enumerate([(5, 2, 50), (16, 4, 1000), (64, 10, 46080)]):
        mean, log_std = rng.standard_normal((B, D)), 0.3 * rng.standard_normal((B, D)) - 0.5
        z = mean + np.exp(log_std) * rng.standard_normal((B, D))
        for est in ("mws", "mss"):
            lq, lp = reference_mss(z, mean, log_std, N, est)
            cases.append((f"{i}-B{B}-{est}", dict(z=z, mean=mean, log_std=log_std, log_qz=lq, log_qz_prod=lp,
                                                  log_weights=log_importance_weight_matrix(B, N)),
                          dict(estimator=est, dataset_size=N, tolerances={"log_qz": f"{TOL:g} relative (floor 1)"})))
    return cases


def _mss_run(cand, arrays, meta):
    out = cand(arrays["z"].copy(), arrays["mean"].copy(), arrays["log_std"].copy(), meta["dataset_size"],
               meta["estimator"])
    if not isinstance(out, tuple) or len(out) != 2:
        from .base import BadCall
        raise BadCall("candidate: expected a tuple (log_qz (B,), log_qz_prod (B,))")
    B = arrays["z"].shape[0]
    return dict(lq=check_array(out[0], "log_qz", (B,), "log_qz (B,)"),
                lp=check_array(out[1], "log_qz_prod", (B,), "log_qz_prod (B,)"))


def _err(g, r):
    return float(np.max(np.abs(g - r) / (TOL * np.maximum(np.abs(r), 1.0))))


def _mss_compare(arrays, meta, out):
    agree = max(_err(out["lq"], arrays["log_qz"]), _err(out["lp"], arrays["log_qz_prod"]))
    if agree <= 1.0:
        return CaseResult(True, agree)
    z, m, s, N = arrays["z"], arrays["mean"], arrays["log_std"], meta["dataset_size"]
    bad = log_qz_mss(z, m, s, N, official_log_importance_weight_matrix(len(z), N))
    if np.allclose(out["lq"], bad[0], rtol=1e-9) and np.allclose(out["lp"], bad[1], rtol=1e-9):
        return CaseResult(False, agree, "", "known defect: the candidate uses the official rtqichen/beta-tcvae "
                          "`_log_importance_weight_matrix`, which fills column 0 (stride M+1 = B) instead of the "
                          "diagonal, so z_i's own component gets 1/M and row M−1 does not sum to 1")
    other = "mss" if meta["estimator"] == "mws" else "mws"
    o = reference_mss(z, m, s, N, other)
    if np.allclose(out["lq"], o[0], rtol=1e-9):
        return CaseResult(False, agree, "", f"convention: the candidate computes {other.upper()} where "
                          f"{meta['estimator'].upper()} was asked")
    return CaseResult(False, agree, "", "the estimates match neither estimator nor the known defect: a bug "
                      "(check log-density constants and the logsumexp axis: over j, the conditioning datapoints)")


def _mig_cases():
    rng = np.random.default_rng(1804)
    cases = []
    N = 600
    f = np.stack([rng.integers(0, 3, N), rng.integers(0, 6, N), rng.integers(0, 10, N)], axis=1)
    for i, (name, codes) in enumerate([
            ("factors-as-codes", np.concatenate([f + 0.01 * rng.standard_normal(f.shape), rng.standard_normal((N, 2))], 1)),
            ("mixed", np.stack([f[:, 0] + 0.5 * f[:, 1], f[:, 1] + 0.3 * rng.standard_normal(N),
                                f[:, 2] * 0.1 + rng.standard_normal(N), rng.standard_normal(N)], 1)),
            ("duplicated-latent", np.stack([f[:, 0], f[:, 0] + 1e-3 * rng.standard_normal(N), f[:, 1], f[:, 2]], 1))]):
        cases.append((f"{i}-{name}", dict(codes=codes, factors=f, mig=np.array(reference_mig(codes, f))),
                      dict(n_bins=20, tolerances={"mig": f"{TOL:g} absolute"})))
    return cases


def _mig_run(cand, arrays, meta):
    v = cand(arrays["codes"].copy(), arrays["factors"].copy())
    return dict(mig=float(check_array(v, "mig", (), "a scalar MIG")))


def _mig_compare(arrays, meta, out):
    ref = float(arrays["mig"])
    agree = abs(out["mig"] - ref) / TOL
    if agree <= 1.0:
        return CaseResult(True, agree)
    got = out["mig"]
    codes, factors = arrays["codes"], arrays["factors"]
    for n_bins in (10, 30, 50, 100):
        if abs(mig_histogram(codes, factors, n_bins=n_bins) - got) <= 1e-9:
            return CaseResult(False, agree, f"MIG {got:.6g} vs {ref:.6g}",
                              f"convention: {n_bins} bins per latent; disentanglement_lib's MIG uses 20")
    for norm, what in (("log_values", "log of the factor's number of values (the entropy of a uniform factor)"),
                       ("none", "nothing (an unnormalised gap in nats)")):
        if abs(_mig_normalised(codes, factors, norm) - got) <= 1e-9:
            return CaseResult(False, agree, f"MIG {got:.6g} vs {ref:.6g}",
                              f"convention: the gap is divided by {what}; disentanglement_lib divides by the factor's "
                              "empirical entropy H(v_k)")
    return CaseResult(False, agree, f"MIG {got:.6g} vs {ref:.6g}",
                      "check the conventions of disentanglement_lib's MIG: encoder means (not samples), 20 "
                      "equal-width bins per latent over its range, normalisation by the factor's empirical "
                      "entropy (not log of its number of values), all factors")


def _mig_normalised(codes, factors, norm, n_bins=20):
    """The histogram MIG with another normaliser of each factor's gap ("log_values", "none")."""
    from ..tcvae.mig import _discrete_mi
    binned = np.stack([np.digitize(c, np.histogram_bin_edges(c, bins=n_bins)[:-1]) - 1 for c in codes.T], 1)
    gaps = []
    for k in range(factors.shape[1]):
        v = np.unique(factors[:, k], return_inverse=True)[1].ravel()
        if v.max() == 0:
            continue
        mi = np.sort([_discrete_mi(binned[:, d], v) for d in range(codes.shape[1])])
        gaps.append((mi[-1] - mi[-2]) / (np.log(v.max() + 1) if norm == "log_values" else 1.0))
    return float(np.mean(gaps)) if gaps else 0.0


KINDS = {
    "tcvae-mss": Kind("tcvae-mss", "candidate(z, mean, log_std, dataset_size, estimator) -> (log_qz (B,), log_qz_prod (B,))",
                      _mss_cases, _mss_run, _mss_compare, own="refimpl.verify.kinds_tcvae:reference_mss"),
    "tcvae-mig": Kind("tcvae-mig", "candidate(codes, factors) -> float (disentanglement_lib's histogram MIG)",
                      _mig_cases, _mig_run, _mig_compare, own="refimpl.verify.kinds_tcvae:reference_mig"),
}
