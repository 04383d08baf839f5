"""Fair defaults and tuning: every regularised method with its problem-aware default (``off``),
the discrepancy principle (``auto``) and the best PSNR (``oracle``), on the bundled photos.

    python -m benchmarks.bench_defaults [--size 128] [--images camera,astronaut,chelsea,coffee]
                                        [--methods tikhonov,tv,red,pnp] [--out benchmarks/DEFAULTS.md]

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

from arena.experiment import Config, prepare_experiment, run
from benchmarks.bench_methods import machine

ROOT = Path(__file__).resolve().parent.parent

PROBLEMS = {
    "Gaussian blur σ=1.6, noise 2": "blur:kernel=gaussian,sigma=1.6,noise=2",
    "denoising σ=25": "denoise:sigma=25",
    "SR ×4": "sr:factor=4",
    "50 % random inpainting": "inpaint:mask=random,ratio=0.5",
    "MRI 25 % lines": "mri:ratio=0.25",
}
MODES = ("off", "auto", "oracle")
GAP_DB = 1.0
"""A default is fair when it is within this of the method's own oracle."""
RED_BEGIN, RED_END = "<!-- red-denoising -->", "<!-- /red-denoising -->"


def _photo_problems(which: str, size: int, spec: tuple[str, dict]):
    """(name, problem, clean) for the training photos (``arena.data.photos``) or the held-out bundled
    ones, downscaled so that the longer side is ``size``, seed 0."""
    import torch

    from arena.images import _fit, load_image
    from arena.problem import make_problem

    if which == "train":
        from arena.data.photos import natural_photos

        names = ("motorcycle left", "motorcycle right", "grace hopper")
        images = [_fit(torch.from_numpy(a.copy()).permute(2, 0, 1)[None].float(), size, []) for a in natural_photos()]
    else:
        names = ("camera", "astronaut", "chelsea", "coffee")
        images = [load_image(ROOT / "assets" / "images" / f"{n}.png", max_side=size).x for n in names]
    return [(n, *make_problem(x, spec[0], spec[1], seed=0)[:2]) for n, x in zip(names, images, strict=True)]


def red_denoising(size: int) -> list[str]:
    """RED on σ = 25 denoising: its default (the learned DRUNet at this noise level) against TV's
    default and NLM applied once, and RED with NLM — its default, the oracle on λ alone and on
    (λ, σ_d) jointly (``arena.tuning.tune_oracle(joint=...)``) — on the training and the held-out
    photos. Returns the markdown section."""
    import torch

    from arena import metrics, tuning
    from arena.denoisers import denoise
    from arena.method import METHODS, load_methods

    load_methods()
    red, tv = METHODS.get("red"), METHODS.get("tv")
    lines = [RED_BEGIN, "## RED on σ = 25 denoising", "",
             f"PSNR (dB) at {size}², seed 0; `nlm once` is D(y) at σ (DeepRED's NLM); `red default` uses "
             "the learned DRUNet (RED's default from noise σ = 5 on); the NLM columns force `denoiser=nlm`, "
             "whose oracles search λ on the half-decade grid ±2 decades, jointly with σ_d ∈ {0.5, 0.7, 1, "
             "1.4} × its default, then golden section on λ (`arena.tuning`). `python -m "
             "benchmarks.bench_defaults --red-denoising` regenerates this section.", "",
             "| photo | nlm once | tv default | red default | red nlm default | red nlm oracle λ "
             "| red nlm oracle (λ, σ_d) | chosen λ, σ_d |",
             "|---|---|---|---|---|---|---|---|"]
    for which in ("train", "held"):
        rows = []
        for name, problem, clean in _photo_problems(which, size, ("denoise", {"sigma": 25})):
            torch.set_num_threads(1)
            score = lambda x, clean=clean: metrics.psnr(x, clean)  # noqa: E731
            nlm = score(denoise(problem.y, problem.sigma, "nlm"))
            *_, t = tv().run(problem, **tv.resolve({}, problem))
            *_, d = red().run(problem, **red.resolve({}, problem))
            params = red.resolve({"denoiser": "nlm"}, problem)
            *_, r = red().run(problem, **params)
            lam = red.tunable()
            evaluate = tuning.evaluator(red(), problem, params, lam)
            alone = tuning.tune_oracle(lam, params["lam"], evaluate, score, problem)
            both = tuning.tune_oracle(lam, params["lam"], evaluate, score, problem,
                                      joint=tuning.joint_param(red, lam, params))
            chosen = tuning.chosen_params(both)
            row = [nlm, score(t.x), score(d.x), score(r.x), max(tr.psnr for tr in alone.trials),
                   max(tr.psnr for tr in both.trials)]
            rows.append(row)
            lines.append(f"| {name} ({'training' if which == 'train' else 'held out'}) | "
                         + " | ".join(f"{v:.2f}" for v in row)
                         + f" | {chosen['lam']:.3g}, {chosen['sigma_d']:.3g} |")
            print(lines[-1], flush=True)
        means = [sum(col) / len(col) for col in zip(*rows, strict=True)]
        lines.append(f"| **mean, {'training' if which == 'train' else 'held out'}** | "
                     + " | ".join(f"{v:.2f}" for v in means) + " | |")
    return [*lines, "", RED_END]


