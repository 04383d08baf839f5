"""Deep Generative Prior (Pan et al.): the latent search, then the generator fine-tuned too."""

from __future__ import annotations

from collections.abc import Iterator

from arena.dgp import FineTune, fine_tune
from arena.gan_prior import GenerativePrior, LatentSearch, gan_for, latent_search, search_params
from arena.method import METHODS, Step, iterations_param
from arena.params import Param
from arena.problem import Problem


@METHODS.register
class DeepGenerativePrior(GenerativePrior):
    """min over z **and** θ of ‖A G_θ(z) − y‖² + β Σ_l ‖D_l(A G_θ(z)) − D_l(y)‖₁, θ released block by block.

    First the GAN prior's latent search (Bora et al.'s squared error, a few restarts) finds ẑ with
    the shipped generator; then a copy of the generator is fine-tuned with z, shallow blocks first,
    on the data term plus the distance between the discriminator's features of A G_θ(z) and of y
    (both mapped back to image space). The z-only result stays beside the fine-tuned one as
    ``raw``. Out of the generator's class the fine-tuned generator still fits y — including its
    noise if left long enough: watch the PSNR curve.
    """

    name = "dgp"
    label = "Deep Generative Prior (z and θ)"
    reference = ("Pan, Zhan, Dai, Lin, Loy & Luo, Exploiting Deep Generative Prior for Versatile Image "
                 "Restoration and Manipulation, ECCV 2020 / TPAMI 2022")
    order = 82
    weights = ("dcgan_faces.safetensors",)
    params = (
        iterations_param(600),
        Param("search", 300, "of the iterations, the latent search's (the rest fine-tune θ and z, split "
              "equally over the stages)", min=1, max=100_000),
        *search_params(0.05)[1:],
        Param("stages", 5, "generator blocks released one by one, shallow to deep", min=1, max=5),
        Param("tune_lr", 2e-4, "learning rate on the generator's weights (z moves at 10×)", min=1e-6, max=1e-1,
              log=True),
        Param("features", 0.1, "β, weight of the discriminator-feature distance", min=0.0, max=100.0),
    )

    def run(self, problem: Problem, *, iterations: int, search: int, restarts: int, lr: float, weights: str,
            stages: int, tune_lr: float, features: float) -> Iterator[Step]:
        notes: tuple[str, ...] = ()
        if iterations - search < stages:  # an iteration cap below the search: both phases share what is left
            search = max(1, iterations // 2)
            notes = (f"only {iterations} iterations: {search} for the latent search, the rest to fine-tune",)
        tune = iterations - search
        stages = min(stages, tune)
        gan = gan_for(weights, problem.device)
        raw = z = None
        for it, raw, objective, data, z in latent_search(problem, gan, LatentSearch(search, restarts, lr, "l2", 0.0, 1.0,
                                                                                    False, False), problem.seed):
            yield Step(it, raw, {"loss": float(objective[0]), "data_term": data, "stage": 0.0}, notes=notes)
        if stages == 0:
            return
        tuning = FineTune(stages, tune // stages, tune_lr, features)
        for step, stage, x, diagnostics in fine_tune(problem, gan, z, tuning):
            yield Step(search + step, x, {**diagnostics, "stage": float(stage)}, {"raw": raw})
