"""Where a candidate ODE solver's step sequence leaves the reference, and which controller
rule explains it.

The candidate returns only (ys, nfev), so its steps are reconstructed from the times at which
it called `fun`: a Dormand–Prince 5(4) attempt from t with step h evaluates the (FSAL) stages
at t + c_i h, c = (1/5, 3/10, 4/5, 8/9, 1, 1); the next attempt starts at t + h if this one
was accepted, at t again if it was rejected. Those attempts are compared with the reference
history (t, h, error_norm, accepted) and the first difference is explained by the rule that
sets it:

* attempt 0 — the initial step selection;
* same h, other accept/reject decision — the error norm (RMS over components, scaled by
  atol + rtol·max(|y_old|, |y_new|) in scipy/torchdiffeq/refimpl);
* the step landing on t1 in one and not the other — last-step clipping;
* the step after a rejection — the shrink rule (and "no growth right after a rejection");
* otherwise the step-size update h_new = h·min(max_factor, safety·err^(−1/5)): the factor
  each side implies for safety and for the growth cap is reported.
"""
import numpy as np

__all__ = ["reconstruct_attempts", "diagnose", "DOPRI5_C"]

DOPRI5_C = np.array([1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0])   # stages evaluated per attempt (FSAL)


def reconstruct_attempts(eval_times, t0, c=DOPRI5_C, tol=1e-9):
    """[(t, h, accepted)] from the times at which a dopri5-type solver called fun.

    An attempt from s with step h is the run of len(c) evaluations at s + c·h; it starts at
    the end of the previous attempt (which was then accepted) or at its start (rejected).
    Evaluations that fit no attempt (f(t0), the initial-step probe) are skipped."""
    E = np.asarray(eval_times, float)
    k = len(c)
    attempts, i = [], 0
    while i + k <= len(E):
        # an attempt ends with the evaluation at c = 1, i.e. at the solver's own t + h: use it
        # (dividing by c[0] would let rounding drift over hundreds of steps)
        starts = [float(t0)] if not attempts else [attempts[-1][3], attempts[-1][0]]
        for j, s in enumerate(starts):
            h = E[i + k - 1] - s
            if h != 0 and np.allclose(E[i:i + k], s + c * h, rtol=0, atol=tol * max(abs(h), abs(s), 1e-300)):
                if attempts:
                    attempts[-1][2] = j == 0                      # restarted from its end: accepted
                attempts.append([s, h, None, E[i + k - 1]])
                i += k
                break
        else:
            i += 1
    if attempts:
        attempts[-1][2] = True
    attempts = [a[:3] for a in attempts]
    return [tuple(a) for a in attempts]


def _same(a, b, tol=1e-7):
    return abs(a - b) <= tol * max(abs(a), abs(b), 1e-300)


