"""DeepRED: Deep Image Prior powered by RED, solved by ADMM."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import torch

from arena.denoisers import DENOISERS, denoise, denoiser_sigma
from arena.method import METHODS, Method, Step, iterations_param
from arena.nets.skip import dip_net_params, dip_setup
from arena.params import Param
from arena.problem import Problem


@METHODS.register
class DeepRED(Method):
    """min_{θ,x} ½‖A f_θ(z) − y‖² + (λ/2) xᵀ(x − D(x))  s.t.  x = f_θ(z), by ADMM:

    1. θ ← Adam step on ‖A f_θ(z + η) − y‖² + μ‖f_θ(z) − x + u‖²   (mean squares, as the notebooks)
    2. x ← (λ D(x̃) + μ (f_θ(z) + u)) / (λ + μ)                       (the fixed-point rule)
    3. u ← u + f_θ(z) − x

    D(x̃) is recomputed every ``denoise_every`` iterations **in a parallel worker** while the
    network keeps training (the paper's implementation), x̃ being x when the job was sent. The
    result is the exponential average of f_θ(z) (as DIP); the raw output and x are streamed beside
    it, and the ADMM gap ‖f_θ(z) − x‖ (RMS) as a diagnostic: it should shrink.
    """

    name = "deepred"
    label = "DeepRED (DIP + RED, ADMM)"
    reference = "Mataev, Elad & Milanfar, DeepRED: Deep Image Prior Powered by RED, ICCV Workshops 2019"
    order = 80
    heavy = True
    params = (
        iterations_param(3000),
        Param("lr", 0.008, "Adam learning rate", min=1e-5, max=1.0, log=True),
        Param("lam", 0.5, "RED weight λ (β in the notebooks)", min=1e-4, max=100.0, log=True),
        Param("mu", 0.5, "ADMM penalty μ", min=1e-4, max=100.0, log=True),
        Param("denoiser", "nlm", "the denoiser D", choices=DENOISERS),
        Param("denoise_every", 10, "iterations between two denoiser calls", min=1, max=1000),
        Param("sigma_d", 0.0, "denoiser σ on the 0–255 scale (0: the problem's noise level)", min=0.0, max=100.0),
        Param("reg_noise", 0.033, "std of the noise added to z at every step", min=0.0, max=1.0),
        *dip_net_params(),
    )

    def run(self, problem: Problem, *, iterations: int, lr: float, lam: float, mu: float, denoiser: str,
            denoise_every: int, sigma_d: float, reg_noise: float, ema: float, net: str,
            input_depth: int) -> Iterator[Step]:
        device = problem.device
        sigma = denoiser_sigma(problem.noise_rms, sigma_d)
        f, z, g = dip_setup(problem.x_shape, device, net=net, input_depth=input_depth, seed=problem.seed)
        opt = torch.optim.Adam(f.parameters(), lr=lr)
        x = problem.initial()
        u = torch.zeros_like(x)
        fx = x.clone()
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deepred-denoiser")
        job: Future[torch.Tensor] | None = None
        avg: torch.Tensor | None = None
        try:
            for k in range(1, iterations + 1):
                z_in = z + reg_noise * torch.randn(z.shape, generator=g).to(device) if reg_noise > 0 else z
                out = f(z_in)
                data = problem.residual(out).pow(2).mean()
                loss = data + mu * (out - x + u).pow(2).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                raw = out.detach()
                if job is not None and job.done():
                    fx, job = job.result(), None
                if job is None and k % denoise_every == 0:
                    job = pool.submit(denoise, x.clone(), sigma, denoiser)
                x = (lam * fx + mu * (raw + u)) / (lam + mu)
                u = u + raw - x
                avg = raw if avg is None else ema * avg + (1 - ema) * raw
                gap = (raw - x).pow(2).mean().sqrt().item()
                yield Step(k, avg, {"loss": loss.item(), "data_mse": data.item(), "admm_gap": gap},
                           {"raw": raw, "x": x})
        finally:
            if job is not None:
                job.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
            del f, opt
