"""Shared fixtures: devices to test on, and small crops of the bundled images."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from arena.images import load_image

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets" / "images"
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request: pytest.FixtureRequest) -> torch.device:
    return torch.device(request.param)


def bundled(name: str, side: int, *, mode: str = "auto") -> torch.Tensor:
    """A bundled image downscaled to ``side``² (1, C, side, side)."""
    return load_image(ASSETS / f"{name}.png", max_side=side, mode=mode).x


@pytest.fixture
def rgb32() -> torch.Tensor:
    return bundled("astronaut", 32)


@pytest.fixture
def gray64() -> torch.Tensor:
    return bundled("camera", 64)
