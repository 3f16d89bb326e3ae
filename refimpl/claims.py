"""The papers' checkable claims, evaluated from each experiment's metrics.

The tour's report opens on one table — paper, claim, the paper's number, ours, reproduced
(yes / no / partly) — so a reader sees at once what holds at this scale. A claim lists
sub-checks (one per dataset, n, width…): all true is "yes", none "no", some "partly";
a claim whose metrics are absent (e.g. a quick run without that dataset) is left out.

An experiment may also return its own ``"claims"`` (a list of dicts with the keys of
``evaluate``'s rows); the registry keeps them beside the ones declared here.
"""
import re
from dataclasses import dataclass

__all__ = ["Claim", "CLAIMS", "evaluate", "verdict"]


@dataclass(frozen=True)
class Claim:
    """text: the claim; paper_value: the paper's number(s) as printed there;
    checks(metrics) -> [(label, ours: float, holds: bool)], empty when not applicable."""
    text: str
    paper_value: str
    checks: object


def verdict(flags):
    return "yes" if all(flags) else ("no" if not any(flags) else "partly")


def _natural(label):
    """Sort key: "n30" before "n100"."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", label)]


def _pairs(pattern, better, worse, smaller=True, factor=1.0):
    """For every metric matching `pattern` (with one group, e.g. a dataset or n): compare
    `better` against `worse` (keys formatted with the group); holds if better < factor·worse
    (or > for smaller=False)."""
    def checks(m):
        out = []
        groups = {mm.group(1) for k in m for mm in [re.fullmatch(pattern, k)] if mm}
        for g in sorted(groups, key=_natural):
            a, b = m.get(better.format(g)), m.get(worse.format(g))
            if a is None or b is None:
                continue
            holds = a < factor * b if smaller else a > factor * b
            out.append((g, a, bool(holds)))
        return out
    return checks


def _below(key, bound):
    return lambda m: [] if m.get(key) is None else [("", m[key], bool(m[key] < bound))]


def _mf_best(prefix_pattern):
    def checks(m):
        out = []
        for p in sorted({k.split("/")[0] for k in m if re.fullmatch(prefix_pattern, k)}):
            ec = m.get(f"{p}/evidence_chains/rmse")
            mf = [m.get(f"{p}/mf_sgd/rmse"), m.get(f"{p}/mf_als/rmse")]
            mf = [v for v in mf if v is not None]
            if ec is not None and mf:
                out.append((p, ec, bool(ec <= 1.05 * min(mf))))
        return out
    return checks


CLAIMS = {
    "latent-ode-spirals": [Claim(
        "latent ODE RMSE below the RNN at every n (Table 2)",
        "0.164 / 0.150 / 0.135 vs RNN 0.394 / 0.320 / 0.181",
        _pairs(r"(n\d+)/latent_ode/rmse", "{}/latent_ode/rmse", "{}/rnn/rmse")), Claim(
        "latent ODE RMSE below a 50-unit RNN at every n (a baseline of the latent ODE's size)",
        "— (the paper's RNN has 25 units)",
        _pairs(r"(n\d+)/rnn50/rmse", "{}/latent_ode/rmse", "{}/rnn50/rmse"))],
    "odenet-classifier": [
        Claim("ODE-Net has fewer parameters than the ResNet (Table 1)", "0.22 M vs 0.60 M",
              _pairs(r"(odenet)/params", "odenet/params", "resnet/params")),
        Claim("ODE-Net memory below the ResNet's (O(1) vs O(L), Table 1)", "O(1) vs O(L)",
              _pairs(r"(odenet)/peak_mem_mb", "odenet/peak_mem_mb", "resnet/peak_mem_mb"))],
    "neural-ode-nfe": [Claim(
        "backward NFE about half the forward NFE during training (Fig. 3c)", "≈ 0.5",
        _below("fig3/bwd_over_fwd_training_median", 0.75))],
    "cnf-vs-nf": [Claim(
        "CNF reaches a lower loss than the planar NF of the same width (Fig. 4)",
        "CNF below NF at M = K = 32, 64",
        lambda m: [(f"{g} M={w}", v, ok) for w in ("32", "64") for g, v, ok in
                   _pairs(r"(U\d+)/cnf_" + w + "/loss", "{}/cnf_" + w + "/loss",
                          "{}/nf_" + w + "/loss")(m)])],
    "ffjord-toy": [Claim(
        "FFJORD fits the toy densities better than a Gaussian (Fig. 2)", "sharp densities",
        _pairs(r"([^/]+)/test_loglik", "{}/test_loglik", "{}/gaussian_baseline_loglik",
               smaller=False))],
    "ffjord-tabular": [Claim(
        "FFJORD (Hutchinson) beats a Gaussian on tabular data (Table 2)", "—",
        _pairs(r"(ffjord_hutchinson)/test_nll", "ffjord_hutchinson/test_nll",
               "gaussian/test_nll"))],
    "trace-estimators": [Claim(
        "the Hutchinson log-likelihood is unbiased (Sec. 3.1)", "unbiased",
        lambda m: [] if m.get("gaussian/loglik_bias_in_se") is None else
        [("", m["gaussian/loglik_bias_in_se"], abs(m["gaussian/loglik_bias_in_se"]) < 3)])],
    "nng-uci": [Claim(
        "noisy K-FAC RMSE below BBB (Table 2)", "Boston 2.742 vs 3.171",
        _pairs(r"([^/]+)/noisy_kfac/rmse", "{}/noisy_kfac/rmse", "{}/bbb/rmse"))],
    "nng-toy-regression": [Claim(
        "noisy K-FAC's predictive variance closer to HMC than BBB's (Fig. 1)", "qualitative",
        _pairs(r"(noisy_kfac)/log_var_ratio_rms", "noisy_kfac/log_var_ratio_rms",
               "bbb/log_var_ratio_rms"))],
    "sce-robustness": [Claim(
        "the stochastic ensemble is more robust than the base model, under the adaptive "
        "(worst of non-adaptive and EOT) attack", "— (abstract only)",
        _pairs(r"ensemble_worst/((?:linf|l2)/eps[^/]+)/acc", "ensemble_worst/{}/acc",
               "base/{}/acc", smaller=False))],
    "sce-transferability": [Claim(
        "models can be trained to limit transferability (alignment penalty)", "— (abstract only)",
        _pairs(r"(penalised)/transfer_from_ref", "penalised/transfer_from_ref",
               "aligned/transfer_from_ref"))],
    "sce-detection": [
        Claim("metric learning detects adversarial examples (AUC > 0.7), non-adaptive attacker",
              "— (abstract only)",
              lambda m: [(k.split("/")[2], v, v > 0.7) for k, v in sorted(m.items())
                         if re.fullmatch(r"nonadaptive/linf/eps[^/]+/auc", k)]),
        Claim("... and against an attacker that also minimises the detection score",
              "— (abstract only)",
              lambda m: [(k.split("/")[2], v, v > 0.7) for k, v in sorted(m.items())
                         if re.fullmatch(r"adaptive/linf/eps[^/]+/auc", k)])],
    "stl-vae": [Claim(
        "the STL estimator improves the VAE's test log-likelihood (Table 1)",
        "MNIST VAE k = 1: −86.76 → −86.40",
        _pairs(r"(k\d+)/vae/stl/test_loglik", "{}/vae/stl/test_loglik",
               "{}/vae/total/test_loglik", smaller=False))],
    "stl-variance": [Claim(
        "STL's gradient variance vanishes as q approaches the posterior (Sec. 3)", "→ 0",
        lambda m: [] if m.get("gaussian/stl/final_variance") is None else
        [("", m["gaussian/stl/final_variance"], m["gaussian/stl/final_variance"]
          < 1e-3 * m["gaussian/total/final_variance"])])],
    "evidence-chains": [Claim(
        "accuracy competitive with matrix factorisation (within 5 % of the best MF)",
        "competitive", _mf_best(r"[^/]+/evidence_chains/rmse"))],
    "evidence-chains-coldstart": [Claim(
        "handles cold start: below MF-ALS fold-in for new users (k ratings)", "qualitative",
        _pairs(r"[^/]+/coldstart/(k\d+)/evidence_chains/rmse",
               "synthetic/coldstart/{}/evidence_chains/rmse",
               "synthetic/coldstart/{}/mf_als_fold_in/rmse"))],
    "evidence-chains-online": [
        Claim("online learning: ratings absorbed without retraining lower the error on the next ones",
              "qualitative (Sec. 1)",
              _pairs(r"online/(evidence_chains)/rmse", "online/{}/rmse", "online/evidence_chains_static/rmse")),
        Claim("... at least as well as MF with fold-in of the touched users and items", "—",
              _pairs(r"online/(evidence_chains)/rmse", "online/{}/rmse", "online/mf_fold_in/rmse"))],
    "tcvae-mig": [Claim(
        "β-TCVAE's MIG above β-VAE's at matched β (Fig. 4, dSprites)", "β-TCVAE above at every β > 1",
        _pairs(r"tcvae/(beta(?!1/)[^/]+)/mig_sampled", "tcvae/{}/mig_sampled", "betavae/{}/mig_sampled",
               smaller=False))],
    "tcvae-decomposition": [
        Claim("β-TCVAE penalises the TC: its total correlation ends below β-VAE's at the same β",
              "Sec. 4", _pairs(r"(tcvae)/tc", "tcvae/tc", "betavae/tc")),
        Claim("... and keeps more index-code MI (β-VAE penalises it too)", "Sec. 4",
              _pairs(r"(tcvae)/mi", "tcvae/mi", "betavae/mi", smaller=False))],
}


def evaluate(name, metrics):
    """Rows {"claim", "paper_value", "ours", "reproduced"} for experiment `name`."""
    rows = []
    for c in CLAIMS.get(name, []):
        checks = c.checks(metrics)
        if not checks:
            continue
        ours = "; ".join(f"{lab + ' ' if lab else ''}{v:.4g} {'✓' if ok else '✗'}"
                         for lab, v, ok in checks)
        rows.append({"claim": c.text, "paper_value": c.paper_value, "ours": ours,
                     "reproduced": verdict([ok for _, _, ok in checks])})
    return rows
