"""Train the small DRUNet (arena/nets/drunet.py): the non-blind denoiser of the `pnp` method.

    python -m training.train_drunet --photos DIR              # writes runs/drunet/drunet.safetensors
    python -m training.train_drunet --photos DIR --resume     # continue from runs/drunet/state.pt
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
import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from arena.data.patches import random_patches
from arena.data.photos import natural_photos
from arena.data.wallpapers import PHOTOS, wallpaper_photos
from arena.experiment import bundled_images
from arena.images import load_image
from arena.metrics import psnr
from arena.nets.drunet import DRUNet, save_drunet
from training.state import TrainingState, add_run_options, start_run

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


def bm3d_reference(sigma: float = 25 / 255) -> float:
    """The same score for (C)BM3D, the bar the card compares with."""
    from arena.denoisers import denoise

    return float(np.mean([psnr(denoise(noisy(x, sigma, 1000 + i), sigma, "bm3d").clamp(0, 1), x)
                          for i, x in enumerate(held_out())]))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=Path, required=True, help="where the wallpaper packages are unpacked (or /)")
    ap.add_argument("--out", type=Path, default=Path("runs/drunet"), help="output folder (never weights/ by default)")
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=64, help="patch side, a multiple of 8")
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--widths", type=int, nargs="+", default=[32, 64, 128, 256])
    ap.add_argument("--blocks", type=int, default=2)
    add_run_options(ap)
    args = ap.parse_args(argv)
    start_run(args)
    net = DRUNet(tuple(args.widths), args.blocks)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    state = TrainingState(args.out / "state.pt", {"net": net, "opt": opt})
    if args.resume:
        state.resume()
    start, log = state.step, state.log
    rng = np.random.default_rng(args.seed + start)
    images = training_photos(args.photos)
    print(f"{len(images)} training images; starting at step {start}", flush=True)

    net.train()
    for step in range(start + 1, args.steps + 1):
        for group in opt.param_groups:  # cosine from lr to lr/100
            group["lr"] = args.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * step / args.steps)))
        x = random_patches(images, args.batch, args.size, rng)
        sigma = torch.from_numpy(rng.uniform(0, 50 / 255, args.batch)).float()
        y = x + sigma[:, None, None, None] * torch.from_numpy(rng.standard_normal(x.shape, dtype=np.float32))
        loss = F.l1_loss(net(y, sigma), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 50 == 0:
            log.append(loss.item())
            print(f"step {step}: L1 {np.mean(log[-4:]):.5f} ({state.elapsed():.0f} s)", flush=True)
        if step % args.save_every == 0 or step == args.steps:
            state.save(step)
    net.eval()
    score, bar = evaluate(net), bm3d_reference()
    meta = {"steps": str(args.steps), "batch": str(args.batch), "patch": str(args.size), "lr": f"{args.lr:g}",
            "seed": str(args.seed), "torch": torch.__version__, "train_seconds": f"{state.seconds:.0f}",
            "data": f"{len(images)} photographs: {len(PHOTOS) - 2} Debian wallpapers (see arena/data/wallpapers.py), "
                    f"3 natural photos, scikit-image {', '.join(SKIMAGE_COLOUR)}; held out: {', '.join(HELD_OUT)}",
            "held_out_psnr_noise_25": f"{score:.2f}", "bm3d_psnr_noise_25": f"{bar:.2f}"}
    save_drunet(args.out / "drunet.safetensors", net, meta)
    (args.out / "drunet.json").write_text(json.dumps(meta | {"log_every_50": log}, indent=1))
    print(meta, flush=True)


if __name__ == "__main__":
    main()
