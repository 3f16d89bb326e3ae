"""PyTorch port of refimpl.sce.models' conv net and of refimpl.attacks.pgd (L∞, random start
given), for numerics/bench_attacks.py. Same weights, float64; never imported by refimpl/."""
import numpy as np


def conv_net(params):
    """A torch function x (B, 784) -> logits, with the weights of a refimpl conv model's params."""
    import torch
    import torch.nn.functional as F
    (Wc, bc), (W1, b1), (W2, b2) = [(torch.from_numpy(np.ascontiguousarray(W)), torch.from_numpy(b))
                                    for W, b in params]
    C = Wc.shape[1]
    weight = Wc.T.reshape(C, 1, 5, 5).contiguous()            # refimpl: patch (r, c) row-major x channel

    def logits(x):
        B = x.shape[0]
        h = F.relu(F.conv2d(x.reshape(B, 1, 28, 28), weight, bc))      # (B, C, 24, 24)
        h = F.avg_pool2d(h, 2).permute(0, 2, 3, 1).reshape(B, -1)      # refimpl flattens (12, 12, C)
        h = F.relu(h @ W1 + b1)
        return h @ W2 + b2
    return logits


def pgd_linf(logits, x, y, x_start, eps, steps, step_size):
    """PGD L∞ from x_start (the same random start as refimpl's), summed cross-entropy, sign steps."""
    import torch
    import torch.nn.functional as F
    x0, yy = torch.from_numpy(x), torch.from_numpy(y)
    xa = torch.from_numpy(x_start).clone()
    for _ in range(steps):
        xa.requires_grad_(True)
        loss = F.cross_entropy(logits(xa), yy, reduction="sum")
        (g,) = torch.autograd.grad(loss, xa)
        with torch.no_grad():
            xa = xa + step_size * torch.sign(g)
            xa = torch.clamp(torch.minimum(torch.maximum(xa, x0 - eps), x0 + eps), 0.0, 1.0)
    return xa.detach().numpy()
