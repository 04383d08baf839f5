"""Denoising: A = I with Gaussian or Poisson noise."""

from __future__ import annotations

import torch

from arena.degradations.base import DEGRADATIONS, Degradation
from arena.noise_models import NoiseModel, PoissonNoise, gaussian
from arena.params import Param


@DEGRADATIONS.register
class Denoise(Degradation):
    """Additive white Gaussian noise: y = x + n, n ~ N(0, σ²)."""

    name = "denoise"
    order = 10
    label = "Gaussian denoising"
    linear = True
    params = (Param("sigma", 25.0, "noise σ on the 0–255 scale (DIP uses 25 and 50)", min=0.0, max=100.0),)
    noise_key = "sigma"

    def make_noise(self) -> NoiseModel:
        return gaussian(float(self.values["sigma"]))

    def A(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def A_adjoint(self, y: torch.Tensor) -> torch.Tensor:
        return y

    def otf(self) -> torch.Tensor:
        h, w = self.shape[1:]
        return torch.ones(h, w // 2 + 1, dtype=torch.complex64, device=self.device)

    def lipschitz(self) -> float:
        return 1.0


@DEGRADATIONS.register
class Poisson(Denoise):
    """Photon-limited imaging: y = Poisson(peak · x) / peak (low peak = few photons = strong noise)."""

    name = "poisson"
    order = 15
    label = "Poisson (shot) noise"
    params = (Param("peak", 30.0, "photons counted for a white pixel (lower is noisier)", min=1.0, max=10000.0,
                    log=True),)
    noise_key = None

    def make_noise(self) -> NoiseModel:
        return PoissonNoise(float(self.values["peak"]))
