"""Compressed sensing with a generative model (Bora et al.)."""

from __future__ import annotations

from collections.abc import Iterator

from arena.gan_prior import GenerativePrior, LatentSearch, gan_for, latent_search, search_params
from arena.method import METHODS, Step
from arena.params import Param
from arena.problem import Problem


@METHODS.register
class Csgm(GenerativePrior):
    """x̂ = G(ẑ),  ẑ = argmin_z ‖A G(z) − y‖² + λ‖z‖², by Adam from several random starts.

    Bora et al.'s estimator: no discriminator, only the measurement error and a penalty keeping z
    near the typical set. With a Gaussian matrix A (``cs`` degradation) it recovers an image of
    the generator's class from far fewer measurements than pixels — the knob is m/n; the error
    stops falling once G's range, not the measurements, limits it (the representation error).
    Needs the trained generator: 64×64 cartoon faces (``weights/dcgan_faces.md``).
    """

    name = "csgm"
    family = "generative"
    rule = r"\hat x = G(\hat z),\qquad \hat z = \arg\min_z \|A\,G(z) - y\|^2 + \lambda\|z\|^2"
    label = "CSGM (Bora et al.)"
    reference = "Bora, Jalal, Price & Dimakis, Compressed Sensing using Generative Models, ICML 2017"
    order = 81
    slow = True
    weights = ("dcgan_faces.safetensors",)
    params = (
        *search_params(0.05),
        Param("latent", 0.1, "λ, weight of ‖z‖² (Bora et al. use 0.1)", min=0.0, max=100.0),
    )

    def run(self, problem: Problem, *, iterations: int, restarts: int, lr: float, weights: str,
            latent: float) -> Iterator[Step]:
        gan = gan_for(weights, problem.device)
        search = LatentSearch(iterations, restarts, lr, "l2", 0.0, 2.0 * latent, False, False)
        for it, x, objective, data, _ in latent_search(problem, gan, search, problem.seed):
            yield Step(it, x, {"loss": float(objective[0]), "data_term": data})
