"""GAN-prior restoration (Yeh et al.)."""

from __future__ import annotations

from collections.abc import Iterator

from arena.gan_prior import (
    GenerativePrior,
    LatentSearch,
    gan_for,
    latent_search,
    pixel_mask,
    poisson_blend,
    search_params,
)
from arena.method import METHODS, Step
from arena.params import Param
from arena.problem import Problem


@METHODS.register
class GanPrior(GenerativePrior):
    """x̂ = G(ẑ),  ẑ = argmin_z ‖W ⊙ (y − A(G(z)))‖₁ + λ[log(1 − D(G(z))) − log D(G(z))] − log p(z), by Adam.

    The contextual loss (ℓ₁, W = Yeh et al.'s importance weights for inpainting: observed pixels
    count in proportion to the missing pixels around them) keeps G(z) consistent with y; the
    discriminator's perceptual loss keeps it realistic; −log p(z) = ½‖z‖² keeps z typical. Several
    random z₀ are optimised in one batched call and the lowest objective is kept. For inpainting the
    generated content is Poisson-blended into the observed pixels (``blend``); where the degradation
    has a cheap exact correction (colourisation: the observed grey levels under the generated colours;
    MRI: the acquired k-space put back) it is applied to G(ẑ) the same way, and G(ẑ) itself is
    streamed as ``generated``. For quantization A is
    the identity, as in the paper (``quantizer=identity``), or the straight-through quantizer.
    Needs the trained generator: 64×64 cartoon faces (``weights/dcgan_faces.md``).
    """

    name = "gan"
    family = "generative"
    rule = (r"\hat x = G(\hat z),\qquad \hat z = \arg\min_z \|W \odot (y - A(G(z)))\|_1 + "
            r"\lambda\big[\log(1 - D(G(z))) - \log D(G(z))\big] + \tfrac12\|z\|^2")
    label = "GAN prior (Yeh et al.)"
    reference = ("Yeh, Lim, Chen, Schwing, Hasegawa-Johnson & Do, Image Restoration with Deep Generative "
                 "Models, ICASSP 2018; Yeh et al., Semantic Image Inpainting with Deep Generative Models, CVPR 2017")
    order = 80
    slow = True
    limits = dict.fromkeys(
        ("denoise", "blur", "sr", "quantize", "jpeg", "mri", "camera"),
        "the small DCGAN of code-drawn faces cannot reproduce a held-out face (its best G(z) is 19–21 dB, "
        "benchmarks/sweeps/gan_yeh.md): where the naive inverse is already good it loses ground (up to 6 dB)")
    weights = ("dcgan_faces.safetensors",)
    params = (
        *search_params(0.03),
        Param("adversarial", 0.003, "λ, weight of the discriminator's perceptual loss", min=0.0, max=100.0),
        Param("latent", 1.0, "weight of −log p(z) = ½‖z‖²", min=0.0, max=100.0),
        Param("weighting", "importance", "inpainting pixel weights: Yeh's importance weights or uniform",
              choices=("importance", "uniform")),
        Param("blend", True, "make the result explain y: Poisson-blend into the observed pixels (inpainting), "
              "the observed grey levels under the generated colours (colourisation)"),
        Param("quantizer", "identity", "A for quantization: identity (the paper) or straight-through",
              choices=("identity", "straight-through")),
    )

    def run(self, problem: Problem, *, iterations: int, restarts: int, lr: float, weights: str, adversarial: float,
            latent: float, weighting: str, blend: bool, quantizer: str) -> Iterator[Step]:
        gan = gan_for(weights, problem.device)
        search = LatentSearch(iterations, restarts, lr, "l1", adversarial, latent, weighting == "importance",
                              quantizer == "identity")
        mask = pixel_mask(problem)
        for it, x, objective, data, _ in latent_search(problem, gan, search, problem.seed):
            diagnostics = {"loss": float(objective[0]), "data_term": data}
            if blend and mask is not None and (it == iterations or it % 10 == 0):
                yield Step(it, poisson_blend(x, problem.y, mask), diagnostics, {"generated": x})
            elif blend and mask is None and (fitted := problem.degradation.consistent(x, problem.y)) is not None:
                yield Step(it, fitted, diagnostics, {"generated": x})
            else:
                yield Step(it, x, diagnostics)
