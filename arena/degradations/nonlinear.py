"""A non-linear camera: exposure, a saturating tone curve and clipping, y = min(1, e·c(x)) + n."""

from __future__ import annotations

import math

import torch

from arena.degradations.base import DEGRADATIONS, Degradation, noise_param
from arena.params import Param


@DEGRADATIONS.register
class Camera(Degradation):
    """Over-exposed camera response

    .. math:: A(x) = \\min\\bigl(1,\\; e \\cdot \\tfrac{1 - \\exp(-g x)}{1 - \\exp(-g)}\\bigr)

    with exposure e and curve strength g: a film-like concave tone curve that compresses the
    highlights, then sensor saturation. Where e·c(x) ≥ 1 the image is clipped and the gradient of A
    is zero: those pixels cannot be recovered from the data, only by a prior. A is known and
    differentiable almost everywhere, so every method that uses autograd through A can run on it.
    """

    name = "camera"
    label = "Camera response (non-linear)"
    linear = False
    params = (
        Param("exposure", 1.15, "exposure multiplier e (above 1 saturates highlights)", min=0.25, max=8.0),
        Param("curve", 2.0, "tone-curve strength g (larger compresses more)", min=0.1, max=10.0),
        noise_param(2.0),
    )

    def setup(self) -> None:
        self.e = float(self.values["exposure"])
        self.g = float(self.values["curve"])
        self.norm = 1.0 - math.exp(-self.g)

    def A(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(self.e * (1.0 - torch.exp(-self.g * x)) / self.norm, max=1.0)

    def initial(self, y: torch.Tensor) -> torch.Tensor:
        """Invert the tone curve on the clipped observation (saturated pixels map to the clip level)."""
        c = (y.clamp(0.0, 1.0) / self.e * self.norm).clamp(max=1.0 - 1e-6)
        return (-torch.log1p(-c) / self.g).clamp(0.0, 1.0)

    def lipschitz(self) -> float:
        # sup |A'| = e·g / (1 − exp(−g)) at x = 0.
        return (self.e * self.g / self.norm) ** 2
