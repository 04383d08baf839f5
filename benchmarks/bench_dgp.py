"""Deep Generative Prior against the reference code's settings, on 64×64 faces.

    python -m benchmarks.bench_dgp [--faces train|held] [--variants default,reference,...]

Each variant is a set of ``dgp`` parameters (see ``VARIANTS``); each row is the PSNR per face and
the mean over the faces for ×4 super-resolution, σ = 25 denoising and the centre 32×32 hole, seed
0, one torch thread. ``train`` are four faces of the generator's *training* seeds (200–203), on
which the defaults were chosen; ``held`` the bundled held-out face1–face4. The numbers quoted in
``benchmarks/DGP.md`` came from this loop (the row for Adam's β₁ = 0.9 from the same loop with
``torch.optim.Adam``'s β₁ patched, and the row for the code before the change from that commit).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from arena.data.faces import draw_face
from arena.images import load_image
from arena.method import METHODS, load_methods
from arena.metrics import psnr
from arena.problem import make_problem
from benchmarks.bench_methods import machine

TASKS = (("sr", {"factor": 4}), ("denoise", {"sigma": 25}), ("inpaint", {"mask": "box", "box": 0.5}))
VARIANTS = {
    "default": {},
    "reference": {"schedule": "reference", "features": 1.0},
    "reference-rates": {"schedule": "reference", "features": 1.0, "tune_lr": 5e-5},
    "reference-nll0": {"schedule": "reference", "features": 1.0, "nll": 0.0},
    "reference-beta0.4": {"schedule": "reference", "features": 0.4},
    "beta1": {"features": 1.0},
    "beta0.4": {"features": 0.4},
    "beta0.4-nll0": {"features": 0.4, "nll": 0.0},
    "beta0.2": {"features": 0.2},
    "beta0.05": {"features": 0.05},
}


def faces(which: str) -> list[tuple[str, torch.Tensor]]:
    if which == "train":
        return [(f"seed {s}", torch.from_numpy(draw_face(s).copy()).permute(2, 0, 1)[None].float() / 255)
                for s in (200, 201, 202, 203)]
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "assets" / "images"
    return [(f"face{i}", load_image(root / f"face{i}.png", max_side=64).x) for i in (1, 2, 3, 4)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--faces", choices=("train", "held"), default="train")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    args = ap.parse_args()
    torch.set_num_threads(1)
    load_methods()
    cls = METHODS.get("dgp")
    images = faces(args.faces)
    print(f"{machine()}; faces: {', '.join(n for n, _ in images)}")
    for name in args.variants.split(","):
        t0, cells = time.perf_counter(), []
        for task, values in TASKS:
            scores = []
            for _, x in images:
                problem, clean, _ = make_problem(x, task, values, seed=0)
                for step in cls().run(problem, **cls.resolve(VARIANTS[name], problem)):
                    out = step.x
                scores.append(psnr(out, clean))
            cells.append(f"{task} " + " ".join(f"{s:.2f}" for s in scores) + f" mean {statistics.mean(scores):.2f}")
        print(f"{name} ({VARIANTS[name]}): " + " | ".join(cells) + f" ({time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
