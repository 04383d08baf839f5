"""Super-resolution: y = S_f (h ∗ x) + n, an antialiasing filter h followed by subsampling by f."""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F

from arena.degradations import convolution as conv
from arena.degradations.base import DEGRADATIONS, Degradation, Shape, noise_param
from arena.params import Param, Value


@DEGRADATIONS.register
class SuperResolution(Degradation):
    """Bicubic downsampling by ``factor`` (the kernel of Matlab's ``imresize``, used by the SR tables).

    Low-resolution pixel j averages the high-resolution pixels around ``j·f + (f − 1)/2`` with Keys'
    cubic kernel stretched by f (4f taps), periodically at the borders, so that bicubic
    interpolation (``initial``) is aligned with A. The image is cropped to a multiple of f.
    """

    name = "sr"
    order = 30
    label = "Super-resolution"
    linear = True
    params = (
        Param("factor", 4, "downsampling factor", choices=(2, 4, 8)),
        noise_param(0.0),
    )

    @classmethod
    def target_shape(cls, shape: Shape, values: Mapping[str, Value]) -> tuple[Shape, str | None]:
        f = int(values["factor"])
        c, h, w = shape
        nh, nw = h - h % f, w - w % f
        if (nh, nw) == (h, w):
            return shape, None
        return (c, nh, nw), "crop"

    @classmethod
    def clean_shape(cls, y_shape: Shape, values: Mapping[str, Value]) -> Shape:
        f = int(values["factor"])
        return (y_shape[0], y_shape[1] * f, y_shape[2] * f)

    def setup(self) -> None:
        f = int(self.values["factor"])
        c, h, w = self.shape
        if h % f or w % f or h // f < 2 or w // f < 2:
            raise self.fail(f"image {w}×{h} must be a multiple of factor {f} and at least {2 * f} pixels")
        centre = (f - 1) / 2
        o = torch.arange(-2 * f + 1, 2 * f + 1) + (f - 1) // 2  # offsets o with |o − centre| < 2f
        taps1 = conv.keys_cubic((o - centre).double() / f)
        taps1 = taps1 / taps1.sum()
        # y[j] = Σ_o w[o] x[j·f + o] is a correlation: the convolution filter has offsets −o.
        self._otf = conv.otf(taps1[:, None] * taps1[None, :], (-o, -o), (h, w)).to(self.device)
        self.factor = f

    def A(self, x: torch.Tensor) -> torch.Tensor:
        f = self.factor
        return conv.apply(x, self._otf)[..., ::f, ::f]

    def A_adjoint(self, y: torch.Tensor) -> torch.Tensor:
        f = self.factor
        up = torch.zeros((*y.shape[:-2], y.shape[-2] * f, y.shape[-1] * f), dtype=y.dtype, device=y.device)
        up[..., ::f, ::f] = y
        return conv.apply_adjoint(up, self._otf)

    def equivalent_sigma(self) -> float:
        """1.7/255 per octave of downsampling beyond ×1 halved (×2: 0.85/255, ×4: 1.7/255,
        ×8: 2.6/255): bicubic initialisation already fills the grid smoothly, so the prior only has
        to restore edges, and a small weight suits it."""
        return 0.0033 * math.log2(self.factor)

    def initial(self, y: torch.Tensor) -> torch.Tensor:
        """Bicubic interpolation (the naive inverse of every SR paper)."""
        return F.interpolate(y, scale_factor=self.factor, mode="bicubic", align_corners=False).clamp(0.0, 1.0)
