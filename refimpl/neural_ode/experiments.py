"""The Neural ODE paper's experiments (registered with `refimpl.experiments`).

* `neural-ode-spiral` — learn the cubic spiral dynamics from one trajectory (Sec. 2 demo).
* `neural-ode-nfe` — Fig. 3: evaluation counts of a trained ODE-Net.
* `latent-ode-spirals` — Table 2: latent ODE vs RNN extrapolation RMSE.
* `odenet-classifier` — Table 1: ResNet / RK-Net / ODE-Net on small digit images.

References
----------
R. T. Q. Chen, Y. Rubanova, J. Bettencourt, D. Duvenaud. Neural ordinary differential
equations. NeurIPS 2018.
"""
from refimpl.experiments import experiment

PAPER = "Neural ODEs (Chen et al. 2018)"


@experiment("latent-ode-spirals", paper=PAPER, artefact="Table 2, Figs. 6-8", quick_seconds=25,
            full_minutes=75)   # per seed, one core: 20 000 iterations of 3 models at 3 n
def latent_ode_spirals(cfg):
    from .exp_latent import run_latent_ode_spirals
    return run_latent_ode_spirals(cfg)


@experiment("odenet-classifier", paper=PAPER, artefact="Table 1", quick_seconds=60,
            full_minutes=20)
def odenet_classifier(cfg):
    from .exp_classifier import run_odenet_classifier
    return run_odenet_classifier(cfg)


@experiment("neural-ode-nfe", paper=PAPER, artefact="Fig. 3", quick_seconds=45, full_minutes=15)
def neural_ode_nfe(cfg):
    from .exp_nfe import run_neural_ode_nfe
    return run_neural_ode_nfe(cfg)


@experiment("neural-ode-spiral", paper=PAPER, artefact="Sec. 2 demo (learned spiral dynamics)",
            quick_seconds=40, full_minutes=10)
def neural_ode_spiral(cfg):
    from .exp_spiral import run_neural_ode_spiral
    return run_neural_ode_spiral(cfg)
