"""Train the small DRUNet (arena/nets/drunet.py): the non-blind denoiser of the `pnp` method.

    python -m training.train_drunet --photos DIR              # writes runs/drunet/drunet.safetensors
    python -m training.train_drunet --photos DIR --resume     # continue from runs/drunet/state.pt
    python -m training.train_drunet --photos wallpapers.npz --init weights/drunet.safetensors \
        --device cuda --batch 64 --minutes 7                  # fine-tune the shipped one on a GPU
    cp runs/drunet/drunet.safetensors runs/drunet/drunet.md weights/   # ship it (by hand, on purpose)

Data (nothing downloaded at run time): the photographs of Debian's desktop-background packages
listed in arena/data/wallpapers.py (``--photos`` is where they are unpacked; see that module),
shrunk to ¼ and cut into random patches, plus the natural photos of arena/data/photos.py and the
colour scikit-image samples the arena does not bundle. The arena's bundled images (camera,
astronaut, chelsea, coffee, …) and the wallpapers' validation pair are held out.

Every patch gets its own σ ∈ [0, 50]/255 (uniform); the network sees σ as an input channel and
the loss is the L1 distance to the clean patch (DPIR). Adam, cosine decay from ``--lr`` to 1 %;
a checkpoint with the optimiser state every ``--save-every`` steps, so a cut-off run resumes.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from arena.data.patches import random_patches
from arena.data.photos import natural_photos
from arena.data.wallpapers import wallpaper_photos
from arena.experiment import bundled_images
from arena.images import load_image
from arena.metrics import psnr
from arena.nets.drunet import DRUNet, load_drunet, save_drunet
from training.state import Budget, TrainingState, add_run_options, start_run

HELD_OUT = ("camera", "astronaut", "chelsea", "coffee")
SKIMAGE_COLOUR = ("rocket", "immunohistochemistry", "hubble_deep_field")


def training_photos(root: Path) -> list[np.ndarray]:
    """RGB float32 images: the wallpapers' training split, the natural photos, colour samples."""
    import skimage.data

    images = wallpaper_photos(root, split="train") + natural_photos()
    images += [np.asarray(getattr(skimage.data, n)()[..., :3], dtype=np.float64) / 255.0 for n in SKIMAGE_COLOUR]
    return [im.astype(np.float32) for im in images]


def held_out(side: int = 256) -> list[torch.Tensor]:
    """Centre ``side``² crops of the held-out bundled photos, ``(1, C, side, side)``."""
    out = []
    for name in HELD_OUT:
        x = load_image(bundled_images()[name]).x
        h, w = x.shape[-2:]
        out.append(x[..., (h - side) // 2 : (h - side) // 2 + side, (w - side) // 2 : (w - side) // 2 + side])
    return out


def noisy(x: torch.Tensor, sigma: float, seed: int) -> torch.Tensor:
    """x + σ n with a fixed seed, so every denoiser sees the same noise."""
    return x + sigma * torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))


def evaluate(net: DRUNet, sigma: float = 25 / 255) -> float:
    """Mean PSNR at ``sigma`` on the held-out crops (the noisy input is not clipped)."""
    with torch.no_grad():
        return float(np.mean([psnr(net(noisy(x, sigma, 1000 + i), sigma).clamp(0, 1), x)
                              for i, x in enumerate(held_out())]))