def diagnose(arrays, meta, out, kind):
    """A few lines naming the first step where the candidate leaves the reference, and why."""
    nfev_ref, nfev = int(arrays["nfev"]), out["nfev"]
    head = []
    if nfev != nfev_ref:
        head.append(f"nfev {nfev} vs reference {nfev_ref}.")
    if meta["method"] != "dopri5":
        return " ".join(head + ["(step reconstruction is implemented for dopri5-type kinds only; "
                                "compare the step history in the case's .npz by hand)"])
    t0, t1 = arrays["t_span"]
    ref = list(zip(arrays["history_t"], arrays["history_h"], arrays["history_error_norm"],
                   arrays["history_accepted"]))
    cand = reconstruct_attempts(out["eval_times"], t0)
    if not cand:
        return " ".join(head + ["could not reconstruct the candidate's steps from its calls of fun "
                                "(not a Dormand–Prince 5(4) stage pattern)"])
    n = min(len(ref), len(cand))
    k = next((i for i in range(n) if not (_same(ref[i][0], cand[i][0]) and _same(ref[i][1], cand[i][1])
                                          and bool(ref[i][3]) == bool(cand[i][2]))), None)
    if k is None:
        if len(ref) == len(cand):
            dh = max(abs(r[1] - c[1]) / abs(r[1]) for r, c in zip(ref, cand))
            return " ".join(head + [f"the step sequences agree (step sizes to {dh:.1e} relative); the difference "
                                    "is in the outputs at t_eval (dense output / interpolation), in nfev "
                                    "bookkeeping, or rounding (another order of the stage sums) amplified by a "
                                    "sensitive problem"])
        k = n
        return " ".join(head + [f"the first {n} attempts agree; the candidate takes {len(cand) - n:+d} "
                                "attempts at the end: last-step handling (landing on t1) differs"])
    tr, hr, er, ar = ref[k]
    tc, hc, ac = cand[k]
    where = f"attempt {k} (t = {tr:.6g}): reference h = {hr:.6g} ({'accepted' if ar else 'rejected'}), " \
            f"candidate h = {hc:.6g} ({'accepted' if ac else 'rejected'})"
    if k == 0:
        return " ".join(head + [where + "; initial step selection: the reference chooses h0 by "
                                + ("Hairer's algorithm with sums of squares (HINIT)" if meta["controller"] == "hairer"
                                   else "Hairer's algorithm (scipy `select_initial_step`, RMS norms)")
                                + f"; ratio candidate / reference = {hc / hr:.4g}"])
    if not _same(tr, tc):
        return " ".join(head + [where + "; the attempts start at different times: the previous attempt's "
                                "accept/reject decision differed"])
    if _same(hr, hc):
        return " ".join(head + [where + f"; same step, other decision: the error norm differs (the reference's "
                                f"is {er:.6g}; it accepts iff <= 1). Check the norm: RMS over components of "
                                "err / (atol + rtol * max(|y_old|, |y_new|))"])
    lands_r, lands_c = _same(tr + hr, t1, 1e-12), _same(tc + hc, t1, 1e-12)
    if lands_r != lands_c:
        return " ".join(head + [where + "; last-step clipping: the " + ("reference" if lands_r else "candidate")
                                + " shortens this step to land exactly on t1"])
    _, hp, ep, ap = ref[k - 1]
    ratio_r, ratio_c = hr / hp, hc / hp
    if not ap:
        extra = ""
        if k >= 2 and not ref[k - 1][3] and ratio_c > 1 >= ratio_r:
            extra = " (the candidate grows the step right after a rejection; the reference does not)"
        return " ".join(head + [where + f"; step after a rejection (error norm {ep:.4g}): reference factor "
                                f"{ratio_r:.4g}, candidate {ratio_c:.4g}{extra}. The shrink rule "
                                "h·max(min_factor, safety·err^(-1/5)) and its constants differ"])
    prev_rejected = k >= 2 and not ref[k - 2][3]
    if prev_rejected and ratio_c > 1 and ratio_r <= 1 + 1e-12:
        return " ".join(head + [where + "; growth cap after a rejection: the reference does not let the step "
                                "grow on the attempt after a rejected one (factor capped at 1); the candidate "
                                f"grows it by {ratio_c:.4g}"])
    base = ep ** -0.2 if ep > 0 else np.inf
    s_r, s_c = ratio_r / base, ratio_c / base
    if np.isfinite(base) and abs(s_r - 0.9) < 0.02 and 0.3 < s_c < 1.5:
        return " ".join(head + [where + f"; safety factor: with the previous error norm {ep:.4g} the reference's "
                                f"factor is 0.9·err^(-1/5) = {ratio_r:.4g}; the candidate's {ratio_c:.4g} implies a "
                                f"safety factor of {s_c:.3g}"])
    return " ".join(head + [where + f"; the step-size update differs (previous error norm {ep:.4g}; reference factor "
                            f"{ratio_r:.4g}, candidate {ratio_c:.4g}): check the growth cap (max factor), the "
                            "exponent -1/(q+1) and any PI term"])
