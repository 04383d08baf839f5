"""Deblurring with a known kernel: y = k ∗ x + n."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from arena.degradations import convolution as conv
from arena.degradations.base import DEGRADATIONS, Degradation, noise_param
from arena.params import Param


@DEGRADATIONS.register
class Blur(Degradation):
    """Convolution with a known point-spread function k, then noise.

    ``boundary="circular"`` convolves periodically through the FFT (exactly diagonal in Fourier,
    so Wiener filtering is exact); ``"valid"`` keeps only the pixels whose whole neighbourhood lies
    inside the image, so y is smaller by ``size − 1`` and no wrap-around is assumed.
    """

    name = "blur"
    order = 20
    label = "Deblurring"
    linear = True
    params = (
        Param("kernel", "gaussian", "point-spread function", choices=("gaussian", "uniform", "motion")),
        Param("sigma", 1.6, "Gaussian kernel standard deviation (pixels)", min=0.1, max=10.0),
        Param("size", 9, "kernel side in pixels (odd)", min=1, max=63),
        Param("angle", 0.0, "motion direction in degrees", min=-180.0, max=180.0),
        Param("boundary", "circular", "circular (FFT) or valid (no wrap-around)", choices=("circular", "valid")),
        noise_param(2.0),
    )

    def setup(self) -> None:
        size = int(self.values["size"])
        if size % 2 == 0:
            raise self.fail(f"size={size} must be odd so the kernel has a centre")
        if size > min(self.shape[1:]):
            raise self.fail(f"size={size} is larger than the image ({self.shape[2]}×{self.shape[1]})")
        kind = self.values["kernel"]
        if kind == "gaussian":
            k = conv.gaussian_kernel(size, float(self.values["sigma"]))
        elif kind == "uniform":
            k = conv.uniform_kernel(size)
        else:
            k = conv.motion_kernel(size, float(self.values["angle"]))
        self.kernel = k.float().to(self.device)
        off = conv.centred_offsets(size)
        self._otf = conv.otf(k, (off, off), self.shape[1:]).to(self.device)
        # conv2d correlates; flipping makes it the convolution the circular mode computes.
        self._weight = self.kernel.flip(0, 1)[None, None]

    @property
    def circular(self) -> bool:
        return self.values["boundary"] == "circular"

    def A(self, x: torch.Tensor) -> torch.Tensor:
        if self.circular:
            return conv.apply(x, self._otf)
        b, c, h, w = x.shape
        return F.conv2d(x.reshape(b * c, 1, h, w), self._weight).reshape(b, c, *self._valid_size(h, w))

    def A_adjoint(self, y: torch.Tensor) -> torch.Tensor:
        if self.circular:
            return conv.apply_adjoint(y, self._otf)
        b, c, h, w = y.shape
        return F.conv_transpose2d(y.reshape(b * c, 1, h, w), self._weight).reshape(b, c, *self.shape[1:])

    def initial(self, y: torch.Tensor) -> torch.Tensor:
        if self.circular:
            return y
        p = int(self.values["size"]) // 2
        return F.pad(y, (p, p, p, p), mode="replicate")

    def otf(self) -> torch.Tensor | None:
        return self._otf if self.circular else None

    def _valid_size(self, h: int, w: int) -> tuple[int, int]:
        s = int(self.values["size"])
        return h - s + 1, w - s + 1

    def lipschitz(self) -> float:
        # ‖k ∗ ·‖ ≤ ‖k‖₁ = 1 for a non-negative kernel of sum 1; max|K̂| is the exact circular norm.
        return float(self._otf.abs().max()) ** 2 * 1.0001
