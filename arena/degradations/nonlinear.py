"""A non-linear camera: exposure, a saturating tone curve and clipping, y = clip(min(1, e·c(x)) + n, 0, 1)."""

from __future__ import annotations

import math

import torch

from arena.degradations.base import DEGRADATIONS, Degradation, noise_param
from arena.params import Param

# Why some methods' defaults do not beat the naive inverse (the inverted tone curve) here: with the
# default noise of 2 grey levels there is little to remove. Shared by their ``Method.limits``.
SMALL_GAIN_LIMIT = "noise 2 through a saturating curve: gains stay below 0.1 dB on a 48² image"
TIE_LIMIT = "noise 2 through a saturating curve: the TV minimiser is within 0.1 dB of the inverse curve (as for tv)"


@DEGRADATIONS.register
class Camera(Degradation):
    """Over-exposed camera response

    .. math:: A(x) = \\min\\bigl(1,\\; e \\cdot \\tfrac{1 - \\exp(-g x)}{1 - \\exp(-g)}\\bigr)

    with exposure e and curve strength g: a film-like concave tone curve that compresses the
    highlights, then sensor saturation. Where e·c(x) ≥ 1 the image is clipped and the gradient of A
    is zero: those pixels cannot be recovered from the data, only by a prior. A is known and
    differentiable almost everywhere, so every method that uses autograd through A can run on it.

    The recorded value saturates too: y = clip(A(x) + n, 0, 1), as a camera's file holds values
    in [0, 1] whatever the noise. (Without it a saturated pixel could read above 1; then ½(A(x) −
    y)² has a convex kink at the clipping point, its gradient jumps, and no step size makes
    gradient descent monotone — see :meth:`lipschitz`.)
    """

    name = "camera"
    order = 100
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

    def observe(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """y = clip(A(x) + n, 0, 1): the noisy reading saturates like the sensor."""
        return super().observe(x, generator).clamp(0.0, 1.0)

    def lipschitz(self) -> float:
        """An upper bound of the Lipschitz constant of ∇½‖A(x) − y‖² over the data range
        x ∈ [0, 1], y ∈ [0, 1].

        Per pixel f(x) = ½(A(x) − y)² has, where the curve is not clipped,

            f''(x) = A'(x)² + (A(x) − y) A''(x),  A'(x) = e·g·exp(−gx)/(1 − exp(−g)),  A'' = −g A',

        the squared slope plus a curvature term that is largest where A(x) is far below y. Both
        decrease with x, so the supremum is at x = 0, y = 1: L = A'(0)² + g·A'(0) (with the
        defaults e = 1.15, g = 2: 7.07 + 5.32 = 12.39; the squared slope alone is not a bound).
        Where e·c(x) > 1, f'' = 0. At the clipping point f' jumps from (1 − y)·A' ≥ 0 down to 0 (y
        ≤ 1 since the reading saturates): a concave kink, under which the descent lemma still
        holds with this L — gradient descent with τ ≤ 2/L never raises the objective.
        """
        slope = self.e * self.g / self.norm  # A'(0)
        return slope**2 + self.g * slope
