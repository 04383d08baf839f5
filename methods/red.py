"""Regularization by Denoising (RED)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import torch

from arena.degradations.color import PER_CHANNEL_LIMIT
from arena.degradations.convolution import apply as conv_apply
from arena.degradations.jpeg import ROUNDING_LIMIT
from arena.degradations.nonlinear import SMALL_GAIN_LIMIT
from arena.denoisers import DENOISERS, MIN_SIGMA, PUBLISHED_DENOISERS, denoise, denoiser_sigma, published_files
from arena.method import METHODS, Method, Step, iterations_param
from arena.params import Param, Value
from arena.problem import Problem
from arena.solvers import cg_solve, harmonic_start, missing_pixels

LEARNED_SIGMA = 5.0 / 255
"""From this noise level on, RED's default denoiser is the learned DRUNet (see the docstring)."""


@METHODS.register
class RED(Method):
    """Find x with Aᵀ(Ax − y) + λ(x − D(x)) = 0 — the stationarity condition of RED's energy
    E(x) = ½‖Ax − y‖² + (λ/2) xᵀ(x − D(x)) *when* D is locally homogeneous with a symmetric
    Jacobian (Romano, Elad & Milanfar's identity ∇[½xᵀ(x − D(x))] = x − D(x)); D is never
    differentiated.

    ``fixed_point``: solve (AᵀA + λI) x_{k+1} = Aᵀy + λ D(x_k) — in Fourier for convolutions and
    denoising, by ``inner`` conjugate-gradient steps (warm-started) for other linear A.
    ``steepest``: x_{k+1} = x_k − τ[Aᵀ(Ax_k − y) + λ(x_k − D(x_k))], τ = step/(‖A‖² + λ); the only
    choice for non-linear A. D is non-local means, BM3D, TV, our DnCNN or DRUNet (``denoiser``), or
    the published DRUNet (``drunet-published``: DeepInverse's weights, BSD-3-Clause, from the torch hub
    cache; ``arena weights fetch drunet-color drunet-gray`` on a connected machine).

    Defaults fitted on training photos (``benchmarks/DEFAULTS.md``). The denoiser: NLM below noise
    σ = 5/255, our DRUNet from there on — the RED paper's own experiments use a trained denoiser
    (TNRD), and with NLM no (λ, σ_d) reaches NLM applied once on noisy problems (below). With NLM,
    σ_d = σ_eff = √(σ² + σ_eq²) (at least 3/255), so noiseless SR, inpainting or MRI still get a
    denoiser that removes their artefacts, and λ = 0.1 + 10σ (σ = 2/255 deblurring: 0.18;
    noiseless: 0.1). With DRUNet on noisy problems, σ_d = σ_eff/2 (0.35 σ_eff on grey images,
    fitted on grey versions of the same photos) and λ = 3(0.1 + 10σ): x is already cleaner than
    y, so the denoiser is asked for less, and trusted more. A rule given as a function of the
    chosen denoiser means an explicit ``denoiser=nlm`` keeps NLM's rule. When
    pixels have no measurement at all (inpainting), the iteration starts from a harmonic fill of
    the holes (``start=smooth``): a patch denoiser cannot fill holes that stay at zero. λ and σ_d
    interact (a larger λ wants a gentler denoiser), so σ_d is declared tunable after λ:
    the oracle tuning searches both when asked (``arena.tuning``, ``tune_oracle(joint=...)``).

    Limit on denoising with NLM: the fixed point x = (y + λ D(x))/(1 + λ) keeps a share of y's
    noise at small λ, and at large λ iterates D, and DeepRED's NLM (which subtracts 2σ_d² from its
    patch distances) averages an already smooth x like a box filter — no (λ, σ_d) reaches NLM
    applied once at σ = 25 (``benchmarks/DEFAULTS.md``, the RED section).

    What is streamed: NLM and BM3D (and TV, and DnCNN) violate those conditions, so x − D(x) is not
    the gradient of xᵀ(x − D(x))/2 and the iteration does **not** minimise E — on denoising E rises
    at most steps (Reehorst & Schniter, IEEE TCI 2019; the DeepRED paper says the same). The
    ``loss`` curve is therefore the **fixed-point residual** ‖x_{k+1} − x_k‖ / ‖x_k‖ (also
    ``relative_change``), which the iteration drives towards 0 (48² crops, 30 iterations: from
    ≈ 8·10⁻² to 10⁻⁴–10⁻³ on denoising, deblurring and inpainting), with occasional upticks — no
    theorem makes it monotone for these denoisers. E itself is kept as
    ``red_energy`` (evaluated at x_k, the iterate before the step), for comparison, not as an
    objective.
    """

    name = "red"
    family = "deep priors"
    rule = (r"A^\top(Ax - y) + \lambda\,(x - D(x)) = 0:\qquad (A^\top A + \lambda I)\,x_{k+1} = A^\top y + "
            r"\lambda D(x_k)")
    label = "RED (regularization by denoising)"
    reference = ("Romano, Elad & Milanfar, The Little Engine That Could: Regularization by Denoising (RED), "
                 "SIAM J. Imaging Sci. 2017")
    order = 70
    limits = {
        "colorize": PER_CHANNEL_LIMIT,
        "jpeg": ROUNDING_LIMIT,
        "camera": SMALL_GAIN_LIMIT,
        "cs": "NLM at σ_d = σ_eff sees the pseudo-inverse's error as texture and keeps it",
    }
    weights = ("drunet.safetensors", "dncnn.safetensors")
    published = ("drunet-color", "drunet-gray")
    published_note = "denoiser=drunet-published"
    params = (
        Param("denoiser", "nlm", "the denoiser D (auto: drunet at noise σ ≥ 5, else nlm)",
              choices=DENOISERS + PUBLISHED_DENOISERS, adaptive=True),
        Param("solver", "fixed_point", "fixed-point or steepest descent", choices=("fixed_point", "steepest")),
        Param("lam", 1.0, "weight λ of the RED prior (auto: 0.1 + 10σ, three times that with drunet on noisy "
              "problems)", min=1e-4, max=100.0, log=True, adaptive=True, tunable=True),
        Param("sigma_d", 0.0, "denoiser σ on the 0–255 scale (auto: σ_eff; with drunet on noisy problems "
              "0.5 σ_eff, 0.35 on grey images; 0: the problem's noise level); tunable jointly with λ",
              min=0.0, max=100.0, adaptive=True,
              tunable=True),
        Param("start", "initial", "first estimate: the naive inverse, or a harmonic fill of missing pixels "
              "(auto: smooth when pixels are missing)", choices=("initial", "smooth"), adaptive=True),
        Param("step", 1.0, "steepest descent: τ in units of 1/(‖A‖² + λ)", min=0.01, max=2.0),
        Param("inner", 10, "fixed point: CG steps per iteration for non-convolutional A", min=1, max=200),
        iterations_param(50),
    )

    @classmethod
    def published_files(cls, params: Mapping[str, Any], problem: Problem | None = None) -> tuple[str, ...]:
        return published_files(str(params.get("denoiser", "")), problem.x_shape[1] if problem else None)

    def defaults(self, problem: Problem) -> dict[str, Value]:
        grey_share = 0.35 if problem.x_shape[1] == 1 else 0.5
        learned = lambda v: v["denoiser"] in ("drunet", "drunet-published") and problem.sigma >= LEARNED_SIGMA  # noqa: E731
        return {"denoiser": "drunet" if problem.sigma >= LEARNED_SIGMA else "nlm",
                "lam": lambda v: (3.0 if learned(v) else 1.0) * (0.1 + 10.0 * problem.sigma),
                "sigma_d": lambda v: 255.0 * max((grey_share if learned(v) else 1.0) * problem.sigma_eff, MIN_SIGMA),
                "start": "smooth" if problem.linear and missing_pixels(problem) else "initial"}

    def run(self, problem: Problem, *, denoiser: str, solver: str, lam: float, sigma_d: float, start: str,
            step: float, inner: int, iterations: int) -> Iterator[Step]:
        sigma = denoiser_sigma(problem.noise_rms, sigma_d)
        otf = problem.degradation.otf()
        if solver == "fixed_point" and not problem.linear:
            solver = "steepest"
        x = harmonic_start(problem) if start == "smooth" and problem.linear else problem.initial()
        aty = problem.A_adjoint(problem.y) if problem.linear else None
        for k in range(1, iterations + 1):
            dx = denoise(x, sigma, denoiser)
            fid, g = problem.fidelity_and_grad(x)
            energy = float(fid + 0.5 * lam * (x * (x - dx)).sum())  # not minimised: see the docstring
            if solver == "steepest":
                x_new = x - step / (problem.lipschitz + lam) * (g + lam * (x - dx))
            elif otf is not None:
                rhs = conv_apply(problem.y, otf.conj()) + lam * dx
                x_new = torch.fft.irfft2(torch.fft.rfft2(rhs) / (otf.abs() ** 2 + lam), s=x.shape[-2:])
            else:
                normal = lambda v: problem.A_adjoint(problem.A(v)) + lam * v  # noqa: E731
                x_new, _ = cg_solve(normal, aty + lam * dx, x, inner)
            change = float((x_new - x).norm() / x.norm().clamp_min(1e-12))
            x = x_new
            yield Step(k, x, {"loss": change, "relative_change": change, "red_energy": energy})
