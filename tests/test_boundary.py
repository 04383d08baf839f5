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
