"""Time each classical method's iteration and report its quality at a fixed iteration budget.

    python -m benchmarks.bench_methods [--size 128] [--repeats 5] [--out benchmarks/RESULTS.md]

Times are the median over ``--repeats`` runs of the method's generator alone (no runner, no
metrics), divided by its iterations; PSNR/SSIM are those of the final iterate (deterministic).
The machine is written at the top of the table.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import torch

from arena import metrics
from arena.device import pick_device
from arena.images import load_image
from arena.method import METHODS, load_methods
from arena.problem import make_problem

ROOT = Path(__file__).resolve().parent.parent

CASES = [
    ("denoise σ=25", "camera", "denoise", {"sigma": 25}, {
        "naive": {}, "lsq": {"iterations": 100}, "tikhonov": {"lam": 0.5},
        "tikhonov (gd)": {"lam": 0.5, "solver": "gd", "iterations": 300}, "tv": {"lam": 0.08, "iterations": 300}}),
    ("denoise σ=25", "astronaut", "denoise", {"sigma": 25}, {
        "naive": {}, "tikhonov": {"lam": 0.5}, "tv": {"lam": 0.08, "iterations": 300}}),
    ("blur gauss 1.6, σ=2", "camera", "blur", {"noise": 2}, {
        "naive": {}, "lsq": {"iterations": 100}, "tikhonov": {"lam": 0.01},
        "tikhonov (cg)": {"lam": 0.01, "solver": "cg", "iterations": 100}, "tv": {"lam": 0.005, "iterations": 300}}),
    ("blur gauss 1.6, σ=2", "astronaut", "blur", {"noise": 2}, {
        "naive": {}, "tikhonov": {"lam": 0.01}, "tv": {"lam": 0.005, "iterations": 300}}),
    ("inpaint 50 % random", "shapes", "inpaint", {"ratio": 0.5}, {
        "naive": {}, "tikhonov": {"lam": 0.01, "iterations": 100}, "tv": {"lam": 0.005, "iterations": 300},
        "pgd": {"iterations": 300}}),
]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), "
            f"Python {platform.python_version()}, {platform.system()}")


def bench(size: int, repeats: int, device: torch.device) -> list[str]:
    load_methods()
    rows = [f"Machine: {machine()}; device {device}; images {size}×{size}; median of {repeats} runs.", "",
            "| problem | image | method | params | iterations | ms / iteration | total s | PSNR | SSIM |",
            "|---|---|---|---|---:|---:|---:|---:|---:|"]
    for label, image, degradation, values, methods in CASES:
        x = load_image(ROOT / "assets" / "images" / f"{image}.png", max_side=size).x
        problem, clean, _ = make_problem(x, degradation, values, seed=0, device=device)
        degraded = problem.degradation.preview(problem.y)
        rows.append(f"| {label} | {image} | *degraded input* | | | | | {metrics.psnr(degraded, clean):.2f} | "
                    f"{metrics.ssim(degraded, clean):.3f} |")
        for display, params in methods.items():
            name = display.split(" ")[0]
            m = METHODS.get(name)()
            resolved = m.resolve(params)
            times, last = [], None
            for _ in range(repeats):
                t0 = time.perf_counter()
                for step in m.run(problem, **resolved):
                    last = step
                if device.type == "cuda":
                    torch.cuda.synchronize()
                times.append(time.perf_counter() - t0)
            total = statistics.median(times)
            p = ", ".join(f"{k}={v}" for k, v in params.items() if k != "iterations")
            rows.append(f"| {label} | {image} | {display} | {p} | {last.it} | {1e3 * total / last.it:.2f} | "
                        f"{total:.3f} | {metrics.psnr(last.x, clean):.2f} | {metrics.ssim(last.x, clean):.3f} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", type=Path, help="also write the Markdown table here")
    args = ap.parse_args()
    rows = bench(args.size, args.repeats, pick_device(args.device))
    text = "\n".join(rows) + "\n"
    print(text)
    if args.out:
        args.out.write_text(f"# Classical methods: speed and quality\n\n`python -m benchmarks.bench_methods "
                            f"--size {args.size} --repeats {args.repeats}`\n\n{text}")


if __name__ == "__main__":
    main()
