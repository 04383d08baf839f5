"""Train the learned iterative networks: the RIM, the direct deblurring baseline and the DnCNN denoiser.

    python -m training.train_rim                 # all three (about an hour on a 2-core CPU) into runs/learned/
    python -m training.train_rim --only rim      # one of rim, direct, dncnn, lgn
    python -m training.train_rim --only rim --hidden 32 --unroll 16 --shares nonlinear \
        --photos wallpapers.npz --device cuda --batch 32 --minutes 7      # the wide cell, on a GPU
    cp runs/learned/*.safetensors runs/learned/learned.md weights/    # ship them (by hand, on purpose)

Data (nothing downloaded): grey patches from the scikit-image sample images that the arena does
*not* bundle (brick, clock, coins, colorwheel, grass, gravel, hubble_deep_field,
immunohistochemistry, moon, page, retina, rocket, text, cell; BSD-3 / public domain, see
scikit-image's data README) and from dead-leaves images drawn by code (arena/data/dead_leaves.py).
The arena's bundled images (camera, astronaut, chelsea, coffee, …) are held out for evaluation.

- RIM: every batch draws a degradation from the training family — Gaussian noise σ ∈ [5, 50];
  Gaussian blur σ_b ∈ [0.6, 2.5] or uniform blur 3–9 px, noise ∈ [0.5, 10]; ×2 or ×4
  super-resolution, noise ∈ [0, 5]; random-pixel inpainting 20–80 %, noise ∈ [0, 5] (0–255 scale)
  — and the network learns one update rule for all of them from the likelihood gradient.
- direct: the same cell fed with the first estimate instead of the gradient, trained on one
  degradation only: Gaussian blur σ_b = 1.6 (9×9), noise σ = 2 — the arena's default blur.
- DnCNN: blind Gaussian denoising, σ ∈ [0, 55].
- lgn (learned Gauss–Newton): the RIM's cell fed the Gauss–Newton direction from ``--cg`` CG steps
  (arena/unroll.py) instead of the gradient; same family, same data.

``--photos`` adds the Debian wallpaper photographs of arena/data/wallpapers.py (luma and channels).

Loss: mean over the T unrolled steps of the MSE to the clean patch (Putzky & Welling); Adam 1e-3,
halved at 60 % and 85 % of the steps; gradient norm clipped at 1.
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from arena.data.dead_leaves import dead_leaves
from arena.data.patches import random_patches
from arena.data.photos import natural_photos
from arena.data.wallpapers import wallpaper_photos
from arena.experiment import bundled_images
from arena.images import load_image
from arena.metrics import psnr
from arena.nets.rim import (
    DEFAULT_DIRECT,
    DEFAULT_DNCNN,
    DEFAULT_LGN,
    DEFAULT_RIM,
    DnCNN,
    RimCell,
    RimConfig,
    load_rim,
    save_dncnn,
    save_rim,
)
from arena.problem import Problem, build_degradation
from arena.unroll import unroll
from training.state import Budget

TRAIN_IMAGES = ("brick", "clock", "coins", "colorwheel", "grass", "gravel", "hubble_deep_field",
                "immunohistochemistry", "moon", "page", "retina", "rocket", "text", "cell")
HELD_OUT = ("camera", "astronaut", "chelsea", "coffee")
DIRECT_DEGRADATION = ("blur", {"kernel": "gaussian", "sigma": 1.6, "size": 9, "noise": 2.0})


def training_images(rng: np.random.Generator, leaves: int, photos: Path | None = None) -> list[np.ndarray]:
    """Grey float images: scikit-image samples (luma and each colour channel), the natural photos,
    the wallpaper photographs under ``photos`` (if given) and dead leaves."""
    import skimage.data

    out = []
    for name in TRAIN_IMAGES:
        im = np.asarray(getattr(skimage.data, name)(), dtype=np.float64)
        im = im / 255.0 if im.max() > 1 else im
        if im.ndim == 3:
            im = im[..., :3]
            out.append(im @ np.array([0.299, 0.587, 0.114]))
            out.extend(im[..., c] for c in range(3))
        else:
            out.append(im)
    out.extend(photo_channels(natural_photos()))
    if photos is not None:
        out.extend(photo_channels(wallpaper_photos(photos, split="train")))
    out.extend(dead_leaves(128, rng, r_min=2.0) for _ in range(leaves))
    return [o.astype(np.float32) for o in out]


def photo_channels(photos: list[np.ndarray]) -> list[np.ndarray]:
    """RGB photos, each as luma and as its three channels."""
    out = []
    for im in photos:
        out.append(im @ np.array([0.299, 0.587, 0.114]))
        out.extend(im[..., c] for c in range(3))
    return out


FAMILY_SHARES = {"denoise": 0.2, "blur": 0.25, "blur_uniform": 0.15, "sr": 0.2, "inpaint": 0.2}
DEBLUR_SHARES = {"denoise": 0.15, "blur": 0.35, "blur_uniform": 0.15, "sr": 0.2, "inpaint": 0.15}
NONLINEAR_SHARES = {"denoise": 0.15, "blur": 0.2, "blur_uniform": 0.1, "sr": 0.15, "inpaint": 0.15, "camera": 0.15,
                    "quantize": 0.1}
"""The linear family plus the non-linear camera response and quantization (straight-through)."""
NONLINEAR_DEBLUR_SHARES = {"denoise": 0.1, "blur": 0.35, "blur_uniform": 0.1, "sr": 0.13, "inpaint": 0.1, "camera": 0.14,
                           "quantize": 0.08}
"""The same kinds, blur drawn more often (a later stage, as ``deblur`` is for the linear family)."""
WIDE_SHARES = {"denoise": 0.1, "denoise_low": 0.05, "blur": 0.25, "blur_uniform": 0.08, "sr": 0.12, "inpaint": 0.12,
               "camera": 0.1, "camera_mild": 0.1, "quantize": 0.08}
"""The non-linear family plus near-identity problems (σ ≤ 5 noise, a barely saturating camera), whose
natural estimate x₀ is already good: a cell that never met them learns to move x₀ whatever it is
(the first nonlinear cell took chelsea's camera response from 38.0 dB at x₀ to 31.6). Used with
uniform step weights for the shipped cell's last stage (62 CPU minutes): +0.6 dB on the held-out camera
response, chelsea's 256² camera response 33.2 → 34.5 dB, still short of the inverse curve's 38."""
SHARES = {"family": FAMILY_SHARES, "deblur": DEBLUR_SHARES, "nonlinear": NONLINEAR_SHARES,
          "nonlinear_deblur": NONLINEAR_DEBLUR_SHARES, "wide": WIDE_SHARES}


def family(rng: np.random.Generator, shares: dict[str, float] = FAMILY_SHARES) -> tuple[str, dict]:
    """One degradation from the RIM's training family, kinds drawn with the given shares."""
    kind = rng.choice(list(shares), p=list(shares.values()))
    if kind == "denoise":
        return "denoise", {"sigma": float(rng.uniform(5, 50))}
    if kind == "denoise_low":
        return "denoise", {"sigma": float(rng.uniform(0.5, 5))}
    if kind == "blur":
        return "blur", {"kernel": "gaussian", "sigma": float(rng.uniform(0.6, 2.5)), "size": 9,
                        "noise": float(rng.uniform(0.5, 10))}
    if kind == "blur_uniform":
        return "blur", {"kernel": "uniform", "size": int(rng.choice([3, 5, 7, 9])), "noise": float(rng.uniform(0.5, 10))}
    if kind == "sr":
        return "sr", {"factor": int(rng.choice([2, 4])), "noise": float(rng.uniform(0, 5))}
    if kind == "camera":
        return "camera", {"exposure": float(rng.uniform(0.8, 2.0)), "curve": float(rng.uniform(0.5, 4.0)),
                          "noise": float(rng.uniform(0.5, 10))}
    if kind == "camera_mild":
        return "camera", {"exposure": float(rng.uniform(0.6, 1.3)), "curve": float(rng.uniform(0.2, 2.5)),
                          "noise": float(rng.uniform(0, 3))}
    if kind == "quantize":
        return "quantize", {"levels": int(rng.integers(3, 17))}
    return "inpaint", {"mask": "random", "ratio": float(rng.uniform(0.2, 0.8)), "noise": float(rng.uniform(0, 5))}


def degrade(x: torch.Tensor, name: str, values: dict, seed: int) -> Problem:
    """A batched problem on ``x``'s device: the same operator for every patch, independent noise."""
    deg = build_degradation(name, tuple(x.shape[1:]), values, seed=seed, device=x.device)
    y = deg.observe(x, torch.Generator().manual_seed(seed))
    return Problem(y, deg, seed)


def train_unrolled(cell: RimCell, images: list[np.ndarray], sampler: Callable[[np.random.Generator], tuple[str, dict]],
                   budget: Budget, batch: int, size: int, rng: np.random.Generator, label: str,
                   lr: float = 1e-3, relative: bool = False, weighting: str = "uniform",
                   device: str = "cpu") -> tuple[list[float], int]:
    """Adam on the weighted mean over unrolled steps of ‖x_t − x‖² until ``budget`` is spent;
    returns the loss every 100 steps and the steps taken. The learning rate is halved at 60 % and
    85 % of the budget.

    ``weighting`` ``uniform`` is Putzky & Welling's mean over steps; ``linear`` weighs step t by t,
    so the last iterates — the ones a user sees — count most while every step still learns to improve.

    With ``relative`` the loss of each batch is divided by ‖x₀ − x‖², the error of the start, so
    that mild problems (a small blur with little noise) weigh as much as heavy ones (σ = 50 noise)
    instead of being drowned by them."""
    weights = torch.arange(1.0, cell.cfg.steps + 1) if weighting == "linear" else torch.ones(cell.cfg.steps)
    weights = (weights / weights.sum()).to(device)
    opt = torch.optim.Adam(cell.parameters(), lr=lr)
    log, t0, step = [], time.time(), 0
    while not budget.done(step):
        step += 1
        frac = budget.fraction(step)
        for group in opt.param_groups:
            group["lr"] = lr * 0.5 ** ((frac > 0.6) + (frac > 0.85))
        x = random_patches(images, batch, size, rng).to(device)
        name, values = sampler(rng)
        problem = degrade(x, name, values, int(rng.integers(2**31)))
        losses = torch.stack([F.mse_loss(xt, x) for xt in unroll(cell, problem, cell.cfg.steps)])
        loss = (losses * weights).sum()
        if relative:
            loss = loss / F.mse_loss(problem.initial(), x).clamp_min(1e-6)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(cell.parameters(), 1.0)
        opt.step()
        if step % 100 == 0:
            log.append(loss.item())
            print(f"{label} step {step}: loss {loss.item():.5f} ({time.time() - t0:.0f} s)", flush=True)
    return log, step


def held_out_psnr(run: Callable[[Problem], torch.Tensor], name: str, values: dict, side: int = 128) -> float:
    """Mean PSNR over the held-out bundled images (luma, centre ``side``² crop) for one degradation."""
    scores = []
    for i, img in enumerate(HELD_OUT):
        x = load_image(bundled_images()[img]).x
        x = (x * torch.tensor([0.299, 0.587, 0.114])[:, None, None]).sum(1, keepdim=True) if x.shape[1] == 3 else x
        h, w = x.shape[-2:]
        x = x[..., (h - side) // 2 : (h - side) // 2 + side, (w - side) // 2 : (w - side) // 2 + side]
        problem = degrade(x, name, values, 1000 + i)
        with torch.no_grad():
            scores.append(psnr(run(problem).clamp(0, 1), x))
    return float(np.mean(scores))


CARD = """# Model card: the learned iterative networks (`rim`, `lgn`, `direct_deblur`, `dncnn`)

All four are trained by `python -m training.train_rim` (seed {seed}). Data: {data}. An image is
drawn uniformly for each patch, so with 200 dead-leaves images (the default `--leaves`, used by
`lgn`, `direct`, `dncnn` and the RIM's first four stages) 62 % of the patches are synthetic discs;
the RIM's last two stages used `--leaves 20` (14 %) and gained 0.5–1.0 dB on held-out photographs in
every problem of its family (below). Nothing is downloaded: scikit-image ships its sample images (BSD-3 / public domain, see its data README),
matplotlib its photo, Debian's `mate-backgrounds` and `plasma-workspace-wallpapers` the wallpapers
(GPL-2+; list and authors in `arena/data/wallpapers.py`, validation pair never used), dead leaves
are drawn by code. Patches {patch}×{patch}, grey (every colour channel is restored as its own grey
image, so the same weights serve grey and colour images).

| file | network | trained on | steps × batch | training time | held-out PSNR (bundled images, luma, 128² crops) |
|---|---|---|---|---|---|
| `rim.safetensors` ({rim_kb:.0f} kB) | RIM: conv → ConvGRU → conv → ConvGRU → conv, {rim_hidden} ch, {rim_unroll} unrolled steps, input (x_t, ∇/L, σ) | the family: noise σ 5–50; Gaussian blur σ 0.6–2.5 / uniform 3–9 px with noise 0.5–10; SR ×2, ×4 with noise ≤ 5; random inpainting 20–80 %; the camera response (exposure 0.8–2, curve 0.5–4, noise 0.5–10); quantization to 3–16 levels; the last stage also near-identity problems (noise σ 0.5–5; the camera with exposure 0.6–1.3, curve 0.2–2.5, noise 0–3) | {rim_steps} (batches: stages below) | {rim_seconds} s | {rim_psnr} dB on Gaussian blur σ=1.6 + noise 2 |
| `lgn.safetensors` ({lgn_kb:.0f} kB) | the same cell, {lgn_hidden} ch, {lgn_unroll} unrolled steps, input (x_t, d_t, σ) with d_t the Gauss–Newton direction of {lgn_cg} CG steps | the RIM's family | {lgn_steps} × {lgn_batch} | {lgn_seconds} s | {lgn_psnr} dB on the same problem |
| `direct_deblur.safetensors` ({direct_kb:.0f} kB) | the same cell, {direct_hidden} ch, {direct_unroll} steps, input (x_t, x₀(y), σ) — never sees A | Gaussian blur σ=1.6 (9×9) + noise 2 only | {direct_steps} × {direct_batch} | {direct_seconds} s | {direct_psnr} dB on the same problem |
| `dncnn.safetensors` ({dncnn_kb:.0f} kB) | DnCNN, 8 layers × 32 ch, residual | blind Gaussian denoising, σ 0–55 | {dncnn_steps} × 32 | {dncnn_seconds} s | {dncnn_psnr} dB at σ=25 |

Loss: over the unrolled steps, the MSE to the clean patch (Putzky & Welling), step t weighted by t
where the stages say "linear"; "relative" divides each batch's loss by the error of its start, so
that mild problems weigh as much as σ = 50 noise; the MSE of the denoised patch (DnCNN). Adam,
learning rate halved at 60 % and 85 % of each stage (of its steps, or of its wall time with
`--minutes`); gradient norm clipped at 1.

- RIM stages: {rim_stages}.
- Learned Gauss–Newton: {lgn_stages}.
- direct: {direct_stages}.
- DnCNN: {dncnn_steps} steps at lr 10⁻³ on a 2-core CPU, from the 14 sample images and dead leaves only.

The RIM, the learned Gauss–Newton cell and the direct network were trained on 2026-11-26 on one
NVIDIA H200 (torch 2.11), five trainings side by side for their first 6 minutes, so
each had a share of the GPU; the RIM then went on alone, and on a 2-core CPU where the stages say
so. The RIM and lgn cells see the same number of Jacobian products per run: 16 × (φ, Jᵀ) for the
RIM, 4 × (φ, Jᵀ + 3 × (J, Jᵀ)) for lgn. To reproduce (the wallpapers packed with
`python -m arena.data.wallpapers DIR wallpapers.npz`):

    python -m training.train_rim --only rim --hidden 32 --unroll 16 --shares nonlinear --loss relative \\
        --weighting linear --photos wallpapers.npz --device cuda --batch 32 --size 48 --minutes 6
    python -m training.train_rim --only rim --resume ... --lr 5e-4 --minutes 3.2   # then the stages above
    python -m training.train_rim --only lgn --hidden 32 --unroll 4 --cg 3 --shares nonlinear --loss relative \\
        --weighting linear --photos wallpapers.npz --device cuda --batch 32 --size 48 --minutes 6
    python -m training.train_rim --only direct --hidden 32 --unroll 16 --photos wallpapers.npz --device cuda \\
        --batch 32 --size 48 --minutes 6
    python -m training.train_rim --only dncnn --dncnn-steps 1000

The held-out images (camera, astronaut, chelsea, coffee) are never cut into training patches.
`benchmarks/sweeps/nonlinear.md` measures the three cells against TV and the naive inverse in and out of
the family, the non-linear camera response included.

**Where they stand** (2-core CPU, `arena run`, default 256² images, TV with `--tune oracle`):
- Gaussian blur σ = 1.6 + noise 2: RIM 30.56 / 29.15 dB on camera / astronaut, TV's oracle 30.21 / 29.05 —
  the RIM beats the oracle on both (before its last two stages: 29.85 / 27.77; before the last: 30.40 /
  28.76). lgn 29.91 on camera in 4 steps.
- Camera response (exposure 1.15, curve 2, noise 2): RIM 25.27 / 23.66 / 23.53 on camera / astronaut /
  coffee against the oracle's 23.51 / 22.30 / 22.57 (TV's best is the inverse curve itself), but
  34.45 on chelsea, which the curve barely degrades (inverse curve 38.03, oracle 38.29): on an
  almost clean image the cell's own steps are the error (on chelsea's luma, noise σ = 1, a 48 dB start
  ends at 39.6 dB; its first step gives 35, 30 before the last stage). Before this training (16 ch,
  linear family only) it lost the camera response everywhere (22.23 on camera). The `rim` method ends
  with the data-proximal step by default (`arena/data_proximal.py`: an output that misfits y more than
  the noise does is replaced by the Tikhonov solution with it as prior mean, μ by the unbiased
  predictive risk): 25.72 / 23.76 / 23.70, and **chelsea 39.29** (its misfit 4.50 → 0.62 on the 0–255
  scale) — all four above the oracle. Morozov's discrepancy rule instead stops at the noise level:
  chelsea 37.85. A further 60-minute stage of the last recipe (1655 steps) was not shipped: chelsea
  34.11 alone / 38.03 with the discrepancy step, held-out blur 29.19 (shipped: 29.24).
- What the last two stages changed, held-out luma 128² crops, mean of the four images, before → after
  `--leaves 20` → after the `wide`, uniformly weighted stage: Gaussian blur 1.6 + noise 2 28.26 → 28.95
  → 29.24; uniform 7×7 + noise 5 26.20 → 26.77 → 26.95; noise σ 25 27.86 → 28.35 → 28.42, σ 5 35.29 →
  36.28 → 36.40, σ 1 (near-identity) — → 40.25 → 40.69; ×2 SR 30.37 → 31.14 → — (with noise 1:
  31.01 → 31.15); 50 % inpainting 30.09 → 30.61 → 30.27; camera response 25.81 → 26.28 → 26.89; 8-level
  quantization 27.09 → 28.13 → 27.94. The uniform weights (Putzky & Welling's mean over steps) make
  every step useful: step 1 alone goes from 25.5 to 26.5 dB on the camera response, 31.4 → 34.1 at σ 5.
  A 793-step linear-weighted stage at half the rate after `--leaves 20` gained blur (30.50 / 28.88)
  and lost the camera response (coffee 22.52): not shipped.

**Limits.** Small networks trained for minutes: they show the ideas, not the state of the art.
The direct network is refused for other degradation families and warns for other blur
parameters; the RIM and lgn run on any degradation. Retrain with `--minutes` on a GPU for better numbers.
"""


def write_card(folder: Path) -> None:
    """``folder/learned.md`` from the metadata of the four checkpoints in ``folder``."""
    from arena.nets.rim import load_dncnn

    paths = {k: folder / p.name for k, p in (("rim", DEFAULT_RIM), ("lgn", DEFAULT_LGN), ("direct", DEFAULT_DIRECT),
                                             ("dncnn", DEFAULT_DNCNN))}
    key = "held_out_psnr_blur_gaussian_1.6_noise_2"
    cells = {kind: load_rim(paths[kind]) for kind in ("rim", "lgn", "direct")}
    values = {k: cells["rim"][1][k] for k in ("seed", "data", "patch", "batch")} | {"lgn_cg": cells["lgn"][0].cfg.cg}
    for kind, (cell, meta) in cells.items():
        values |= {f"{kind}_kb": paths[kind].stat().st_size / 1024, f"{kind}_hidden": cell.cfg.hidden,
                   f"{kind}_unroll": cell.cfg.steps, f"{kind}_steps": meta["steps"], f"{kind}_batch": meta["batch"],
                   f"{kind}_seconds": meta["train_seconds"], f"{kind}_psnr": meta[key],
                   f"{kind}_stages": meta.get("stages", f"{meta['steps']} steps")}
    dncnn = load_dncnn(paths["dncnn"])[1]
    values |= {"dncnn_kb": paths["dncnn"].stat().st_size / 1024, "dncnn_steps": dncnn["steps"],
               "dncnn_seconds": dncnn["train_seconds"], "dncnn_psnr": dncnn["held_out_psnr_noise_25"]}
    (folder / "learned.md").write_text(CARD.format(**values))


def evaluate(cell: RimCell) -> dict[str, str]:
    """Held-out PSNR of an unrolled cell on the direct baseline's deblurring problem."""
    score = held_out_psnr(lambda p: list(unroll(cell, p, cell.cfg.steps))[-1], *DIRECT_DEGRADATION)
    return {"held_out_psnr_blur_gaussian_1.6_noise_2": f"{score:.2f}"}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.card_only:
        write_card(args.out)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    outs = {kind: args.out / p.name for kind, p in (("rim", DEFAULT_RIM), ("direct", DEFAULT_DIRECT),
                                                   ("dncnn", DEFAULT_DNCNN), ("lgn", DEFAULT_LGN))}
    todo = args.only or ["rim", "direct", "dncnn"]
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    images = training_images(rng, leaves=args.leaves, photos=args.photos)
    wallpapers = f", {len(wallpaper_photos(args.photos))} Debian wallpaper photographs" if args.photos else ""
    common = {"seed": str(args.seed), "batch": str(args.batch), "patch": str(args.size), "torch": torch.__version__,
              "data": f"{len(TRAIN_IMAGES)} scikit-image sample images, 3 natural photos (stereo_motorcycle "
                      f"left/right, matplotlib's grace_hopper){wallpapers} (luma + channels) and {args.leaves} "
                      f"dead-leaves images; held out: {', '.join(HELD_OUT)}"}
    for kind in ("rim", "lgn", "direct"):
        if kind in todo:
            rng = train_cell(kind, args, images, rng, common, outs[kind])
    if "dncnn" in todo:
        train_dncnn(args, images, rng, common, outs["dncnn"])
    if all(p.is_file() for p in outs.values()):
        write_card(args.out)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=("rim", "direct", "dncnn", "lgn"), action="append")
    ap.add_argument("--rim-steps", type=int, default=3000)
    ap.add_argument("--direct-steps", type=int, default=1500)
    ap.add_argument("--dncnn-steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=40, help="patch side (a multiple of 4 for ×4 SR)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (patches are cut on the CPU either way)")
    ap.add_argument("--minutes", type=float, default=0.0,
                    help="train each of rim/lgn/direct for this wall time instead of its steps (same schedule)")
    ap.add_argument("--photos", type=Path, default=None,
                    help="also cut patches from the wallpaper photographs (unpacked packages or a .npz; "
                         "see arena/data/wallpapers.py)")
    ap.add_argument("--cg", type=int, default=3, help="CG steps per unrolled step of a new lgn cell")
    ap.add_argument("--card-only", action="store_true", help="rewrite --out/learned.md from the checkpoints there "
                                                                 "(--out weights: the shipped card)")
    ap.add_argument("--resume", action="store_true",
                    help="continue training the RIM in --out, or the shipped one if --out has none (a further stage)")
    ap.add_argument("--lr", type=float, default=1e-3, help="RIM learning rate (halved at 60 %% and 85 %%)")
    ap.add_argument("--loss", choices=("mse", "relative"), default="mse",
                    help="RIM loss: MSE, or MSE relative to the start's error (balances the family)")
    ap.add_argument("--leaves", type=int, default=200, help="dead-leaves images among the training images")
    ap.add_argument("--hidden", type=int, default=16, help="channels of a new cell (not with --resume)")
    ap.add_argument("--unroll", type=int, default=None,
                    help="unrolled steps T (default: 8 for a new cell, a resumed cell's own T)")
    ap.add_argument("--weighting", choices=("uniform", "linear"), default="uniform",
                    help="RIM loss over the unrolled steps: the mean, or step t weighted by t")
    ap.add_argument("--shares", choices=tuple(SHARES), default="family",
                    help="how often each kind of degradation is drawn (deblur: more blur, less noise/inpainting; "
                         "nonlinear: adds the camera response and quantization; wide: adds near-identity "
                         "problems, low noise and a mild camera)")
    ap.add_argument("--out", type=Path, default=Path("runs") / "learned",
                    help=f"folder for the checkpoints and learned.md (the shipped ones are in {DEFAULT_RIM.parent}; "
                         "copy them there on purpose)")
    return ap.parse_args(argv)


def new_cell(kind: str, args: argparse.Namespace, out: Path) -> tuple[RimCell, dict[str, str]]:
    """A fresh cell of ``kind`` (rim, lgn or direct), or with ``--resume`` the trained one in ``out``
    (else the shipped one) for a further stage; with the metadata it was trained to so far."""
    unroll = args.unroll or 8
    cfg = {"rim": RimConfig(hidden=args.hidden, steps=unroll, inputs="gradient"),
           "lgn": RimConfig(hidden=args.hidden, steps=unroll, inputs="gauss_newton", cg=args.cg),
           "direct": RimConfig(hidden=args.hidden, steps=unroll, inputs="start")}[kind]
    cell, before = RimCell(cfg), {"steps": "0", "train_seconds": "0"}
    if args.resume and kind != "direct":  # continue a trained cell: a further stage
        shipped = {"rim": DEFAULT_RIM, "lgn": DEFAULT_LGN}[kind]
        trained, before = load_rim(out if out.is_file() else shipped)
        cell = RimCell(RimConfig(trained.cfg.hidden, args.unroll or trained.cfg.steps, trained.cfg.inputs,
                                 trained.cfg.cg))
        cell.load_state_dict(trained.state_dict())
    return cell, before


def train_cell(kind: str, args: argparse.Namespace, images: list[np.ndarray], rng: np.random.Generator,
               common: dict[str, str], out: Path) -> np.random.Generator:
    """Train (or, with ``--resume``, go on training) the ``kind`` cell and save it to ``out`` with its
    metadata; returns the generator later trainings draw from (a resumed stage's is fresh)."""
    steps = {"rim": args.rim_steps, "lgn": args.rim_steps, "direct": args.direct_steps}[kind]
    t0 = time.time()
    cell, before = new_cell(kind, args, out)
    if args.resume and kind != "direct":
        rng = np.random.default_rng(args.seed + int(before["steps"]))  # fresh batches
    if kind == "direct":
        name, values = DIRECT_DEGRADATION
        sampler, lr, loss, weighting = (lambda _: (name, values)), 1e-3, "mse", "uniform"
    else:
        sampler = functools.partial(family, shares=SHARES[args.shares])
        lr, loss, weighting = args.lr, args.loss, args.weighting
    log, taken = train_unrolled(cell.to(args.device).train().requires_grad_(True), images, sampler,
                                Budget(steps, args.minutes), args.batch, args.size, rng, kind, lr=lr,
                                relative=loss == "relative", weighting=weighting, device=args.device)
    cell.eval().cpu()
    device_name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    stage = (f"{taken} steps at lr {lr:g} ({loss} loss, T={cell.cfg.steps}, {weighting} step weights"
             + ("" if kind == "direct" else f", {args.shares} shares") + f", {args.leaves} dead-leaves images"
             f", batch {args.batch}, {device_name}, "
             f"{time.time() - t0:.0f} s)")
    earlier = before.get("stages", f"{before['steps']} steps at lr 1e-3 (mse loss)") + "; " if args.resume else ""
    meta = common | {"steps": str(int(before["steps"]) + taken), "stages": earlier + stage,
                     "train_seconds": f"{float(before['train_seconds']) + time.time() - t0:.0f}",
                     "final_loss": f"{np.mean(log[-5:]):.5f}", **evaluate(cell)}
    if kind == "direct":
        meta |= {"degradation": name, **{f"degradation.{k}": str(v) for k, v in values.items()}}
    save_rim(out, cell, meta)
    print(meta, flush=True)
    return rng


def train_dncnn(args: argparse.Namespace, images: list[np.ndarray], rng: np.random.Generator,
                common: dict[str, str], out: Path) -> None:
    """Train the blind DnCNN denoiser (σ uniform in 0–55) and save it to ``out`` with its metadata."""
    t0 = time.time()
    net = DnCNN()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    milestones = [int(0.6 * args.dncnn_steps), int(0.85 * args.dncnn_steps)]
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones, 0.5)
    log = []
    for step in range(1, args.dncnn_steps + 1):
        x = random_patches(images, 2 * args.batch, args.size, rng)
        sigma = torch.from_numpy(rng.uniform(0, 55 / 255, (x.shape[0], 1, 1, 1))).float()
        y = x + sigma * torch.randn(x.shape, generator=torch.Generator().manual_seed(int(rng.integers(2**31))))
        loss = F.mse_loss(net(y), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0:
            log.append(loss.item())
            print(f"dncnn step {step}: loss {loss.item():.5f} ({time.time() - t0:.0f} s)", flush=True)
    net.eval()
    score = held_out_psnr(lambda p: net(p.y), "denoise", {"sigma": 25.0})
    meta = common | {"steps": str(args.dncnn_steps), "train_seconds": f"{time.time() - t0:.0f}",
                     "held_out_psnr_noise_25": f"{score:.2f}"}
    save_dncnn(out, net, meta)
    print(meta, flush=True)


if __name__ == "__main__":
    main()
