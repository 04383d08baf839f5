"""DCGAN generator and discriminator at 64×64 (Radford, Metz & Chintala, ICLR 2016), and their checkpoints.

The architecture is the paper's (and Yeh et al.'s): G maps z ∈ ℝ^nz through a 4×4 transposed
convolution and four stride-2 transposed convolutions (BN + ReLU, tanh out) to a 64×64 image; D
mirrors it with stride-2 convolutions (LeakyReLU 0.2, BN from the second layer) down to one logit.
Widths are ``ngf``/``ndf`` × (8, 4, 2, 1); ours are 32 (the paper's 64) so training fits a CPU.
G's output is mapped from [−1, 1] to the arena's [0, 1] by :meth:`Generator.image`.

Checkpoints are safetensors files (tensors only, no pickled code) with the architecture and the
model card's facts in the metadata; :func:`load_gan` checks every tensor's name and shape before
use, so a wrong or corrupt file gives one clear sentence.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from arena.errors import SpecError
from arena.nets.checkpoint import fill, read_checkpoint, save_checkpoint
from arena.resources import WEIGHTS

DEFAULT_GAN = WEIGHTS / "dcgan_faces.safetensors"


@dataclass(frozen=True)
class GanConfig:
    """Architecture of a 64×64 DCGAN pair."""

    nz: int = 100
    ngf: int = 32
    ndf: int = 32
    channels: int = 3


class Generator(nn.Module):
    """z ∈ ℝ^nz ↦ G(z) ∈ [−1, 1]^{C×64×64}."""

    def __init__(self, cfg: GanConfig) -> None:
        super().__init__()
        g = cfg.ngf
        self.nz = cfg.nz

        def up(cin: int, cout: int, stride: int = 2, pad: int = 1) -> list[nn.Module]:
            return [nn.ConvTranspose2d(cin, cout, 4, stride, pad, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]

        self.main = nn.Sequential(
            *up(cfg.nz, 8 * g, 1, 0), *up(8 * g, 4 * g), *up(4 * g, 2 * g), *up(2 * g, g),
            nn.ConvTranspose2d(g, cfg.channels, 4, 2, 1, bias=False), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z.view(z.shape[0], self.nz, 1, 1))

    def image(self, z: torch.Tensor) -> torch.Tensor:
        """G(z) on the arena's [0, 1] scale."""
        return 0.5 * (self.forward(z) + 1.0)


class Discriminator(nn.Module):
    """x ∈ [−1, 1]^{C×64×64} ↦ logit of "x is a training image"."""

    def __init__(self, cfg: GanConfig) -> None:
        super().__init__()
        d = cfg.ndf

        def down(cin: int, cout: int, bn: bool = True) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 4, 2, 1, bias=False), *( [nn.BatchNorm2d(cout)] if bn else []),
                    nn.LeakyReLU(0.2, True)]

        self.main = nn.Sequential(
            *down(cfg.channels, d, bn=False), *down(d, 2 * d), *down(2 * d, 4 * d), *down(4 * d, 8 * d),
            nn.Conv2d(8 * d, 1, 4, 1, 0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x).flatten()

    def logit(self, image: torch.Tensor) -> torch.Tensor:
        """D's logit for images on the arena's [0, 1] scale."""
        return self.forward(2.0 * image - 1.0)


def init_weights(m: nn.Module) -> None:
    """DCGAN initialisation: conv weights N(0, 0.02), BN scale N(1, 0.02), BN shift 0."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


@dataclass
class Gan:
    """A loaded pair in eval mode, with its checkpoint's metadata (the model card's facts)."""

    G: Generator
    D: Discriminator
    config: GanConfig
    meta: dict[str, str]


def save_gan(path: Path, G: Generator, D: Discriminator, cfg: GanConfig, meta: dict[str, str]) -> None:
    """Write both networks to one safetensors file; ``meta`` values must be strings."""
    save_checkpoint(path, {"G": G, "D": D}, asdict(cfg), meta)


def load_gan(path: Path | str = DEFAULT_GAN, device: torch.device | str = "cpu") -> Gan:
    """Load a checkpoint written by :func:`save_gan` (or ``training/train_gan.py``), in eval mode.

    Raises
    ------
    SpecError
        Missing file, not a safetensors file, or tensors that do not match the DCGAN architecture
        declared in its metadata — with what was expected.
    """
    tensors, config, meta = read_checkpoint(path, "train one with `python -m training.train_gan` "
                                                  "(about an hour on a CPU)")
    name = Path(path).name
    try:
        cfg = GanConfig(**config)
        G, D = Generator(cfg), Discriminator(cfg)
    except (TypeError, ValueError, RuntimeError) as e:
        raise SpecError(f"{name}: its metadata does not describe a DCGAN ({e})") from None
    fill(G, "G", tensors, name)
    fill(D, "D", tensors, name)
    G.eval().requires_grad_(False).to(device)
    D.eval().requires_grad_(False).to(device)
    return Gan(G, D, cfg, meta)