def bm3d_reference(sigma: float = 25 / 255) -> float | None:
    """The same score for (C)BM3D, the bar the card compares with (None where ``bm3d`` is not
    installed, e.g. on a GPU box: score it here afterwards with ``--evaluate``)."""
    from arena.denoisers import denoise

    if importlib.util.find_spec("bm3d") is None:
        return None
    return float(np.mean([psnr(denoise(noisy(x, sigma, 1000 + i), sigma, "bm3d").clamp(0, 1), x)
                          for i, x in enumerate(held_out())]))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=Path, required=True,
                    help="where the wallpaper packages are unpacked (or /), or a .npz from arena.data.wallpapers --pack")
    ap.add_argument("--out", type=Path, default=Path("runs/drunet"), help="output folder (never weights/ by default)")
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=64, help="patch side, a multiple of 8")
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--widths", type=int, nargs="+", default=[32, 64, 128, 256])
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--no-bar", action="store_true", help="do not score BM3D at the end (a minute on a CPU)")
    ap.add_argument("--evaluate", type=Path, default=None,
                    help="only score these weights (and BM3D) on the held-out crops and rewrite their metadata")
    add_run_options(ap)
    args = ap.parse_args(argv)
    if args.evaluate:
        net, meta = load_drunet(args.evaluate)
        meta |= {"held_out_psnr_noise_25": f"{evaluate(net):.2f}", "bm3d_psnr_noise_25": f"{bm3d_reference():.2f}"}
        save_drunet(args.evaluate, net, meta)
        print(meta, flush=True)
        return
    start_run(args)
    net = DRUNet(tuple(args.widths), args.blocks)
    before = {"steps": "0", "train_seconds": "0"}
    if args.init:
        trained, before = load_drunet(args.init)
        net.load_state_dict(trained.state_dict())
    net.to(args.device)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    state = TrainingState(args.out / "state.pt", {"net": net, "opt": opt})
    if args.resume:
        state.resume()
    start, log = state.step, state.log
    rng = np.random.default_rng(args.seed + start)
    images = training_photos(args.photos)
    print(f"{len(images)} training images; starting at step {start}", flush=True)
    budget = Budget(args.steps, args.minutes)  # counted from here: drawing the data is not training

    net.train()
    step = start
    while not budget.done(step):
        step += 1
        for group in opt.param_groups:  # cosine from lr to lr/100
            group["lr"] = args.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * budget.fraction(step))))
        x = random_patches(images, args.batch, args.size, rng)
        sigma = torch.from_numpy(rng.uniform(0, 50 / 255, args.batch)).float()
        y = x + sigma[:, None, None, None] * torch.from_numpy(rng.standard_normal(x.shape, dtype=np.float32))
        x, y, sigma = x.to(args.device), y.to(args.device), sigma.to(args.device)
        loss = F.l1_loss(net(y, sigma), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 50 == 0:
            log.append(loss.item())
            print(f"step {step}: L1 {np.mean(log[-4:]):.5f} ({state.elapsed():.0f} s)", flush=True)
        if step % args.save_every == 0:
            state.save(step)
    state.save(step)
    net.eval().cpu()
    score, bar = evaluate(net), None if args.no_bar else bm3d_reference()
    device = torch.cuda.get_device_name() if str(args.device).startswith("cuda") else "CPU"
    meta = {"steps": str(int(before["steps"]) + step), "batch": str(args.batch), "patch": str(args.size),
            "lr": f"{args.lr:g}", "seed": str(args.seed), "torch": torch.__version__,
            "train_seconds": f"{float(before['train_seconds']) + state.seconds:.0f}",
            "stages": (before.get("stages", f"{before['steps']} steps on a CPU") + "; " if args.init else "")
                      + f"{step} steps × {args.batch} at lr {args.lr:g} on {device} ({state.seconds:.0f} s)",
            "data": f"{len(images)} photographs: {len(images) - 3 - len(SKIMAGE_COLOUR)} Debian wallpapers (see "
                    "arena/data/wallpapers.py), "
                    f"3 natural photos, scikit-image {', '.join(SKIMAGE_COLOUR)}; held out: {', '.join(HELD_OUT)}",
            "held_out_psnr_noise_25": f"{score:.2f}",
            "bm3d_psnr_noise_25": "not scored" if bar is None else f"{bar:.2f}"}
    save_drunet(args.out / "drunet.safetensors", net, meta)
    (args.out / "drunet.json").write_text(json.dumps(meta | {"log_every_50": log}, indent=1))
    print(meta, flush=True)


if __name__ == "__main__":
    main()
