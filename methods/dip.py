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


LR = 0.005
"""Adam's learning rate; the paper's is 0.01. On the light net 0.005 reached a better averaged
output sooner (``benchmarks/RULES.md``, DIP)."""
REG_NOISE_AT_25 = 0.04
"""Input noise at σ ≤ 25, 1.2 × the notebooks' 1/30 (and 0.06 at σ ≥ 50 where they use 1/20): it
slows the fitting of the noise, so the averaged output peaks higher (``benchmarks/RULES.md``, DIP)."""
PATIENCE = 500
"""ES-WMV's patience for DIP (the paper's experiments use larger ones for 10⁴-step runs). The raw
output's variance can dip while the result is still rising, and a patience of 500 steps outlasts
such dips within a CPU budget (``benchmarks/RULES.md``, DIP)."""


OUTPUTS = ("notebook", "paper")
RAW_OUTPUTS = ("perturbed", "net")


@METHODS.register
class DeepImagePrior(Method):
    """x̂ = f_θ*(z),  θ* ≈ argmin_θ ‖A(f_θ(z + η)) − y‖² by Adam, stopped early (η ~ N(0, reg_noise²)).

    f_θ is the DIP "skip" encoder–decoder and z a fixed random input (``input_depth`` channels,
    uniform on [0, 0.1]); autograd through A makes it work for any degradation, linear or not.
    The network fits structure before noise, so the iterates first improve and then overfit: the
    result is the exponential average x̄ ← ema·x̄ + (1 − ema)·f_θ(z) (what the paper reports), and
    the raw output is streamed beside it (``psnr_raw``) so the overfitting is visible. ``output``
    says which output: ``notebook`` (default) the authors' notebooks' f_θ(z + η), the training
    forward's output, so the average is also a mean over input perturbations; ``paper`` the paper's
    f_θ(z) without η, at one more forward (no autograd) per step. The notebooks' is the better
    estimate at the default input noise (``benchmarks/RULES.md``, DIP). When the data PSNR drops by
    more than ``BACKTRACK_DB`` from the previous accepted step, the parameters roll back to those
    of that step and this step's update is skipped, and its output stays out of the average (the
    notebooks' backtracking; they still apply the rejected step's gradient to the restored
    parameters and average its output).
    ``net=paper`` is the paper's net (128 ch × 5 scales), ``light`` a CPU-sized one (32 × 4);
    ``net=auto`` times a few steps here and takes the paper's net only when enough of its steps fit
    in the time budget (:func:`arena.nets.skip.plan_net`), cutting ``iterations`` to what fits.
    ``stop=es-wmv`` ends the run without the clean image (:mod:`arena.early_stop`): when the
    running variance of the last ``window`` raw outputs has made no new minimum for ``patience``
    steps, the result is the averaged output at that minimum. The rule watches the raw output (as
    ``output`` says), as in Wang et al.: the average is itself a running mean over ~1/(1 − ema)
    steps, so its variance measures slow drift, and its minimum fell far from the peak (camera 128²: step
    1987 against a peak at 1131). With ``samples = K`` K independently initialised nets (grouped
    convolutions, one network call) are fitted at once; the result is the mean of their averaged
    outputs and the map ``std`` their per-pixel standard deviation — where the prior is unsure.

    The paper's setting is one preset away (``dip-paper-*``: net=paper, lr 0.01, input noise 1/30,
    3000 iterations, stop=none).
    """

    name = "dip"
    family = "deep priors"
    rule = (r"\hat x = f_{\theta^*}(z),\qquad \theta^* \approx \arg\min_\theta \|A(f_\theta(z + \eta)) - y\|^2\ "
            r"\text{(Adam, stopped early)}")
    label = "Deep Image Prior"
    reference = "Ulyanov, Vedaldi & Lempitsky, Deep Image Prior, CVPR 2018 (and IJCV 2020)"
    order = 60
    slow = True
    limits = {"colorize": "the skip net fits the gray image's structure but has no colour to give (−3.0 dB measured)"}
    heavy = True
    params = (
        replace(iterations_param(CPU_ITERATIONS), adaptive=True),
        Param("lr", LR, "Adam learning rate (the paper: 0.01)", min=1e-5, max=1.0, log=True),
        Param("reg_noise", REG_NOISE_AT_25, "std of the noise added to z at every step (0.04 at σ ≤ 25, 0.06 at "
              "σ ≥ 50; the notebooks: 1/30 and 1/20)", min=0.0, max=1.0, adaptive=True),
        *dip_net_params(),
        Param("output", "notebook", "what is averaged and shown: notebook = f_θ(z + η) as in the authors' "
              "notebooks (better here), paper = f_θ(z) as in the paper's equation (one more forward per step)",
              choices=OUTPUTS),
        Param("raw", "perturbed", "the raw output shown beside the average: perturbed = f_θ(z + η), the training "
              "forward's (free); net = f_θ(z), the network's own output (one more forward per step), which shows "
              "the fitting of the noise without the jitter of η", choices=RAW_OUTPUTS),
        Param("samples", 1, "independent runs (seeds) batched in one network call; > 1 adds a "
              "per-pixel standard-deviation map", min=1, max=16),
        *stop_params(patience=PATIENCE),
    )

    def defaults(self, problem: Problem) -> dict[str, Value]:
        """``iterations``: without a time budget on a CPU 600 at σ ≥ 25 (the light net's count in the
        CPU lecture), up to 2400 as the noise falls (:func:`arena.nets.skip.dip_iterations`); the
        paper's 3000 on a GPU, and with a budget as the most, cut to what fits by ``net=auto``
        (ES-WMV may end it sooner). ``reg_noise``: 0.04 for σ ≤ 25,
        0.06 from σ = 50, linear in σ between (on the 0–255 scale): the notebooks' rule (1/30, and
        "1./20. for sigma=50") scaled by 1.2 (see ``REG_NOISE_AT_25``)."""
        return {"iterations": dip_iterations(problem), "reg_noise": dip_reg_noise(problem, REG_NOISE_AT_25)}

    def run(self, problem: Problem, *, iterations: int, lr: float, reg_noise: float, ema: float, net: str,
            input_depth: int, precision: str, compile: str, output: str, raw: str, samples: int, stop: str, window: int,
            patience: int) -> Iterator[Step]:
        started = time.perf_counter()
        threads = torch.get_num_threads()
        fits: list[_Fit] = []

        def make(name: str) -> _Fit:
            fits.append(_Fit(problem, name, lr=lr, reg_noise=reg_noise, ema=ema, input_depth=input_depth,
                             samples=samples, paper_output=output == "paper", net_raw=raw == "net",
                             precision=precision, compile=compile))
            return fits[-1]

        try:
            plan = plan_net(make, net=net, iterations=iterations, seconds=problem.seconds,
                            device=problem.device, started=started)
            yield from supervise(plan.iterates(), iterations=plan.iterations, ready=len(plan.steps),
                                 stop=stop, window=window, patience=patience, seconds=problem.seconds,
                                 started=started, notes=plan.notes, chosen=plan.chosen,
                                 seconds_per_step=plan.seconds_per_step, cap=iterations)
        finally:
            for fit in fits:
                fit.close()
            torch.set_num_threads(threads)


