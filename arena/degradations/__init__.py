"""Degradation families, one module each; importing this package registers them all.

The import order below is the order in which the CLI and the app list them.
"""

# isort: off
from arena.degradations import noise, blur, resolution, masks, color, quantize, jpeg, fourier, sensing
from arena.degradations import nonlinear, network
# isort: on
from arena.degradations.base import DEGRADATIONS, Degradation

__all__ = ["DEGRADATIONS", "Degradation", "blur", "color", "fourier", "jpeg", "masks", "network", "noise",
           "nonlinear", "quantize", "resolution", "sensing"]
