"""Deep Image Prior."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from arena.method import METHODS, Method, Step, iterations_param
from arena.nets.skip import dip_net_params, dip_setup
from arena.params import Param
from arena.problem import Problem

BACKTRACK_DB = 5.0
"""The original notebooks roll back to the last parameters when the data PSNR drops by this much."""


@METHODS.register
class DeepImagePrior(Method):
    """x̂ = f_θ*(z),  θ* ≈ argmin_θ ‖A(f_θ(z + η)) − y‖² by Adam, stopped early (η ~ N(0, reg_noise²)).

    f_θ is the DIP "skip" encoder–decoder and z a fixed random input (``input_depth`` channels,
    uniform on [0, 0.1]); autograd through A makes it work for any degradation, linear or not.
    The network fits structure before noise, so the iterates first improve and then overfit: the
    result is the exponential average x̄ ← ema·x̄ + (1 − ema)·f_θ(z) (what the paper reports), and
    the raw output is streamed beside it (``psnr_raw``) so the overfitting is visible. When the data
    PSNR drops by more than 5 dB in one step, the parameters roll back (the notebooks' backtracking).
    ``net=paper`` is the paper's net (128 ch × 5 scales), ``light`` a CPU-sized one. With
    ``samples = K`` K independently initialised nets (grouped convolutions, one network call) are
    fitted at once; the result is the mean of their averaged outputs and ``map_std`` their
    per-pixel standard deviation — where the prior is unsure.
    """

    name = "dip"
    label = "Deep Image Prior"
    reference = "Ulyanov, Vedaldi & Lempitsky, Deep Image Prior, CVPR 2018 (and IJCV 2020)"
    order = 60
    heavy = True
    params = (
        iterations_param(3000),
        Param("lr", 0.01, "Adam learning rate", min=1e-5, max=1.0, log=True),
        Param("reg_noise", 1 / 30, "std of the noise added to z at every step (1/30 at σ=25, 1/20 at σ=50)",
              min=0.0, max=1.0),
        *dip_net_params(),
        Param("samples", 1, "independent runs (seeds) batched in one network call; > 1 adds a "
              "per-pixel standard-deviation map", min=1, max=16),
    )

    def run(self, problem: Problem, *, iterations: int, lr: float, reg_noise: float, ema: float, net: str,
            input_depth: int, samples: int) -> Iterator[Step]:
        device = problem.device
        shape = problem.x_shape
        f, z, g = dip_setup(shape, device, net=net, input_depth=input_depth, seed=problem.seed, copies=samples)
        opt = torch.optim.Adam(f.parameters(), lr=lr)
        saved = [p.detach().clone() for p in f.parameters()]
        best_db = -float("inf")
        avg: torch.Tensor | None = None
        try:
            for k in range(1, iterations + 1):
                z_in = z + reg_noise * torch.randn(z.shape, generator=g).to(device) if reg_noise > 0 else z
                out = f(z_in).reshape(samples, *shape[1:])
                mse = problem.residual(out).pow(2).flatten(1).mean(1)  # one data term per independent net
                opt.zero_grad(set_to_none=True)
                mse.sum().backward()
                data_db = -10.0 * torch.log10(mse.detach().mean().clamp_min(1e-12)).item()
                if data_db < best_db - BACKTRACK_DB:
                    with torch.no_grad():
                        torch._foreach_copy_(list(f.parameters()), saved)
                else:
                    best_db = max(best_db, data_db)
                    with torch.no_grad():
                        torch._foreach_copy_(saved, list(f.parameters()))
                    opt.step()
                raw = out.detach()
                avg = raw if avg is None else ema * avg + (1 - ema) * raw
                images = {"raw": raw.mean(0, keepdim=True)}
                if samples > 1:
                    images["map_std"] = avg.std(0, keepdim=True)
                yield Step(k, avg.mean(0, keepdim=True), {"loss": mse.mean().item(), "data_psnr": data_db}, images)
        finally:
            del f, opt, saved
