"""DeepRED: Deep Image Prior powered by RED, solved by ADMM."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

import torch

from arena.denoisers import DENOISERS, denoise, denoiser_sigma
from arena.early_stop import stop_params, supervise
from arena.method import METHODS, Method, Step, iterations_param
from arena.nets.skip import CPU_ITERATIONS, dip_iterations, dip_net_params, dip_reg_noise, dip_setup, plan_net
from arena.params import Param, Value
from arena.problem import Problem

LR = 0.005
"""Adam's learning rate; the notebook's is 0.008. On the light net 0.005 did better at every step
count from 300 to 1000 (``benchmarks/RULES.md``, DeepRED)."""
SCHEDULE_START_DB, SCHEDULE_THRESHOLD_STEP, SCHEDULE_STEP = 20.0, 0.01, 0.03
"""The denoising notebook's ``threshold``, ``threshold_step`` and ``increase_reg``."""
DEEPRED_PATIENCE = 1000
"""ES-WMV's patience for DeepRED, longer than DIP's 300: the RED term slows the fitting of the noise,
and the raw output's variance bottoms out long before the result stops improving
(``benchmarks/RULES.md``, DeepRED)."""


@METHODS.register
class DeepRED(Method):
    """min_{θ,x} ½‖A f_θ(z) − y‖² + (λ/2) xᵀ(x − D(x))  s.t.  x = f_θ(z), by ADMM:

    1. θ ← Adam step on ‖A f_θ(z + η) − y‖² + μ‖f_θ(z + η) − x + u‖²   (mean squares; η ~ N(0, s²)
       drawn afresh each step, one draw for both terms, as the notebooks)
    2. x ← clip[0,1]((λ D(x̃) + μ (f_θ(z + η) + u)) / (λ + μ))   (the fixed-point rule, clipped to
       the image range as the notebook does; f_θ(z + η) the output before the Adam step)
    3. u ← u + f_θ(z + η) − x

    D(x̃) runs **in a parallel worker** while the network keeps training (the paper's
    implementation): a job sent at iteration k (k = 0, ``denoise_every``, 2·``denoise_every``, …)
    with the x of that moment runs beside the next ``denoise_every`` net steps; at iteration
    k + ``denoise_every`` the loop waits for it (the notebook joins its thread), uses D(x̃) in this
    and the following x-steps and sends the next job with the x it has before this x-step. Every run
    therefore computes the same numbers however slow the denoiser or busy the machine. The result is
    the exponential average of f_θ(z + η) (as DIP); the raw output and x are streamed beside it, and the ADMM gap
    ‖f_θ(z + η) − x‖ (RMS) as a diagnostic: it should shrink.

    ``net`` and ``stop`` as DIP: ``net=auto`` times a few steps here (the denoiser's time counted
    in full on top, although it runs beside the net) and picks the net and iteration count that
    finish inside the time budget; ES-WMV watches the raw output f_θ(z + η), with a longer
    patience (``DEEPRED_PATIENCE``). The notebook's setting is the ``deepred-paper-*`` presets.

    The denoiser's strength ``sigma_d`` is its own parameter (the paper lists "the denoiser and the
    noise level fed to it" among the tuned ones; the denoising notebook feeds NLM σ_f = 3, not the
    noise's 25). ``schedule`` is the notebook's continuation: whenever the net's data PSNR
    −10 log₁₀ mean(A f_θ − y)² passes a threshold (``SCHEDULE_START_DB``, then
    ``SCHEDULE_THRESHOLD_STEP`` higher each time), λ and μ both grow by 0.03, so the RED term
    takes over as the net starts to fit the noise.
    """

    name = "deepred"
    family = "deep priors"
    rule = (r"\min_{\theta, x}\ \tfrac12\|A f_\theta(z) - y\|^2 + "
            r"\tfrac{\lambda}{2}\,x^\top(x - D(x))\quad\text{s.t. } x = f_\theta(z)\ \text{(ADMM)}")
    label = "DeepRED (DIP + RED, ADMM)"
    reference = "Mataev, Elad & Milanfar, DeepRED: Deep Image Prior Powered by RED, ICCV Workshops 2019"
    order = 80
    slow = True
    weights = ("drunet.safetensors", "dncnn.safetensors")
    heavy = True
    params = (
        replace(iterations_param(CPU_ITERATIONS), adaptive=True),
        Param("lr", LR, "Adam learning rate (the notebook: 0.008)", min=1e-5, max=1.0, log=True),
        Param("lam", 0.5, "RED weight λ (β in the notebooks)", min=1e-4, max=100.0, log=True),
        Param("mu", 0.5, "ADMM penalty μ", min=1e-4, max=100.0, log=True),
        Param("denoiser", "nlm", "the denoiser D", choices=DENOISERS),
        Param("denoise_every", 10, "iterations between two denoiser calls", min=1, max=1000),
        Param("sigma_d", 0.0, "denoiser σ_f on the 0–255 scale (0: the problem's noise level; the "
              "denoising notebook uses 3)", min=0.0, max=100.0),
        Param("schedule", False, "the notebook's continuation: raise λ and μ by 0.03 each time the net's data "
              "PSNR passes a rising threshold (from 20 dB)"),
        Param("reg_noise", 0.033, "std of the noise added to z at every step", min=0.0, max=1.0, adaptive=True),
        *dip_net_params(),
        *stop_params(patience=DEEPRED_PATIENCE),
    )

    def defaults(self, problem: Problem) -> dict[str, Value]:
        """``iterations`` as DIP (see methods/dip.py); ``reg_noise`` the notebooks' rule: 0.033 at
        σ ≤ 25 (DeepRED's notebook), 1.5× that from σ = 50 (DIP's "1./20. for sigma=50")."""
        return {"iterations": dip_iterations(problem), "reg_noise": dip_reg_noise(problem, 0.033)}

    def run(self, problem: Problem, *, iterations: int, lr: float, lam: float, mu: float, denoiser: str,
            denoise_every: int, sigma_d: float, schedule: bool, reg_noise: float, ema: float, net: str,
            input_depth: int, precision: str, compile: str, stop: str, window: int, patience: int) -> Iterator[Step]:
        started = time.perf_counter()
        threads = torch.get_num_threads()
        sigma = denoiser_sigma(problem.noise_rms, sigma_d)
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deepred-denoiser")
        fits: list[_Fit] = []

        def make(name: str) -> _Fit:
            fits.append(_Fit(problem, name, pool, lr=lr, lam=lam, mu=mu, denoiser=denoiser, sigma=sigma,
                             denoise_every=denoise_every, reg_noise=reg_noise, ema=ema, input_depth=input_depth,
                             schedule=schedule, precision=precision, compile=compile))
            return fits[-1]

        try:
            extra = 0.0
            if net == "auto" and problem.seconds is not None:
                # The denoiser's share of a step, counted in full although it runs beside the net.
                t = time.perf_counter()
                denoise(problem.initial(), sigma, denoiser)
                extra = (time.perf_counter() - t) / denoise_every
            plan = plan_net(make, net=net, iterations=iterations, seconds=problem.seconds,
                            device=problem.device, started=started, extra_seconds=extra)
            yield from supervise(plan.iterates(), iterations=plan.iterations, ready=len(plan.steps),
                                 stop=stop, window=window, patience=patience, seconds=problem.seconds,
                                 started=started, notes=plan.notes, chosen=plan.chosen,
                                 seconds_per_step=plan.seconds_per_step, cap=iterations)
        finally:
            for fit in fits:
                fit.close()
            pool.shutdown(wait=True, cancel_futures=True)
            torch.set_num_threads(threads)


