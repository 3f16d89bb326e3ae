"""Structured VAEs (Johnson et al. 2016): a conjugate exponential-family graphical model over
latents z, a neural observation model p(x | z), a recognition network producing conjugate
Gaussian node potentials, local mean-field inference and natural-gradient SVI on the global
parameters (`refimpl.svae`).

Built: the GMM SVAE (`gmm`: local mean field; `objective`: the surrogate bound, natural
gradient, training with the official SGD with momentum or Adam), the plain-VAE baseline
(`vae`), the natural-gradient term the official code drops (`dropped`), the pinwheel data
(`data`); experiments `svae-gmm-pinwheel` (`experiments`) and `svae-natgrad` (`exp_natgrad`).
Not built yet: the LDS SVAE and the matrix-normal-inverse-Wishart (see the package report).

References
----------
M. J. Johnson, D. Duvenaud, A. B. Wiltschko, S. R. Datta, R. P. Adams. Composing graphical
models with neural networks for structured representations and fast inference. NeurIPS 2016,
arXiv:1603.06277. Official code: github.com/mattjj/svae.
"""
