"""The denoisers that RED, DeepRED and plug-and-play plug in, on the held-out photos.

    python -m benchmarks.bench_denoisers [--side 256] [--repeats 3]

Gaussian noise σ ∈ {15, 25, 50} on centre crops of camera, astronaut, chelsea and coffee (never in
any training set; the noisy input is not clipped, every denoiser sees the same noise), each
denoiser told the true σ (the blind DnCNN ignores it). Mean PSNR over the images and the median
over ``--repeats`` runs of the seconds per image; writes ``benchmarks/DENOISERS.md``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from arena.denoisers import DENOISERS, denoise
from arena.metrics import psnr
from benchmarks.bench_methods import machine
from training.train_drunet import held_out, noisy

SIGMAS = (15, 25, 50)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--side", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "DENOISERS.md")
    args = ap.parse_args(argv)
    images = held_out(args.side)
    rows = []
    for kind in DENOISERS:
        scores, seconds = [], []
        for s in SIGMAS:
            per_image, times = [], []
            for i, x in enumerate(images):
                y = noisy(x, s / 255, 1000 + i)
                runs = []
                for _ in range(args.repeats):
                    t0 = time.perf_counter()
                    out = denoise(y, s / 255, kind)
                    runs.append(time.perf_counter() - t0)
                per_image.append(psnr(out.clamp(0, 1), x))
                times.append(statistics.median(runs))
            scores.append(float(np.mean(per_image)))
            seconds.append(float(np.mean(times)))
        rows.append((kind, scores, statistics.median(seconds)))
        print(kind, [f"{v:.2f}" for v in scores], f"{rows[-1][2]:.2f} s", flush=True)
    best = [max(r[1][j] for r in rows) for j in range(len(SIGMAS))]
    lines = ["# Denoisers on held-out photos", "",
             f"Machine: {machine()}. Centre {args.side}² crops of camera (grey), astronaut, chelsea, coffee; "
             "Gaussian noise, not clipped; mean PSNR (dB), best per column in bold; seconds per image: the "
             f"median of {args.repeats} runs, averaged over images and σ. Generated {time.strftime('%Y-%m-%d')} by "
             "`python -m benchmarks.bench_denoisers`.", "",
             "| denoiser | " + " | ".join(f"σ = {s}" for s in SIGMAS) + " | seconds / image |",
             "|---|" + "---|" * (len(SIGMAS) + 1)]
    for kind, scores, sec in rows:
        cells = [f"**{v:.2f}**" if v == best[j] else f"{v:.2f}" for j, v in enumerate(scores)]
        lines.append(f"| {kind} | " + " | ".join(cells) + f" | {sec:.2f} |")
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