class _Fit:
    """One DeepRED fit: the network, the ADMM variables x and u, the denoiser job in flight."""

    def __init__(self, problem: Problem, net: str, pool: ThreadPoolExecutor, *, lr: float, lam: float, mu: float,
                 denoiser: str, sigma: float, denoise_every: int, reg_noise: float, ema: float,
                 input_depth: int, schedule: bool = False, precision: str = "fp32", compile: str = "eager") -> None:
        self.problem, self.pool = problem, pool
        self.lam, self.mu, self.denoiser, self.sigma, self.every = lam, mu, denoiser, sigma, denoise_every
        self.reg_noise, self.ema = reg_noise, ema
        self.schedule, self.threshold = schedule, SCHEDULE_START_DB
        self.f, self.z, self.g, self.chosen = dip_setup(problem.x_shape, problem.device, net=net,
                                                        input_depth=input_depth, seed=problem.seed,
                                                        target=problem.initial(), precision=precision,
                                                        compile=compile, seconds=problem.seconds)
        self.opt = torch.optim.Adam(self.f.parameters(), lr=lr)
        self.x = problem.initial()
        self.u = torch.zeros_like(self.x)
        self.fx = self.x.clone()
        # the notebook starts its first denoiser thread on x₀ before the loop
        self.job: Future[torch.Tensor] | None = pool.submit(denoise, self.x.clone(), sigma, denoiser)
        self.avg: torch.Tensor | None = None
        self.k = 0

    def step(self) -> Step:
        problem, z, lam, mu = self.problem, self.z, self.lam, self.mu
        noise = self.reg_noise * torch.randn(z.shape, generator=self.g).to(z.device) if self.reg_noise > 0 else 0
        out = self.f(z + noise)
        data = problem.residual(out).pow(2).mean()
        loss = data + mu * (out - self.x + self.u).pow(2).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        raw = out.detach()
        self.k += 1
        if self.k % self.every == 0:  # wait for the job in flight, as the notebook joins its thread
            if self.job is not None:
                self.fx = self.job.result()
            self.job = self.pool.submit(denoise, self.x.clone(), self.sigma, self.denoiser)
        self.x = ((lam * self.fx + mu * (raw + self.u)) / (lam + mu)).clamp(0, 1)
        self.u = self.u + raw - self.x
        data_db = -10.0 * torch.log10(data.detach().clamp_min(1e-12)).item()
        if self.schedule and data_db > self.threshold:
            self.lam, self.mu = self.lam + SCHEDULE_STEP, self.mu + SCHEDULE_STEP
            self.threshold += SCHEDULE_THRESHOLD_STEP
        self.avg = raw if self.avg is None else self.ema * self.avg + (1 - self.ema) * raw
        gap = (raw - self.x).pow(2).mean().sqrt().item()
        return Step(self.k, self.avg, {"loss": loss.item(), "data_mse": data.item(), "admm_gap": gap,
                                       "lam": self.lam, "mu": self.mu},
                    {"raw": raw, "x": self.x}, chosen=self.chosen)

    def close(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.job = None
        self.f = self.opt = None  # type: ignore[assignment]  # free the net; safe twice
