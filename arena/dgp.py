"""Deep Generative Prior: after the latent search, fine-tune the generator itself.

Pan, Zhan, Dai, Lin, Loy & Luo, Exploiting Deep Generative Prior for Versatile Image Restoration
and Manipulation (ECCV 2020; TPAMI 2022). With ẑ from a latent search (:mod:`arena.gan_prior`),
DGP minimises over z **and** the generator's parameters θ

    𝓛(θ, z) = ‖M ⊙ (A(G_θ(z)) − y)‖² / n  +  β Σ_l ‖D_l(B(A(G_θ(z)))) − D_l(B(y))‖₁ / n_l,

where D_l are the discriminator's feature maps (its "discriminator-feature distance", which the
paper found keeps the fine-tuned output on the image manifold better than MSE or VGG features) and
B maps a measurement back to image space (the degradation's natural estimate: Aᵀ, bicubic, zero
fill), so that y and A(G) are compared by D in the space it was trained on. The fine-tuning is
*progressive*: the generator's blocks are released one at a time from the shallowest (nearest z)
to the deepest, each stage a fixed number of Adam steps at a small learning rate, so the coarse
structure adapts before the fine texture can. A copy of the generator is tuned: the shipped
weights never change. Because G_θ can fit anything once θ moves, DGP also fits images outside the
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


@dataclass(frozen=True)
class FineTune:
    """Settings of the progressive fine-tuning."""

    stages: int  # blocks released, shallow to deep (at most the generator's block count)
    steps: int  # Adam steps per stage
    lr: float  # on θ (the latent code moves at 10× this)
    features: float  # β, weight of the discriminator-feature distance


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


def fine_tune(problem: Problem, gan: Gan, z: torch.Tensor, s: FineTune) -> Iterator[tuple[int, int, torch.Tensor, dict[str, float]]]:
    """Progressive fine-tuning of a copy of ``gan.G`` and of ``z`` (``(1, nz)``) on ``problem``.

    Yields ``(step, stage, G_θ(z) (1, C, H, W), {"loss", "data_term", "feature_term"})`` after every step.
    """
    G = copy.deepcopy(gan.G).eval()  # eval: BatchNorm keeps its running statistics, only its affine parameters train
    blocks = generator_blocks(G)
    z = z.detach().clone().requires_grad_(True)
    mask = problem.degradation.measurement_mask()
    with torch.no_grad():
        target = discriminator_features(gan.D, problem.degradation.initial(problem.y))
    n = problem.y.numel()
    step = 0
    for stage in range(1, min(s.stages, len(blocks)) + 1):
        G.requires_grad_(False)
        for block in blocks[:stage]:
            block.requires_grad_(True)
        params = [p for p in G.parameters() if p.requires_grad]
        opt = torch.optim.Adam([{"params": params, "lr": s.lr}, {"params": [z], "lr": 10 * s.lr}])
        for _ in range(s.steps):
            x = G.image(z)
            r = problem.A(x) - problem.y
            data = (r if mask is None else r * mask).pow(2).sum() / n
            feats = discriminator_features(gan.D, problem.degradation.initial(problem.A(x)))
            feature = sum((f - t).abs().mean() for f, t in zip(feats, target))
            loss = data + s.features * feature
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            yield step, stage, x.detach(), {"loss": loss.item(), "data_term": data.item(), "feature_term": feature.item()}
