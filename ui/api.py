"""The documented API (``/run_config``, ``/run_preset``, ``/inspect_image``): JSON in, JSON and
images out, bundled images only, capped in time and iterations, server paths refused."""

from __future__ import annotations

import json
from collections import deque
from typing import Any

import gradio as gr

from arena.degradations import DEGRADATIONS
from arena.errors import ArenaError, SpecError
from arena.experiment import Config, Prepared, bundled_images, bundled_observed, prepare_experiment
from arena.experiment import run as run_experiment
from arena.images import load_image, to_uint8
from arena.method import METHODS
from arena.metrics import lpips_status
from arena.params import refuse_server_paths
from arena.report import metrics_document
from ui.common import API_MAX_ITERATIONS, API_MAX_SECONDS, DEFAULT_MAX_SIDE, PRESETS, WORKERS, as_int, trim_heap
from ui.images import png_file
from ui.zerogpu import gpu_seconds, on_zero_gpu


def _api(cfg: Config) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    names = {**bundled_images(), **bundled_observed()}
    if cfg.image not in names:
        raise SpecError(f"the API takes a bundled image name: {', '.join(names)}")
    if cfg.degradation in DEGRADATIONS:
        refuse_server_paths(DEGRADATIONS.get(cfg.degradation).params, cfg.degradation_params, cfg.degradation)
    for m in cfg.methods:
        if m.get("name") in METHODS:
            refuse_server_paths(METHODS.get(m["name"]).params, m.get("params") or {}, m["name"])
    cfg.seconds = min(cfg.seconds or API_MAX_SECONDS, API_MAX_SECONDS)
    cfg.iterations = min(cfg.iterations or API_MAX_ITERATIONS, API_MAX_ITERATIONS)
    cfg.check()
    prep = prepare_experiment(cfg)
    events = _compute(prep)
    last = events[0] if events else None
    results = (last.results if last is not None else None) or {}
    doc = metrics_document(results, degradation={"name": cfg.degradation, **cfg.degradation_params},
                           seed=cfg.seed, degraded=prep.degraded_metrics, notices=prep.notices,
                           lpips_status=lpips_status().reason)
    for m in doc["methods"].values():
        m.pop("history", None)
    # gradio_client treats any dict with a "path" key as a file to fetch; the API never takes one.
    doc["degradation"].pop("path", None)
    images = [(png_file(to_uint8(prep.clean)), "clean")] if prep.clean is not None else []
    images += [(png_file(to_uint8(prep.degraded)), "degraded")]
    images += [(png_file(to_uint8(r.x)), k) for k, r in results.items() if r.x is not None]
    trim_heap()
    return doc, images


def _final_event(prep: Prepared) -> deque:
    return deque(run_experiment(prep, workers=WORKERS), maxlen=1)  # only the final event is kept


_compute = on_zero_gpu(_final_event, lambda prep: gpu_seconds(prep.config.seconds, API_MAX_SECONDS))


def api_run_config(config_json: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Run a comparison described by a ``config.json`` document (bundled images only)."""
    try:
        raw = json.loads(config_json or "")
        if not isinstance(raw, dict):
            raise SpecError("the config must be a JSON object")
        raw.pop("version", None)
        raw.pop("libraries", None)
        raw.pop("tuned", None)
        unknown = sorted(set(raw) - set(Config.__dataclass_fields__))
        if unknown:
            raise SpecError(f"unknown config key {unknown[0]!r}; valid keys: {', '.join(Config.__dataclass_fields__)}")
        return _api(Config(**raw))
    except json.JSONDecodeError as exc:
        raise gr.Error(f"the config is not valid JSON ({exc})", print_exception=False) from None
    except TypeError as exc:
        raise gr.Error(f"bad config: {exc}", print_exception=False) from None
    except ArenaError as exc:
        raise gr.Error(str(exc), print_exception=False) from None


def api_inspect_image(path: str | None) -> dict[str, Any]:
    """Read an uploaded image with the app's loader and say what the app would use (no run)."""
    try:
        if not path:
            raise SpecError("no file was uploaded")
        loaded = load_image(path, max_side=DEFAULT_MAX_SIDE)
    except ArenaError as exc:
        raise gr.Error(str(exc), print_exception=False) from None
    _, c, hgt, wid = loaded.x.shape
    return {"width": wid, "height": hgt, "channels": c, "notices": loaded.notices}


def api_run_preset(pid: str, seed: float | None) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Run a lecture preset by id, optionally with another seed."""
    try:
        if pid not in PRESETS:
            raise SpecError(f"unknown preset {pid!r}; valid ids: {', '.join(PRESETS)}")
        c = PRESETS[pid].config
        cfg = Config(**{**c.__dict__, "seed": as_int(seed if seed is not None else c.seed, "seed"),
                        "methods": [dict(m) for m in c.methods], "degradation_params": dict(c.degradation_params)})
        return _api(cfg)
    except ArenaError as exc:
        raise gr.Error(str(exc), print_exception=False) from None
