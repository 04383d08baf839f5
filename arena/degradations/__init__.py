"""Degradation families, one module each; importing this package registers them all."""

from arena.degradations import blur, color, fourier, masks, noise, nonlinear, quantize, resolution, sensing
from arena.degradations.base import DEGRADATIONS, Degradation

__all__ = ["DEGRADATIONS", "Degradation", "blur", "color", "fourier", "masks", "noise", "nonlinear",
           "quantize", "resolution", "sensing"]
