"""Run every lecture preset as the app does: its time, and whether its lesson's claims held.

    python -m benchmarks.bench_presets [--cap 130] [--only ID ...] [--others]

Runs every preset (or ``--only`` those) on this machine's device the way the app does — every
method at once, in worker processes on a CPU, threads on a GPU, with the preset's time budget per
method or the app's default of 60 s — records the wall time until the last method ends, and checks
the preset's claims (:mod:`arena.lessons`) on the run. Deep priors plan their work to fill the
time budget, so stopping one early would change what it computes: a preset whose budget exceeds
``--cap`` runs with the cap as its budget instead, and if its methods used most of it (80 %), its
expected time is its full budget (the table marks it "≤") and its claims are those of the capped
run. ``--others`` runs each preset again on the other bundled images of its kind (a lesson that
holds on one image only is an accident) and records those verdicts too. Writes the times and verdicts under the device kind
(``cpu`` or ``gpu``) in ``assets/preset_times.json``, keeping the other kind's, and a table in
``benchmarks/PRESETS.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from arena import lessons
from arena import workers as worker_pool
from arena.device import pick_device
from arena.presets import DEFAULT_SECONDS, PRESETS_FILE, TIMES_FILE, Preset, load_presets, run_preset
from benchmarks.bench_methods import machine

ROOT = Path(__file__).resolve().parent.parent
FILLED = 0.8
"""Methods that ran this share of a capped budget were fitting their work to it."""


PHOTOS = ("camera", "astronaut", "chelsea", "coffee")
FACES = ("face1", "face2", "face3", "face4")
"""The bundled images of each kind: a preset's claims are checked on the others of its kind."""


def other_images(preset: Preset) -> list[str]:
    """The bundled images of the same kind as the preset's (photos, or faces), but its own."""
    kind = next((k for k in (PHOTOS, FACES) if preset.config.image in k), ())
    return [] if preset.config.observed else [im for im in kind if im != preset.config.image]


def measure(pid: str, cap: float, workers: str, others: bool) -> dict[str, Any]:
    """One preset's wall time (or its budget, when its methods filled ``cap``), its methods'
    iterations, and its claims' verdicts — on its own image and, with ``others``, on the other
    bundled images of its kind."""
    preset = load_presets()[pid]
    budget = preset.config.seconds or DEFAULT_SECONDS
    done = run_preset(preset, seconds=min(budget, cap), workers=workers)
    filled = budget > cap and done.seconds > FILLED * cap
    methods = {key: {"iterations": r.iterations, "total": r.total, "seconds": round(r.seconds, 2), "status": r.status}
               for key, r in done.results.items()}
    row = {"seconds": round(budget if filled else done.seconds, 1), "budget_filled": filled, "methods": methods,
           "claims": [v.to_json() for v in done.verdicts]}
    if others and any(not c.get("full") for c in preset.claims):  # full claims need a GPU's iterations
        row["other_images"] = {im: [v.to_json() for v in run_preset(preset, image=im, seconds=min(budget, cap),
                                                                      workers=workers).verdicts]
                               for im in other_images(preset)}
    return row


def _held(verdicts: list[dict[str, Any]]) -> str:
    if not verdicts:
        return "no claims"
    return lessons.summary([lessons.Verdict(v["claim"], v["held"], v["text"]) for v in verdicts])


def table(times: dict[str, Any]) -> list[str]:
    presets = load_presets()
    lines = ["# Lecture presets: how long each takes, and whether its lesson held", "",
             "Written by `python -m benchmarks.bench_presets`; the preset list in the app shows these times, "
             "and the page checks the same claims after every run of a preset.",
             "Each preset runs as the app runs it (all methods at once; worker processes on a CPU, threads "
             "on a GPU). ≤: the methods filled the cap given instead of the preset's longer budget, so they "
             "would fill that budget too (its claims are checked on the capped run).", ""]
    for kind in ("cpu", "gpu"):
        got = times.get(kind)
        lines += [f"## {kind.upper()}", ""]
        if not got:
            lines += ["Not measured yet (run the script on such a machine).", ""]
            continue
        lines += [f"Machine: {got['machine']}; cap {got['cap']:g} s; measured {got['date']}.", "",
                  "| preset | topic | seconds | claims | methods (iterations done / total) |", "|---|---|---:|---|---|"]
        for pid, row in got["presets"].items():
            topic = presets[pid].topic if pid in presets else "(removed)"
            its = ", ".join(f"{k} {m['iterations']}/{m['total']}" for k, m in row["methods"].items())
            lines.append(f"| {pid} | {topic} | {'≤ ' if row['budget_filled'] else ''}{row['seconds']:g} | "
                         f"{_held(row.get('claims', []))} | {its} |")
        lines += ["", "### The claims, as measured", ""]
        for pid, row in got["presets"].items():
            if not row.get("claims"):
                continue
            lines.append(f"**{pid}** ({presets[pid].config.image if pid in presets else '?'})")
            lines += [f"- {lessons.Verdict(v['claim'], v['held'], v['text']).mark} {v['text']}" for v in row["claims"]]
            for image, verdicts in row.get("other_images", {}).items():
                lines.append(f"- on {image}: {_held(verdicts)}" + "".join(
                    f"; ✗ {v['text']}" for v in verdicts if v["held"] is False))
            lines.append("")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cap", type=float, default=130.0, help="the longest budget to run in full (seconds)")
    ap.add_argument("--only", nargs="*", help="preset ids (default: every preset)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--others", action="store_true", help="check each preset's claims on the other bundled "
                    "images of its kind too (photos or faces)")
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
        entry["presets"][pid] = measure(pid, args.cap, workers, args.others)
        print(pid, entry["presets"][pid], flush=True)
        times[kind] = entry
        TIMES_FILE.write_text(json.dumps(times, indent=1, ensure_ascii=False, separators=(',', ': ')) + "\n")
    (ROOT / "benchmarks" / "PRESETS.md").write_text("\n".join(table(times)))
    print(f"wrote {TIMES_FILE.relative_to(ROOT)} and benchmarks/PRESETS.md ({PRESETS_FILE.name} unchanged)")


if __name__ == "__main__":
    main()
