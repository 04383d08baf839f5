"""Train the faces DDPM (arena/nets/ddpm.py): the prior of the `diffusion` method.

    python -m training.train_ddpm                   # writes runs/ddpm/ddpm_faces.safetensors
    python -m training.train_ddpm --resume          # continue from runs/ddpm/state.pt
    python -m training.train_ddpm --init weights/ddpm_faces.safetensors --device cuda --batch 128 --minutes 7
    cp runs/ddpm/ddpm_faces.* weights/              # ship it (by hand, on purpose)

Data: cartoon faces drawn by code (arena/data/faces.py, training seeds 0..N−1), the class the GAN
prior knows, so the two priors compare on the same held-out faces. Loss: ‖ε − ε_θ(x_t, t)‖² with
t uniform (Ho et al. 2020), horizontal flips; Adam with a linear warm-up; the weights kept are an
exponential moving average (decay ``--ema``), as in every DDPM. A checkpoint with the optimiser
and EMA every ``--save-every`` steps, so a cut-off run resumes.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from arena.data.faces import TRAIN_SEEDS, faces
from arena.diffusion import x0_estimate
from arena.nets.ddpm import DiffusionUNet, T, alpha_bar, load_ddpm, save_ddpm
from training.state import Budget, TrainingState, add_run_options, start_run


def sample_grid(net: DiffusionUNet, n: int, steps: int, seed: int) -> torch.Tensor:
    """``n`` unconditional samples on [0, 1] by DDIM (η = 0) on ``steps`` of the T steps."""
    from arena.diffusion import timesteps

    ab_all, ts = alpha_bar(), timesteps(steps)
    u = torch.randn(n, 3, 64, 64, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        for k, t in enumerate(ts):
            ab = float(ab_all[t])
            eps = net(u, torch.tensor([t]))
            x0 = x0_estimate(eps, u, ab).clamp(-1, 1)
            if k + 1 == len(ts):
                return (x0 + 1) / 2
            ab_next = float(ab_all[ts[k + 1]])
            u = ab_next**0.5 * x0 + (1 - ab_next) ** 0.5 * (u - ab**0.5 * x0) / (1 - ab) ** 0.5
    raise AssertionError("unreachable")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("runs/ddpm"), help="output folder (never weights/ by default)")
    ap.add_argument("--images", type=int, default=10_000, help="training faces (seeds 0..N−1)")
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=4e-4)
    ap.add_argument("--ema", type=float, default=0.995)
    ap.add_argument("--widths", type=int, nargs="+", default=[16, 32, 64, 128])
    ap.add_argument("--grid", type=int, default=16, help="unconditional samples drawn for the model card")
    ap.add_argument("--grid-steps", type=int, default=50, help="DDIM steps of those samples")
    add_run_options(ap)
    args = ap.parse_args(argv)
    start_run(args)
    net = DiffusionUNet(tuple(args.widths))
    before = {"steps": "0", "train_seconds": "0"}
    if args.init:  # the shipped file holds the EMA weights: both start there
        trained, before = load_ddpm(args.init)
        net.load_state_dict(trained.state_dict())
    ema = DiffusionUNet(tuple(args.widths))
    ema.load_state_dict(net.state_dict())
    net.to(args.device), ema.to(args.device)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    state = TrainingState(args.out / "state.pt", {"net": net, "ema": ema, "opt": opt})
    if args.resume:
        state.resume()
    start, log = state.step, state.log
    t_draw = time.time()
    data = torch.from_numpy(faces(TRAIN_SEEDS[: args.images])).permute(0, 3, 1, 2).contiguous()
    print(f"{len(data)} faces drawn in {time.time() - t_draw:.0f} s; starting at step {start}", flush=True)
    ab_all = alpha_bar().float()
    rng = torch.Generator().manual_seed(args.seed + start)
    budget = Budget(args.steps, args.minutes)  # counted from here: drawing the data is not training

    step = start
    while not budget.done(step):
        step += 1
        for group in opt.param_groups:
            group["lr"] = args.lr * min(1.0, (step - start) / 200)
        idx = torch.randint(len(data), (args.batch,), generator=rng)
        x0 = data[idx].float() / 127.5 - 1
        flip = torch.rand(args.batch, generator=rng) < 0.5
        x0[flip] = x0[flip].flip(-1)
        t = torch.randint(T, (args.batch,), generator=rng)
        eps = torch.randn(x0.shape, generator=rng)
        ab = ab_all[t][:, None, None, None]
        x0, eps, ab, t = x0.to(args.device), eps.to(args.device), ab.to(args.device), t.to(args.device)
        loss = F.mse_loss(net(ab.sqrt() * x0 + (1 - ab).sqrt() * eps, t), eps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            for pe, pn in zip(ema.parameters(), net.parameters(), strict=True):
                pe.lerp_(pn, 1 - args.ema)
        if step % 50 == 0:
            log.append(loss.item())
            print(f"step {step}: loss {np.mean(log[-4:]):.4f} ({state.elapsed():.0f} s)", flush=True)
        if step % args.save_every == 0:
            state.save(step)
    state.save(step)
    ema.eval().cpu()
    device = torch.cuda.get_device_name() if str(args.device).startswith("cuda") else "CPU"
    meta = {"steps": str(int(before["steps"]) + step), "batch": str(args.batch), "lr": f"{args.lr:g}",
            "ema": f"{args.ema:g}", "seed": str(args.seed), "torch": torch.__version__,
            "train_seconds": f"{float(before['train_seconds']) + state.seconds:.0f}",
            "stages": (before.get("stages", f"{before['steps']} steps × 32 on a CPU") + "; " if args.init else "")
                      + f"{step} steps × {args.batch} at lr {args.lr:g} on {device} ({state.seconds:.0f} s)",
            "data": f"{len(data)} cartoon faces drawn by arena/data/faces.py (seeds 0..{len(data) - 1})",
            "final_loss": f"{np.mean(log[-10:]):.4f}" if log else "n/a"}
    save_ddpm(args.out / "ddpm_faces.safetensors", ema, meta)
    grid = sample_grid(ema, args.grid, args.grid_steps, 0)
    from torchvision.utils import save_image

    save_image(grid, args.out / "ddpm_faces_samples.png", nrow=8)
    (args.out / "ddpm_faces.json").write_text(json.dumps(meta | {"loss_every_50": log}, indent=1))
    print(meta, flush=True)


if __name__ == "__main__":
    main()
