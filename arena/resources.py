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
