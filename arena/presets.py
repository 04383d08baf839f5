"""Lecture and paper presets: data in ``assets/presets.json``, checked when loaded."""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arena import lessons
from arena.errors import SpecError
from arena.experiment import Config, Prepared, prepare_experiment, run
from arena.resources import ASSETS
from arena.runner import MethodResult
from arena.settings import ON_PAGE

PRESETS_FILE = ASSETS / "presets.json"
TIMES_FILE = PRESETS_FILE.with_name("preset_times.json")
"""Measured run times per device kind, written by ``python -m benchmarks.bench_presets``."""
DEFAULT_SECONDS = 60.0
"""The time budget per method of a preset that sets none (the app's slider starts there)."""


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
    claims: tuple[dict[str, Any], ...] = ()
    """What the description promises, as checkable claims (:mod:`arena.lessons`)."""

    def check(self, results: Any, *, degraded: Any, seconds: float) -> list[lessons.Verdict]:
        """The claims evaluated on a finished run of this preset."""
        return lessons.check(self.claims, results, degraded=degraded, seconds=seconds)


KEYS = {"id", "title", "description", "convention", "topic", "image", "degradation", "methods", "claims"}
"""What a preset has besides the page's scalar settings (:data:`arena.settings.ON_PAGE`)."""


def load_presets(path: Path = PRESETS_FILE) -> dict[str, Preset]:
    """Every preset by id; each is validated against the registries (a bad one raises)."""
    raw: list[dict[str, Any]] = json.loads(path.read_text())["presets"]
    times = _measured_times(path.with_name(TIMES_FILE.name))
    out: dict[str, Preset] = {}
    for p in raw:
        unknown = set(p) - KEYS - {s.name for s in ON_PAGE}
        if unknown:
            raise SpecError(f"preset {p.get('id')!r}: unknown key {sorted(unknown)[0]!r}; a preset may set "
                            f"{', '.join(s.name for s in ON_PAGE)} (the settings the page shows)")
        cfg = Config(image=p["image"], degradation=p["degradation"]["name"],
                     degradation_params=dict(p["degradation"].get("params", {})),
                     methods=[{"name": m["name"], "params": dict(m.get("params", {}))} for m in p["methods"]],
                     **{s.name: p[s.name] for s in ON_PAGE if s.name in p})
        try:
            cfg.check()
        except SpecError as exc:
            raise SpecError(f"preset {p['id']!r}: {exc}") from None
        if p["id"] in out:
            raise SpecError(f"duplicate preset id {p['id']!r}")
        names = [m["name"] for m in p["methods"]]
        if len(names) != len(set(names)):
            raise SpecError(f"preset {p['id']!r} lists a method twice; the app shows one tab per method")
        claims = tuple(p.get("claims", ()))
        try:
            lessons.validate(claims, names)
        except SpecError as exc:
            raise SpecError(f"preset {p['id']!r}: {exc}") from None
        out[p["id"]] = Preset(p["id"], p["title"], p["description"], p.get("convention", ""), cfg, p.get("topic", ""),
                              {kind: t[p["id"]] for kind, t in times.items() if p["id"] in t}, claims)
    return out


def _measured_times(path: Path) -> dict[str, dict[str, float]]:
    """``{kind: {preset id: seconds}}`` from the benchmark's file; none when it is absent."""
    if not path.is_file():
        return {}
    raw = json.loads(path.read_text())
    return {kind: {pid: float(row["seconds"]) for pid, row in entry["presets"].items()} for kind, entry in raw.items()}


@dataclass
class PresetRun:
    """A preset run to the end, as the app runs it, with its claims checked."""

    prepared: Prepared
    results: dict[str, MethodResult]
    seconds: float
    """Wall time from loading the image to the last method's end."""
    verdicts: list[lessons.Verdict]


def run_preset(preset: Preset, *, image: str | None = None, seconds: float | None = None,
               workers: str = "threads", with_lpips: bool | None = None) -> PresetRun:
    """Run ``preset`` (on another ``image``, or with a shorter time budget ``seconds``) and check
    its claims. LPIPS is computed when a claim needs it unless ``with_lpips`` says otherwise."""
    config = dataclasses.replace(preset.config, image=image or preset.config.image,
                                 seconds=seconds or preset.config.seconds or DEFAULT_SECONDS,
                                 methods=[dict(m) for m in preset.config.methods],
                                 degradation_params=dict(preset.config.degradation_params))
    if with_lpips is None:
        with_lpips = any(c.get("metric") == "lpips" for c in preset.claims)
    t0 = time.perf_counter()
    prepared = prepare_experiment(config)
    results: dict[str, MethodResult] = {}
    for ev in run(prepared, with_lpips=with_lpips, workers=workers):
        if ev.kind == "done":
            results = dict(ev.results or {})
    wall = time.perf_counter() - t0
    return PresetRun(prepared, results, wall, preset.check(results, degraded=prepared.degraded_metrics, seconds=wall))
