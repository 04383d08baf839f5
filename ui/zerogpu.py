"""Hugging Face ZeroGPU: on a Space with ZeroGPU hardware a GPU exists only inside a function
decorated with ``spaces.GPU``, for as long as the decorator asked for. The app's compute (the Run's
streaming event and the API's run) is wrapped so, asking for the run's own time budget plus a margin
for setup; anywhere else — no ``spaces`` package, or ``spaces`` without ZeroGPU hardware — the
functions are returned unchanged, and nothing else in the app differs.

``spaces`` must be imported before torch touches CUDA on such a Space: ``app.py`` imports it first.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
SETUP_SECONDS = 30.0
"""Asked for beyond the budget: moving nets to the GPU, the autotune's first timings, the metrics."""


def zero_gpu() -> bool:
    """True on a Space with ZeroGPU hardware (``spaces`` installed and ``SPACES_ZERO_GPU`` set)."""
    try:
        import spaces.config
    except ImportError:
        return False
    return bool(spaces.config.Config.zero_gpu)


def gpu_seconds(budget: float | None, fallback: float) -> int:
    """Seconds of GPU to ask for: the run's budget (``fallback`` when it has none) plus ``SETUP_SECONDS``."""
    return math.ceil((budget or fallback) + SETUP_SECONDS)


def on_zero_gpu(fn: F, duration: Callable[..., int]) -> F:
    """``fn`` inside ``spaces.GPU(duration=duration)`` on ZeroGPU hardware (``duration`` receives
    ``fn``'s arguments), ``fn`` itself anywhere else."""
    if not zero_gpu():
        return fn
    import spaces

    return spaces.GPU(duration=duration)(fn)
