"""A small convolutional encoder used as a forward model, and the decoder trained with it.

The encoder φ maps an RGB image to a 4-channel code at half resolution (3HW numbers → HW) through
ReLUs and a sigmoid: a known, differentiable, non-linear degradation that is itself a network
(as in semantic image synthesis, where the forward model is a segmentation net). The decoder was
trained jointly (``python -m training.train_encoder``) and is the degradation's natural inverse.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch
from torch import nn

from arena.nets.checkpoint import fill, read_checkpoint, save_checkpoint
from arena.resources import WEIGHTS

DEFAULT_ENCODER = WEIGHTS / "encoder.safetensors"
HOW_TO_TRAIN = "train it with `python -m training.train_encoder`"


class Encoder(nn.Module):
    """conv 3×3 (3→w) · ReLU · conv 3×3 stride 2 (w→w) · ReLU · conv 3×3 (w→code) · sigmoid."""

    def __init__(self, width: int = 16, code: int = 4) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(width, width, 3, stride=2, padding=1), nn.ReLU(),
                                 nn.Conv2d(width, code, 3, padding=1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Decoder(nn.Module):
    """Bilinear ×2 · conv 3×3 (code→w) · ReLU · conv 3×3 (w→w) · ReLU · conv 3×3 (w→3)."""

    def __init__(self, width: int = 32, code: int = 4) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                                 nn.Conv2d(code, width, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(width, 3, 3, padding=1))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.net(y)


def save_codec(path: Path, encoder: Encoder, decoder: Decoder, meta: dict[str, str]) -> None:
    config = {"encoder_width": encoder.net[0].out_channels, "code": encoder.net[4].out_channels,
              "decoder_width": decoder.net[1].out_channels}
    save_checkpoint(path, {"encoder": encoder, "decoder": decoder}, config, meta)


@functools.lru_cache(maxsize=4)
def load_codec(path: str = str(DEFAULT_ENCODER), device: str = "cpu") -> tuple[Encoder, Decoder, dict[str, str]]:
    """(encoder, decoder, metadata) on ``device`` in eval mode with frozen weights; cached per path
    and device, so problems on different devices never move each other's networks."""
    tensors, config, meta = read_checkpoint(path, HOW_TO_TRAIN)
    code = int(config.get("code", 4))
    encoder = Encoder(int(config.get("encoder_width", 16)), code)
    decoder = Decoder(int(config.get("decoder_width", 32)), code)
    fill(encoder, "encoder", tensors, Path(path).name)
    fill(decoder, "decoder", tensors, Path(path).name)
    for net in (encoder, decoder):
        net.to(device).eval().requires_grad_(False)
    return encoder, decoder, meta