class _Fit:
    """One DIP fit (K nets when ``samples = K``): the state the notebook's training loop keeps."""

    def __init__(self, problem: Problem, net: str, *, lr: float, reg_noise: float, ema: float,
                 input_depth: int, samples: int, paper_output: bool = False, net_raw: bool = False,
                 precision: str = "fp32", compile: str = "eager") -> None:
        self.problem, self.reg_noise, self.ema, self.samples = problem, reg_noise, ema, samples
        self.paper_output, self.net_raw = paper_output, net_raw
        self.f, self.z, self.g, self.chosen = dip_setup(problem.x_shape, problem.device, net=net,
                                                        input_depth=input_depth, seed=problem.seed, copies=samples,
                                                        target=problem.initial(), precision=precision,
                                                        compile=compile, seconds=problem.seconds)
        self.opt = torch.optim.Adam(self.f.parameters(), lr=lr)
        self.saved = [p.detach().clone() for p in self.f.parameters()]
        self.last_db = -float("inf")
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
        accepted = data_db >= self.last_db - BACKTRACK_DB
        if not accepted:
            with torch.no_grad():
                torch._foreach_copy_(list(f.parameters()), self.saved)
        else:
            self.last_db = data_db
            with torch.no_grad():
                torch._foreach_copy_(self.saved, list(f.parameters()))
        raw = net_out = out.detach()  # f(z + η), what the notebooks average
        if (self.paper_output or self.net_raw) and self.reg_noise > 0:
            with torch.no_grad():
                net_out = f(z).reshape(self.samples, *shape[1:])  # f(z), the paper's output
        if self.paper_output:
            raw = net_out
        shown = net_out if self.net_raw else raw
        if accepted:
            self.opt.step()
            # A rejected step's output (5 dB worse, or NaN) stays out of the average; the notebooks
            # average it in, and one NaN forward would then end the run although θ was restored.
            self.avg = raw if self.avg is None else self.ema * self.avg + (1 - self.ema) * raw
        elif self.avg is None:
            self.avg = raw
        images = {"raw": shown.mean(0, keepdim=True)}
        maps = {"std": self.avg.std(0, keepdim=True)} if self.samples > 1 else {}
        self.k += 1
        return Step(self.k, self.avg.mean(0, keepdim=True), {"loss": mse.mean().item(), "data_psnr": data_db}, images,
                    maps, chosen=self.chosen)

    def close(self) -> None:
        self.f = self.opt = self.saved = None  # type: ignore[assignment]  # free the net; safe twice
