"""The shape of the source tree: module names that say what they hold, functions short enough to read."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_FUNCTION_LINES = 80
"""From the ``def`` line to the last line of the body, decorators excluded."""


def _python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_no_two_core_modules_share_a_name():
    by_name: dict[str, list[str]] = defaultdict(list)
    for path in _python_files("arena"):
        if path.name != "__init__.py":
            by_name[path.name].append(str(path.relative_to(ROOT)))
    clashes = {name: paths for name, paths in by_name.items() if len(paths) > 1}
    assert not clashes, f"files under arena/ that share a name (rename one to say what it holds): {clashes}"


def long_functions(folders: tuple[str, ...] = ("arena", "methods", "training"),
                   limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """``path:line name (n lines)`` for every function or method longer than ``limit`` lines."""
    found = []
    for folder in folders:
        for path in _python_files(folder):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    n = node.end_lineno - node.lineno + 1
                    if n > limit:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({n} lines)")
    return found


def test_no_function_is_longer_than_80_lines():
    assert not long_functions(), f"split these into helpers that read like the algorithm: {long_functions()}"


def test_the_checks_see_what_they_check():
    """The checks walk real trees: a limit of 10 lines finds long functions in every folder."""
    assert {f.split("/")[0] for f in long_functions(limit=10)} == {"arena", "methods", "training"}
    assert len(_python_files("arena")) > 30


def test_no_docstring_in_the_core_or_the_methods_quotes_a_measured_db_figure():
    """Measured numbers live in tables, model cards and benchmarks/RULES.md, where a re-measurement
    updates them; a docstring states the rule and points there."""
    import ast
    import re

    pattern = re.compile(r"\d\s*dB")
    found = []
    for root in ("arena", "methods"):
        for path in sorted((ROOT / root).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                        and isinstance(node.value.value, str) and pattern.search(node.value.value)):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, found


def _table_rows(text: str) -> dict[str, list[str]]:
    """A markdown table's rows by their first cell (header and rule rows included)."""
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in text.splitlines()
            if line.startswith("| ")]
    return {r[0]: r[1:] for r in rows}


def test_the_readmes_copy_of_the_learned_table_matches_the_generated_one():
    """The README shows LEARNED.md's table without its last (published-weights) columns: every row
    it shows must be the generated row's first cells, so a regenerated table cannot leave a stale copy."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index("| degradation | in RIM's training family")
    copy = _table_rows(readme[start:readme.index("\n\n", start)])
    source = _table_rows((ROOT / "benchmarks" / "LEARNED.md").read_text())
    assert len(copy) >= 8
    for first, cells in copy.items():
        if not first.startswith("---"):
            assert source.get(first, [])[:len(cells)] == cells, f"README row {first!r} differs from LEARNED.md"


def test_the_readme_layout_names_every_core_module():
    """The README's layout is where a newcomer looks for a module: each ``arena/*.py`` and subpackage is named there."""
    import re

    block = (ROOT / "README.md").read_text(encoding="utf-8").split("## Layout", 1)[1].split("```")[1]
    names = sorted(f"{p.name}/" if p.is_dir() else p.name for p in (ROOT / "arena").iterdir()
                   if (p.suffix == ".py" and p.name != "__init__.py") or (p / "__init__.py").is_file())
    assert len(names) > 30
    missing = [n for n in names if not re.search(rf"(?<![\w/.]){re.escape(n)}", block)]
    assert not missing, f"add these to the README's layout block, with what each holds: {missing}"
