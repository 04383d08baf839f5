"""Words a user reads: docstrings and parameter help without the developer references they carry."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

DEVELOPER_REF = re.compile(r"(?::\w+:)?`{1,2}(?:[\w.\-]*/[\w.\-/]*|[\w\-]+\.(?:py|md|pth|json|toml)|python -m [^`]*|"
                           r"~?[A-Za-z_]\w*\.[A-Za-z_][\w.]*|\w+\([^`]*\))`{1,2}")
"""A file, module or code name in a docstring (``benchmarks/DEFAULTS.md``, ``Problem.sigma_eff``,
:func:`arena.solvers.fair_start`, ``tune_oracle(joint=...)``): for developers, left out of what the
page shows."""
PLAIN_PATH = re.compile(r",?\s*\b(?:[\w\-]+/)+[\w\-*]+\.(?:py|md|json|toml)\b|\(\s*(?:[\w\-]+/)*[\w\-]+\.(?:py|md)\s*\)")
"""The same, unquoted (a parameter's help: "(arena/data_proximal.py)", ", benchmarks/SKIPNET.md")."""
CONSTANT = re.compile(r"`{1,2}([A-Z][A-Z0-9_]{2,})`{1,2}")


def user_text(doc: str, constants: Mapping[str, Any] | None = None) -> str:
    """A docstring's prose as the page shows it: developer references taken out, with the brackets
    and separators they leave behind; a module constant (``DEEPRED_PATIENCE``) becomes its value
    from ``constants``; sphinx roles and double backticks become plain code."""
    consts = constants or {}
    text = CONSTANT.sub(lambda k: f"{consts[k[1]]:g}" if isinstance(consts.get(k[1]), (int, float)) else "", doc)
    text = PLAIN_PATH.sub("", DEVELOPER_REF.sub("", text))
    for pattern, repl in ((r"\(\s*[,;]?\s*\)", ""), (r"\(\s*[,;]\s*", "("), (r"\s*[,;]\s*\)", ")"),
                          (r"\s+([,;:.)])", r"\1"), (r" {2,}", " "), (r":\w+:`", "`"), (r"``", "`")):
        text = re.sub(pattern, repl, text)
    return text
