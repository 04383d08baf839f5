"""Lecture and paper presets: data in ``assets/presets.json``, checked when loaded."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arena.errors import SpecError
from arena.experiment import Config

PRESETS_FILE = Path(__file__).resolve().parent.parent / "assets" / "presets.json"


@dataclass(frozen=True)
class Preset:
    """A named comparison: degradation + methods + parameters + image, with a teaching note."""

    id: str
    title: str
    description: str
    convention: str
    config: Config
    topic: str = ""
    """What the preset teaches about, for grouping (classical, deep priors, paper settings, …)."""


def load_presets(path: Path = PRESETS_FILE) -> dict[str, Preset]:
    """Every preset by id; each is validated against the registries (a bad one raises)."""
    raw: list[dict[str, Any]] = json.loads(path.read_text())["presets"]
    out: dict[str, Preset] = {}
    for p in raw:
        cfg = Config(image=p["image"], degradation=p["degradation"]["name"],
                     degradation_params=dict(p["degradation"].get("params", {})),
                     methods=[{"name": m["name"], "params": dict(m.get("params", {}))} for m in p["methods"]],
                     seed=int(p.get("seed", 0)), max_side=p.get("max_side", 256), seconds=p.get("seconds"),
                     tune=p.get("tune", "off"), observed=bool(p.get("observed", False)))
        try:
            cfg.check()
        except SpecError as exc:
            raise SpecError(f"preset {p['id']!r}: {exc}") from None
        if p["id"] in out:
            raise SpecError(f"duplicate preset id {p['id']!r}")
        names = [m["name"] for m in p["methods"]]
        if len(names) != len(set(names)):
            raise SpecError(f"preset {p['id']!r} lists a method twice; the app shows one tab per method")
        out[p["id"]] = Preset(p["id"], p["title"], p["description"], p.get("convention", ""), cfg, p.get("topic", ""))
    return out
