"""The support matrix: for every registered method and degradation, ``runs`` or the method's refusal.

``tests/golden/support_matrix.json`` holds it as reviewed; ``tests/test_methods.py`` checks that
the live registries match it exactly, so a method that starts refusing everything (or a new method
or degradation) shows up as a diff to read, not as a pass. After a deliberate change, regenerate::

    python -m tests.support_matrix      # from the repository root; review the diff, commit it

Only ``supports()`` is asked, on tiny random images with each degradation's defaults: no method
runs, so the whole matrix takes a second or two.
"""

from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path

import torch

from arena.degradations import DEGRADATIONS
from arena.method import METHODS, load_methods
from arena.problem import Problem, make_problem

GOLDEN = Path(__file__).resolve().parent / "golden" / "support_matrix.json"
RUNS = "runs"
SIDE = 16
"""Image side for methods without a fixed ``domain``: the smallest every degradation accepts."""


def support_matrix() -> dict[str, dict[str, str]]:
    """``{method: {degradation: "runs" or the refusal sentence}}`` in registry order."""
    load_methods()
    problems: dict[tuple[tuple[int, int, int], str], Problem] = {}  # one problem per shape and degradation
    out: dict[str, dict[str, str]] = {}
    for cls in METHODS:
        shape = cls.domain or (3, SIDE, SIDE)
        row = out.setdefault(cls.name, {})
        for d in DEGRADATIONS:
            if (shape, d.name) not in problems:
                x = torch.rand(1, *shape, generator=torch.Generator().manual_seed(0))
                problems[shape, d.name] = make_problem(x, d.name, {}, seed=0)[0]
            row[d.name] = cls().supports(problems[shape, d.name]) or RUNS
    return out


def render(matrix: dict[str, dict[str, str]]) -> str:
    """The golden file's text: one line per cell, so a change reads as a one-line diff."""
    return json.dumps(matrix, indent=2, ensure_ascii=False) + "\n"


def difference(expected: str, actual: str) -> str:
    """A unified diff of the golden text against the live one (empty when they agree)."""
    return "".join(difflib.unified_diff(expected.splitlines(keepends=True), actual.splitlines(keepends=True),
                                        "tests/golden/support_matrix.json", "live registries"))


def main() -> int:
    """Rewrite the golden file from the live registries and print what changed."""
    text = render(support_matrix())
    old = GOLDEN.read_text(encoding="utf-8") if GOLDEN.is_file() else ""
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(text, encoding="utf-8")
    print(difference(old, text) or f"{GOLDEN.name}: unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
