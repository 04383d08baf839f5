"""Least squares without a prior, by gradient descent."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from arena.method import METHODS, Method, Step, iterations_param
from arena.params import Param
from arena.problem import Problem
from arena.solvers import harmonic_start, missing_pixels


@METHODS.register
class LeastSquares(Method):
    """x_{k+1} = x_k − τ Aᵀ(A x_k − y), τ = step / ‖A‖², minimising ½‖Ax − y‖² with no prior.

    Started at x₀ = 0 it converges to the pseudo-inverse solution A⁺y, so the iterates show the
    noise blow-up of an ill-posed inverse: PSNR first rises, then falls as high frequencies with
    tiny singular values are fitted. Missing data (masked pixels, unsampled frequencies) stays at
    its start value — without a prior nothing fills it: from zero, holes stay black (the
    minimum-norm solution); ``start=auto`` (the default) starts there from the harmonic fill of the
    holes, which the iterations then leave as it is. Steps above 2/‖A‖² diverge (try step=2.2).
    For non-linear A the gradient comes from autograd and ‖A‖² from the family's bound.
    """

    name = "lsq"
    rule = r"x_{k+1} = x_k - \tau\,A^\top(Ax_k - y),\qquad \tau = \text{step}/\|A\|^2"
    label = "Least squares (no prior)"
    reference = "Leclaire, Restoration with Generative Priors (course), 2024; Landweber, 1951"
    order = 20
    baseline = True  # it exists to show the noise blow-up
    params = (
        iterations_param(200),
        Param("step", 1.0, "step τ in units of 1/‖A‖² (above 2 diverges)", min=0.01, max=3.0),
        Param("start", "auto", "x₀: zero (→ pseudo-inverse), the naive inverse, or auto: zero, but the harmonic "
              "fill of pixels with no measurement", choices=("auto", "zero", "initial")),
    )

    def run(self, problem: Problem, *, iterations: int, step: float, start: str) -> Iterator[Step]:
        if start == "auto" and problem.linear and missing_pixels(problem):
            x = harmonic_start(problem)
        else:
            x = problem.initial() if start == "initial" else torch.zeros(problem.x_shape, device=problem.device)
        tau = step / problem.lipschitz
        _, g = problem.fidelity_and_grad(x)
        for k in range(1, iterations + 1):
            x = x - tau * g
            loss, g = problem.fidelity_and_grad(x)
            yield Step(k, x, {"loss": float(loss)})
