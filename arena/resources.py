"""Where the shipped data lives: the bundled images and presets, and the trained checkpoints.

In a source checkout they are the top-level ``assets/`` and ``weights/`` folders; installed (a wheel,
``pip install .``) they are the data packages ``arena.assets`` and ``arena.weights`` (pyproject.toml
maps the folders there), so a sweep's cluster worker finds them like any user's install.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

ASSETS = Path(str(files("arena.assets")))
WEIGHTS = Path(str(files("arena.weights")))
