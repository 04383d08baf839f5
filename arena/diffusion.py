"""Posterior sampling with a diffusion prior: DiffPIR and DPS on the arena's known A.

Both run the reverse process of a DDPM (``arena/nets/ddpm.py``) on a sub-sequence of its T
steps and pull every step towards the measurements; the model works in [−1, 1], A on [0, 1]
images (x = (u + 1)/2). ``eps`` is any ε-predictor ε(u_t, t) — the trained U-Net, or in the
tests the exact one of a Gaussian prior.

- DiffPIR (Zhu, Zhang, Liang, Cao, Wen, Timofte & Van Gool, CVPR 2023, Algorithm 1; the
  reference code github.com/yuanzhi-zhu/DiffPIR, ``main_ddpir.py``): start from
  u = √ᾱ_{T−1}(2x₀⁽⁰⁾ − 1) + √(1−ᾱ_{T−1}) ε with x₀⁽⁰⁾ the degradation's natural start; at every
  step but the last take x̂₀ = (u_t − √(1−ᾱ_t) ε)/√ᾱ_t (clipped to [−1, 1]), solve the data step
  argmin_z ‖y − A(z)‖² + ρ_t ‖z − x̂₀‖² with ρ_t = λ σ² / σ̄_t², where σ = max(σ_n, 0.001) is the
  noise level on the [0, 1] scale and σ̄_t = √((1−ᾱ_t)/ᾱ_t) (as the reference forms ``rhos``;
  a plug-and-play HQS step whose denoiser is the diffusion model at level σ̄_t); then
  ε̂ = (u_t − √ᾱ_t ẑ₀)/√(1−ᾱ_t) and u_s = √ᾱ_s ẑ₀ + √(1−ᾱ_s) (√(1−ζ) ε̂ + √ζ ε'), ε' ~ N(0, I),
  for the next step s < t. The steps follow the reference's 'quad' skip (dense near t = 0), and
  the last step (t = 0) makes no data step: the result is x₀ = u₀ itself, as the paper's
  Algorithm 1 returns it (the reference evaluates the network there and discards the output,
  so we skip that evaluation). One departure: ẑ₀ is clipped to [−1, 1] after the data step (the
  reference leaves it) — no measurable effect on deblurring and denoising, but colorization's
  data step (a projection onto the grey levels) leaves the range and the re-noised chain then
  drifts (``weights/ddpm_faces.md``).
- DPS (Chung, Kim, Mccann, Klasky & Ye, ICLR 2023, Algorithm 1): the DDPM ancestral step
  u'_s ~ q(u_s | u_t, x̂₀), then u_s = u'_s − ζ_t ∇_{u_t} ‖y − A(x̂₀(u_t))‖ with
  ζ_t = ζ' / ‖y − A(x̂₀)‖ folded in (the gradient of the norm) — it differentiates through the
  network, so every step costs a backward pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from arena.method import Step
from arena.nets.ddpm import T, alpha_bar
from arena.problem import Problem
from arena.solvers import quadratic_data_step

EpsModel = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
SIGMA_FLOOR = 0.001
"""The reference's σ = max(0.001, σ_n): ρ_t > 0 keeps DiffPIR's data step well posed without noise."""


@dataclass(frozen=True)
class Sample:
    """One reverse step: the index in the sub-sequence, t, and x̂₀ (the batch, on [0, 1])."""

    step: int
    t: int
    x0: torch.Tensor


def as_steps(problem: Problem, chain: Iterator[Sample], samples: int) -> Iterator[Step]:
    """The arena's steps from a chain: the mean x̂₀ over the samples (their per-pixel standard
    deviation as the ``std`` map when there are several), the data term as ``loss``, and t."""
    for s in chain:
        x = s.x0.mean(0, keepdim=True)
        maps = {"std": s.x0.std(0, keepdim=True)} if samples > 1 else {}
        with torch.no_grad():
            fid = float(problem.fidelity(x))
        yield Step(s.step, x, {"loss": fid, "t": float(s.t)}, maps=maps)


def timesteps(steps: int) -> list[int]:
    """A sub-sequence T−1 = t_1 > … > t_steps = 0 of the model's steps, evenly spaced."""
    steps = max(1, min(int(steps), T))
    return sorted({round(i * (T - 1) / max(steps - 1, 1)) for i in range(steps)}, reverse=True)


