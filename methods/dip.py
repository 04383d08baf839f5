"""Deep Image Prior."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import torch

from arena.early_stop import stop_params, supervise
from arena.method import METHODS, Method, Step, iterations_param
from arena.nets.skip import CPU_ITERATIONS, dip_iterations, dip_net_params, dip_reg_noise, dip_setup, plan_net
from arena.params import Param, Value
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
        replace(iterations_param(CPU_ITERATIONS), adaptive=True),
        Param("lr", 0.01, "Adam learning rate", min=1e-5, max=1.0, log=True),
        Param("reg_noise", 1 / 30, "std of the noise added to z at every step (1/30 at σ=25, 1/20 at σ=50)",
              min=0.0, max=1.0, adaptive=True),
        *dip_net_params(),
        Param("samples", 1, "independent runs (seeds) batched in one network call; > 1 adds a "
              "per-pixel standard-deviation map", min=1, max=16),
        *stop_params(),
    )

    def defaults(self, problem: Problem) -> dict[str, Value]:
        """``iterations``: without a time budget 600 on a CPU (the light net's count in the CPU lecture;
        ES-WMV usually ends it) and the paper's 3000 on a GPU; with a budget the paper's 3000 as the
        most, cut to what fits by ``net=auto``. ``reg_noise``: the notebook's 1/30 for σ ≤ 25 and
        1/20 at σ = 50 ("set to 1./20. for sigma=50"), linear in σ between (on the 0–255 scale)."""
        return {"iterations": dip_iterations(problem), "reg_noise": dip_reg_noise(problem)}

    def run(self, problem: Problem, *, iterations: int, lr: float, reg_noise: float, ema: float, net: str,
            input_depth: int, samples: int, stop: str, window: int, patience: int) -> Iterator[Step]:
        started = time.perf_counter()
        threads = torch.get_num_threads()
        fits: list[_Fit] = []

        def make(name: str) -> _Fit:
            fits.append(_Fit(problem, name, lr=lr, reg_noise=reg_noise, ema=ema, input_depth=input_depth,
                             samples=samples))
            return fits[-1]

        try:
            plan = plan_net(make, net=net, iterations=iterations, seconds=problem.seconds,
                            device=problem.device, started=started)
            yield from supervise(plan.iterates(), iterations=plan.iterations, ready=len(plan.steps), stop=stop, window=window,
                                 patience=patience, seconds=problem.seconds, started=started,
                                 notes=plan.notes, chosen=plan.chosen, seconds_per_step=plan.seconds_per_step)
        finally:
            for fit in fits:
                fit.close()
            torch.set_num_threads(threads)


class _Fit:
    """One DIP fit (K nets when ``samples = K``): the state the notebook's training loop keeps."""

    def __init__(self, problem: Problem, net: str, *, lr: float, reg_noise: float, ema: float,
                 input_depth: int, samples: int) -> None:
        self.problem, self.reg_noise, self.ema, self.samples = problem, reg_noise, ema, samples
        self.f, self.z, self.g = dip_setup(problem.x_shape, problem.device, net=net, input_depth=input_depth,
                                           seed=problem.seed, copies=samples)
        self.opt = torch.optim.Adam(self.f.parameters(), lr=lr)
        self.saved = [p.detach().clone() for p in self.f.parameters()]
        self.best_db = -float("inf")
        self.avg: torch.Tensor | None = None
        self.k = 0

    def step(self) -> Step:
        problem, f, z = self.problem, self.f, self.z
        shape = problem.x_shape
        noise = self.reg_noise * torch.randn(z.shape, generator=self.g).to(z.device) if self.reg_noise > 0 else 0
        out = f(z + noise).reshape(self.samples, *shape[1:])
        mse = problem.residual(out).pow(2).flatten(1).mean(1)  # one data term per independent net
        self.opt.zero_grad(set_to_none=True)
        mse.sum().backward()
        data_db = -10.0 * torch.log10(mse.detach().mean().clamp_min(1e-12)).item()
        if data_db < self.best_db - BACKTRACK_DB:
            with torch.no_grad():
                torch._foreach_copy_(list(f.parameters()), self.saved)
        else:
            self.best_db = max(self.best_db, data_db)
            with torch.no_grad():
                torch._foreach_copy_(self.saved, list(f.parameters()))
            self.opt.step()
        raw = out.detach()
        self.avg = raw if self.avg is None else self.ema * self.avg + (1 - self.ema) * raw
        images = {"raw": raw.mean(0, keepdim=True)}
        if self.samples > 1:
            images["map_std"] = self.avg.std(0, keepdim=True)
        self.k += 1
        return Step(self.k, self.avg.mean(0, keepdim=True), {"loss": mse.mean().item(), "data_psnr": data_db}, images)

    def close(self) -> None:
        del self.f, self.opt, self.saved