def one(image: str, degradation: str, method: str, tune: str, size: int) -> dict:
    cfg = Config.from_specs(image, degradation, [method], max_side=size, tune=tune, sequential=True)
    prep = prepare_experiment(cfg)
    res = next(ev.results for ev in run(prep, with_lpips=False) if ev.kind == "done")[method]
    tuning = res.tuning or {}
    return {"psnr": res.metrics["psnr"], "seconds": res.seconds + tuning.get("seconds", 0.0), "value": res.params.get(tuning.get("param", "lam")),
            "reason": tuning.get("reason", "")}


SAME_FUNCTIONAL = {"gauss_newton": "tv", "levenberg_marquardt": "tv"}
"""Methods that minimise another method's functional with its λ rule (``arena.nonlinear_least_squares.tv_rule``):
their default and oracle are that method's, so they are measured as it (an oracle of their outer
steps at 128² would take hours on a CPU; ``tests/test_default_gaps.py`` checks the equivalence)."""


def tunable_methods() -> list[str]:
    """Every registered method that declares a tunable parameter, in the registry's order."""
    from arena.method import METHODS, load_methods

    load_methods()
    return [m.name for m in METHODS if m.tunable() is not None]


def measured_as(method: str) -> str:
    """The method whose cells stand for ``method``'s (itself, or the one whose functional it minimises)."""
    return SAME_FUNCTIONAL.get(method, method)


