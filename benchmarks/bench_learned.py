"""When does knowing A help? RIM vs the direct network vs TV vs DIP-lite, inside and outside the training family.

    python benchmarks/bench_learned.py [--side 96] [--out benchmarks/LEARNED.md]

Held-out images (the bundled camera, astronaut, chelsea, coffee — never in the training patches),
centre ``side``² crops. Degradations inside the RIM's training family, one of them the direct
network's own, and three outside it: a noise level above the training range, a motion-blur kernel
(training saw only Gaussian and uniform blur) and the non-linear camera response. The direct
network refuses other families in the app; here it is also forced through them (numbers in
italics) to show what a network that never sees A does there. Mean PSNR / SSIM, seeds fixed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from arena import metrics  # noqa: E402
from arena.experiment import bundled_images  # noqa: E402
from arena.images import load_image  # noqa: E402
from arena.method import METHODS, load_methods  # noqa: E402
from arena.nets.rim import DEFAULT_DIRECT  # noqa: E402
from arena.problem import make_problem  # noqa: E402
from arena.rim import trained_cell, unroll  # noqa: E402
from benchmarks.bench_methods import machine  # noqa: E402

IMAGES = ("camera", "astronaut", "chelsea", "coffee")
CASES = [  # label, inside the RIM's family?, degradation, values, TV λ
    ("Gaussian blur σ=1.6, noise 2 (direct's own)", True, "blur", {"kernel": "gaussian", "sigma": 1.6, "noise": 2.0}, 0.005),
    ("uniform blur 7×7, noise 5", True, "blur", {"kernel": "uniform", "size": 7, "noise": 5.0}, 0.01),
    ("noise σ=25", True, "denoise", {"sigma": 25.0}, 0.08),
    ("×2 super-resolution", True, "sr", {"factor": 2}, 0.002),
    ("50 % random pixels missing", True, "inpaint", {"ratio": 0.5}, 0.005),
    ("noise σ=75 (above the training range)", False, "denoise", {"sigma": 75.0}, 0.25),
    ("motion blur 9 px, 30°, noise 2 (unseen kernel)", False, "blur", {"kernel": "motion", "size": 9, "angle": 30.0, "noise": 2.0}, 0.005),
    ("camera response (non-linear, unseen)", False, "camera", {"noise": 2.0}, 0.005),
]
DIP = {"net": "light", "iterations": 500}


def crop(name: str, side: int) -> torch.Tensor:
    x = load_image(bundled_images()[name]).x
    h, w = x.shape[-2:]
    return x[..., (h - side) // 2 : (h - side) // 2 + side, (w - side) // 2 : (w - side) // 2 + side]


def final(method: str, problem, values: dict) -> torch.Tensor | None:
    m = METHODS.get(method)()
    if m.supports(problem):
        return None
    return list(m.run(problem, **m.resolve(values)))[-1].x


def forced_direct(problem) -> torch.Tensor:
    """The direct network run past its refusal (it only needs y's first estimate)."""
    cell, _ = trained_cell(str(DEFAULT_DIRECT), "cpu", "start")
    with torch.no_grad():
        return list(unroll(cell, problem, cell.cfg.steps))[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--side", type=int, default=96)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "LEARNED.md")
    args = ap.parse_args()
    load_methods()
    t_start = time.time()
    methods = ["degraded", "tv", "dip", "direct", "rim"]
    rows = []
    for label, inside, name, values, lam in CASES:
        acc: dict[str, list[tuple[float, float]]] = {m: [] for m in methods}
        forced = False
        for i, img in enumerate(IMAGES):
            problem, clean, _ = make_problem(crop(img, args.side), name, values, seed=i)
            outs = {"degraded": problem.degradation.preview(problem.y), "tv": final("tv", problem, {"lam": lam}),
                    "dip": final("dip", problem, DIP), "direct": final("direct", problem, {}), "rim": final("rim", problem, {})}
            if outs["direct"] is None:
                outs["direct"], forced = forced_direct(problem), True
            for m, x in outs.items():
                if x is not None and x.shape == clean.shape:
                    x = x.clamp(0, 1)
                    acc[m].append((metrics.psnr(x, clean), metrics.ssim(x, clean)))
        mean = {m: (float(np.mean([a for a, _ in v])), float(np.mean([b for _, b in v]))) if v else None
                for m, v in acc.items()}
        rows.append((label, inside, mean, forced))
        print(label, mean, f"({time.time() - t_start:.0f} s)", flush=True)

    lines = ["# Learned gradient descent: when does knowing A help?\n",
             f"Machine: {machine()}. Held-out images {', '.join(IMAGES)} (centre {args.side}² crops), mean "
             "PSNR (dB) / SSIM, best per row in bold. RIM: 8 unrolled steps of the shipped cell; direct: the same "
             "cell trained on Gaussian blur σ=1.6 + noise 2 only, fed y's first estimate instead of the gradient "
             "(*italics*: forced through a degradation the app refuses it for); TV: λ per row as listed in the "
             "script, 300 iterations; DIP-lite: light net, 500 iterations. "
             f"Total {time.time() - t_start:.0f} s. Regenerate: `python benchmarks/bench_learned.py`.\n",
             "| degradation | in RIM's training family | degraded | TV | DIP-lite | direct | RIM |",
             "|---|---|---|---|---|---|---|"]
    for label, inside, mean, forced in rows:
        scored = {m: v for m, v in mean.items() if v is not None and m != "degraded"}
        top = max(scored, key=lambda m: scored[m][0])
        cells = []
        for m in methods:
            v = mean[m]
            text = "—" if v is None else f"{v[0]:.2f} / {v[1]:.3f}"
            text = f"**{text}**" if m == top else text
            cells.append(f"*{text}*" if m == "direct" and forced else text)
        lines.append(f"| {label} | {'yes' if inside else 'no'} | " + " | ".join(cells) + " |")
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
