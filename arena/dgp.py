"""Deep Generative Prior: after the latent search, fine-tune the generator itself.

Pan, Zhan, Dai, Lin, Loy & Luo, Exploiting Deep Generative Prior for Versatile Image Restoration
and Manipulation (ECCV 2020; TPAMI 2022); reference code github.com/XingangPan/deep-generative-prior
(``models/dgp.py``, ``experiments/examples/run_SR.sh``). With ẑ from a latent search
(:mod:`arena.gan_prior`), DGP minimises over z **and** the generator's parameters θ

    𝓛(θ, z) = 4‖M ⊙ (A(G_θ(z)) − y)‖² / n  +  β Σ_l ‖D_l(B(A(G_θ(z)))) − D_l(B(y))‖₁ / n_l
              +  w ‖z‖² / (2 n_z),

in the reference's units: its mean squared error is taken on the [−1, 1] scale (4× ours on
[0, 1]), and its ``nll`` term is the mean of z²/2. D_l are the discriminator's feature maps (its
"discriminator-feature distance", which the paper found keeps the fine-tuned output on the image
manifold better than MSE or VGG features) and B maps a measurement back to image space (the
degradation's natural estimate: Aᵀ, bicubic, zero fill), so that y and A(G) are compared by D in
the space it was trained on. The fine-tuning is *progressive*: the generator's blocks are released
one at a time from the shallowest (nearest z) to the deepest; one Adam (β₁ = 0, β₂ = 0.999, as the
reference's) runs through all stages, and each stage sets its own learning rates for θ and for z
(the reference's ``G_lrs`` and ``z_lrs``). A copy of the generator is tuned: the shipped weights
never change. Because G_θ can fit anything once θ moves, DGP also fits images outside the
generator's class — and their noise: the PSNR curve over the stages shows it, as DIP's does.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from arena.nets.dcgan import Discriminator, Gan, Generator
from arena.problem import Problem

REFERENCE_G_LRS = (5e-5, 5e-5, 2e-5, 1e-5, 1e-5)
"""The reference's per-stage learning rates on θ for super-resolution (``run_SR.sh``)."""
REFERENCE_Z_LRS = (2e-3, 1e-3, 2e-5, 1e-5, 1e-5)
"""… and on z: 40× and 20× θ's in the first two stages, equal to them after."""


@dataclass(frozen=True)
class FineTune:
    """Settings of the progressive fine-tuning."""

    stages: int  # blocks released, shallow to deep (at most the generator's block count)
    steps: int  # Adam steps per stage
    g_lrs: tuple[float, ...]  # learning rate on θ in each stage
    z_lrs: tuple[float, ...]  # … and on z
    features: float  # β, weight of the discriminator-feature distance
    nll: float = 0.0  # w, weight of ‖z‖²/(2 n_z)


def stage_rates(stages: int, lr: float, schedule: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-stage learning rates (θ, z): ``reference`` scales the reference's SR schedule so that
    its first stage's θ rate is ``lr`` (5·10⁻⁵ gives the reference's own numbers; stages beyond
    five repeat the last); ``constant`` uses ``lr`` on θ and 10·``lr`` on z in every stage."""
    if schedule == "constant":
        return (lr,) * stages, (10 * lr,) * stages
    scale = lr / REFERENCE_G_LRS[0]
    pick = [min(i, len(REFERENCE_G_LRS) - 1) for i in range(stages)]
    return tuple(scale * REFERENCE_G_LRS[i] for i in pick), tuple(scale * REFERENCE_Z_LRS[i] for i in pick)


def generator_blocks(G: Generator) -> list[nn.Sequential]:
    """G's layers grouped as its up-sampling blocks (transposed conv, BN, ReLU) plus the output
    layer, shallowest (nearest z) first."""
    layers = list(G.main)
    blocks, current = [], []
    for layer in layers:
        current.append(layer)
        if isinstance(layer, (nn.ReLU, nn.Tanh)):
            blocks.append(nn.Sequential(*current))
            current = []
    return blocks


def discriminator_features(D: Discriminator, image: torch.Tensor) -> list[torch.Tensor]:
    """D's feature maps after each LeakyReLU, for images on the arena's [0, 1] scale."""
    h, out = 2.0 * image - 1.0, []
    for layer in D.main:
        h = layer(h)
        if isinstance(layer, nn.LeakyReLU):
            out.append(h.clone())  # D's activations are in place; keep each map as it was
    return out


def fine_tune(problem: Problem, gan: Gan, z: torch.Tensor,
              s: FineTune) -> Iterator[tuple[int, int, torch.Tensor, dict[str, float]]]:
    """Progressive fine-tuning of a copy of ``gan.G`` and of ``z`` (``(1, nz)``) on ``problem``.

    Yields ``(step, stage, G_θ(z) (1, C, H, W), {"loss", "data_term", "feature_term", "nll"})``
    after every step.
    """
    G = copy.deepcopy(gan.G).eval()  # eval: BatchNorm keeps its running statistics, only its affine parameters train
    blocks = generator_blocks(G)
    z = z.detach().clone().requires_grad_(True)
    mask = problem.degradation.measurement_mask()
    with torch.no_grad():
        target = discriminator_features(gan.D, problem.degradation.initial(problem.y))
    n = problem.y.numel()
    groups = [{"params": list(block.parameters()), "lr": 0.0} for block in blocks]
    opt = torch.optim.Adam([*groups, {"params": [z], "lr": 0.0}], betas=(0.0, 0.999))
    G.requires_grad_(False)
    step = 0
    for stage in range(1, min(s.stages, len(blocks)) + 1):
        for i, group in enumerate(opt.param_groups[:-1]):
            group["lr"] = s.g_lrs[stage - 1] if i < stage else 0.0
        opt.param_groups[-1]["lr"] = s.z_lrs[stage - 1]
        blocks[stage - 1].requires_grad_(True)
        for _ in range(s.steps):
            x = G.image(z)
            r = problem.A(x) - problem.y
            data = 4 * (r if mask is None else r * mask).pow(2).sum() / n  # the reference's MSE on [−1, 1]
            feats = discriminator_features(gan.D, problem.degradation.initial(problem.A(x)))
            feature = sum((f - t).abs().mean() for f, t in zip(feats, target, strict=True))
            nll = 0.5 * z.pow(2).mean()
            loss = data + s.features * feature + s.nll * nll
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            yield step, stage, x.detach(), {"loss": loss.item(), "data_term": data.item(),
                                            "feature_term": feature.item(), "nll": nll.item()}
