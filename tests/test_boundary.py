"""The core never imports gradio (the UI is a thin layer over it)."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.conftest import ROOT

CORE = [*(ROOT / "arena").rglob("*.py"), *(ROOT / "methods").rglob("*.py")]


def test_no_gradio_import_in_the_core_source():
    for path in CORE:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.split(".")[0] == "gradio" for n in names), f"{path} imports gradio"


def test_running_the_cli_does_not_load_gradio():
    code = ("import sys; from arena.cli import main; main(['list']); "
            "from arena.method import load_methods; load_methods(); import arena.experiment; "
            "assert 'gradio' not in sys.modules, 'gradio was imported'")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr


PLUGINS_BY_NAME = ("methods", "arena.methods")
"""Plugins are found by discovery (``load_methods``), never imported by name: that keeps adding one a one-file change."""
ENGINE = ("arena.runner", "arena.workers", "arena.experiment", "arena.cli", "arena.sweep")
OUTSIDE_THE_PACKAGE = ("gradio", "ui", "app", "training", "benchmarks", "tests")
FORBIDDEN = {
    "arena": (*OUTSIDE_THE_PACKAGE, *PLUGINS_BY_NAME),
    # A plugin uses the contracts and the shared algorithms; the engine runs it, not the other way round.
    "methods": (*OUTSIDE_THE_PACKAGE, *PLUGINS_BY_NAME, *ENGINE),
    "ui": ("training", "benchmarks", "tests"),
    "app.py": ("training", "benchmarks", "tests"),
    "training": ("ui", "app", "tests"),
}
"""Which modules each part of the tree may not import (a name forbids it and everything under it)."""


def imported_modules(path) -> set[str]:
    """Every module an ``import`` statement in ``path`` names, at any depth (function-level imports too),
    relative imports resolved, ``from a import b`` counted as ``a`` and ``a.b``."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(filter(None, [*parent, base]))
            found |= {base} | {f"{base}.{a.name}" for a in node.names}
    return found


def _sources(part: str) -> list:
    return [ROOT / part] if part.endswith(".py") else sorted((ROOT / part).rglob("*.py"))


def test_imports_point_one_way():
    broken = []
    for part, forbidden in FORBIDDEN.items():
        for path in _sources(part):
            for name in sorted(imported_modules(path)):
                if any(name == f or name.startswith(f + ".") for f in forbidden):
                    broken.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not broken, "imports against the layering (README's layout):\n" + "\n".join(broken)


def test_the_import_check_sees_imports():
    """Not vacuous: every part has files, and the scanner finds what they do import."""
    for part in FORBIDDEN:
        assert _sources(part), part
    assert {"arena.method", "arena.method.METHODS", "torch"} <= imported_modules(ROOT / "methods" / "tikhonov.py")
    assert "gradio" in imported_modules(ROOT / "app.py")
    assert any(n.startswith("arena.") for n in imported_modules(ROOT / "training" / "train_rim.py"))
