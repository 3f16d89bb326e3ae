"""Generating and designing DNA with deep generative models (Killoran, Lee, Delong,
Duvenaud, Frey 2017): WGAN-GP on one-hot sequences, a CNN predictor, and design by
activation maximisation ("deep dream") or by optimising the generator's latent code.

References: arXiv:1712.06148v1. Official code: co9olguy/Generating-and-designing-DNA
(TensorFlow 1). Designs are always scored by a noiseless PWM oracle built from a real
JASPAR motif (`motifs.oracle`) on the argmax (one-hot) re-encoded sequence.
"""
from .sequences import ACGT, ACGT_PAD, encode, decode, read_fasta, write_fasta  # noqa: F401
from .motifs import (Motif, read_jaspar, parse_jaspar, oracle, oracle_optimum,  # noqa: F401
                     consensus, embedded_motifs, load_motifs)