def gap_table(data: dict, methods: list[str]) -> list[str]:
    """Every (problem, method) cell: the default's PSNR, its own oracle's and the gap between them;
    gaps over :data:`GAP_DB` are marked (``tests/test_default_gaps.py`` names their reasons)."""
    lines = ["## Each default against its own oracle", "",
             f"Oracle − default (dB), mean over the held-out photos; ✗ marks a gap over {GAP_DB:g} dB. "
             "`tests/test_default_gaps.py` checks every cell of `DEFAULTS.json` and names each exception.", "",
             "| problem | " + " | ".join(methods) + " |", "|" + "---|" * (1 + len(methods))]
    for label, row in data.items():
        cells = []
        for m in methods:
            off, best = row.get(f"{measured_as(m)}/off"), row.get(f"{measured_as(m)}/oracle")
            if off is None or best is None:
                cells.append("—")
                continue
            gap = best["psnr"] - off["psnr"]
            cells.append(f"{off['psnr']:.2f} → {best['psnr']:.2f} ({gap:+.2f}{' ✗' if gap > GAP_DB else ''})"
                         + (f", as {measured_as(m)}" if m in SAME_FUNCTIONAL else ""))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    weak = [f"- {m} on {label}: its own oracle gains {row[f'{m}/oracle']['psnr'] - row['naive']:+.2f} dB over the "
            "naive inverse — what the model can reach, not a default that misses it"
            for label, row in data.items() for m in methods if m not in SAME_FUNCTIONAL
            and f"{m}/oracle" in row and row[f"{m}/oracle"]["psnr"] - row["naive"] < 0.5]
    return lines + (["", "Where even the oracle gains under 0.5 dB:", "", *weak] if weak else [])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--images", default="camera,astronaut,chelsea,coffee")
    ap.add_argument("--methods", help="comma-separated (default: every method with a tunable parameter)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "DEFAULTS.md"))
    ap.add_argument("--only", help="recompute these problems (comma-separated labels' first words, e.g. MRI) "
                                   "and keep the other rows of the JSON sidecar (with --methods: the other "
                                   "methods' cells too)")
    ap.add_argument("--render", action="store_true", help="only rewrite the markdown from the JSON sidecar")
    ap.add_argument("--red-denoising", action="store_true",
                    help="only (re)compute the section on RED with NLM at σ = 25 (joint λ, σ_d oracle)")
    args = ap.parse_args()
    images = args.images.split(",")
    methods = args.methods.split(",") if args.methods else [m for m in tunable_methods() if m not in SAME_FUNCTIONAL]
    out = Path(args.out)
    if args.red_denoising:
        section = "\n".join(red_denoising(args.size))
        text = out.read_text() if out.is_file() else ""
        if RED_BEGIN in text:
            text = text[:text.index(RED_BEGIN)] + section + text[text.index(RED_END) + len(RED_END):]
        else:
            text = text.rstrip("\n") + "\n\n" + section + "\n"
        out.write_text(text)
        return
    data: dict = {}
    if (args.only or args.methods or args.render) and out.with_suffix(".json").is_file():
        data = json.loads(out.with_suffix(".json").read_text())["data"]
    for label, spec in PROBLEMS.items():
        if args.render or (args.only and label.split()[0] not in args.only.split(",")):
            continue
        naive = []
        for image in images:
            cfg = Config.from_specs(image, spec, ["naive"], max_side=args.size)
            prep = prepare_experiment(cfg)
            naive.append(next(ev.results for ev in run(prep, with_lpips=False) if ev.kind == "done")["naive"].metrics["psnr"])
        data.setdefault(label, {})["naive"] = statistics.mean(naive)
        for method in methods:
            for mode in MODES:
                rows = [one(image, spec, method, mode, args.size) for image in images]
                data[label][f"{method}/{mode}"] = {
                    "psnr": statistics.mean(r["psnr"] for r in rows), "psnrs": [r["psnr"] for r in rows],
                    "seconds": statistics.mean(r["seconds"] for r in rows),
                    "values": [r["value"] for r in rows], "reasons": sorted({r["reason"] for r in rows})}
                print(label, method, mode, f"{data[label][f'{method}/{mode}']['psnr']:.2f}", flush=True)
    data = {label: data[label] for label in PROBLEMS if label in data}
    methods = [m for m in tunable_methods() if any(f"{measured_as(m)}/off" in row for row in data.values())]
    out.with_suffix(".json").write_text(json.dumps({"machine": machine(), "size": args.size, "images": images,
                                                    "data": data}, indent=1))
    lines = [f"# Defaults, auto and oracle tuning ({machine()})", "",
             f"Mean PSNR (dB) over {', '.join(images)} at {args.size}² (held out: rules fitted on "
             "`arena.data.photos`); in brackets the gain over the naive inverse; then mean seconds per "
             "method including tuning trials (× the untuned run). Bold: at least 0.5 dB over naive. "
             "`python -m benchmarks.bench_defaults` regenerates this file and `DEFAULTS.json`.", ""]
    measured = [m for m in methods if m not in SAME_FUNCTIONAL]
    head = "| problem | naive | " + " | ".join(f"{m} {mode}" for m in measured for mode in MODES) + " |"
    lines += [head, "|" + "---|" * (2 + len(measured) * len(MODES))]
    for label, row in data.items():
        cells = []
        for m in measured:
            base = row[f"{m}/off"]["seconds"]
            for mode in MODES:
                c = row[f"{m}/{mode}"]
                gain = c["psnr"] - row["naive"]
                text = f"{c['psnr']:.2f} ({gain:+.2f}), {c['seconds']:.2f} s" + (
                    f" ×{c['seconds'] / base:.1f}" if mode != "off" and base > 0 else "")
                cells.append(f"**{text}**" if gain >= 0.5 else text)
        lines.append(f"| {label} | {row['naive']:.2f} | " + " | ".join(cells) + " |")
    lines += ["", *gap_table(data, methods)]
    old = out.read_text() if out.is_file() else ""
    keep = old[old.index(RED_BEGIN):old.index(RED_END) + len(RED_END)] if RED_BEGIN in old else ""
    out.write_text("\n".join(lines) + "\n" + (f"\n{keep}\n" if keep else ""))
    print(out.read_text())


if __name__ == "__main__":
    main()
