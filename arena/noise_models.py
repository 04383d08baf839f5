"""Noise models n in y = A(x) + n, each its own seeded object (deepinv's separation).

Randomness is drawn on the CPU from a seeded ``torch.Generator`` and then moved, so the same
seed gives the same observation on every device.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch


class NoiseModel(ABC):
    """Corrupts a clean measurement ``z = A(x)``."""

    @abstractmethod
    def sample(self, z: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Return a noisy copy of ``z``."""

    @abstractmethod
    def rms(self, z: torch.Tensor) -> float:
        """Expected root-mean-square of the noise on ``z`` (0–1 scale)."""

    @abstractmethod
    def describe(self) -> str:
        """A short phrase such as ``"Gaussian σ=25/255"``."""


class NoNoise(NoiseModel):
    """Noiseless measurements."""

    def sample(self, z: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return z.clone()

    def rms(self, z: torch.Tensor) -> float:
        return 0.0

    def describe(self) -> str:
        return "no noise"


class GaussianNoise(NoiseModel):
    """Additive white Gaussian noise, n ~ N(0, σ²).

    Parameters
    ----------
    sigma255 : float
        Standard deviation on the 0–255 scale, as the DIP and DeepRED papers state it.
    """

    def __init__(self, sigma255: float) -> None:
        self.sigma255 = float(sigma255)
        self.sigma = self.sigma255 / 255.0

    def sample(self, z: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if self.sigma == 0.0:
            return z.clone()
        n = torch.randn(z.shape, generator=generator, dtype=torch.float32)
        return z + self.sigma * n.to(device=z.device, dtype=z.dtype)

    def rms(self, z: torch.Tensor) -> float:
        return self.sigma

    def describe(self) -> str:
        return f"Gaussian σ={self.sigma255:g}/255"


class PoissonNoise(NoiseModel):
    """Shot noise: y = Poisson(peak · z) / peak, so a pixel of value 1 counts ``peak`` photons on average."""

    def __init__(self, peak: float) -> None:
        self.peak = float(peak)

    def sample(self, z: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        rate = (z.detach().float().cpu().clamp(min=0.0) * self.peak)
        counts = torch.poisson(rate, generator=generator)
        return (counts / self.peak).to(device=z.device, dtype=z.dtype)

    def rms(self, z: torch.Tensor) -> float:
        return float(torch.sqrt(z.clamp(min=0.0).mean() / self.peak))

    def describe(self) -> str:
        return f"Poisson peak={self.peak:g}"


def gaussian(sigma255: float) -> NoiseModel:
    """Gaussian noise, or no noise at all for σ = 0."""
    return GaussianNoise(sigma255) if sigma255 > 0 else NoNoise()


def estimate_sigma(y: torch.Tensor) -> float:
    """Gaussian noise σ (0–1 scale) of an observed image, by scikit-image's wavelet estimator
    (median absolute deviation of the finest diagonal wavelet coefficients; Donoho & Johnstone,
    "Ideal spatial adaptation by wavelet shrinkage", Biometrika 1994), averaged over channels."""
    from skimage.restoration import estimate_sigma as wavelet_sigma

    arr = y.detach().float().cpu()[0].numpy().transpose(1, 2, 0)
    return float(wavelet_sigma(arr, channel_axis=-1, average_sigmas=True))
