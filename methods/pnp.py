"""Plug-and-play half-quadratic splitting with a denoiser schedule (DPIR)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch

from arena.degradations.quantize import STRAIGHT_THROUGH_LIMIT
from arena.denoisers import DENOISERS, PUBLISHED_DENOISERS, denoise, published_files
from arena.method import METHODS, Method, Step
from arena.params import Param, Value
from arena.problem import Problem
from arena.solvers import harmonic_start, missing_pixels, quadratic_data_step

SIGMA_FLOOR = 0.5 / 255
"""The least σ in μ_k, for a user's σ_K = 0 (DPIR uses 0.255/255 for noiseless SR)."""


@METHODS.register
class PlugAndPlay(Method):
    """Plug-and-play HQS (Zhang et al., DPIR, Algorithm 1): for k = 1 … K

        x_k = argmin_x ‖y − A x‖² + μ_k ‖x − z_{k−1}‖²      (data step)
        z_k = D(x_k; σ_k)                                    (prior step: a denoiser at level σ_k)

    with σ_k falling geometrically from σ_1 (49/255) to σ_K and μ_k = λ σ_K² / σ_k² (λ = 0.23),
    so that early steps lean on the prior and late ones on the data. DPIR's scripts end the
    schedule at the noise level σ for deblurring (``main_dpir_deblur.py``) but at max(s, 255σ)/255
    for ×s super-resolution (``main_dpir_sisr.py``), and in both form μ_k from the noise level
    itself, max(σ, 0.255/255), not from where the schedule ends. The arena departs from both: it
    ends at σ_eff = √(σ² + σ_eq²) (``Problem.sigma_eff``, at least 1/255), which is σ for blur and
    denoising but also counts what the operator loses, and forms μ_k from that same σ_K — so for
    noiseless SR its last data steps weigh the prior far more than DPIR's nearly exact ones. Against
    ending at σ it turns JPEG and compressive sensing from losses or small gains into clear gains
    and leaves blur, SR and denoising unchanged (``benchmarks/RULES.md``, pnp). The data step is exact: in Fourier for
    convolutions and denoising, by ``inner`` warm-started conjugate-gradient steps on
    (AᵀA + μ_k I) x = Aᵀy + μ_k z for other linear A, by ``inner`` gradient steps of size
    1/(‖A‖² + μ_k) on ½‖φ(x) − y‖² + (μ_k/2)‖x − z‖² for non-linear φ. The estimate is z_k.

    D is our DRUNet (non-blind, the paper's choice), BM3D, NLM or TV at strength σ_k; the blind
    DnCNN ignores σ_k, so with it the schedule only moves μ_k. ``denoiser=drunet-published`` is the
    paper's own DRUNet at full strength: DeepInverse's weights (colour or grey by the image;
    BSD-3-Clause, huggingface.co/deepinv/drunet), read from the torch hub cache through the optional
    deepinv bridge — fetched once on a connected machine with ``arena weights fetch drunet-color
    drunet-gray``; absent, the run refuses before it starts. When pixels have no measurement
    (inpainting) the iteration starts from a harmonic fill of the holes. 8 iterations when the
    data step is a Fourier division, 24 otherwise (DPIR's choice for super-resolution). The
    streamed ``loss`` is the data term ½‖A(z_k) − y‖²
    — there is no objective that PnP minimises.
    """

    name = "pnp"
    family = "deep priors"
    rule = r"x_k = \arg\min_x \|y - Ax\|^2 + \mu_k\|x - z_{k-1}\|^2,\qquad z_k = D(x_k;\,\sigma_k)"
    label = "Plug-and-play (DPIR, HQS)"
    reference = ("Zhang, Li, Zuo, Zhang, Van Gool & Timofte, Plug-and-Play Image Restoration with Deep "
                 "Denoiser Prior, IEEE TPAMI 2021")
    order = 72
    limits = {
        "colorize": "a denoiser has no colour to give: from the gray start the iterates stay gray, slightly "
                    "desaturated by the data step (−0.3 dB; BM3D −0.2)",
        "quantize": STRAIGHT_THROUGH_LIMIT,
        "camera": "noise 2 through a saturating curve: σ_K = 2/255, so PnP ends near the inverse curve "
                  "(−0.2 dB with 10 gradient steps per data step, +0.1 with 50; BM3D +0.03)",
    }
    weights = ("drunet.safetensors", "dncnn.safetensors")
    published = ("drunet-color", "drunet-gray")
    published_note = "denoiser=drunet-published"
    schedule = ("sigma_k", "mu_k")
    params = (
        Param("denoiser", "drunet", "the denoiser D(·; σ_k)", choices=DENOISERS + PUBLISHED_DENOISERS),
        Param("lam", 0.23, "λ in μ_k = λ σ_K² / σ_k²", min=1e-3, max=100.0, log=True, tunable=True),
        Param("sigma_start", 49.0, "σ_1, the first denoiser level (0–255)", min=1.0, max=100.0),
        Param("sigma_end", 0.0, "σ_K, the last denoiser level, also the σ of μ_k (0–255; auto: σ_eff, at least 1)",
              min=0.0, max=100.0, adaptive=True),
        Param("inner", 10, "data step: CG or gradient steps for non-Fourier A", min=1, max=200),
        Param("iterations", 8, "number of HQS iterations K (auto: 8, or 24 for SR, inpainting, …)",
              min=1, max=1000, log=True, adaptive=True),
    )

    @classmethod
    def published_files(cls, params: Mapping[str, Any], problem: Problem | None = None) -> tuple[str, ...]:
        return published_files(str(params.get("denoiser", "")), problem.x_shape[1] if problem else None)

    def defaults(self, problem: Problem) -> dict[str, Value]:
        fourier = problem.linear and problem.degradation.otf() is not None
        return {"sigma_end": min(255.0 * max(problem.sigma_eff, 1 / 255), 100.0), "iterations": 8 if fourier else 24}

    def run(self, problem: Problem, *, denoiser: str, lam: float, sigma_start: float, sigma_end: float,
            inner: int, iterations: int) -> Iterator[Step]:
        end = max(sigma_end, 1e-3) / 255
        start = max(sigma_start / 255, end)
        sigmas = np.geomspace(start, end, iterations) if iterations > 1 else np.array([end])
        noise = max(end, SIGMA_FLOOR)  # DPIR: σ in μ_k is the noise level, where the schedule ends
        z = harmonic_start(problem) if problem.linear and missing_pixels(problem) else problem.initial()
        x = z
        for k, sigma_k in enumerate(sigmas, start=1):
            mu = lam * noise**2 / sigma_k**2
            x = quadratic_data_step(problem, x, z, mu, inner)
            z = denoise(x, float(sigma_k), denoiser)
            with torch.no_grad():
                fid = float(problem.fidelity(z))
            yield Step(k, z, {"loss": fid, "sigma_k": 255.0 * float(sigma_k), "mu_k": mu})
