"""LDS smoother in information form vs the dense (TD)×(TD) Gaussian; joint samples have the
smoother's moments; check_grads through the smoother."""
import numpy as onp
from autograd.test_util import check_grads

from refimpl.expfam import gaussian
from refimpl.svae import lds


def random_lds(rng, T=6, D=2):
    A = rng.standard_normal((D, D))
    A = 0.9 * A / max(abs(onp.linalg.eigvals(A)))
    B = rng.standard_normal((D, D))
    Q = B @ B.T + 0.3 * onp.eye(D)
    init = (onp.eye(D) * 0.7, rng.standard_normal(D))
    Jn = onp.stack([onp.diag(rng.random(D) + 0.1) for _ in range(T)])
    hn = rng.standard_normal((T, D))
    return init, A, Q, Jn, hn


def test_smoother_matches_dense_posterior():
    rng = onp.random.default_rng(0)
    for T, D in [(1, 2), (5, 1), (7, 3)]:
        init, A, Q, Jn, hn = random_lds(rng, T, D)
        ms, Ps, cross, logZ = lds.smooth(init, A, Q, Jn, hn)
        J, h = lds.dense_information(init, A, Q, Jn, hn)
        Sig = onp.linalg.inv(J)
        mu = Sig @ h
        onp.testing.assert_allclose(ms.reshape(-1), mu, rtol=1e-9, atol=1e-10)
        for t in range(T):
            onp.testing.assert_allclose(Ps[t], Sig[t * D:(t + 1) * D, t * D:(t + 1) * D], rtol=1e-9, atol=1e-10)
        for t in range(T - 1):
            onp.testing.assert_allclose(cross[t], Sig[t * D:(t + 1) * D, (t + 1) * D:(t + 2) * D],
                                        rtol=1e-8, atol=1e-10)
        onp.testing.assert_allclose(logZ, gaussian.logZ((J, h)), rtol=1e-10)


def test_joint_samples_have_smoother_moments():
    rng = onp.random.default_rng(1)
    init, A, Q, Jn, hn = random_lds(rng, 5, 2)
    ms, Ps, cross, _ = lds.smooth(init, A, Q, Jn, hn)
    x = lds.sample(rng, init, A, Q, Jn, hn, n=40000)
    onp.testing.assert_allclose(x.mean(0), ms, atol=0.04)
    xc = x - ms
    onp.testing.assert_allclose(onp.einsum("nti,ntj->tij", xc, xc) / len(x), Ps, atol=0.06)
    onp.testing.assert_allclose(onp.einsum("nti,ntj->tij", xc[:, :-1], xc[:, 1:]) / len(x), cross, atol=0.06)


def test_check_grads_through_smoother():
    rng = onp.random.default_rng(2)
    init, A, Q, Jn, hn = random_lds(rng, 4, 2)
    w = rng.standard_normal((4, 2))

    def f(A, hn, Jd):
        Jn = Jd[:, :, None] * onp.eye(2)
        ms, Ps, cross, logZ = lds.smooth(init, A, Q, Jn, hn)
        return logZ + (ms * w).sum() + Ps.sum() + cross.sum()
    check_grads(f, modes=["rev"], order=1)(A, hn, onp.stack([onp.diag(J) for J in Jn]))


def test_numba_kernel_matches_twin():
    from refimpl.svae import lds_numba
    rng = onp.random.default_rng(3)
    for T, D in [(1, 2), (9, 3)]:
        args = random_lds(rng, T, D)
        for a, b in zip(lds_numba.smooth(*args), lds.smooth(*args)):
            onp.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
