"""Where a candidate ODE solver's step sequence leaves the reference, and which controller
rule explains it.

The candidate returns only (ys, nfev), so its steps are reconstructed from the times at which
it called `fun`: a Dormand–Prince 5(4) attempt from t with step h evaluates the (FSAL) stages
at t + c_i h, c = (1/5, 3/10, 4/5, 8/9, 1, 1); the next attempt starts at t + h if this one
was accepted, at t again if it was rejected. DOP853 (scipy) is read the same way from its 12
evaluations per attempt (`STAGE_TIMES`), with the exponent -1/8 in the rules below. Those
attempts are compared with the reference history (t, h, error_norm, accepted) and the first
difference is explained by the rule that sets it:

* attempt 0 — the initial step selection;
* same h, other accept/reject decision — the error norm (RMS over components, scaled by
  atol + rtol·max(|y_old|, |y_new|) in scipy/torchdiffeq/refimpl);
* the step landing on t1 in one and not the other — last-step clipping;
* the step after a rejection — the shrink rule, its floor min_factor = 0.2 (and "no growth
  right after a rejection");
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

from ..ode.tableaus import get_tableau

__all__ = ["reconstruct_attempts", "replay_error_norms", "step_rule", "diagnose", "DOPRI5_C", "STAGE_TIMES"]

DOPRI5_C = np.array([1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0])   # stages evaluated per attempt (FSAL)
#: per method, the times (in units of h) of the evaluations one attempt makes, in order: DOP853
#: (scipy) evaluates its 11 stages after the first and f(t + h, y_new); its dense output (3 more
#: evaluations per step that holds a t_eval point) fits no attempt and is skipped
STAGE_TIMES = {"dopri5": DOPRI5_C,
               "dop853": np.r_[get_tableau("dop853").c[1:12], 1.0]}


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


def step_rule(attempts, errs, t1, n, max_factor=10.0, parts=False):
    """Read the candidate's step-size rule off its accepted attempts; one sentence, or "".

    Uses every accepted attempt j that follows an accepted one (no "no growth after a
    rejection" cap) and whose next attempt is not clipped to t1: the factor h_{j+1}/h_j
    against the reference's error norm err_j,
    with 0 < err_j < 0.5 and a factor other than exactly 1 (torchdiffeq's floor after an
    accepted step). When at least 3/4
    of them follow one rule c·err^(-p) (p = 1/5, else 1/4) to 1e-6, c is the candidate's
    safety factor (or 0.9·n^(-1/10): an L2 norm) and the steps that fall short of it show
    its growth cap; otherwise its error norm is not the reference's. parts=True returns the
    notes on accept/reject decisions and on the update rule as two lists."""
    dec, notes = [], []
    wrong = [j for j, ((_, _, acc), e) in enumerate(zip(attempts, errs))
             if abs(e - 1) > 1e-6 and bool(acc) != (e < 1)]
    if wrong:
        j = wrong[0]
        dec.append(f"the candidate {'accepts' if attempts[j][2] else 'rejects'} attempt {j} (t = "
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
    if len(ratios):                                   # a largest factor reached twice or more is a cap
        top = ratios.max()
        at_top = np.abs(ratios - top) <= 1e-9 * top
        if at_top.sum() >= 2:
            if abs(top - max_factor) > 1e-9 * max_factor:
                notes.append(f"growth cap (max factor): the candidate grows the step by at most {top:.4g} "
                             f"({at_top.sum()} steps at that cap); the reference's cap is {max_factor:g}")
            ratios, es = ratios[~at_top], es[~at_top]
    if len(ratios) < 3:
        return (dec, notes) if parts else "; ".join(dec + notes)
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
        elif p == 0.2 and abs(med - 0.9 * 1.5 ** 0.2) <= 1e-6:
            notes.append(f"error estimate: over {n_ok} accepted steps the candidate's factor is {med:.4g}·err^(-1/5) "
                         "with the reference's norm, i.e. 0.9·(c·err)^(-1/5) with c = 2/3: its embedded error "
                         "weights are 2/3 of Dormand–Prince's (b_hat = (1951/21600, 0, 22642/50085, ...), as in torchdiffeq and "
                         "diffrax), "
                         "so it accepts steps with up to 1.5 times the reference's error")
        elif p == 0.2:
            notes.append(f"safety factor: over {n_ok} accepted steps the candidate's factor is {med:.4g}·err^(-1/5) "
                         f"with the reference's error norm, a safety factor of {med:.3g} (the reference's: 0.9) — "
                         f"or, equivalently, an error norm {(0.9 / med) ** 5:.4g} times the reference's")
        else:
            notes.append(f"exponent: over {n_ok} accepted steps the candidate's factor is {med:.4g}·err^{what}; "
                         "the reference's is 0.9·err^(-1/5), -1/(q+1) with q = 4 the order of the error estimate")
        return (dec, notes) if parts else "; ".join(dec + notes)
    s = ratios * es ** 0.2
    notes.append(f"error norm: with the reference's norm of the candidate's own steps its factor / err^(-1/5) "
                 f"varies from {s.min():.4g} to {s.max():.4g} over {len(s)} accepted steps (a constant would be a "
                 "safety factor), so its error norm is not the reference's RMS of "
                 "err / (atol + rtol·max(|y_old|, |y_new|)) (check the norm — RMS, not max — and the scale)")
    return (dec, notes) if parts else "; ".join(dec + notes)


def _same(a, b, tol=1e-7):
    return abs(a - b) <= tol * max(abs(a), abs(b), 1e-300)


def diagnose(arrays, meta, out, kind, fun=None):
    """A few lines naming the first step where the candidate leaves the reference, and why.
    fun(t, y): the case's right-hand side (to replay the candidate's steps; optional)."""
    nfev_ref, nfev = int(arrays["nfev"]), out["nfev"]
    head = []
    if nfev != nfev_ref:
        head.append(f"nfev {nfev} vs reference {nfev_ref}.")
    if meta["method"] not in STAGE_TIMES:
        return " ".join(head + [f"(step reconstruction is implemented for {sorted(STAGE_TIMES)} only; "
                                "compare the step history in the case's .npz by hand)"])
    c, q1 = STAGE_TIMES[meta["method"]], {"dopri5": 5, "dop853": 8}[meta["method"]]
    t0, t1 = arrays["t_span"]
    ref = list(zip(arrays["history_t"], arrays["history_h"], arrays["history_error_norm"],
                   arrays["history_accepted"]))
    cand = reconstruct_attempts(out["eval_times"], t0, c=c)
    if not cand:
        return " ".join(head + ["could not reconstruct the candidate's steps from its calls of fun "
                                "(not a Dormand–Prince 5(4) stage pattern)"])
    n = min(len(ref), len(cand))
    k = next((i for i in range(n) if not (_same(ref[i][0], cand[i][0]) and _same(ref[i][1], cand[i][1])
                                          and bool(ref[i][3]) == bool(cand[i][2]))), None)
    if k is None:
        if len(ref) == len(cand) and nfev != nfev_ref and np.array_equal(out["ys"], arrays["ys"]):
            return " ".join(head + [f"nfev bookkeeping: the steps and the outputs agree exactly, but the candidate "
                                    f"reports {nfev - nfev_ref:+d} evaluations (its fun was called "
                                    f"{len(out['eval_times'])} times): count f(t0), the initial-step probe and "
                                    "every stage of rejected attempts"])
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
    _, hp, ep, ap = ref[k - 1]
    ratio_r, ratio_c = hr / hp, hc / hp
    # the candidate's update rule read off all its accepted steps, when the problem is known
    dec, rul = [], []
    if meta["controller"] in ("scipy", "torchdiffeq", "default") and meta["method"] == "dopri5" and fun is not None:
        from ..ode.preset_torchdiffeq import TD_C_ERROR
        errs = replay_error_norms(cand, fun, arrays["y0"], meta["rtol"], meta["atol"],
                                  TD_C_ERROR if meta["controller"] == "torchdiffeq" else None)
        dec, rul = step_rule(cand, errs, t1, len(arrays["y0"]), parts=True)
    if rul and not rul[0].startswith("on accepted steps"):
        return " ".join(head + [where + "; " + "; ".join(dec + rul)])
    tail = "".join("; " + x for x in dec + rul)
    lands_r, lands_c = _same(tr + hr, t1, 1e-12), _same(tc + hc, t1, 1e-12)
    after_rejection = ap and k >= 2 and not ref[k - 2][3]
    if after_rejection and ratio_c > 1 and ratio_r <= 1 + 1e-12:
        # a step that grows right after a rejection and lands on t1 can also be a stretching
        # last-step rule: the two cannot be told apart from this one step, so say both
        alt = ("; this step lands exactly on t1, so a last-step rule that stretches steps onto t1 "
               "would show the same" if lands_c and not lands_r else "")
        return " ".join(head + [where + "; growth cap after a rejection: the reference does not let the step "
                                "grow on the attempt after a rejected one (factor capped at 1); the candidate "
                                f"grows it by {ratio_c:.4g}" + alt + tail])
    if lands_r != lands_c:
        h_land, h_other = (hr, hc) if lands_r else (hc, hr)
        verb = "shortens" if abs(h_land) < abs(h_other) else "lengthens"
        return " ".join(head + [where + "; last-step clipping: the " + ("reference" if lands_r else "candidate")
                                + f" {verb} this step to land exactly on t1" + tail])
    if not ap:
        return " ".join(head + [where + "; " + _after_rejection(ep, ratio_r, ratio_c, len(arrays["y0"]), q1) + tail])
    return " ".join(head + [where + "; " + _single_step(ep, ratio_r, ratio_c, q1) + tail])


def _known_multiple(s_c, n, q1=5):
    """A phrase for an implied safety factor s_c that a known error-norm convention explains
    (q1 = q + 1: the update's exponent is -1/q1)."""
    if n > 1 and abs(s_c - 0.9 * n ** (-0.5 / q1)) <= 1e-6:
        return (f" = 0.9·n^(-1/{2 * q1}) for n = {n}: an L2 error norm where the RMS is meant (on one step, also a "
                "max norm with a single component dominating the error)")
    if q1 == 5 and abs(s_c - 0.9 * 1.5 ** 0.2) <= 1e-6:
        return " = 0.9·(2/3)^(-1/5): embedded error weights 2/3 of Dormand–Prince's (as in torchdiffeq, diffrax)"
    return ""


def _after_rejection(ep, ratio_r, ratio_c, n=1, q1=5):
    """The rule behind a differing step after a rejected attempt with error norm ep."""
    raw = 0.9 * ep ** (-1 / q1) if ep > 0 else 0.0
    if abs(ratio_r - 0.2) <= 1e-9 and raw < 0.2 and not _same(ratio_c, ratio_r, 1e-9):
        how = (f"its factor {ratio_c:.4g} is 0.9·err^(-1/{q1}) itself: no floor (or one below {ratio_c:.4g})"
               if _same(ratio_c, raw, 1e-9) else f"it shrinks by {ratio_c:.4g}")
        return (f"min factor: after the rejected attempt (error norm {ep:.4g}) the reference shrinks by its floor "
                f"0.2 (0.9·err^(-1/{q1}) = {raw:.4g} is below it); the candidate: {how}")
    s_c = ratio_c / ep ** (-1 / q1) if ep > 0 else np.nan
    if _same(ratio_r, raw, 1e-9) and ratio_c > 0.2 * (1 + 1e-9) and 0.3 < s_c < 1.5:
        return (f"safety factor: after the rejected attempt (error norm {ep:.4g}) the reference shrinks by "
                f"0.9·err^(-1/{q1}) = {ratio_r:.4g}, the candidate by {ratio_c:.4g}, a safety factor of {s_c:.4g}"
                + (_known_multiple(s_c, n, q1) or f" (or an error norm {(0.9 / s_c) ** q1:.4g} times the reference's)"))
    return (f"step after a rejection (error norm {ep:.4g}): reference factor {ratio_r:.4g}, candidate "
            f"{ratio_c:.4g}. The shrink rule h·max(min_factor, safety·err^(-1/{q1})) and its constants differ")


def _single_step(ep, ratio_r, ratio_c, q1=5):
    """The rule behind one differing step-size update (reference factor ratio_r, the
    candidate's ratio_c, after an accepted attempt with error norm ep), when the candidate's
    other steps do not show it."""
    base = ep ** (-1 / q1) if ep > 0 else np.inf
    s_r, s_c = ratio_r / base, ratio_c / base
    p_c = np.log(ratio_c / 0.9) / -np.log(ep) if 0 < ep < 1 and ratio_c > 0 else np.nan
    if abs(s_r - 0.9) < 0.02 and (abs(p_c - 1 / (q1 - 1)) < 1e-4 or abs(p_c - 1 / (q1 + 1)) < 1e-4):
        return (f"exponent: with the previous error norm {ep:.4g} the candidate's factor {ratio_c:.4g} is "
                f"0.9·err^(-{p_c:.4g}); the reference's is 0.9·err^(-1/{q1}) = {ratio_r:.4g}, -1/(q+1) with q = {q1 - 1} the "
                "order of the error estimate")
    if q1 == 5 and np.isfinite(base) and abs(s_r - 0.9) < 0.02 and abs(s_c - 0.9 * 1.5 ** 0.2) < 1e-6:
        return (f"error estimate: the candidate's factor {ratio_c:.6g} is 0.9·(c·err)^(-1/{q1}) with c = 2/3 for the "
                f"previous error norm {ep:.4g}: embedded error weights 2/3 of Dormand–Prince's (b_hat = "
                "(1951/21600, 0, 22642/50085, ...), as in torchdiffeq and diffrax)")
    if np.isfinite(base) and abs(s_r - 0.9) < 0.02 and abs(s_c - 0.9) < 0.01:
        return (f"error norm: the candidate's factor {ratio_c:.6g} is 0.9·err^(-1/{q1}) for an error norm "
                f"{(ratio_c / 0.9) ** -q1:.6g}, the reference's is {ep:.6g}: the candidate's norm differs slightly "
                "(RMS vs max over components, or the scale atol + rtol·max(|y_old|, |y_new|))")
    if np.isfinite(base) and abs(s_r - 0.9) < 0.02 and 0.3 < s_c < 1.0:
        return (f"safety factor: with the previous error norm {ep:.4g} the reference's factor is 0.9·err^(-1/{q1}) = "
                f"{ratio_r:.4g}; the candidate's {ratio_c:.4g} implies a safety factor of {s_c:.3g}")
    if abs(ratio_r - 10.0) <= 1e-9 * 10 and ratio_c < ratio_r and np.isfinite(base) and 0.9 * base > ratio_c * (1 + 1e-6):
        return (f"growth cap (max factor): the reference grows this step by its cap 10 (0.9·err^(-1/{q1}) = "
                f"{0.9 * base:.4g} with the previous error norm {ep:.4g}), the candidate by {ratio_c:.4g}: a lower cap")
    rho = ratio_c / ratio_r
    return (f"the step-size update differs (previous error norm {ep:.4g}; reference factor {ratio_r:.4g}, candidate "
            f"{ratio_c:.4g}): check the growth cap (max factor), the exponent -1/(q+1) and any PI term; the "
            f"candidate's factor is {rho:.4g} × the reference's — a safety factor of {0.9 * rho:.3g} if only the "
            "safety factor (0.9, which multiplies every update, PI or not) differs")
