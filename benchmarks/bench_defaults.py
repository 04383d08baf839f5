"""Fair defaults and tuning: every regularised method with its problem-aware default (``off``),
the discrepancy principle (``auto``) and the best PSNR (``oracle``), on the bundled photos.

    python -m benchmarks.bench_defaults [--size 128] [--images camera,astronaut,chelsea,coffee]
                                        [--methods tikhonov,tv,red] [--out benchmarks/DEFAULTS.md]

The bundled photos are held out: every rule and τ was fitted on the training photos of
``arena.data.photos``. Each cell is the mean PSNR over the images; ``seconds`` is the mean wall
time of one method including its tuning trials (runs alone, one method at a time: ``sequential``),
and ``×`` the ratio to the untuned run. A JSON sidecar keeps every number.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from arena.experiment import Config, prepare_experiment, run
from benchmarks.bench_methods import machine

PROBLEMS = {
    "Gaussian blur σ=1.6, noise 2": "blur:kernel=gaussian,sigma=1.6,noise=2",
    "denoising σ=25": "denoise:sigma=25",
    "SR ×4": "sr:factor=4",
    "50 % random inpainting": "inpaint:mask=random,ratio=0.5",
    "MRI 25 % lines": "mri:ratio=0.25",
}
MODES = ("off", "auto", "oracle")


def one(image: str, degradation: str, method: str, tune: str, size: int) -> dict:
    cfg = Config.from_specs(image, degradation, [method], max_side=size, tune=tune, sequential=True)
    prep = prepare_experiment(cfg)
    res = next(ev.results for ev in run(prep, with_lpips=False) if ev.kind == "done")[method]
    tuning = res.tuning or {}
    return {"psnr": res.metrics["psnr"], "seconds": res.seconds + tuning.get("seconds", 0.0), "value": res.params.get(tuning.get("param", "lam")),
            "reason": tuning.get("reason", "")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--images", default="camera,astronaut,chelsea,coffee")
    ap.add_argument("--methods", default="tikhonov,tv,red")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "DEFAULTS.md"))
    ap.add_argument("--only", help="recompute these problems (comma-separated labels' first words, e.g. MRI) "
                                   "and keep the other rows of the JSON sidecar")
    args = ap.parse_args()
    images, methods = args.images.split(","), args.methods.split(",")
    out = Path(args.out)
    data: dict = {}
    if args.only and out.with_suffix(".json").is_file():
        data = json.loads(out.with_suffix(".json").read_text())["data"]
    for label, spec in PROBLEMS.items():
        if args.only and label.split()[0] not in args.only.split(","):
            continue
        naive = []
        for image in images:
            cfg = Config.from_specs(image, spec, ["naive"], max_side=args.size)
            prep = prepare_experiment(cfg)
            naive.append(next(ev.results for ev in run(prep, with_lpips=False) if ev.kind == "done")["naive"].metrics["psnr"])
        data[label] = {"naive": statistics.mean(naive)}
        for method in methods:
            for mode in MODES:
                rows = [one(image, spec, method, mode, args.size) for image in images]
                data[label][f"{method}/{mode}"] = {
                    "psnr": statistics.mean(r["psnr"] for r in rows),
                    "seconds": statistics.mean(r["seconds"] for r in rows),
                    "values": [r["value"] for r in rows], "reasons": sorted({r["reason"] for r in rows})}
                print(label, method, mode, f"{data[label][f'{method}/{mode}']['psnr']:.2f}", flush=True)
    data = {label: data[label] for label in PROBLEMS if label in data}
    out.with_suffix(".json").write_text(json.dumps({"machine": machine(), "size": args.size, "images": images,
                                                    "data": data}, indent=1))
    lines = [f"# Defaults, auto and oracle tuning ({machine()})", "",
             f"Mean PSNR (dB) over {', '.join(images)} at {args.size}² (held out: rules fitted on "
             "`arena.data.photos`); in brackets the gain over the naive inverse; then mean seconds per "
             "method including tuning trials (× the untuned run). Bold: at least 0.5 dB over naive. "
             "`python -m benchmarks.bench_defaults` regenerates this file and `DEFAULTS.json`.", ""]
    head = "| problem | naive | " + " | ".join(f"{m} {mode}" for m in methods for mode in MODES) + " |"
    lines += [head, "|" + "---|" * (2 + len(methods) * len(MODES))]
    for label, row in data.items():
        cells = []
        for m in methods:
            base = row[f"{m}/off"]["seconds"]
            for mode in MODES:
                c = row[f"{m}/{mode}"]
                gain = c["psnr"] - row["naive"]
                text = f"{c['psnr']:.2f} ({gain:+.2f}), {c['seconds']:.2f} s" + (
                    f" ×{c['seconds'] / base:.1f}" if mode != "off" and base > 0 else "")
                cells.append(f"**{text}**" if gain >= 0.5 else text)
        lines.append(f"| {label} | {row['naive']:.2f} | " + " | ".join(cells) + " |")
    out.write_text("\n".join(lines) + "\n")
    print(out.read_text())


if __name__ == "__main__":
    main()
