"""The pinwheel data as the official GMM-SVAE experiment uses it (mattjj/svae
experiments/gmm_svae_synth.py): autograd's pinwheel, then scaled ×10 and permuted."""
import numpy as np


def make_pinwheel(rng, radial_std=0.3, tangential_std=0.05, num_classes=5, num_per_class=100,
                  rate=0.25, scale=10.0, permute=True):
    """Returns (data (num_classes·num_per_class, 2), labels (same,) int)."""
    if num_classes < 1 or num_per_class < 1:
        raise ValueError(f"num_classes, num_per_class: expected positive, got {num_classes}, {num_per_class}")
    if not (radial_std >= 0 and tangential_std >= 0 and scale > 0):
        raise ValueError(f"radial_std, tangential_std, scale: expected >= 0, >= 0, > 0; got "
                         f"{radial_std}, {tangential_std}, {scale}")
    rads = np.linspace(0, 2 * np.pi, num_classes, endpoint=False)
    feats = rng.standard_normal((num_classes * num_per_class, 2)) * np.array([radial_std, tangential_std])
    feats[:, 0] += 1.0
    labels = np.repeat(np.arange(num_classes), num_per_class)
    angles = rads[labels] + rate * np.exp(feats[:, 0])
    rot = np.stack([np.cos(angles), -np.sin(angles), np.sin(angles), np.cos(angles)]).T.reshape(-1, 2, 2)
    data = scale * np.einsum("ti,tij->tj", feats, rot)
    if permute:
        perm = rng.permutation(len(data))
        data, labels = data[perm], labels[perm]
    return data, labels


def adjusted_rand_index(a, b):
    """ARI between two integer labelings (Hubert & Arabie 1985)."""
    from scipy.special import comb
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"a, b: labelings must have the same shape, got {a.shape}, {b.shape}")
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    C = np.zeros((ai.max() + 1, bi.max() + 1))
    np.add.at(C, (ai, bi), 1)
    s = comb(C, 2).sum()
    sa, sb = comb(C.sum(1), 2).sum(), comb(C.sum(0), 2).sum()
    exp = sa * sb / comb(len(a), 2)
    mx = 0.5 * (sa + sb)
    return float((s - exp) / (mx - exp)) if mx != exp else 1.0
