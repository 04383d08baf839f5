"""Restoration Arena core: inverse problems y = A(x) + n, their solvers, and the runner.

The core never imports gradio; ``app.py`` is a thin layer over it.
"""

from __future__ import annotations

import importlib.util
import sys
from importlib.machinery import ModuleSpec
from pathlib import Path

__version__ = "0.1.0"

# The design card keeps methods/, assets/ and weights/ at the top of the repository; an installed
# wheel has them inside this package (pyproject.toml maps them). A checkout — run without being
# installed (a Hugging Face Space), installed editable, or a worktree beside another editable
# install — maps exactly these three names to its own folders, as pyproject.toml does. Not the
# whole checkout root on ``__path__``: that made ``arena.ui`` or ``arena.training`` importable,
# so one file could load as two modules.
CHECKOUT_PACKAGES = ("methods", "assets", "weights")


class _CheckoutFolders:
    """Finds ``arena.methods``, ``arena.assets`` and ``arena.weights`` in the checkout's top-level folders."""

    def __init__(self, root: Path) -> None:
        self.folders = {f"{__name__}.{name}": root / name for name in CHECKOUT_PACKAGES}

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> ModuleSpec | None:
        folder = self.folders.get(fullname)
        if folder is None:
            return None
        return importlib.util.spec_from_file_location(fullname, folder / "__init__.py",
                                                      submodule_search_locations=[str(folder)])


_checkout = Path(__file__).resolve().parent.parent
if not (Path(__file__).parent / "methods").is_dir() and (_checkout / "methods" / "__init__.py").is_file():
    # First, so that this checkout's folders win over another checkout's editable-install finder.
    sys.meta_path.insert(0, _CheckoutFolders(_checkout))
