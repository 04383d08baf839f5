"""A small DRUNet: the non-blind denoiser D(x; σ) that plug-and-play needs.

Zhang, Li, Zuo, Zhang, Van Gool & Timofte, "Plug-and-Play Image Restoration with Deep Denoiser
Prior" (DPIR), IEEE TPAMI 2021: a U-Net whose levels are residual blocks without batch norm or
biases, strided 2×2 convolutions down, transposed 2×2 convolutions up, skips added; the noise
level enters as a constant extra input channel σ, so one network denoises every σ and a
plug-and-play schedule can lower σ step by step. Ours is the same shape, narrower
(``widths``) and with fewer blocks, so that it trains on a CPU.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import pairwise
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from arena.errors import SpecError
from arena.nets.checkpoint import fill, read_checkpoint, save_checkpoint
from arena.resources import WEIGHTS

DEFAULT_DRUNET = WEIGHTS / "drunet.safetensors"


class ResBlock(nn.Module):
    """x + conv(ReLU(conv(x))), no normalisation, no bias (DRUNet's block)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, padding=1, bias=False), nn.ReLU(True),
                                  nn.Conv2d(width, width, 3, padding=1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class DRUNet(nn.Module):
    """D(x; σ) for RGB ``(N, 3, H, W)`` images; grey images are denoised as three equal channels
    at level σ√3. Noise that is equal in the three channels is all luminance, with std σ; a colour
    denoiser at level s expects luminance noise s/√3 (the rest is chroma), so s = σ√3 matches what
    it sees. At level σ it under-smooths grey photos badly.

    Parameters
    ----------
    widths : channels at each of the U-Net's levels, finest first (the original: 64–512).
    blocks : residual blocks per level (the original: 4).
    """

    channels = 3

    def __init__(self, widths: tuple[int, ...] = (32, 64, 128, 256), blocks: int = 2) -> None:
        super().__init__()
        widths = tuple(int(w) for w in widths)
        self.widths, self.blocks = widths, int(blocks)
        self.head = nn.Conv2d(self.channels + 1, widths[0], 3, padding=1, bias=False)
        self.down = nn.ModuleList(
            nn.Sequential(*(ResBlock(w) for _ in range(blocks)), nn.Conv2d(w, w_next, 2, stride=2, bias=False))
            for w, w_next in pairwise(widths))
        self.body = nn.Sequential(*(ResBlock(widths[-1]) for _ in range(blocks)))
        self.up = nn.ModuleList(
            nn.Sequential(nn.ConvTranspose2d(w_next, w, 2, stride=2, bias=False), *(ResBlock(w) for _ in range(blocks)))
            for w, w_next in pairwise(widths))
        self.tail = nn.Conv2d(widths[0], self.channels, 3, padding=1, bias=False)

    @property
    def multiple(self) -> int:
        """Height and width must be multiples of this (the input is padded to one)."""
        return 2 ** (len(self.widths) - 1)

    def forward(self, x: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
        """Denoise ``x`` (N, C ∈ {1, 3}, H, W) for noise std ``sigma`` (0–1 scale; a float or
        one value per image)."""
        grey = x.shape[1] == 1
        if grey:
            x = x.expand(-1, 3, -1, -1)
        h, w = x.shape[-2:]
        m = self.multiple
        ph, pw = (-h) % m, (-w) % m
        xp = F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x
        s = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1, 1, 1, 1) * (3**0.5 if grey else 1.0)
        feats = [self.head(torch.cat([xp, s.expand(xp.shape[0], 1, *xp.shape[-2:])], 1))]
        for down in self.down:
            feats.append(down(feats[-1]))
        z = self.body(feats[-1])
        for up, skip in zip(reversed(self.up), reversed(feats[1:]), strict=True):
            z = up(z + skip)
        # a global residual (x + tail) on top of DRUNet's: the net learns the noise, which trains faster
        out = xp + self.tail(z + feats[0])
        out = out[..., :h, :w]
        return out.mean(1, keepdim=True) if grey else out


def save_drunet(path: Path, net: DRUNet, meta: dict[str, str]) -> None:
    """Write a DRUNet with its widths and blocks."""
    save_checkpoint(path, {"drunet": net}, {"widths": list(net.widths), "blocks": net.blocks}, meta)


def load_drunet(path: Path | str = DEFAULT_DRUNET, device: torch.device | str = "cpu") -> tuple[DRUNet, dict[str, str]]:
    """A trained DRUNet in eval mode and its metadata (:class:`SpecError` on a bad file)."""
    tensors, config, meta = read_checkpoint(path, "train it with `python -m training.train_drunet`")
    name = Path(path).name
    try:
        net = DRUNet(tuple(config["widths"]), int(config["blocks"]))
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise SpecError(f"{name}: its metadata does not describe a DRUNet ({e})") from None
    fill(net, "drunet", tensors, name)
    return net.eval().requires_grad_(False).to(device), meta


@lru_cache(maxsize=2)
def load_drunet_cached(device: str) -> DRUNet:
    """The shipped DRUNet on ``device``, loaded once."""
    return load_drunet(DEFAULT_DRUNET, device)[0]
