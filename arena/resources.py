"""Where the shipped data lives: the bundled images and presets, and the trained checkpoints.

In a source checkout they are the top-level ``assets/`` and ``weights/`` folders; installed (a wheel,
``pip install .``) they are the data packages ``arena.assets`` and ``arena.weights`` (pyproject.toml
maps the folders there), so a sweep's cluster worker finds them like any user's install.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

ASSETS = Path(str(files("arena.assets")))
WEIGHTS = Path(str(files("arena.weights")))


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes, or ``missing``; computed once per size and modification time."""
    try:
        st = path.stat()
    except OSError:
        return "missing"
    return _digest(str(path), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=64)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


SHA256SUMS = "SHA256SUMS"
"""The list of the shipped weight files' hashes in ``weights/`` (``sha256sum`` format), checked by
``arena weights --check``; regenerate it after retraining: ``cd weights && sha256sum *.safetensors > SHA256SUMS``."""


def recorded_hashes() -> dict[str, str]:
    """``{file name: sha256}`` as recorded in ``weights/SHA256SUMS`` (empty if the list is missing)."""
    try:
        lines = (WEIGHTS / SHA256SUMS).read_text().splitlines()
    except OSError:
        return {}
    out = {}
    for line in lines:
        digest, _, name = line.strip().partition("  ")
        if digest and name:
            out[name.lstrip("*")] = digest
    return out

