"""Restoration with a trained generator: search its latent space for the image that explains y.

Yeh et al. (2017, 2018) and Bora et al. (2017) both solve

    ẑ = argmin_z  ρ(W ⊙ (y − A(G(z))))  +  λ_D · [log(1 − D(G(z))) − log D(G(z))]  +  γ · ½‖z‖²,
    x̂ = G(ẑ),

with ρ the ℓ₁ norm (Yeh's contextual loss) or the squared ℓ₂ norm (Bora's measurement error), W the
pixel weights (1, or Yeh's importance weights for inpainting), the discriminator term Yeh's
perceptual loss (note log(1 − D) − log D = −logit D, so it is linear in D's logit), and
½‖z‖² = −log p(z) + const for z ~ N(0, I). Adam runs from several random z at once (one batched G
call) and the restart with the lowest objective is kept. Inpainting results can be Poisson-blended
into the observed pixels (Pérez, Gangnet & Blake, 2003), as Yeh et al. do.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F

from arena.errors import SpecError
from arena.method import Method, iterations_param
from arena.nets.dcgan import DEFAULT_GAN, Gan, load_gan
from arena.params import Param, Value
from arena.problem import Problem
from arena.regularizers import div, grad
from arena.solvers import cg_solve

DOMAIN = (3, 64, 64)
"""(C, H, W) of the images the shipped generator makes."""
DOMAIN_NAME = "cartoon faces (64×64, colour)"
IMPORTANCE_WINDOW = 7
"""Yeh et al.'s neighbourhood for the inpainting importance weights."""


@lru_cache(maxsize=4)
def _load(path: str, device: str) -> Gan:
    return load_gan(path, device)


def gan_for(weights: str, device: torch.device | str) -> Gan:
    """The shipped GAN (``weights=""``) or a user's checkpoint of the same architecture, cached."""
    if weights and not weights.endswith(".safetensors"):
        raise SpecError(f"weights={weights!r}: give a .safetensors file written by training/train_gan.py")
    path = Path(weights).expanduser() if weights else DEFAULT_GAN
    return _load(str(path), str(device))


def importance_weights(mask: torch.Tensor, window: int = IMPORTANCE_WINDOW) -> torch.Tensor:
    """Yeh et al. (2017, eq. 3): W_i = Σ_{j ∈ N(i)} (1 − M_j) / |N(i)| for observed pixels i, 0 elsewhere —
    observed pixels matter in proportion to how many missing ones surround them."""
    missing = 1.0 - mask
    near = F.avg_pool2d(missing, window, stride=1, padding=window // 2, count_include_pad=False)
    return mask * near


def poisson_blend(g: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, iterations: int = 200) -> torch.Tensor:
    """argmin_x ‖∇x − ∇g‖² subject to x = y on observed pixels (mask = 1): the generated content
    keeps its gradients and meets the observed colours at the hole's border. Solved by conjugate
    gradients on the masked Laplacian −div ∇."""
    hole = 1.0 - mask
    base = y * mask

    def normal(u: torch.Tensor) -> torch.Tensor:
        return hole * -div(grad(hole * u))

    b = hole * -div(grad(g) - grad(base))
    u, _ = cg_solve(normal, b, g * hole, iterations, tol=1e-6)
    return (base + hole * u).clamp(0, 1)


@dataclass(frozen=True)
class LatentSearch:
    """Settings of one latent-space search (see the module docstring for the objective)."""

    iterations: int
    restarts: int
    lr: float
    norm: str  # "l1" or "l2"
    adversarial: float  # λ_D
    latent: float  # γ
    importance: bool  # Yeh's weights for inpainting
    identity_quantizer: bool  # treat quantization as A = I (Yeh et al.)


def pixel_mask(problem: Problem) -> torch.Tensor | None:
    """The observed-pixel mask when the measurements are pixels of the image (inpainting), else None
    (a k-space mask, for instance, has no pixels to weigh or blend)."""
    mask = problem.degradation.measurement_mask()
    if mask is None or mask.dim() != 4 or tuple(mask.shape[-2:]) != tuple(problem.x_shape[-2:]):
        return None
    return mask


def _operator(problem: Problem, s: LatentSearch):
    if s.identity_quantizer and problem.degradation.rounds_only:
        return lambda x: x, None
    return problem.A, problem.degradation.measurement_mask()


def latent_search(problem: Problem, gan: Gan, s: LatentSearch,
                  seed: int) -> Iterator[tuple[int, torch.Tensor, torch.Tensor, float, torch.Tensor]]:
    """Adam on z for every image of a (possibly batched) problem and every restart.

    Yields ``(iteration, G(z_best) (N, C, H, W), objective of the best restart (N,), data term of it,
    z_best (N, nz))`` after every step; the best restart is chosen per image at every step.
    """
    n = problem.y.shape[0]
    device = problem.device
    A, mask = _operator(problem, s)
    weights = torch.ones_like(problem.y[:1])
    if mask is not None and s.importance and pixel_mask(problem) is not None:
        weights = importance_weights(mask).expand_as(problem.y[:1])
    elif mask is not None:
        weights = mask.expand_as(problem.y[:1])
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n * s.restarts, gan.config.nz, generator=g).to(device).requires_grad_(True)
    opt = torch.optim.Adam([z], lr=s.lr)
    y = problem.y.repeat_interleave(s.restarts, 0)
    for it in range(1, s.iterations + 1):
        x = gan.G.image(z)
        r = weights * (A(x) - y)
        data = (r.abs() if s.norm == "l1" else r.pow(2)).flatten(1).sum(1)
        objective = data + s.latent * 0.5 * z.pow(2).sum(1)
        if s.adversarial > 0:
            objective = objective - s.adversarial * gan.D.logit(x)
        opt.zero_grad(set_to_none=True)
        objective.sum().backward()
        opt.step()
        with torch.no_grad():
            per = objective.detach().view(n, s.restarts)
            best = per.argmin(1)
            idx = torch.arange(n, device=device) * s.restarts + best
            yield (it, x.detach()[idx], per.gather(1, best[:, None])[:, 0], float(data.detach()[idx].mean()),
                   z.detach()[idx].clone())


