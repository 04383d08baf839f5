"""When does knowing A help? RIM vs the direct network vs TV vs DIP-lite, inside and outside the training family.

    python -m benchmarks.bench_learned [--side 96] [--out benchmarks/LEARNED.md] [--reuse dip]

Held-out images (the bundled camera, astronaut, chelsea, coffee — never in the training patches),
centre ``side``² crops. Degradations inside the RIM's training family, one of them the direct
network's own, and three outside it: a noise level above the training range, a motion-blur kernel
(training saw only Gaussian and uniform blur) and the non-linear camera response. The direct
network refuses other families in the app; here it is also forced through them (numbers in
italics) to show what a network that never sees A does there. Mean PSNR / SSIM, seeds fixed.

TV's λ is tuned per row, as the RIM was trained: the best of a grid on crops of the natural photos
in the RIM's training data (never on the held-out images). Every run writes the per-row means to
``LEARNED.json`` beside the table; ``--reuse dip`` takes DIP-lite's column from there instead of
rerunning it (it is 95 % of the time: 500 iterations × 32 problems, about an hour on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from arena import metrics
from arena.data.photos import natural_photos
from arena.experiment import bundled_images
from arena.images import load_image
from arena.method import METHODS, load_methods
from arena.nets.rim import DEFAULT_DIRECT
from arena.problem import make_problem
from arena.unroll import trained_cell, unroll
from benchmarks.bench_methods import machine

ROOT = Path(__file__).resolve().parent.parent

IMAGES = ("camera", "astronaut", "chelsea", "coffee")
CASES = [  # label, inside the RIM's family?, degradation, values
    ("Gaussian blur σ=1.6, noise 2 (direct's own)", True, "blur", {"kernel": "gaussian", "sigma": 1.6, "noise": 2.0}),
    ("uniform blur 7×7, noise 5", True, "blur", {"kernel": "uniform", "size": 7, "noise": 5.0}),
    ("noise σ=25", True, "denoise", {"sigma": 25.0}),
    ("×2 super-resolution", True, "sr", {"factor": 2}),
    ("50 % random pixels missing", True, "inpaint", {"ratio": 0.5}),
    ("noise σ=75 (above the training range)", False, "denoise", {"sigma": 75.0}),
    ("motion blur 9 px, 30°, noise 2 (unseen kernel)", False, "blur", {"kernel": "motion", "size": 9, "angle": 30.0, "noise": 2.0}),
    ("camera response (non-linear)", True, "camera", {"noise": 2.0}),
]
DIP = {"net": "light", "iterations": 500}
PUBLISHED = {"ram": ("ram", {}), "pnp_published": ("pnp", {"denoiser": "drunet-published"})}
"""Columns for the field's published weights (through deepinv): measured where their files are in the
torch hub cache, else marked as not measured, with the commands that fill them."""
LAMBDAS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)


def tuning_crops(side: int) -> list[torch.Tensor]:
    """Centre crops of two of the training data's natural photos (motorcycle, Grace Hopper) for choosing TV's λ."""
    photos = natural_photos()
    out = []
    for im in (photos[0], photos[2]):
        x = torch.from_numpy(np.ascontiguousarray(im)).permute(2, 0, 1)[None].float()
        h, w = x.shape[-2:]
        out.append(x[..., (h - side) // 2 : (h - side) // 2 + side, (w - side) // 2 : (w - side) // 2 + side])
    return out


def tuned_lambda(name: str, values: dict, side: int) -> float:
    """TV's λ with the best mean PSNR on the tuning crops (300 iterations, as in the table)."""
    problems = [make_problem(x, name, values, seed=100 + i)[:2] for i, x in enumerate(tuning_crops(side))]
    score = {lam: np.mean([metrics.psnr(final("tv", p, {"lam": lam}).clamp(0, 1), c) for p, c in problems])
             for lam in LAMBDAS}
    return max(score, key=score.get)


