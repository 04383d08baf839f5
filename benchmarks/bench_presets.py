"""Measure how long each lecture preset takes, as the app runs it, for the preset list's run times.

    python -m benchmarks.bench_presets [--cap 40] [--only ID ...]

Runs every preset (or ``--only`` those) on this machine's device the way the app does — every
method at once, in worker processes on a CPU, threads on a GPU, with the preset's time budget per
method or the app's default of 60 s — and records the wall time until the last method ends. Deep
priors plan their work to fill the time budget, so stopping one early would change what it
computes: a preset whose budget exceeds ``--cap`` runs with the cap as its budget instead, and if its
methods used most of it (80 %), its expected time is its full budget (the table marks it "≤");
otherwise the cap bound nothing and the time is measured. Writes the times under the device kind
(``cpu`` or ``gpu``) in ``assets/preset_times.json``, keeping the other kind's, and a table in
``benchmarks/PRESETS.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import torch

from arena import workers as worker_pool
from arena.device import pick_device
from arena.experiment import prepare_experiment, run
from arena.presets import PRESETS_FILE, TIMES_FILE, load_presets
from benchmarks.bench_methods import machine

ROOT = Path(__file__).resolve().parent.parent
APP_SECONDS = 60.0
"""The app's time budget per method when a preset sets none (its slider's default)."""
FILLED = 0.8
"""Methods that ran this share of a capped budget were fitting their work to it."""


def measure(pid: str, cap: float, workers: str) -> dict[str, Any]:
    """One preset's wall time (or its budget, when its methods filled ``cap``) and its methods' iterations."""
    preset = load_presets()[pid]
    budget = preset.config.seconds or APP_SECONDS
    config = dataclasses.replace(preset.config, seconds=min(budget, cap))
    t0 = time.perf_counter()
    prepared = prepare_experiment(config)
    results = {}
    for ev in run(prepared, with_lpips=False, workers=workers):
        if ev.kind == "done":
            results = dict(ev.results or {})
    wall = time.perf_counter() - t0
    filled = budget > cap and wall > FILLED * cap
    methods = {key: {"iterations": r.iterations, "total": r.total, "seconds": round(r.seconds, 2), "status": r.status}
               for key, r in results.items()}
    return {"seconds": round(budget if filled else wall, 1), "budget_filled": filled, "methods": methods}


def table(times: dict[str, Any]) -> list[str]:
    presets = load_presets()
    lines = ["# Lecture presets: how long each takes", "",
             "Written by `python -m benchmarks.bench_presets`; the preset list in the app shows these times.",
             "Each preset runs as the app runs it (all methods at once; worker processes on a CPU, threads "
             "on a GPU). ≤: the methods filled the cap given instead of the preset's longer budget, so they "
             "would fill that budget too.", ""]
    for kind in ("cpu", "gpu"):
        got = times.get(kind)
        lines += [f"## {kind.upper()}", ""]
        if not got:
            lines += ["Not measured yet (run the script on such a machine).", ""]
            continue
        lines += [f"Machine: {got['machine']}; cap {got['cap']:g} s; measured {got['date']}.", "",
                  "| preset | topic | seconds | methods (iterations done / total) |", "|---|---|---:|---|"]
        for pid, row in got["presets"].items():
            topic = presets[pid].topic if pid in presets else "(removed)"
            its = ", ".join(f"{k} {m['iterations']}/{m['total']}" for k, m in row["methods"].items())
            lines.append(f"| {pid} | {topic} | {'≤ ' if row['budget_filled'] else ''}{row['seconds']:g} | {its} |")
        lines.append("")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cap", type=float, default=130.0, help="the longest budget to run in full (seconds)")
    ap.add_argument("--only", nargs="*", help="preset ids (default: every preset)")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    device = pick_device(args.device)
    kind = "gpu" if device.type == "cuda" else "cpu"
    workers = "threads" if kind == "gpu" else "processes"
    times = json.loads(TIMES_FILE.read_text()) if TIMES_FILE.is_file() else {}
    entry = times.get(kind) or {"presets": {}}
    entry.update(machine=machine() + (f", {torch.cuda.get_device_name(device)}" if kind == "gpu" else ""),
                 cap=args.cap, date=time.strftime("%Y-%m-%d"))
    if workers == "processes":
        worker_pool.warm()  # the app warms its worker pool when it starts; a lecturer never waits for it
    for pid in args.only or list(load_presets()):
        entry["presets"][pid] = measure(pid, args.cap, workers)
        print(pid, entry["presets"][pid], flush=True)
        times[kind] = entry
        TIMES_FILE.write_text(json.dumps(times, indent=1, ensure_ascii=False, separators=(',', ': ')) + "\n")
    (ROOT / "benchmarks" / "PRESETS.md").write_text("\n".join(table(times)))
    print(f"wrote {TIMES_FILE.relative_to(ROOT)} and benchmarks/PRESETS.md ({PRESETS_FILE.name} unchanged)")


if __name__ == "__main__":
    main()