def domain_warning(clean: torch.Tensor, weights: str) -> str | None:
    """A sentence when the discriminator scores ``clean`` below 99 % of the held-out in-domain
    images (the threshold the training script stores in the checkpoint), else ``None``."""
    gan = gan_for(weights, "cpu")
    threshold = gan.meta.get("d_logit_held_out_q01")
    if threshold is None or tuple(clean.shape[1:]) != DOMAIN:
        return None
    with torch.no_grad():
        score = float(gan.D.logit(clean.float().cpu()))
    if score >= float(threshold):
        return None
    return (f"⚠ out of the prior's domain: the generator was trained on {DOMAIN_NAME} and its discriminator "
            f"scores this image {score:.1f}, below {float(threshold):.1f} (99 % of held-out faces score higher) — "
            "expect a face-like result that does not match the image")


class GenerativePrior(Method):
    """Base of the methods that search a trained generator's latent space (not registered itself)."""

    domain = DOMAIN
    domain_note = (f"{DOMAIN_NAME}, the class its generator was trained on; the bundled face1–face4 are "
                   "held-out examples. Other images are cropped and resized to 64×64 and flagged when the "
                   "discriminator finds them out of the class.")
    heavy = True

    @classmethod
    def domain_warning(cls, clean: torch.Tensor, params: Mapping[str, Value]) -> str | None:
        return domain_warning(clean, str(params.get("weights", "")))

    def supports(self, problem: Problem) -> str | None:
        shape = tuple(problem.x_shape[1:])
        if shape != DOMAIN:
            return (f"the generator makes {DOMAIN[2]}×{DOMAIN[1]} colour images ({DOMAIN_NAME}); this image is "
                    f"{shape[2]}×{shape[1]} with {shape[0]} channel(s) — run it through the arena, which fits "
                    "the image")
        return None


def search_params(lr: float) -> tuple[Param, ...]:
    """Parameters both latent-search methods share."""
    return (
        iterations_param(300),
        Param("restarts", 4, "random starts z₀ optimised together; the best is kept", min=1, max=32),
        Param("lr", lr, "Adam learning rate on z", min=1e-4, max=1.0, log=True),
        Param("weights", "", "a .safetensors checkpoint from training/train_gan.py (empty: the shipped faces GAN)",
              server_path=True),
    )
