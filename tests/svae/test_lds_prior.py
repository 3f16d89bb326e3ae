"""The LDS transition potentials against the generative model, not against themselves.

The smoother tests compare `lds.smooth` with the dense Gaussian built from the same
`pair_potentials`, so a wrong (J11, J12, J22) passes them. Here, with zero node potentials,
the "posterior" is the prior of x_1 ~ N(μ₀, Σ₀), x_{t+1} = A x_t + w, w ~ N(0, Q), whose
moments follow from the forward recursion m_{t+1} = A m_t, P_{t+1} = A P_t Aᵀ + Q,
Cov(x_t, x_{t+1}) = P_t Aᵀ."""
import numpy as onp

from refimpl.svae import lds
from test_lds import random_lds  # noqa: E402  (same folder: pytest puts it on sys.path)


def test_zero_node_potentials_give_the_forward_simulated_prior():
    rng = onp.random.default_rng(7)
    T, D = 6, 3
    init, A, Q, _, _ = random_lds(rng, T, D)
    A = A + 0.3 * rng.standard_normal((D, D))                  # asymmetric and not too small
    ms, Ps, cross, logZ = lds.smooth(init, A, Q, onp.zeros((T, D, D)), onp.zeros((T, D)))
    m, P = onp.linalg.solve(init[0], init[1]), onp.linalg.inv(init[0])
    for t in range(T):
        onp.testing.assert_allclose(ms[t], m, rtol=1e-9, atol=1e-10)
        onp.testing.assert_allclose(Ps[t], P, rtol=1e-9, atol=1e-10)
        if t < T - 1:
            onp.testing.assert_allclose(cross[t], P @ A.T, rtol=1e-9, atol=1e-10)
        m, P = A @ m, A @ P @ A.T + Q
    # the prior is normalised apart from the init's own logZ: logZ = ½ h₀ᵀJ₀⁻¹h₀ − ½ log|J₀|
    # + (D/2) log 2π + (T−1)·½ log|2πQ| (each transition integrates to (2π)^{D/2} |Q|^{½})
    want = (0.5 * init[1] @ onp.linalg.solve(init[0], init[1]) - 0.5 * onp.linalg.slogdet(init[0])[1]
            + 0.5 * D * onp.log(2 * onp.pi) + (T - 1) * 0.5 * onp.linalg.slogdet(2 * onp.pi * Q)[1])
    onp.testing.assert_allclose(logZ, want, rtol=1e-10)
