"""DiffPIR and DPS with a published diffusion model (DeepInverse's DiffUNet), on photos of any size."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import torch

from arena.diffusion import EpsModel, as_steps, diffpir, dps
from arena.method import METHODS, Method, Step
from arena.params import Param, Value
from arena.problem import Problem
from arena.solvers import missing_pixels

MODELS = {"ffhq": "diffunet-ffhq", "imagenet": "diffunet-imagenet"}
"""The ``model`` choice → its published file (``arena weights``)."""


@METHODS.register
class PublishedDiffusion(Method):
    """Sample x ~ p(x | y) with a published diffusion prior — the same DiffPIR and DPS as
    ``diffusion`` (``arena/diffusion.py``: the reference's 'quad' steps, ρ_t = λσ²/σ̄_t², DPS's
    ∇‖y − A(x̂₀)‖ step), with DeepInverse's DiffUNet in place of our 64×64 faces DDPM. Both
    checkpoints share our DDPM's schedule (T = 1000, β linear from 10⁻⁴ to 0.02), so only ε changes.

    ``model=ffhq``: the DiffPIR and DPS papers' face model (FFHQ 256×256, 93 M parameters);
    ``model=imagenet``: guided diffusion's unconditional ImageNet 256×256 model (552 M), for photos of
    anything. Images of other sizes run as they are (padded to a multiple of 32): the networks are
    convolutional, but they never saw other scales. Colour only — a grey image's latent would carry
    the same noise in three channels, which the model never saw.

    Defaults: λ = 7 (DiffPIR's reference code for its FFHQ model, same ρ_t scale); ζ = 1 when pixels
    are missing and 0.3 otherwise (the reference's inpainting and deblurring settings); DPS ζ′ = 1
    (the DPS paper's FFHQ setting); 100 steps. On a CPU a step of the FFHQ model at 256² takes
    seconds, the ImageNet one several times longer: this method is for a GPU.

    Weights: ``diffusion_ffhq_10m.pt`` (DPS's FFHQ model; DeepInverse states no licence, DPS's code is
    MIT, FFHQ's images CC BY-NC-SA 4.0) and ``diffusion_openai.pt`` (Dhariwal & Nichol, MIT), as
    DeepInverse distributes them (``arena weights`` lists both); read from the torch hub cache,
    never downloaded during a run (``arena weights fetch diffunet-ffhq`` on a connected machine).
    """

    name = "diffunet"
    family = "generative"
    rule = (r"x \sim p(x \mid y):\quad \hat x_0 = \mathbb{E}[x_0 \mid x_t],\quad z = \arg\min_z \|y - A(z)\|^2 + "
            r"\rho_t\|z - \hat x_0\|^2,\quad x_{t-1} \leftarrow z \text{ re-noised}")
    label = "Diffusion, published model (DiffPIR / DPS, deepinv)"
    reference = ("Zhu et al., Denoising Diffusion Models for Plug-and-Play Image Restoration, CVPR 2023; "
                 "Chung et al., Diffusion Posterior Sampling, ICLR 2023; Dhariwal & Nichol, Diffusion Models "
                 "Beat GANs on Image Synthesis, NeurIPS 2021 (weights via DeepInverse)")
    order = 85
    heavy = True
    published = tuple(MODELS.values())
    published_note = "model=ffhq or model=imagenet"
    params = (
        Param("model", "ffhq", "the published model: FFHQ faces or ImageNet photos (256×256 training)",
              choices=tuple(MODELS)),
        Param("sampler", "diffpir", "DiffPIR (data step, no network gradient) or DPS (gradient through the net)",
              choices=("diffpir", "dps")),
        Param("iterations", 100, "reverse steps out of the model's T = 1000", min=2, max=1000),
        Param("lam", 7.0, "DiffPIR: λ in ρ_t = λ σ² / σ̄_t² (σ on the 0–1 scale)", min=0.01, max=1000.0, log=True),
        Param("zeta", 0.3, "DiffPIR: share ζ of fresh noise in each re-noising (auto: 1 when pixels are "
              "missing, else 0.3)", min=0.0, max=1.0, adaptive=True),
        Param("step", 1.0, "DPS: step size ζ′ of the data-gradient step", min=0.0, max=1000.0),
        Param("inner", 10, "DiffPIR: CG or gradient steps of each data step (non-Fourier A)", min=1, max=200),
        Param("samples", 1, "chains sampled together; > 1 adds a per-pixel standard-deviation map", min=1, max=8),
    )

    @staticmethod
    def eps_model(net: torch.nn.Module) -> EpsModel:
        """ε(u_t, t) from DiffUNet's timestep branch: the first three of its six output channels (the
        other three are guided-diffusion's learned variances, which DiffPIR and DPS do not use). The
        network pads H and W to multiples of 32 (circularly) and crops back."""

        def eps(u: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return net(u, t.expand(u.shape[0]), type_t="timestep")[:, :3]

        return eps

    @classmethod
    def published_files(cls, params: Mapping[str, Any], problem: Problem | None = None) -> tuple[str, ...]:
        return (MODELS.get(str(params.get("model", "ffhq")), MODELS["ffhq"]),)

    def defaults(self, problem: Problem) -> dict[str, Value]:
        return {"zeta": 1.0 if problem.linear and missing_pixels(problem) else 0.3}

    def supports(self, problem: Problem) -> str | None:
        if problem.x_shape[1] != 3:
            return ("the published diffusion models make colour images; this one is grey (its latent would "
                    "carry the same noise in three channels, which the model never saw)")
        return None

    def run(self, problem: Problem, *, model: str, sampler: str, iterations: int, lam: float, zeta: float,
            step: float, inner: int, samples: int) -> Iterator[Step]:
        from arena.bridge.published import load

        eps = self.eps_model(load(MODELS[model], problem.device))
        generator = torch.Generator().manual_seed(problem.seed)
        if sampler == "dps":
            chain = dps(problem, eps, samples=samples, steps=iterations, zeta=step, generator=generator)
        else:
            chain = diffpir(problem, eps, samples=samples, steps=iterations, lam=lam, zeta=zeta, inner=inner,
                            generator=generator)
        yield from as_steps(problem, chain, samples)