def crop(name: str, side: int) -> torch.Tensor:
    x = load_image(bundled_images()[name]).x
    h, w = x.shape[-2:]
    return x[..., (h - side) // 2 : (h - side) // 2 + side, (w - side) // 2 : (w - side) // 2 + side]


def final(method: str, problem, values: dict) -> torch.Tensor | None:
    m = METHODS.get(method)()
    if m.supports(problem):
        return None
    return list(m.run(problem, **m.resolve(values, problem)))[-1].x  # the defaults a run on this problem uses


def published_outputs(problem, absent: set[str]) -> dict[str, torch.Tensor | None]:
    """The published columns' results where their files are cached; the files that are not (added to ``absent``)."""
    outs = {}
    for key, (method, given) in PUBLISHED.items():
        m = METHODS.get(method)
        why = m.unavailable(m.resolve(given, problem), problem)
        outs[key] = None if why else final(method, problem, given)
        absent |= set(m.published_files(given, problem)) if why else set()
    return outs


def forced_direct(problem) -> torch.Tensor:
    """The direct network run past its refusal (it only needs y's first estimate)."""
    cell, _ = trained_cell(str(DEFAULT_DIRECT), "cpu", "start")
    with torch.no_grad():
        return list(unroll(cell, problem, cell.cfg.steps))[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--side", type=int, default=96)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "LEARNED.md")
    ap.add_argument("--reuse", nargs="*", default=[], choices=("dip", "direct"),
                    help="take these columns from the last run's LEARNED.json instead of recomputing them")
    args = ap.parse_args()
    sidecar = args.out.with_suffix(".json")
    previous = json.loads(sidecar.read_text())["rows"] if args.reuse else {}
    load_methods()
    t_start = time.time()
    methods = ["degraded", "tv", "dip", "direct", "rim_cell", "rim", "lgn", "pnp", *PUBLISHED]
    absent: set[str] = set()
    rows = []
    for label, inside, name, values in CASES:
        acc: dict[str, list[tuple[float, float]]] = {m: [] for m in methods}
        forced = False
        lam = tuned_lambda(name, values, args.side)
        for i, img in enumerate(IMAGES):
            problem, clean, _ = make_problem(crop(img, args.side), name, values, seed=i)
            outs = {"degraded": problem.degradation.preview(problem.y), "tv": final("tv", problem, {"lam": lam}),
                    "rim_cell": final("rim", problem, {"consistency": "off"}), "rim": final("rim", problem, {}), "lgn": final("lgn", problem, {}), "pnp": final("pnp", problem, {})}
            outs.update(published_outputs(problem, absent))
            if "dip" not in args.reuse:
                outs["dip"] = final("dip", problem, DIP)
            if "direct" not in args.reuse:
                outs["direct"] = final("direct", problem, {})
                if outs["direct"] is None:
                    outs["direct"], forced = forced_direct(problem), True
            for m, x in outs.items():
                if x is not None and x.shape == clean.shape:
                    x = x.clamp(0, 1)
                    acc[m].append((metrics.psnr(x, clean), metrics.ssim(x, clean)))
        mean = {m: (float(np.mean([a for a, _ in v])), float(np.mean([b for _, b in v]))) if v else None
                for m, v in acc.items()}
        for m in args.reuse:
            mean[m] = previous[label]["mean"][m]
            forced = forced or (m == "direct" and previous[label]["forced"])
        rows.append((label, inside, mean, forced, lam))
        print(label, mean, f"({time.time() - t_start:.0f} s)", flush=True)

    lines = ["# Learned gradient descent: when does knowing A help?\n",
             f"Machine: {machine()}. Held-out images {', '.join(IMAGES)} (centre {args.side}² crops), mean "
             "PSNR (dB) / SSIM, best per row in bold. RIM cell: the shipped cell's 16 unrolled steps alone; RIM: its default, "
             "the same steps ending with the data-proximal step (where the cell's output fits y worse than the noise "
             "does, the Tikhonov solution with it as prior mean, μ by the unbiased predictive risk; "
             "arena/data_proximal.py); direct: the same "
             "cell trained on Gaussian blur σ=1.6 + noise 2 only, fed y's first estimate instead of the gradient "
             "(*italics*: forced through a degradation the app refuses it for); TV: 300 iterations, λ tuned per "
             "row on crops of two natural photos from the RIM's training data (the best of "
             f"{', '.join(f'{v:g}' for v in LAMBDAS)}); DIP-lite: light net, 500 iterations; lgn: the learned "
             "Gauss–Newton cell (4 steps, the RIM's 32 Jacobian products; its default, with the data-proximal step); "
             "pnp: plug-and-play HQS with our DRUNet "
             "(defaults). The diffusion prior knows 64×64 faces only: its comparison is benchmarks/sweeps/gan_yeh.md. "
             f"Total {time.time() - t_start:.0f} s"
             + (f"; columns {', '.join(args.reuse)} reused from the previous run's LEARNED.json" if args.reuse else "")
             + ". Regenerate: `python -m benchmarks.bench_learned`.\n",
             "| degradation | in RIM's training family | degraded | TV (tuned λ) | DIP-lite | direct | RIM cell | RIM | lgn | pnp "
             "| RAM (published) | pnp, published DRUNet |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for label, inside, mean, forced, lam in rows:
        scored = {m: v for m, v in mean.items() if v is not None and m != "degraded"}
        top = max(scored, key=lambda m: scored[m][0])
        cells = []
        for m in methods:
            v = mean[m]
            text = "—" if v is None else f"{v[0]:.2f} / {v[1]:.3f}"
            text = f"**{text}**" if m == top else text
            cells.append(f"*{text}*" if m == "direct" and forced else text)
        cells[1] += f" (λ={lam:g})"
        lines.append(f"| {label} | {'yes' if inside else 'no'} | " + " | ".join(cells) + " |")
    if absent:
        lines += ["", "Published columns (—): not measured on this machine, which cannot download them (not in the "
                  f"torch hub cache: {', '.join(sorted(absent))}). On a connected machine: `arena weights fetch "
                  f"{' '.join(sorted(absent))}`, then `python -m benchmarks.bench_learned --reuse dip`."]
    args.out.write_text("\n".join(lines) + "\n")
    sidecar.write_text(json.dumps({"rows": {label: {"mean": mean, "forced": forced, "tv_lambda": lam}
                                            for label, _, mean, forced, lam in rows}}, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
