"""Inpainting: y = M ⊙ x + n, with M a binary mask (1 = pixel observed, 0 = missing)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from arena.degradations.base import DEGRADATIONS, Degradation, noise_param
from arena.errors import SpecError
from arena.params import Param

TEXT = "Restoration Arena lets you see image restoration. "


@DEGRADATIONS.register
class Inpaint(Degradation):
    """Missing pixels. ``mask=random`` drops a ``ratio`` of pixels at random (DIP's "pixel
    restoration"), ``box`` a centred square of side ``box``·min(H, W) (Yeh et al.'s hole), ``text``
    an overlay of text lines (DIP's text inpainting), ``file`` a mask image at ``path`` where white
    (painted) pixels are the missing ones. The mask is shared by all colour channels.
    """

    name = "inpaint"
    order = 40
    label = "Inpainting"
    linear = True
    params = (
        Param("mask", "random", "which pixels are missing", choices=("random", "box", "text", "file")),
        Param("ratio", 0.5, "fraction of pixels missing (random mask)", min=0.0, max=0.99,
              applies=("mask", ("random",))),
        Param("box", 0.5, "side of the centred hole as a fraction of the shorter side (box mask)", min=0.05, max=0.95,
              applies=("mask", ("box",))),
        Param("path", "", "mask image; white = missing (file mask)", server_path=True, applies=("mask", ("file",))),
        noise_param(0.0),
    )

    def setup(self) -> None:
        _, h, w = self.shape
        kind = self.values["mask"]
        if kind == "random":
            keep = torch.rand((h, w), generator=self.generator(1)) >= float(self.values["ratio"])
        elif kind == "box":
            side = max(1, round(float(self.values["box"]) * min(h, w)))
            keep = torch.ones(h, w, dtype=torch.bool)
            top, left = (h - side) // 2, (w - side) // 2
            keep[top : top + side, left : left + side] = False
        elif kind == "text":
            keep = torch.from_numpy(~_text_mask(h, w))
        else:
            keep = torch.from_numpy(~_file_mask(str(self.values["path"]), h, w))
        if not bool(keep.any()):
            raise self.fail("the mask removes every pixel: nothing is left to restore from")
        self.mask = keep.float()[None, None].to(self.device)

    def A(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.mask

    def A_adjoint(self, y: torch.Tensor) -> torch.Tensor:
        return y * self.mask

    def observe(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        # Missing pixels carry no measurement, hence no noise either.
        return super().observe(x, generator) * self.mask

    def measurement_mask(self) -> torch.Tensor:
        return self.mask

    def project(self, u: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Keep u where pixels are missing, put y back where they are observed."""
        return u * (1 - self.mask) + y * self.mask

    def equivalent_sigma(self) -> float:
        """0.075 × the missing fraction (0.0375 ≈ 9.6/255 for half the pixels): a missing pixel is
        filled by the prior alone."""
        return 0.075 * float(1.0 - self.mask.mean())

    def lipschitz(self) -> float:
        return 1.0


def _text_mask(h: int, w: int) -> np.ndarray:
    """True where rendered text covers the image (lines of DejaVu Sans Bold, as in DIP's demo)."""
    size = max(8, h // 10)
    font = _font(size)
    img = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(img)
    text = TEXT * (1 + 8 * w // max(1, size * len(TEXT)) + 2)
    for i, top in enumerate(range(size // 3, h, int(size * 1.6))):
        draw.text((-(i * size) % (3 * size) - size, top), text, fill=255, font=font)
    return np.asarray(img) > 127


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        import matplotlib

        path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans-Bold.ttf"
        return ImageFont.truetype(str(path), size)
    except (ImportError, OSError):
        return ImageFont.load_default(size)


def _file_mask(path: str, h: int, w: int) -> np.ndarray:
    """True where the mask image is bright; resized (nearest) to the image if sizes differ."""
    if not path:
        raise SpecError("inpaint: mask=file needs path=MASK.png (white = missing pixels)")
    from arena.images import load_image

    m = load_image(path, mode="gray").x
    if m.shape[-2:] != (h, w):
        m = torch.nn.functional.interpolate(m, size=(h, w), mode="nearest")
    return (m[0, 0] > 0.5).numpy()
