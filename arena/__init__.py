"""Restoration Arena core: inverse problems y = A(x) + n, their solvers, and the runner.

The core never imports gradio; ``app.py`` is a thin layer over it.
"""

from pathlib import Path

__version__ = "0.1.0"

# The design card keeps methods/, assets/ and weights/ at the top of the repository; an installed
# wheel has them inside this package (pyproject.toml maps them). A checkout that is run without
# being installed — a Hugging Face Space — finds them as arena.methods, arena.assets, arena.weights
# through this search path too.
_checkout = Path(__file__).resolve().parent.parent
if not (Path(__file__).parent / "methods").is_dir() and (_checkout / "methods" / "__init__.py").is_file():
    __path__.append(str(_checkout))
