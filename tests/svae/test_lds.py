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


def random_pair(rng, D):
    """Pair potentials not of the form (AᵀQ⁻¹A, −AᵀQ⁻¹, Q⁻¹): the expected potentials of the
    SVAE add an SPD excess to J11 (E[AᵀQ⁻¹A] = E[A]ᵀE[Q⁻¹]E[A] + n K)."""
    init, A, Q, _, _ = random_lds(rng, 2, D)
    J11, J12, J22 = lds.pair_potentials(A, Q)
    X = rng.standard_normal((D, D))
    return init, (J11 + 0.3 * X @ X.T, J12, J22)


def test_natural_smoother_batched_matches_dense():
    rng = onp.random.default_rng(4)
    T, D, B = 6, 3, 2
    init, pair = random_pair(rng, D)
    Jn = onp.stack([[onp.diag(rng.random(D) + 0.1) for _ in range(T)] for _ in range(B)])
    hn = rng.standard_normal((B, T, D))
    ms, Ps, cross, logZ = lds.natural_smooth(init, pair, Jn, hn)
    assert ms.shape == (B, T, D) and Ps.shape == (B, T, D, D) and cross.shape == (B, T - 1, D, D)
    for b in range(B):
        J, h = lds.dense_information_natural(init, pair, Jn[b], hn[b])
        Sig = onp.linalg.inv(J)
        onp.testing.assert_allclose(ms[b].reshape(-1), Sig @ h, rtol=1e-9, atol=1e-10)
        for t in range(T - 1):
            onp.testing.assert_allclose(Ps[b, t], Sig[t * D:(t + 1) * D, t * D:(t + 1) * D], rtol=1e-9, atol=1e-10)
            onp.testing.assert_allclose(cross[b, t], Sig[t * D:(t + 1) * D, (t + 1) * D:(t + 2) * D],
                                        rtol=1e-8, atol=1e-10)
        onp.testing.assert_allclose(logZ[b], gaussian.logZ((J, h)), rtol=1e-10)


def test_natural_sample_moments_and_grads():
    rng = onp.random.default_rng(5)
    T, D = 4, 2
    init, pair = random_pair(rng, D)
    Jn = onp.stack([onp.diag(rng.random(D) + 0.1) for _ in range(T)])
    hn = rng.standard_normal((T, D))
    n = 40000
    x = lds.natural_sample(init, pair, onp.broadcast_to(Jn, (n, T, D, D)), onp.broadcast_to(hn, (n, T, D)),
                           rng.standard_normal((n, T, D)))
    J, h = lds.dense_information_natural(init, pair, Jn, hn)
    Sig = onp.linalg.inv(J)
    xf = x.reshape(n, -1)
    # mean within 4.5 standard errors per entry; covariance within 0.05 (SE of a covariance
    # entry ≈ sqrt(Σ_ii Σ_jj / n) ≤ 0.01 here)
    se = onp.sqrt(onp.diag(Sig) / n)
    assert onp.all(onp.abs(xf.mean(0) - Sig @ h) < 4.5 * se)
    onp.testing.assert_allclose(onp.cov(xf.T), Sig, atol=0.05)
    eps = rng.standard_normal((T, D))
    w = rng.standard_normal((T, D))
    check_grads(lambda hn, Jd, J11: onp.sum(w * lds.natural_sample(init, (J11, pair[1], pair[2]),
                                                                    Jd[:, :, None] * onp.eye(D), hn, eps)),
                modes=["rev"], order=1)(hn, onp.stack([onp.diag(J) for J in Jn]), pair[0])


def test_numba_natural_batched_matches_twin():
    from refimpl.svae import lds_numba
    rng = onp.random.default_rng(6)
    init, pair = random_pair(rng, 3)
    Jn = onp.stack([[onp.diag(rng.random(3) + 0.1) for _ in range(5)] for _ in range(2)])
    hn = rng.standard_normal((2, 5, 3))
    for a, b in zip(lds_numba.natural_smooth(init, pair, Jn, hn), lds.natural_smooth(init, pair, Jn, hn)):
        onp.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_bad_shapes_name_argument():
    import pytest
    init, A, Q, Jn, hn = random_lds(onp.random.default_rng(7), 3, 2)
    with pytest.raises(ValueError, match="J_node"):
        lds.smooth(init, A, Q, Jn[:, :1], hn)
    with pytest.raises(ValueError, match="eps"):
        lds.natural_sample(init, lds.pair_potentials(A, Q), Jn, hn, onp.zeros((3, 3)))


def test_dense_path_matches_smoother_and_sample_covariance():
    rng = onp.random.default_rng(8)
    T, D, B = 5, 2, 2
    init, pair = random_pair(rng, D)
    Jn = onp.stack([[onp.diag(rng.random(D) + 0.1) for _ in range(T)] for _ in range(B)])
    hn = rng.standard_normal((B, T, D))
    eps = rng.standard_normal((B, T, D))
    out = lds.dense_smooth_sample(init, pair, Jn, hn, eps)
    for a, b in zip(out[:4], lds.natural_smooth(init, pair, Jn, hn)):
        onp.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)
    # x − μ is linear in ε: its covariance A Aᵀ (A = ∂x/∂ε) must be the posterior covariance J⁻¹
    from autograd import jacobian
    Aeps = jacobian(lambda e: lds.dense_smooth_sample(init, pair, Jn[:1], hn[:1], e)[4])(eps[:1])
    Aeps = Aeps.reshape(T * D, T * D)
    J, _ = lds.dense_information_natural(init, pair, Jn[0], hn[0])
    onp.testing.assert_allclose(Aeps @ Aeps.T, onp.linalg.inv(J), rtol=1e-9, atol=1e-11)
    w = rng.standard_normal((B, T, D))
    check_grads(lambda hn, Jd: onp.sum(w * lds.dense_smooth_sample(init, pair, Jd[..., None] * onp.eye(D), hn, eps)[4])
                + onp.sum(lds.dense_smooth_sample(init, pair, Jd[..., None] * onp.eye(D), hn, eps)[3]),
                modes=["rev"], order=1)(hn, onp.stack([[onp.diag(J) for J in Jb] for Jb in Jn]))
