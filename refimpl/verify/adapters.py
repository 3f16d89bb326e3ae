"""Ready-made candidates for `refimpl verify`: public libraries wrapped to the kits'
contracts, and refimpl's own functions (which must pass every case of their kind).

    refimpl verify ode-solve/scipy refimpl.verify.adapters:scipy_rk45
    refimpl verify ode-solve/torchdiffeq refimpl.verify.adapters:torchdiffeq_dopri5

ode-solve contract: `candidate(fun, t_span, y0, *, rtol, atol, t_eval) -> (ys, nfev)`
(see `refimpl.verify.kinds_ode`). torch is imported only inside `torchdiffeq_dopri5`.
"""
import numpy as np

__all__ = ["scipy_rk45", "scipy_dop853", "scipy_ode_dopri5", "torchdiffeq_dopri5", "torchdiffeq_odeint_grad",
           "refimpl_scipy_rk45", "refimpl_scipy_dop853", "refimpl_hairer_dopri5", "refimpl_torchdiffeq_dopri5",
           "refimpl_default_dopri5"]


def _solve_ivp(method):
    def cand(fun, t_span, y0, *, rtol, atol, t_eval):
        from scipy.integrate import solve_ivp
        r = solve_ivp(fun, t_span, y0, method=method, rtol=rtol, atol=atol, t_eval=t_eval)
        if not r.success:
            raise RuntimeError(r.message)
        return r.y.T, r.nfev
    cand.__doc__ = f"scipy.integrate.solve_ivp(method={method!r}) to the ode-solve contract."
    return cand


scipy_rk45 = _solve_ivp("RK45")
scipy_dop853 = _solve_ivp("DOP853")


def scipy_ode_dopri5(fun, t_span, y0, *, rtol, atol, t_eval):
    """scipy.integrate.ode('dopri5'), one integrate(t1) call (t_eval must be [t1])."""
    from scipy.integrate import ode
    if len(t_eval) != 1 or t_eval[0] != t_span[1]:
        raise ValueError("t_eval: scipy.integrate.ode('dopri5') reports only the end point here; expected [t1]")
    count = [0]

    def f(t, y):
        count[0] += 1
        return fun(t, y)

    r = ode(f).set_integrator("dopri5", rtol=rtol, atol=atol, nsteps=100_000)
    r.set_initial_value(y0, t_span[0])
    y = r.integrate(t_span[1])
    if not r.successful():
        raise RuntimeError(f"ode('dopri5') failed with code {r.get_return_code()}")
    return y[None, :], count[0]


def torchdiffeq_dopri5(fun, t_span, y0, *, rtol, atol, t_eval):
    """torchdiffeq.odeint(method='dopri5') in float64 on the grid [t0, *t_eval]."""
    import torch
    from torchdiffeq import odeint
    count = [0]

    def f(t, y):
        count[0] += 1
        return torch.from_numpy(np.asarray(fun(float(t), y.detach().numpy()), dtype=np.float64))

    t = torch.tensor(np.concatenate([[t_span[0]], t_eval]), dtype=torch.float64)
    with torch.no_grad():
        ys = odeint(f, torch.tensor(y0, dtype=torch.float64), t, rtol=rtol, atol=atol, method="dopri5")
    return ys[1:].numpy(), count[0]


def _refimpl(method, controller):
    def cand(fun, t_span, y0, *, rtol, atol, t_eval):
        from ..ode import solve
        s = solve(fun, t_span, y0, method=method, rtol=rtol, atol=atol, t_eval=t_eval, controller=controller)
        return s.y, s.nfev
    cand.__doc__ = f"refimpl.ode.solve(method={method!r}, controller={controller!r})."
    return cand


refimpl_scipy_rk45 = _refimpl("dopri5", "scipy")
refimpl_scipy_dop853 = _refimpl("dop853", "scipy")
refimpl_hairer_dopri5 = _refimpl("dopri5", "hairer")
refimpl_torchdiffeq_dopri5 = _refimpl("dopri5", "torchdiffeq")
refimpl_default_dopri5 = _refimpl("dopri5", "default")


def torchdiffeq_odeint_grad(W1, b1, W2, b2, y0, t, cot, *, rtol, atol, gradient):
    """torchdiffeq to the odeint-grad contract: `odeint_adjoint` for gradient="adjoint",
    `odeint` (backprop through the solver) otherwise (torchdiffeq has no checkpoint mode:
    "checkpoint" is backprop there, which computes the same gradient)."""
    import torch
    from torchdiffeq import odeint, odeint_adjoint

    class F(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.p = torch.nn.ParameterList([torch.nn.Parameter(torch.from_numpy(a.copy()))
                                             for a in (W1, b1, W2, b2)])

        def forward(self, tt, y):
            W1_, b1_, W2_, b2_ = self.p
            return torch.tanh(y @ W1_ + b1_) @ W2_ + b2_

    f = F()
    y0_t = torch.tensor(y0, requires_grad=True)
    t_t = torch.tensor(t, requires_grad=True)
    solver = odeint_adjoint if gradient == "adjoint" else odeint
    ys = solver(f, y0_t, t_t, rtol=rtol, atol=atol, method="dopri5")
    (ys * torch.from_numpy(cot)).sum().backward()
    grads = [y0_t.grad, t_t.grad] + [p.grad for p in f.p]
    return (ys.detach().numpy(),) + tuple(g.numpy() for g in grads)
