"""Write a comparison to a folder: images, metrics.json/.csv, convergence.png and config.json."""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from matplotlib.figure import Figure

from arena.images import save_png
from arena.plots import convergence_figure, display_key, tuning_figure
from arena.runner import MethodResult

CSV_COLUMNS = ("method", "label", "status", "psnr", "ssim", "lpips", "seconds", "compute_seconds",
               "iterations", "data_fit", "noise_level", "params", "message")


def image_filename(key: str) -> str:
    """A safe PNG name for a method key (``tv#2`` → ``tv-2.png``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", key) + ".png"


def finite(value: Any) -> Any:
    """JSON cannot hold NaN/Inf: map them to None, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def metrics_document(results: Mapping[str, MethodResult], *, degradation: Mapping[str, Any], seed: int,
                     degraded: Mapping[str, Any], notices: list[str], lpips_status: str) -> dict[str, Any]:
    """The ``metrics.json`` structure (stable keys other tools rely on)."""
    methods = {}
    for key, r in results.items():
        methods[key] = {
            "name": r.name, "label": r.label, "params": r.params,
            "psnr": r.metrics.get("psnr"), "ssim": r.metrics.get("ssim"), "lpips": r.metrics.get("lpips"),
            "seconds": r.seconds, "compute_seconds": r.compute_seconds, "iterations": r.iterations,
            "data_fit": r.metrics.get("data_fit"), "noise_level": r.metrics.get("noise_level"),
            "status": r.status, "message": r.message, "image": image_filename(key) if r.x is not None else None,
            "history": r.history, "tuning": r.tuning,
        }
    return finite({"degradation": dict(degradation), "seed": seed, "degraded": dict(degraded),
                   "notices": notices, "lpips_status": lpips_status, "methods": methods})


TABLE_COLUMNS = (("psnr", "PSNR (dB)", max), ("ssim", "SSIM", max), ("lpips", "LPIPS", min),
                 ("seconds", "seconds", min), ("iterations", "iterations", None), ("data_fit", "data-fit", None))
"""(metric key, header, which value is best). Data-fit has no 'best': closest to the noise level is."""


def summary_table(results: Mapping[str, MethodResult], degraded: Mapping[str, Any],
                  lpips_reason: str | None = None) -> tuple[list[str], list[list[Any]], dict[int, int]]:
    """Rows for a metrics table and, per column, the row index of the best value.

    Returns
    -------
    headers, rows
        One row for the degraded input, then one per method (status last). Missing LPIPS reads
        "unavailable" when ``lpips_reason`` is given.
    best : dict
        Column index → row index of its best method value (the degraded row never counts).
    """
    headers = ["method", *[h for _, h, _ in TABLE_COLUMNS], "status"]
    rows: list[list[Any]] = [["(degraded input)", degraded.get("psnr"), degraded.get("ssim"), degraded.get("lpips"),
                              None, None,
                              None, ""]]
    for key, r in results.items():
        vals = {**r.metrics, "seconds": r.seconds, "iterations": r.iterations}
        row: list[Any] = [display_key(key, r)]
        for metric, _, _ in TABLE_COLUMNS:
            v = vals.get(metric)
            if metric == "lpips" and v is None and lpips_reason and r.x is not None:
                v = "unavailable"
            row.append(v)
        tuned = (f" · {r.tuning['param']}={r.tuning['chosen']:.3g} by {r.tuning['label']}" if r.tuning else "")
        row.append(r.status + (f": {r.message}" if r.message else "") + tuned)
        rows.append(row)
    best: dict[int, int] = {}
    for col, (_, _, better) in enumerate(TABLE_COLUMNS, start=1):
        candidates = [(row[col], i) for i, row in enumerate(rows) if i > 0 and isinstance(row[col], (int, float))
                      and math.isfinite(row[col])]
        if better is not None and len(candidates) > 1:
            best[col] = better(candidates)[1]
    return headers, rows, best


def zip_folder(folder: str | Path, target: str | Path) -> Path:
    """Zip every file of ``folder`` (flat) into ``target``."""
    import zipfile

    folder, target = Path(folder), Path(target)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for f in sorted(folder.iterdir()):
            if f.is_file() and f != target:
                z.write(f, arcname=f.name)
    return target


def write_report(out: str | Path, *, clean: torch.Tensor | None, degraded: torch.Tensor,
                 results: Mapping[str, MethodResult], document: Mapping[str, Any],
                 config: Mapping[str, Any], observed: torch.Tensor | None = None,
                 maps: Figure | None = None) -> list[Path]:
    """Write every output file into ``out`` (created if needed) and return their paths.

    ``clean`` is None for a photo that came degraded; then ``observed`` (y itself) is written as
    ``observed.png``, which ``config.json`` replays from. ``maps`` is the residual/error figure."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [save_png(degraded, out / "degraded.png")]
    if clean is not None:
        written.append(save_png(clean, out / "clean.png"))
    if observed is not None:
        written.append(save_png(observed, out / "observed.png"))
    for key, r in results.items():
        if r.x is not None:
            written.append(save_png(r.x, out / image_filename(key)))
        for name, img in r.images.items():  # other estimates, e.g. DIP's raw output
            written.append(save_png(img, out / image_filename(f"{key}_{name}")))
        for name, img in r.maps.items():  # per-pixel maps, scaled ×4 to be visible
            written.append(save_png(img * 4, out / image_filename(f"{key}_map_{name}")))
    (out / "metrics.json").write_text(json.dumps(document, indent=2, ensure_ascii=False))
    written.append(out / "metrics.json")
    with open(out / "metrics.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for key, m in document["methods"].items():
            w.writerow([key, m["label"], m["status"], m["psnr"], m["ssim"], m["lpips"], f"{m['seconds']:.4f}",
                        f"{m['compute_seconds']:.4f}", m["iterations"], m["data_fit"], m["noise_level"],
                        json.dumps(m["params"]), m["message"]])
    written.append(out / "metrics.csv")
    noise = next((m["noise_level"] for m in document["methods"].values() if m.get("noise_level") is not None), None)
    fig = convergence_figure(results, degraded_psnr=document.get("degraded", {}).get("psnr"), noise_level=noise)
    fig.savefig(out / "convergence.png", dpi=100)
    written.append(out / "convergence.png")
    if maps is not None:
        maps.savefig(out / "maps.png", dpi=100)
        written.append(out / "maps.png")
    lam_fig = tuning_figure(results)
    if lam_fig is not None:
        lam_fig.savefig(out / "tuning.png", dpi=100)
        written.append(out / "tuning.png")
    (out / "config.json").write_text(json.dumps(finite(dict(config)), indent=2, ensure_ascii=False))
    written.append(out / "config.json")
    return written
