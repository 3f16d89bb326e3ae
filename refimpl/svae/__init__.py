"""Structured VAEs (Johnson et al. 2016): a conjugate exponential-family graphical model over
latents z, a neural observation model p(x | z), a recognition network producing conjugate
Gaussian node potentials, local mean-field inference and natural-gradient SVI on the global
parameters (`refimpl.svae`).

Built: the GMM SVAE (`gmm`: local mean field; `objective`: the surrogate bound, natural
gradient, training with the official SGD with momentum or Adam), the plain-VAE baseline
(`vae`), the natural-gradient term the official code drops (`dropped`), the pinwheel data
(`data`); experiments `svae-gmm-pinwheel` (`experiments`) and `svae-natgrad` (`exp_natgrad`).
The LDS SVAE (`lds`: information-form message passing with the numba kernel `lds_numba`;
`lds_svae`: NIW × MNIW global factor, surrogate, natural gradient, training; `dots`, `exp_lds`:
the `svae-lds-dots` experiment).

References
----------
M. J. Johnson, D. Duvenaud, A. B. Wiltschko, S. R. Datta, R. P. Adams. Composing graphical
models with neural networks for structured representations and fast inference. NeurIPS 2016,
arXiv:1603.06277. Official code: github.com/mattjj/svae.
"""
