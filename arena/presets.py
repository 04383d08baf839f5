"""Lecture and paper presets: data in ``assets/presets.json``, checked when loaded."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arena.errors import SpecError
from arena.experiment import Config
from arena.resources import ASSETS

PRESETS_FILE = ASSETS / "presets.json"
TIMES_FILE = PRESETS_FILE.with_name("preset_times.json")
"""Measured run times per device kind, written by ``python -m benchmarks.bench_presets``."""


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
    seconds: dict[str, float] = field(default_factory=dict)
    """Measured wall time of the whole preset by device kind (``cpu``, ``gpu``); a kind not
    measured is absent."""


def load_presets(path: Path = PRESETS_FILE) -> dict[str, Preset]:
    """Every preset by id; each is validated against the registries (a bad one raises)."""
    raw: list[dict[str, Any]] = json.loads(path.read_text())["presets"]
    times = _measured_times(path.with_name(TIMES_FILE.name))
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
        out[p["id"]] = Preset(p["id"], p["title"], p["description"], p.get("convention", ""), cfg, p.get("topic", ""),
                            {kind: t[p["id"]] for kind, t in times.items() if p["id"] in t})
    return out


def _measured_times(path: Path) -> dict[str, dict[str, float]]:
    """``{kind: {preset id: seconds}}`` from the benchmark's file; none when it is absent."""
    if not path.is_file():
        return {}
    raw = json.loads(path.read_text())
    return {kind: {pid: float(row["seconds"]) for pid, row in entry["presets"].items()} for kind, entry in raw.items()}
