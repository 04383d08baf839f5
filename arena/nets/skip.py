"""The "skip" encoder–decoder of Deep Image Prior (Ulyanov, Vedaldi & Lempitsky, CVPR 2018).

Follows ``models/skip.py`` of the authors' code: at every scale a strided 3×3 conv going down, a
3×3 conv, the deeper scales, bilinear ×2 upsampling, concatenation with a 1×1 "skip" branch, batch
norm, a 3×3 and a 1×1 conv going up; reflection padding, LeakyReLU(0.2), a sigmoid at the output.
The paper's denoising/inpainting net is ``SkipConfig.paper()`` (128 channels × 5 scales, skip 4).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from arena.params import Param


@dataclass(frozen=True)
class SkipConfig:
    """Channels per scale (coarsest last), skip channels, input/output depth."""

    down: tuple[int, ...] = (128, 128, 128, 128, 128)
    up: tuple[int, ...] = (128, 128, 128, 128, 128)
    skip: tuple[int, ...] = (4, 4, 4, 4, 4)
    input_depth: int = 32
    output_depth: int = 3
    copies: int = 1
    """Independent networks evaluated in one call (grouped convolutions), e.g. one per seed."""

    @classmethod
    def paper(cls, input_depth: int = 32, output_depth: int = 3, copies: int = 1) -> SkipConfig:
        return cls(input_depth=input_depth, output_depth=output_depth, copies=copies)

    @classmethod
    def light(cls, input_depth: int = 32, output_depth: int = 3, copies: int = 1) -> SkipConfig:
        """A CPU-sized net: 4 scales of 32 channels (about 50× fewer multiply-adds per pixel)."""
        return cls((32,) * 4, (32,) * 4, (4,) * 4, input_depth, output_depth, copies)

    @property
    def multiple(self) -> int:
        """Input sides are padded to a multiple of this (2^scales)."""
        return 2 ** len(self.down)


def _conv(cin: int, cout: int, k: int, stride: int = 1, g: int = 1) -> nn.Sequential:
    pad = (k - 1) // 2
    layers: list[nn.Module] = [nn.ReflectionPad2d(pad)] if pad else []
    layers.append(nn.Conv2d(cin * g, cout * g, k, stride=stride, groups=g))
    return nn.Sequential(*layers)


def _bn_act(c: int, g: int = 1) -> list[nn.Module]:
    # Batch norm is per channel, so g stacked copies stay independent.
    return [nn.BatchNorm2d(c * g), nn.LeakyReLU(0.2, inplace=True)]


def _group_cat(a: torch.Tensor, b: torch.Tensor, g: int) -> torch.Tensor:
    """Concatenate channels copy by copy, so that copy i sees only its own skip and deep features."""
    n, h, w = a.shape[0], a.shape[-2], a.shape[-1]
    return torch.cat([a.reshape(n, g, -1, h, w), b.reshape(n, g, -1, h, w)], dim=2).reshape(n, -1, h, w)


class _Level(nn.Module):
    """One scale: concat(skip(x), up(deeper(down(x)))) → BN → 3×3 conv → 1×1 conv."""

    def __init__(self, cin: int, cfg: SkipConfig, i: int) -> None:
        super().__init__()
        d, u, s, g = cfg.down[i], cfg.up[i], cfg.skip[i], cfg.copies
        self.g = g
        self.skip = nn.Sequential(_conv(cin, s, 1, g=g), *_bn_act(s, g)) if s else None
        self.down = nn.Sequential(_conv(cin, d, 3, 2, g), *_bn_act(d, g), _conv(d, d, 3, g=g), *_bn_act(d, g))
        self.deeper = _Level(d, cfg, i + 1) if i + 1 < len(cfg.down) else None
        k = cfg.up[i + 1] if self.deeper is not None else d
        self.merge = nn.Sequential(nn.BatchNorm2d((s + k) * g), _conv(s + k, u, 3, g=g), *_bn_act(u, g),
                                   _conv(u, u, 1, g=g), *_bn_act(u, g))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.down(x)
        if self.deeper is not None:
            y = self.deeper(y)
        y = F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)
        if self.skip is not None:
            y = _group_cat(self.skip(x), y, self.g)
        return self.merge(y)


class SkipNet(nn.Module):
    """f_θ(z): the DIP generator. Any input size: padded (reflect) to a multiple of 2^scales, cropped back.

    With ``copies = K`` it holds K independent nets: z has K·input_depth channels (copy i reads
    block i) and the output K·output_depth channels."""

    def __init__(self, cfg: SkipConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.body = _Level(cfg.input_depth, cfg, 0)
        self.head = nn.Conv2d(cfg.up[0] * cfg.copies, cfg.output_depth * cfg.copies, 1, groups=cfg.copies)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h, w = z.shape[-2:]
        m = self.cfg.multiple
        # A multiple of 2^scales, and at least 2·2^scales so the coarsest scale is 2×2 pixels.
        ph, pw = max(-(-h // m) * m, 2 * m) - h, max(-(-w // m) * m, 2 * m) - w
        if ph or pw:
            mode = "reflect" if ph < h and pw < w else "replicate"
            z = F.pad(z, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), mode=mode)
        out = torch.sigmoid(self.head(self.body(z)))
        return out[..., ph // 2 : ph // 2 + h, pw // 2 : pw // 2 + w]


def dip_setup(shape: tuple[int, ...], device: torch.device, *, net: str, input_depth: int,
              seed: int, copies: int = 1) -> tuple[SkipNet, torch.Tensor, torch.Generator]:
    """The DIP starting point shared by DIP and DeepRED: a freshly initialised skip net (seeded; with
    ``copies`` independent nets in one), its fixed input z ~ U[0, 0.1] (``input_depth`` channels per
    copy), and the generator for the input noise."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # weight initialisation draws from the global generator
    cfg = (SkipConfig.paper if net == "paper" else SkipConfig.light)(input_depth, shape[1], copies)
    # channels-last is 1.3× faster per iteration on the CPU here (benchmarks/bench_skipnet.py).
    f = SkipNet(cfg).to(device, memory_format=torch.channels_last)
    z = (torch.rand((1, input_depth * copies, *shape[-2:]), generator=g) * 0.1).to(device)
    return f, z.contiguous(memory_format=torch.channels_last), g


def dip_net_params() -> tuple[Param, ...]:
    """The parameters DIP and DeepRED share for the network and its averaged output."""
    return (
        Param("ema", 0.99, "weight of the exponential average of the outputs (0 = raw output)", min=0.0, max=0.999),
        Param("net", "paper", "network size: the paper's or a light CPU one", choices=("paper", "light")),
        Param("input_depth", 32, "channels of the random input z", min=1, max=64),
    )
