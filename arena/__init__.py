"""Restoration Arena core: inverse problems y = A(x) + n, their solvers, and the runner.

The core never imports gradio; ``app.py`` is a thin layer over it.
"""

__version__ = "0.1.0"
