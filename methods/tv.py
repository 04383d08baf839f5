"""Smoothed total variation by gradient descent."""

from __future__ import annotations

from collections.abc import Iterator

from arena import regularizers as reg
from arena.degradations.color import PER_CHANNEL_LIMIT
from arena.degradations.jpeg import ROUNDING_LIMIT
from arena.degradations.nonlinear import SMALL_GAIN_LIMIT
from arena.degradations.quantize import STRAIGHT_THROUGH_LIMIT
from arena.method import METHODS, Method, Step, iterations_param
from arena.params import Param
from arena.problem import Problem
from arena.solvers import fair_start


@METHODS.register
class TotalVariation(Method):
    """x_{k+1} = x_k − τ [ Aᵀ(A x_k − y) − λ div(∇x_k / √(|∇x_k|² + ε²)) ]

    minimises F(x) = ½‖Ax − y‖² + λ TV_ε(x), TV_ε(x) = Σ √(|∇x|² + ε²) (per channel, Neumann
    boundary). ∇F is Lipschitz with L = ‖A‖² + 8λ/ε, so gradient descent converges for
    τ < 2/L — for denoising (‖A‖ = 1) the course's rule τ < 2/(1 + 8λ/ε). ``step`` is τ in units
    of 2/L. Default λ = 20 σ_eff^2.3 (σ_eff = √(σ² + σ_eq²), ``Problem.sigma_eff``): the best λ on
    training photos grows a little faster than σ (σ = 2/255 deblurring: 3·10⁻⁴; σ = 25/255
    denoising: 0.1; ``benchmarks/DEFAULTS.md``). Smaller ε is closer to true TV but needs smaller steps
    (more iterations).
    Where pixels have no measurement (inpainting) the iteration starts from their harmonic fill
    (:func:`arena.solvers.fair_start`).
    """

    name = "tv"
    rule = (r"x_{k+1} = x_k - \tau\Big[A^\top(Ax_k - y) - "
            r"\lambda\,\operatorname{div}\frac{\nabla x_k}{\sqrt{|\nabla x_k|^2 + \varepsilon^2}}\Big]")
    label = "Total variation (smoothed)"
    reference = "Rudin, Osher & Fatemi, 1992; Leclaire, Restoration with Generative Priors (course), 2024"
    order = 40
    limits = {
        "colorize": PER_CHANNEL_LIMIT,
        "quantize": STRAIGHT_THROUGH_LIMIT,
        "jpeg": ROUNDING_LIMIT,
        "camera": SMALL_GAIN_LIMIT,
    }
    params = (
        Param("lam", 0.08, "regularisation weight λ (auto: 20 σ_eff^2.3)", min=1e-5, max=100.0, log=True,
              adaptive=True, tunable=True),
        Param("eps", 0.02, "smoothing ε of TV_ε", min=1e-4, max=1.0, log=True),
        Param("step", 0.95, "τ as a fraction of the bound 2/(‖A‖² + 8λ/ε)", min=0.01, max=1.0),
        iterations_param(300),
    )

    def defaults(self, problem: Problem) -> dict[str, float]:
        return {"lam": 20.0 * problem.sigma_eff**2.3}

    def run(self, problem: Problem, *, lam: float, eps: float, step: float, iterations: int) -> Iterator[Step]:
        x = fair_start(problem)
        tau = step * 2.0 / (problem.lipschitz + reg.GRAD_NORM_SQ * lam / eps)
        fid, fid_grad = problem.fidelity_and_grad(x)
        tv, tv_grad = reg.tv_smooth_and_grad(x, eps)
        for k in range(1, iterations + 1):
            x = x - tau * (fid_grad + lam * tv_grad)
            fid, fid_grad = problem.fidelity_and_grad(x)
            tv, tv_grad = reg.tv_smooth_and_grad(x, eps)
            yield Step(k, x, {"loss": float(fid + lam * tv)})
