"""Degradation families, one module each, discovered like methods: importing this package imports
every module in it (each registers its classes) and lists them by their ``order``. Adding a
degradation is one new file here (plus its test).
"""

import importlib
import pkgutil

from arena.degradations.base import DEGRADATIONS, Degradation

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not _info.name.startswith("_") and _info.name != "base":
        importlib.import_module(f"{__name__}.{_info.name}")
DEGRADATIONS.sort(key=lambda cls: (cls.order, cls.name))

__all__ = ["DEGRADATIONS", "Degradation"]
