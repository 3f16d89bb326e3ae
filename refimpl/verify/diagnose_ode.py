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
* otherwise the step-size update h_new = h·min(max_factor, safety·err^(−1/5)). One step
  cannot tell a safety factor from an error norm, so the candidate's own attempts are
  replayed (`replay_error_norms`: a Dormand–Prince step from y0 along its (t, h) sequence,
  with the reference's RMS norm) and its update rule is read off all its accepted steps
  (`step_rule`): a constant safety·err^(1/5) is another safety factor (0.9·n^(−1/10) is an
  L2 norm where the RMS is meant), a constant safety·err^(1/4) another exponent, anything
  else another error norm; attempts accepted with a reference norm > 1 (or rejected with
  one < 1) point at the norm or the acceptance test.
"""
import numpy as np

__all__ = ["reconstruct_attempts", "replay_error_norms", "step_rule", "diagnose", "DOPRI5_C"]

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


def replay_error_norms(attempts, fun, y0, rtol, atol, error_weights=None):
    """The reference's error norm of each of the candidate's attempts [(t, h, accepted)]:
    a Dormand–Prince 5(4) step (`refimpl.ode.rk_step`) from the candidate's own state (y0,
    advanced by its accepted attempts), RMS of h Kᵀe / (atol + rtol·max(|y_old|, |y_new|)).
    error_weights e: the tableau's (scipy, Hairer, refimpl) by default; torchdiffeq's
    `TD_C_ERROR` (another embedded solution) for the torchdiffeq kind."""
    from ..ode.control import error_norm
    from ..ode.rk_step import rk_step
    y, errs = np.asarray(y0, float), []
    for t, h, accepted in attempts:
        y_new, K, err = rk_step(fun, t, y, h, "dopri5")
        if error_weights is not None:
            err = K.T @ error_weights * h
        errs.append(error_norm(err, y, y_new, rtol, atol))
        if accepted:
            y = y_new
    return errs


def step_rule(attempts, errs, t1, n, max_factor=10.0):
    """Read the candidate's step-size rule off its accepted attempts; one sentence, or "".

    Uses every accepted attempt j that follows an accepted one (no "no growth after a
    rejection" cap) and whose next attempt is not clipped to t1: the factor h_{j+1}/h_j
    against the reference's error norm err_j,
    with 0 < err_j < 0.5 and a factor other than exactly 1 (torchdiffeq's floor after an
    accepted step). When at least 3/4
    of them follow one rule c·err^(-p) (p = 1/5, else 1/4) to 1e-6, c is the candidate's
    safety factor (or 0.9·n^(-1/10): an L2 norm) and the steps that fall short of it show
    its growth cap; otherwise its error norm is not the reference's."""
    notes = []
    wrong = [j for j, ((_, _, acc), e) in enumerate(zip(attempts, errs))
             if abs(e - 1) > 1e-6 and bool(acc) != (e < 1)]
    if wrong:
        j = wrong[0]
        notes.append(f"the candidate {'accepts' if attempts[j][2] else 'rejects'} attempt {j} (t = "
                     f"{attempts[j][0]:.6g}) whose error norm is {errs[j]:.4g} in the reference's norm "
                     f"({len(wrong)} such attempts): its error norm or its acceptance test differs")
    ratios, es = [], []
    for j in range(1, len(attempts) - 1):
        (_, h, acc), (_, _, acc_prev), (tn, hn, _) = attempts[j], attempts[j - 1], attempts[j + 1]
        if (acc and acc_prev and not _same(tn + hn, t1, 1e-12) and 0 < errs[j] < 0.5
                and abs(hn / h - 1) > 1e-12):                        # 1: torchdiffeq's floor binds
            ratios.append(hn / h)
            es.append(errs[j])
    ratios, es = np.array(ratios), np.array(es)
    if len(ratios) and ratios.max() > max_factor * (1 + 1e-9):
        notes.append(f"growth cap (max factor): the candidate grows a step by {ratios.max():.4g}; the reference "
                     f"never by more than {max_factor:g}")
    if len(ratios) < 3:
        return "; ".join(notes)
    for p, what in ((0.2, "-1/5"), (0.25, "-1/4")):
        s = ratios * es ** p
        med = float(np.median(s))
        agree = np.abs(s - med) <= 1e-6 * med
        if agree.sum() < 3 or agree.mean() < 0.75:
            continue
        # the steps off the rule: a growth cap binds where the candidate's factor fell short of med·err^-p
        short = ~agree & (s < med)
        if short.any():
            cap = float(ratios[short].max())
            if abs(cap - max_factor) > 1e-9 * max_factor and np.all(np.abs(ratios[short] - cap) <= 1e-9 * cap):
                notes.append(f"growth cap (max factor): the candidate grows the step by at most {cap:.4g} "
                             f"({short.sum()} steps at that cap); the reference's cap is {max_factor:g}")
        n_ok = int(agree.sum())
        if p == 0.2 and abs(med - 0.9) <= 1e-6:
            if not notes:
                notes.append("on accepted steps the candidate's update is 0.9·err^(-1/5), as the reference's")
        elif p == 0.2 and n > 1 and abs(med - 0.9 * n ** -0.1) <= 1e-6:
            notes.append(f"over {n_ok} accepted steps the candidate's factor is {med:.4g}·err^(-1/5) with the "
                         f"reference's norm: {med:.4g} = 0.9·n^(-1/10) for n = {n}, i.e. an L2 error norm (sum "
                         "of squares) where the RMS (mean of squares) is meant")
        elif p == 0.2:
            notes.append(f"safety factor: over {n_ok} accepted steps the candidate's factor is {med:.4g}·err^(-1/5) "
                         f"with the reference's error norm, a safety factor of {med:.3g} (the reference's: 0.9)")
        else:
            notes.append(f"exponent: over {n_ok} accepted steps the candidate's factor is {med:.4g}·err^{what}; "
                         "the reference's is 0.9·err^(-1/5), -1/(q+1) with q = 4 the order of the error estimate")
        return "; ".join(notes)
    s = ratios * es ** 0.2
    notes.append(f"error norm: with the reference's norm of the candidate's own steps its factor / err^(-1/5) "
                 f"varies from {s.min():.4g} to {s.max():.4g} over {len(s)} accepted steps (a constant would be a "
                 "safety factor), so its error norm is not the reference's RMS of "
                 "err / (atol + rtol·max(|y_old|, |y_new|)) (check the norm — RMS, not max — and the scale)")
    return "; ".join(notes)


def _same(a, b, tol=1e-7):
    return abs(a - b) <= tol * max(abs(a), abs(b), 1e-300)


def diagnose(arrays, meta, out, kind, fun=None):
    """A few lines naming the first step where the candidate leaves the reference, and why.
    fun(t, y): the case's right-hand side (to replay the candidate's steps; optional)."""
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
                                + {"hairer": "Hairer's algorithm with sums of squares (HINIT)",
                                   "torchdiffeq": "Hairer's algorithm, RMS norms, min(100 h0, h1) without a cap "
                                                  "by the interval (torchdiffeq `_select_initial_step`)"}.get(
                                    meta["controller"], "Hairer's algorithm (scipy `select_initial_step`, RMS "
                                                        "norms), capped by the interval length")
                                + f"; ratio candidate / reference = {hc / hr:.4g}"])
    if not _same(tr, tc):
        return " ".join(head + [where + "; the attempts start at different times: the previous attempt's "
                                "accept/reject decision differed"])
    if _same(hr, hc):
        return " ".join(head + [where + f"; same step, other decision: the error norm differs (the reference's "
                                f"is {er:.6g}; it accepts iff {'< 1' if meta['controller'] == 'scipy' else '<= 1'})"
                                " or the acceptance test differs. Check the norm: RMS over components of "
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
    rule = ""
    if meta["controller"] in ("scipy", "torchdiffeq", "default") and fun is not None:
        from ..ode.preset_torchdiffeq import TD_C_ERROR
        errs = replay_error_norms(cand, fun, arrays["y0"], meta["rtol"], meta["atol"],
                                  TD_C_ERROR if meta["controller"] == "torchdiffeq" else None)
        rule = step_rule(cand, errs, t1, len(arrays["y0"]))
        if rule and not rule.startswith("on accepted steps"):
            return " ".join(head + [where + "; " + rule])
    base = ep ** -0.2 if ep > 0 else np.inf
    s_r, s_c = ratio_r / base, ratio_c / base
    p_c = np.log(ratio_c / 0.9) / -np.log(ep) if 0 < ep < 1 and ratio_c > 0 else np.nan
    if abs(s_r - 0.9) < 0.02 and not rule and (abs(p_c - 0.25) < 1e-4 or abs(p_c - 1 / 6) < 1e-4):
        return " ".join(head + [where + f"; exponent: with the previous error norm {ep:.4g} the candidate's factor "
                                f"{ratio_c:.4g} is 0.9·err^(-{p_c:.4g}); the reference's is 0.9·err^(-1/5) = "
                                f"{ratio_r:.4g}, -1/(q+1) with q = 4 the order of the error estimate"])
    if np.isfinite(base) and abs(s_r - 0.9) < 0.02 and abs(s_c - 0.9) < 0.01 and not rule:
        return " ".join(head + [where + f"; error norm: the candidate's factor {ratio_c:.6g} is 0.9·err^(-1/5) "
                                f"for an error norm {(ratio_c / 0.9) ** -5:.6g}, the reference's is {ep:.6g}: "
                                "the candidate's norm differs slightly (RMS vs max over components, or the "
                                "scale atol + rtol·max(|y_old|, |y_new|))"])
    if np.isfinite(base) and abs(s_r - 0.9) < 0.02 and 0.3 < s_c < 1.0 and not rule:
        return " ".join(head + [where + f"; safety factor: with the previous error norm {ep:.4g} the reference's "
                                f"factor is 0.9·err^(-1/5) = {ratio_r:.4g}; the candidate's {ratio_c:.4g} implies a "
                                f"safety factor of {s_c:.3g}"])
    if abs(ratio_r - 10.0) <= 1e-9 * 10 and ratio_c < ratio_r and np.isfinite(base) and 0.9 * base > ratio_c * (1 + 1e-6):
        return " ".join(head + [where + f"; growth cap (max factor): the reference grows this step by its cap 10 "
                                f"(0.9·err^(-1/5) = {0.9 * base:.4g} with the previous error norm {ep:.4g}), the "
                                f"candidate by {ratio_c:.4g}: a lower cap" + (f" ({rule})" if rule else "")])
    return " ".join(head + [where + f"; the step-size update differs (previous error norm {ep:.4g}; reference factor "
                            f"{ratio_r:.4g}, candidate {ratio_c:.4g}): check the growth cap (max factor), the "
                            "exponent -1/(q+1) and any PI term" + (f" ({rule})" if rule else "")])
