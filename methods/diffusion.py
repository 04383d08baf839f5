"""Diffusion posterior sampling (DiffPIR, DPS) with our faces DDPM."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import torch

from arena.diffusion import as_steps, diffpir, dps
from arena.errors import SpecError
from arena.gan_prior import GenerativePrior, domain_warning
from arena.method import METHODS, Step
from arena.nets.ddpm import DEFAULT_DDPM, load_ddpm_cached
from arena.params import Param, Value
from arena.problem import Problem


@METHODS.register
class Diffusion(GenerativePrior):
    """Sample x ~ p(x | y) with a diffusion prior p(x) learned by a DDPM and the known A:

    ``diffpir`` (Zhu et al. 2023): every reverse step takes the network's x̂₀ = E[x₀ | x_t],
    solves argmin_z ‖y − A(z)‖² + ρ_t ‖z − x̂₀‖² (ρ_t = λσ²/σ̄_t² with σ the noise level on the
    [0, 1] scale, as the reference code forms it; the HQS data step of plug-and-play, exact in
    Fourier or by CG, gradient steps for non-linear A) and re-noises towards the next t with a
    share ζ of fresh noise — no gradient through the network. Steps follow the reference's
    'quad' spacing (dense near t = 0); the last step returns x₀ with no data step, as the
    reference does (``arena/diffusion.py``).
    ``dps`` (Chung et al. 2023): the DDPM's ancestral step, then a step −ζ ∇_{x_t}‖y − A(x̂₀(x_t))‖
    through the network (a backward pass per step; the paper runs 1000 steps).

    The shown estimate at each step is x̂₀ after the data step (at the last step x₀ itself; the
    mean over ``samples`` chains, which run batched);
    with several samples the ``std`` map is their per-pixel standard deviation — what the prior
    is unsure of, large inside an inpainting hole. Needs the trained DDPM: 64×64 cartoon faces
    (``weights/ddpm_faces.md``).

    Defaults: DiffPIR with 100 steps, λ = 2.5, ζ = 1; DPS ζ′ = 4 — the best of small grids on
    four *training* faces (blur with noise 10 and σ = 25 denoising for λ and ζ; centre hole and
    ×4 SR for ζ and ζ′; ``weights/ddpm_faces.md``), never on the held-out ones. λ departs from the
    reference code's λ = 7 (same ρ_t scale), which was chosen for its FFHQ model; ζ = 1 is its
    inpainting setting (0.3 for deblurring).
    """

    name = "diffusion"
    family = "generative"
    rule = (r"x \sim p(x \mid y):\quad \hat x_0 = \mathbb{E}[x_0 \mid x_t],\quad z = \arg\min_z \|y - A(z)\|^2 + "
            r"\rho_t\|z - \hat x_0\|^2,\quad x_{t-1} \leftarrow z \text{ re-noised}")
    label = "Diffusion posterior sampling (DiffPIR / DPS)"
    reference = ("Zhu et al., Denoising Diffusion Models for Plug-and-Play Image Restoration, CVPR 2023; "
                 "Chung et al., Diffusion Posterior Sampling for General Noisy Inverse Problems, ICLR 2023")
    order = 84
    slow = True
    weights = ("ddpm_faces.safetensors",)
    params = (
        Param("sampler", "diffpir", "DiffPIR (data step, no network gradient) or DPS (gradient through the net)",
              choices=("diffpir", "dps")),
        Param("iterations", 100, "reverse steps out of the model's T = 1000 (DiffPIR's last step, t = 0, "
              "needs no network evaluation)", min=2, max=1000, log=True),
        Param("lam", 2.5, "DiffPIR: λ in ρ_t = λ σ² / σ̄_t² (σ: the noise level on the 0–1 scale; the "
              "reference code's is 7)",
              min=0.01, max=1000.0, log=True),
        Param("zeta", 1.0, "DiffPIR: share ζ of fresh noise in each re-noising (0: deterministic)", min=0.0, max=1.0),
        Param("step", 4.0, "DPS: step size ζ′ of the data-gradient step", min=0.0, max=1000.0),
        Param("inner", 10, "DiffPIR: CG or gradient steps of each data step (non-Fourier A)", min=1, max=200),
        Param("samples", 1, "chains sampled together; > 1 adds a per-pixel standard-deviation map", min=1, max=16),
        Param("weights", "", "a .safetensors checkpoint from training/train_ddpm.py (empty: the shipped faces DDPM)",
              server_path=True),
    )

    @classmethod
    def domain_warning(cls, clean: torch.Tensor, params: Mapping[str, Value]) -> str | None:
        """The shipped GAN's discriminator judges the class (``weights`` here names a DDPM)."""
        return domain_warning(clean, "")

    def run(self, problem: Problem, *, sampler: str, iterations: int, lam: float, zeta: float, step: float,
            inner: int, samples: int, weights: str) -> Iterator[Step]:
        if weights and not weights.endswith(".safetensors"):
            raise SpecError(f"weights={weights!r}: give a .safetensors file written by training/train_ddpm.py")
        path = Path(weights).expanduser() if weights else DEFAULT_DDPM
        net = load_ddpm_cached(str(path), str(problem.device))
        generator = torch.Generator().manual_seed(problem.seed)
        if sampler == "dps":
            chain = dps(problem, net, samples=samples, steps=iterations, zeta=step, generator=generator)
        else:
            chain = diffpir(problem, net, samples=samples, steps=iterations, lam=lam, zeta=zeta,
                            inner=inner, generator=generator)
        yield from as_steps(problem, chain, samples)
