"""A small SRResNet (Ledig et al., CVPR 2017) for ×4 super-resolution: the `srresnet` and `srgan` methods.

y (low resolution) → conv 9×9 → B residual blocks (conv 3×3, PReLU, conv 3×3, added) → conv 3×3
added to the head's features → two ×2 pixel-shuffle up-samplings (conv, PixelShuffle, PReLU) →
conv 9×9, plus the bicubic up-sampling of y as a global residual, so the network learns only the
missing detail. The paper's net has 64 channels and 16 blocks with batch norm; ours has 32
channels, 6 blocks and no batch norm (EDSR's finding that BN hurts SR), for a CPU.

Both shipped networks have this architecture; one was trained with the MSE (SRResNet), the other
started from it and was trained with a VGG-feature content loss plus an adversarial loss (SRGAN).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from arena.errors import SpecError
from arena.nets.checkpoint import fill, read_checkpoint, save_checkpoint
from arena.resources import WEIGHTS

DEFAULT_SRRESNET = WEIGHTS / "srresnet_x4.safetensors"
DEFAULT_SRGAN = WEIGHTS / "srgan_x4.safetensors"


class _Residual(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.PReLU(width),
                                  nn.Conv2d(width, width, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SRResNet(nn.Module):
    """x̂ = bicubic↑(y) + f_θ(y) at ×``factor`` (a power of 2), RGB."""

    def __init__(self, width: int = 32, blocks: int = 6, factor: int = 4) -> None:
        super().__init__()
        self.width, self.blocks, self.factor = width, blocks, factor
        self.head = nn.Sequential(nn.Conv2d(3, width, 9, padding=4), nn.PReLU(width))
        self.body = nn.Sequential(*(_Residual(width) for _ in range(blocks)), nn.Conv2d(width, width, 3, padding=1))
        ups: list[nn.Module] = []
        for _ in range(factor.bit_length() - 1):
            ups += [nn.Conv2d(width, 4 * width, 3, padding=1), nn.PixelShuffle(2), nn.PReLU(width)]
        self.up = nn.Sequential(*ups)
        self.tail = nn.Conv2d(width, 3, 9, padding=4)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """``y`` (N, C ∈ {1, 3}, h, w) on [0, 1] → (N, C, factor·h, factor·w); grey as three equal channels."""
        grey = y.shape[1] == 1
        if grey:
            y = y.expand(-1, 3, -1, -1)
        h = self.head(y)
        base = F.interpolate(y, scale_factor=self.factor, mode="bicubic", align_corners=False)
        out = base + self.tail(self.up(h + self.body(h)))
        return out.mean(1, keepdim=True) if grey else out


def save_srresnet(path: Path, net: SRResNet, meta: dict[str, str]) -> None:
    """Write the network with its width, blocks and factor."""
    save_checkpoint(path, {"sr": net}, {"width": net.width, "blocks": net.blocks, "factor": net.factor}, meta)


def load_srresnet(path: Path | str, device: torch.device | str = "cpu") -> tuple[SRResNet, dict[str, str]]:
    """A trained network in eval mode and its metadata (:class:`SpecError` on a bad file)."""
    tensors, config, meta = read_checkpoint(path, "train it with `python -m training.train_sr`")
    name = Path(path).name
    try:
        net = SRResNet(int(config["width"]), int(config["blocks"]), int(config["factor"]))
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise SpecError(f"{name}: its metadata does not describe an SRResNet ({e})") from None
    fill(net, "sr", tensors, name)
    return net.eval().requires_grad_(False).to(device), meta


@lru_cache(maxsize=4)
def load_srresnet_cached(path: str, device: str) -> tuple[SRResNet, dict[str, str]]:
    """:func:`load_srresnet`, loaded once per file and device."""
    return load_srresnet(path, device)
