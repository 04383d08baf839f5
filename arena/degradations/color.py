"""Colorization: y = w · x, the luma of an RGB image (ITU-R BT.601 weights)."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from arena.degradations.base import DEGRADATIONS, Degradation, Shape, noise_param
from arena.params import Value

BT601 = (0.299, 0.587, 0.114)

# Why some methods' defaults do not beat the naive inverse (the gray image in every channel) here:
# their ``Method.limits`` share these reasons, shown to users as the result's caveat.
PER_CHANNEL_LIMIT = "a per-channel smoothness prior carries no colour: its default keeps the gray image (a tie)"
GREEN_CHANNEL_LIMIT = ("colorize has σ_eff = 0, so λ ≈ 0 and the minimiser of per-channel TV under the gray "
                       "constraint moves the structure into the green channel (Σ TV is smallest there, −6 dB); "
                       "Gauss–Newton reaches it, gradient descent never leaves the gray start")


@DEGRADATIONS.register
class Colorize(Degradation):
    """RGB → gray: y = 0.299 R + 0.587 G + 0.114 B (+ noise). Needs an RGB image."""

    name = "colorize"
    order = 50
    label = "Colorization"
    linear = True
    params = (noise_param(0.0),)

    @classmethod
    def clean_shape(cls, y_shape: Shape, values: Mapping[str, Value]) -> Shape:
        return (3, y_shape[1], y_shape[2])

    def setup(self) -> None:
        if self.shape[0] != 3:
            raise self.fail("colorization needs an RGB image; this one is gray")
        self.weights = torch.tensor(BT601, device=self.device).view(1, 3, 1, 1)

    def A(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.weights).sum(dim=1, keepdim=True)

    def A_adjoint(self, y: torch.Tensor) -> torch.Tensor:
        return y * self.weights

    def initial(self, y: torch.Tensor) -> torch.Tensor:
        """The gray image in all three channels (Aᵀy would darken it)."""
        return y.expand(-1, 3, -1, -1).clone()

    def consistent(self, u: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Colourisation's correction: y − w·u added to every channel. As w sums to one the result's
        luma is y exactly and its chroma (B − Y, R − Y) is u's: the observed grey levels with u's
        colours, as colourisation methods combine them (the orthogonal projection would shift the
        colours too, mostly the green channel)."""
        return u + (y - self.A(u))

    def lipschitz(self) -> float:
        return float((self.weights**2).sum()) * 1.0001
