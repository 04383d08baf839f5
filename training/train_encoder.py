"""Train the network that serves as a forward model (the ``encoder`` degradation) with its decoder.

    python -m training.train_encoder [--steps 3000] [--out weights/encoder.safetensors]

Data (nothing downloaded): random 64² RGB patches, flipped and turned, from the natural photos
that ship inside installed packages (arena/data/photos.py: scikit-image's stereo motorcycle pair,
matplotlib's Grace Hopper) and scikit-image's ``rocket``; the arena's bundled images stay held out.
An autoencoder, encoder φ: RGB → 4 channels at half resolution in (0, 1), decoder back, trained on
‖dec(φ(x) + n) − x‖² with n Gaussian σ = 2/255 on the code (the degradation's default noise);
Adam 2e-3, halved at 60 % and 85 % of the steps. Writes the checkpoint and its model card; the
metadata records ‖J_φ‖² (power iteration on held-out photos: the step-size bound methods use)
and the decoder's held-out PSNR.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from arena.data.patches import random_patches
from arena.data.photos import natural_photos
from arena.experiment import bundled_images
from arena.images import load_image
from arena.metrics import psnr
from arena.nets.encoder import DEFAULT_ENCODER, Decoder, Encoder, save_codec
from arena.nonlinear_least_squares import Linearization
from benchmarks.bench_methods import machine

HELD_OUT = ("astronaut", "chelsea", "coffee")
CODE_NOISE = 2 / 255


def training_images() -> list[np.ndarray]:
    import skimage.data

    return [im.astype(np.float32) for im in natural_photos()] + [skimage.data.rocket().astype(np.float32) / 255]


def held_out(side: int = 128) -> list[torch.Tensor]:
    return [load_image(bundled_images()[name], max_side=side).x for name in HELD_OUT]


def jacobian_norm_sq(encoder: Encoder, x: torch.Tensor, iterations: int = 50) -> float:
    """‖J_φ(x)‖² by power iteration on JᵀJ (the Jacobian products of arena.nonlinear_least_squares)."""
    lin = Linearization(encoder, x)
    v = torch.randn_like(x)
    value = 0.0
    for _ in range(iterations):
        w = lin.JtJ(v)
        value = float(w.norm() / v.norm())
        v = w / w.norm()
    return value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("runs") / "encoder.safetensors",
                    help=f"where to write (the shipped file is {DEFAULT_ENCODER}; copy it there on purpose)")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    images = training_images()
    encoder, decoder = Encoder(), Decoder()
    params = [*encoder.parameters(), *decoder.parameters()]
    opt = torch.optim.Adam(params, lr=2e-3)
    t0 = time.time()
    for step in range(1, args.steps + 1):
        if step in (int(0.6 * args.steps), int(0.85 * args.steps)):
            for g in opt.param_groups:
                g["lr"] *= 0.5
        x = random_patches(images, args.batch, 64, rng)
        code = encoder(x)
        loss = F.mse_loss(decoder(code + CODE_NOISE * torch.randn_like(code)), x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 250 == 0 or step == args.steps:
            print(f"step {step}  loss {loss.item():.5f}  {time.time() - t0:.0f} s", flush=True)
    seconds = time.time() - t0
    encoder.eval()
    decoder.eval()
    with torch.no_grad():
        scores = [psnr(decoder(encoder(x)).clamp(0, 1), x) for x in held_out()]
    lipschitz = max(jacobian_norm_sq(encoder, x) for x in held_out(64))
    meta = {"lipschitz": f"{lipschitz:.4f}", "held_out_psnr": f"{np.mean(scores):.2f}",
            "steps": str(args.steps), "seconds": f"{seconds:.0f}"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_codec(args.out, encoder, decoder, meta)
    card = args.out.with_suffix(".md")
    card.write_text(f"""# encoder.safetensors — a network as the forward model

**What.** The `encoder` degradation's φ (conv 3×3 3→16, ReLU, conv 3×3 stride 2 16→16, ReLU,
conv 3×3 16→4, sigmoid: an RGB image → a 4-channel code at half resolution, 3HW numbers → HW)
and the decoder trained with it (bilinear ×2, three conv 3×3, 4→32→32→3), which the degradation
uses as its natural inverse. {sum(p.numel() for p in encoder.parameters())} + \
{sum(p.numel() for p in decoder.parameters())} parameters.

**Data.** 64² RGB patches (random flips and quarter turns) from photographs shipped inside
installed packages: scikit-image's `stereo_motorcycle` pair and `rocket`, matplotlib's
`grace_hopper.jpg` (see arena/data/photos.py and scikit-image's data README for sources and
licences). The arena's bundled images are held out.

**Training.** `python -m training.train_encoder` (seed {args.seed}): Adam 2e-3, halved at 60 % and
85 %, batch {args.batch}, {args.steps} steps, loss ‖dec(φ(x) + n) − x‖² with n ~ N(0, (2/255)²)
on the code; {seconds:.0f} s on {machine()}.

**Metrics.** Decoder PSNR on the held-out bundled photos ({', '.join(HELD_OUT)}, 128²):
{np.mean(scores):.2f} dB (each: {', '.join(f'{s:.2f}' for s in scores)}). ‖J_φ‖² ≤ {lipschitz:.3f} (power
iteration, 50 steps, on those photos at 64²): the Lipschitz bound the methods' step sizes use.
""")
    print(f"wrote {args.out} and {card}: held-out PSNR {np.mean(scores):.2f} dB, ‖J‖² {lipschitz:.3f}")


if __name__ == "__main__":
    main()
