"""Device choice: CUDA when present, CPU otherwise; overridable by argument or ARENA_DEVICE."""

from __future__ import annotations

import os

import torch

from arena.errors import SpecError


def pick_device(preference: str | None = None) -> torch.device:
    """Resolve ``"auto" | "cpu" | "cuda" | "cuda:N"`` (default: ``$ARENA_DEVICE`` or auto).

    Raises
    ------
    SpecError
        If CUDA is asked for on a machine without it.
    """
    pref = (preference or os.environ.get("ARENA_DEVICE") or "auto").strip().lower()
    if pref == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if pref.startswith("cuda"):
        if not torch.cuda.is_available():
            raise SpecError("device 'cuda' was requested but no CUDA GPU is available; use --device cpu")
        return torch.device(pref)
    if pref == "cpu":
        return torch.device("cpu")
    raise SpecError(f"unknown device {preference!r}; use auto, cpu or cuda")
