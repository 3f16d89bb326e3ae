"""vi-gradients: the reparameterisation gradient estimators of the STL paper, for a diagonal
Gaussian q and a Gaussian target, given the noise.

Candidate contract::

    candidate(estimator, target_mean, target_log_std, q_mean, q_log_std, eps)
        -> (grad_q_mean (D,), grad_q_log_std (D,))

the gradient, with respect to q's parameters, of the K-sample estimate built from the noise
eps (K, D) (z_k = q_mean + exp(q_log_std)·eps_k), for the target log p(z) = log N(z;
target_mean, diag exp(2 target_log_std)). Estimators: "total" (ordinary reparameterisation
gradient of the mean over k of log p − log q), "stl" (STL eq. 8: log q's parameters held
constant), "score" (REINFORCE: mean over k of (log p − log q)·∇ log q, z held fixed),
"iwae-total", "iwae-stl", "iwae-dreg" (the same for the IWAE bound log (1/K) Σ_k w_k;
DReG of Tucker et al. 2019). A failure is diagnosed as a convention when the candidate
matches another estimator or a multiple of the reference (a sum instead of a mean).
"""
import numpy as np
from autograd import grad

from ..vi.gaussian import elbo_surrogate
from ..vi.iwae import iwae_surrogate
from .base import CaseResult, Kind, check_array, rel_agreement

__all__ = ["KINDS", "reference_gradient", "ESTIMATORS"]

ESTIMATORS = ("total", "stl", "score", "iwae-total", "iwae-stl", "iwae-dreg")
TOL = 1e-9


def reference_gradient(estimator, target_mean, target_log_std, q_mean, q_log_std, eps):
    """refimpl's own candidate: the gradient of `refimpl.vi`'s surrogates."""
    def logjoint(z):
        return np.sum(-0.5 * ((z - target_mean) / np.exp(target_log_std)) ** 2 - target_log_std
                      - 0.5 * np.log(2 * np.pi), axis=-1)
    if estimator.startswith("iwae-"):
        f = lambda m, s: iwae_surrogate(logjoint, m, s, eps, estimator[5:])         # noqa: E731
    else:
        f = lambda m, s: elbo_surrogate(logjoint, m, s, eps, estimator)             # noqa: E731
    return grad(f, 0)(q_mean, q_log_std), grad(f, 1)(q_mean, q_log_std)


def make_cases():
    rng = np.random.default_rng(2017)
    cases = []
    for i, (D, K) in enumerate([(2, 1), (3, 5), (4, 10)]):
        tm, tls = rng.standard_normal(D), 0.3 * rng.standard_normal(D)
        qm, qls = tm + 0.5 * rng.standard_normal(D), tls + 0.3 * rng.standard_normal(D)
        eps = rng.standard_normal((K, D))
        for est in ESTIMATORS:
            gm, gs = reference_gradient(est, tm, tls, qm, qls, eps)
            arrays = dict(target_mean=tm, target_log_std=tls, q_mean=qm, q_log_std=qls, eps=eps,
                          grad_q_mean=gm, grad_q_log_std=gs)
            meta = dict(estimator=est, D=D, K=K, tolerances={"grad": f"{TOL:g} relative (floor 1)"},
                        target="log N(z; target_mean, diag exp(2 target_log_std))",
                        q="z = q_mean + exp(q_log_std) * eps", noise="standard normal eps (K, D), given")
            cases.append((f"{i}-D{D}-K{K}-{est}", arrays, meta))
    # the noise-free check: q equal to the target makes the STL gradient exactly zero
    D, K = 3, 4
    tm, tls = rng.standard_normal(D), 0.2 * rng.standard_normal(D)
    eps = rng.standard_normal((K, D))
    gm, gs = reference_gradient("stl", tm, tls, tm, tls, eps)
    cases.append(("3-q-equals-target-stl", dict(target_mean=tm, target_log_std=tls, q_mean=tm.copy(),
                                                q_log_std=tls.copy(), eps=eps, grad_q_mean=gm, grad_q_log_std=gs),
                  dict(estimator="stl", D=D, K=K, tolerances={"grad": f"{TOL:g} relative (floor 1)"},
                       note="q = p: the STL gradient is exactly zero for every eps (STL Sec. 3)")))
    return cases


def run(cand, arrays, meta):
    out = cand(meta["estimator"], arrays["target_mean"].copy(), arrays["target_log_std"].copy(),
               arrays["q_mean"].copy(), arrays["q_log_std"].copy(), arrays["eps"].copy())
    D = meta["D"]
    if not isinstance(out, tuple) or len(out) != 2:
        from .base import BadCall
        raise BadCall("candidate: expected a tuple (grad_q_mean, grad_q_log_std) of (D,) arrays")
    return dict(gm=check_array(out[0], "grad_q_mean", (D,), "grad_q_mean"),
                gs=check_array(out[1], "grad_q_log_std", (D,), "grad_q_log_std"))


