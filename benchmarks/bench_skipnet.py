"""Seconds per DIP iteration (forward + backward + Adam step) of our skip net against a plain
PyTorch reference of the paper's net written here (same layers, no tricks).

    python -m benchmarks.bench_skipnet [--sizes 128 256 512] [--repeats 5] [--net paper|light] [--fit 300]

Each variant runs 2 warm-up iterations, then ``--repeats`` timed ones; the median is reported.
The machine is printed at the top. The last column is DIP itself through the runner (what
``arena run`` does: the layout its autotune chose, the runner's checks and PSNR every 10 steps),
timed by the runner's own per-step clock on σ=25 denoising of the astronaut at that side, with the
precision its autotune chose (named in the table). ``--fit N`` then runs DIP through the runner for
N steps in float32 and at its default precision, and reports both final PSNRs and step times.
"""

from __future__ import annotations

import argparse
import statistics
import time
from itertools import pairwise

import torch
from torch import nn

from arena.nets.skip import SkipConfig, SkipNet
from benchmarks.bench_methods import machine


class Reference(nn.Module):
    """The DIP repository's ``skip()`` as a straight nn.Sequential build (its Concat/Upsample layers)."""

    def __init__(self, cfg: SkipConfig) -> None:
        super().__init__()

        def conv(cin: int, cout: int, k: int, stride: int = 1) -> nn.Sequential:
            pad = (k - 1) // 2
            return nn.Sequential(nn.ReflectionPad2d(pad), nn.Conv2d(cin, cout, k, stride))

        def level(cin: int, i: int) -> nn.Module:
            d, u, s = cfg.down[i], cfg.up[i], cfg.skip[i]
            deeper = [conv(cin, d, 3, 2), nn.BatchNorm2d(d), nn.LeakyReLU(0.2), conv(d, d, 3), nn.BatchNorm2d(d),
                      nn.LeakyReLU(0.2)]
            k = d
            if i + 1 < len(cfg.down):
                deeper.append(level(d, i + 1))
                k = cfg.up[i + 1]
            deeper.append(nn.Upsample(scale_factor=2, mode="bilinear"))
            return _Concat(nn.Sequential(conv(cin, s, 1), nn.BatchNorm2d(s), nn.LeakyReLU(0.2)),
                           nn.Sequential(*deeper),
                           nn.Sequential(nn.BatchNorm2d(s + k), conv(s + k, u, 3), nn.BatchNorm2d(u),
                                         nn.LeakyReLU(0.2), conv(u, u, 1), nn.BatchNorm2d(u), nn.LeakyReLU(0.2)))

        self.net = nn.Sequential(level(cfg.input_depth, 0), nn.Conv2d(cfg.up[0], cfg.output_depth, 1), nn.Sigmoid())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class _Concat(nn.Module):
    def __init__(self, skip: nn.Module, deeper: nn.Module, merge: nn.Module) -> None:
        super().__init__()
        self.skip, self.deeper, self.merge = skip, deeper, merge

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.merge(torch.cat([self.skip(x), self.deeper(x)], dim=1))


def time_iterations(net: nn.Module, side: int, repeats: int, channels_last: bool, device: torch.device) -> float:
    torch.manual_seed(0)
    net = net.to(device)
    z = torch.rand(1, 32, side, side, device=device)
    y = torch.rand(1, 3, side, side, device=device)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        z = z.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    times = []
    for i in range(repeats + 2):
        t0 = time.perf_counter()
        loss = (net(z) - y).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= 2:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--net", default="paper", choices=("paper", "light"))
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--fit", type=int, help="also run DIP N steps in fp32 and at its default precision")
    args = ap.parse_args()
    device = torch.device(args.device)
    cfg = SkipConfig.paper() if args.net == "paper" else SkipConfig.light()
    print(f"Machine: {machine()}; device {device}; net {args.net}; median of {args.repeats}.\n")
    print("| side | reference s/it | ours s/it | ours, channels-last s/it | DIP through the runner s/it "
          "(precision) | runner / reference |")
    print("|---:|---:|---:|---:|---:|---:|")
    for side in args.sizes:
        ref = time_iterations(Reference(cfg), side, args.repeats, False, device)
        ours = time_iterations(SkipNet(cfg), side, args.repeats, False, device)
        last = time_iterations(SkipNet(cfg), side, args.repeats, True, device)
        runner, _, chosen = through_runner(args.net, side, args.repeats, args.device)
        print(f"| {side} | {ref:.3f} | {ours:.3f} | {last:.3f} | {runner:.3f} ({chosen}) | {runner / ref:.2f} |",
              flush=True)
    if args.fit:
        print("\n| side | steps | fp32 PSNR, s/it | default PSNR, s/it (precision) | PSNR change |\n|---:|---:|---|---|---:|")
        for side in args.sizes:
            t32, p32, _ = through_runner(args.net, side, args.fit, args.device, precision="fp32")
            t, p, chosen = through_runner(args.net, side, args.fit, args.device)
            print(f"| {side} | {args.fit} | {p32:.2f} dB, {t32:.3f} | {p:.2f} dB, {t:.3f} ({chosen}) | {p - p32:+.2f} |",
                  flush=True)


def through_runner(net: str, side: int, repeats: int, device: str,
                   precision: str | None = None) -> tuple[float, float, str]:
    """DIP through the runner: median seconds per step as the runner clocks them (after 2 warm-up
    steps), the final PSNR and the precision used (``None``: the method's default)."""
    from arena.experiment import Config, cli_workers, prepare_experiment, run

    params = {"net": net, "iterations": repeats + 2, "stop": "none", **({"precision": precision} if precision else {})}
    cfg = Config(image="astronaut", degradation="denoise", degradation_params={"sigma": 25}, max_side=side,
                 device=device, methods=[{"name": "dip", "params": params}])
    prepared = prepare_experiment(cfg)
    result = list(run(prepared, with_lpips=False, workers=cli_workers(prepared)))[-1].results["dip"]
    clock = [h["seconds"] for h in result.history]
    return (statistics.median(b - a for a, b in pairwise(clock[1:])), result.metrics["psnr"],
            str(result.params.get("precision")))


if __name__ == "__main__":
    main()