def quad_timesteps(steps: int) -> list[int]:
    """DiffPIR's 'quad' skip: seq_i = ⌊√(i T²/(n − 1))⌋ for i = 0 … n − 1, the last one minus 1,
    and t_i = T − 1 − seq_i — from T − 1 down to 0, the steps dense near t = 0. For n ≳ 400 a
    few t repeat, as in the reference (a repeated t re-noises to the same level)."""
    n = max(2, min(int(steps), T))
    seq = [int(v) for v in np.sqrt(np.linspace(0, T**2, n))]
    seq[-1] -= 1
    return [T - 1 - s for s in seq]


def x0_estimate(eps: torch.Tensor, u: torch.Tensor, ab: float) -> torch.Tensor:
    """Tweedie's estimate x̂₀ = (u_t − √(1−ᾱ_t) ε)/√ᾱ_t, in model space."""
    return (u - (1 - ab) ** 0.5 * eps) / ab**0.5


def diffpir(problem: Problem, eps_model: EpsModel, *, samples: int, steps: int, lam: float, zeta: float,
            inner: int, generator: torch.Generator) -> Iterator[Sample]:
    """DiffPIR's reverse process for ``samples`` chains at once (see the module docstring)."""
    ab_all = alpha_bar()
    shape = (samples, *problem.x_shape[1:])
    ts = quad_timesteps(steps)
    ab = float(ab_all[ts[0]])
    start = (2 * problem.initial() - 1).expand(shape)
    u = ab**0.5 * start + (1 - ab) ** 0.5 * torch.randn(shape, generator=generator).to(problem.device)
    sigma = max(problem.sigma, SIGMA_FLOOR)  # on the [0, 1] scale, as the reference's ρ_t
    for k, t in enumerate(ts, start=1):
        if k == len(ts):  # t = 0: no data step, the result is x₀ = u₀
            yield Sample(k, t, ((u + 1) / 2).clamp(0, 1))
            return
        ab = float(ab_all[t])
        with torch.no_grad():
            x0 = x0_estimate(eps_model(u, torch.tensor([t], device=u.device)), u, ab).clamp(-1, 1)
        rho = lam * sigma**2 / ((1 - ab) / ab)
        # the data step in image units: ‖y − A(x)‖² + ρ‖x − x̂₀‖² with x = (u + 1)/2 scales ρ by 1
        z0 = torch.cat([quadratic_data_step(problem, x, x, rho, inner) for x in ((x0 + 1) / 2).split(1)])
        z0 = (2 * z0 - 1).clamp(-1, 1)  # clipped: a departure from the reference (see the module docstring)
        yield Sample(k, t, ((z0 + 1) / 2).clamp(0, 1))
        ab_next = float(ab_all[ts[k]])
        eps_hat = (u - ab**0.5 * z0) / (1 - ab) ** 0.5
        fresh = torch.randn(shape, generator=generator).to(u.device)
        u = ab_next**0.5 * z0 + (1 - ab_next) ** 0.5 * ((1 - zeta) ** 0.5 * eps_hat + zeta**0.5 * fresh)


def dps(problem: Problem, eps_model: EpsModel, *, samples: int, steps: int, zeta: float,
        generator: torch.Generator) -> Iterator[Sample]:
    """DPS's reverse process for ``samples`` chains at once (see the module docstring)."""
    ab_all = alpha_bar()
    shape = (samples, *problem.x_shape[1:])
    u = torch.randn(shape, generator=generator).to(problem.device)
    ts = timesteps(steps)
    for k, t in enumerate(ts, start=1):
        ab = float(ab_all[t])
        with torch.enable_grad():
            uv = u.detach().requires_grad_(True)
            x0 = x0_estimate(eps_model(uv, torch.tensor([t], device=u.device)), uv, ab)
            norms = torch.stack([problem.residual((x + 1) / 2).norm() for x in x0.split(1)])
            (grad,) = torch.autograd.grad(norms.sum(), uv)
        x0 = x0.detach().clamp(-1, 1)
        yield Sample(k, t, (x0 + 1) / 2)
        if k == len(ts):
            return
        ab_next = float(ab_all[ts[k]])
        alpha = ab / ab_next  # the coarse chain's α for the pair (t, next)
        beta = 1 - alpha
        mean = (alpha**0.5 * (1 - ab_next) * u + ab_next**0.5 * beta * x0) / (1 - ab)
        std = ((1 - ab_next) / (1 - ab) * beta) ** 0.5
        u = mean + std * torch.randn(shape, generator=generator).to(u.device) - zeta * grad