def compare(arrays, meta, out):
    ref = np.concatenate([arrays["grad_q_mean"], arrays["grad_q_log_std"]])
    got = np.concatenate([out["gm"], out["gs"]])
    agree = float(np.max(np.abs(got - ref) / (TOL * np.maximum(np.abs(ref), 1.0))))
    if agree <= 1.0:
        return CaseResult(True, agree)
    return CaseResult(False, agree, "", _diagnose(arrays, meta, out, got, ref))


_HINTS = {("stl", "total"): " — the score term ∇_φ log q is kept: hold q's parameters constant inside log q "
                            "(stop-gradient)",
          ("iwae-stl", "iwae-total"): " — the score term is kept inside the IWAE weights",
          ("iwae-dreg", "iwae-stl"): " — the DReG squared normalised weights are missing"}


def _elbo_variants(tm, tls, qm, qls, eps):
    """Gradients (D + D,) of common mistakes / other conventions for the ELBO estimators."""
    import autograd.numpy as anp
    from ..vi._common import diag_normal_logpdf

    def logp(z):
        return diag_normal_logpdf(z, tm, tls)

    def path_p(m, s):                                   # E[log p(z(φ))] only: log q dropped
        return anp.mean(logp(m + anp.exp(s) * eps))

    def stop_z(m, s):                                   # log q(stop(z); φ): z detached, φ live
        z = qm + np.exp(qls) * eps
        return anp.mean(logp(m + anp.exp(s) * eps) - diag_normal_logpdf(z, m, s))

    g = lambda f: np.concatenate([grad(f, 0)(qm, qls), grad(f, 1)(qm, qls)])       # noqa: E731
    score_q = np.concatenate([np.mean(eps, 0) / np.exp(qls), np.mean(eps ** 2 - 1, 0)])  # mean_k ∇_φ log q(z_k)
    return {"score-explicit": lambda ref: ref - score_q,
            "path-p": lambda ref: g(path_p),
            "stop-z": lambda ref: g(stop_z)}


def _diagnose(arrays, meta, out, got, ref):
    close = lambda a, b: np.allclose(a, b, rtol=1e-7, atol=1e-9)                      # noqa: E731
    args = (arrays["target_mean"], arrays["target_log_std"], arrays["q_mean"], arrays["q_log_std"], arrays["eps"])
    est = meta["estimator"]
    hinted = [o for (e, o) in _HINTS if e == est]
    for other in hinted + [o for o in ESTIMATORS if o not in hinted]:
        if other != est:
            g = np.concatenate(reference_gradient(other, *args))
            if close(got, g):
                return (f"convention, not arithmetic: the candidate computes the '{other}' estimator where "
                        f"'{est}' was asked{_HINTS.get((est, other), '')}")
    if not est.startswith("iwae-"):
        v = _elbo_variants(*args)
        if est == "score" and close(got, v["score-explicit"](ref)):
            return ("convention: the score-function estimator with the explicit term -E[∇_φ log q(z)] kept "
                    "(mean zero, so unbiased either way); the kit's 'score' drops it: "
                    "mean_k (log p - log q)(z_k) ∇_φ log q(z_k) with z held fixed")
        if close(got, v["stop-z"](ref)):
            return ("bug: z is detached inside log q while q's parameters stay live — the opposite of STL, "
                    "which keeps z live and holds the parameters of log q constant (STL eq. 8)")
        if close(got, v["path-p"](ref)):
            return ("bug: only ∇ log p(z(φ)) — the log q term (the entropy) was dropped from the objective")
    K = meta["K"]
    for f, what in ((K, "a sum over the K samples instead of their mean"), (1 / K, "a mean where a sum is meant"),
                    (-1, "the gradient of the negative bound (a loss) instead of the bound")):
        if close(got, f * ref):
            return f"convention: the candidate's gradient is {f:g} x the reference — {what}"
    D = meta["D"]
    parts = []
    if not close(out["gm"], arrays["grad_q_mean"]):
        parts.append("grad_q_mean")
    if not close(out["gs"], arrays["grad_q_log_std"]):
        parts.append("grad_q_log_std")
    return (f"the parameter block(s) {', '.join(parts)} differ and match no other estimator or convention: "
            f"a bug in the {'scale (log std) path' if parts == ['grad_q_log_std'] else 'estimator'} "
            f"(D = {D}, K = {K})")


KINDS = {"vi-gradients": Kind("vi-gradients", __doc__.split("Candidate contract::")[1].split("A failure")[0].strip(),
                              make_cases, run, compare, own="refimpl.verify.kinds_vi:reference_gradient")}
