"""Quantization to k levels: y = round(x·(k − 1)) / (k − 1), a non-linear, flat map."""

from __future__ import annotations

import torch

from arena.degradations.base import DEGRADATIONS, Degradation
from arena.noise_models import NoiseModel, NoNoise
from arena.params import Param

# Why classical priors' defaults do not beat the naive inverse (y itself) here, shared by their
# ``Method.limits`` and shown to users as the result's caveat.
STRAIGHT_THROUGH_LIMIT = ("the quantizer's straight-through data term pulls values to bin edges; "
                          "Yeh et al.'s table shows classical priors losing here even with tuned λ")


class _RoundStraightThrough(torch.autograd.Function):
    """round() forward, identity backward (Bengio et al.'s straight-through estimator)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return torch.round(x)

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return g


def round_straight_through(x: torch.Tensor) -> torch.Tensor:
    """round(x) whose gradient is the identity (quantize and jpeg use it)."""
    return _RoundStraightThrough.apply(x)


@DEGRADATIONS.register
class Quantize(Degradation):
    """Uniform quantization of [0, 1] to ``levels`` values (Yeh et al. use 5).

    Its derivative is zero almost everywhere, so gradient methods cannot move through the exact A.
    With ``straight_through=true`` (the default) A keeps its forward value but back-propagates as
    the identity, so ∇½‖A x − y‖² = A x − y: every gradient-based method here then uses the
    straight-through operator; with ``false`` they see a zero gradient and stay at the start.
    """

    name = "quantize"
    order = 60
    label = "Quantization"
    linear = False
    rounds_only = True
    noise_key = None
    params = (
        Param("levels", 5, "number of grey levels per channel", min=2, max=256),
        Param("straight_through", True, "back-propagate through rounding as the identity"),
    )

    def make_noise(self) -> NoiseModel:
        return NoNoise()

    def A(self, x: torch.Tensor) -> torch.Tensor:
        q = int(self.values["levels"]) - 1
        z = x.clamp(0.0, 1.0) * q
        r = round_straight_through(z) if self.values["straight_through"] else torch.round(z)
        return r / q

    def equivalent_sigma(self) -> float:
        """The standard deviation of uniform rounding error, Δ/√12 with Δ = 1/(levels − 1)."""
        return 1.0 / ((int(self.values["levels"]) - 1) * 12**0.5)

    def initial(self, y: torch.Tensor) -> torch.Tensor:
        return y

    def lipschitz(self) -> float:
        return 1.0
