"""Projected gradient descent: a prior minimised on the set of images that explain y exactly."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from arena import regularizers as reg
from arena.method import METHODS, Method, Step, iterations_param
from arena.params import Param
from arena.problem import Problem
from arena.solvers import fair_start


@METHODS.register
class ProjectedGradient(Method):
    """u_{k+1} = P_C(u_k − τ ∇R(u_k)),  C = {u : Au = y},

    for noiseless problems whose constraint set has a cheap projection: inpainting (put the known
    pixels back) and MRI (put the acquired Fourier coefficients back). R is TV_ε (τ < 2ε/8) or the
    Dirichlet energy ½‖∇u‖² (τ < 2/8, harmonic inpainting). With noisy data the constraint forces
    the noise to be kept exactly — use ``tv`` there. Missing pixels start from their harmonic fill
    (:func:`arena.solvers.fair_start`), so the prior shapes them from the first step.
    """

    name = "pgd"
    rule = r"u_{k+1} = P_C\big(u_k - \tau\nabla R(u_k)\big),\qquad C = \{u : Au = y\}"
    label = "Projected gradient (constrained)"
    reference = "Leclaire, Restoration with Generative Priors (course), 2024"
    order = 50
    params = (
        Param("prior", "tv", "regulariser R: smoothed TV or the Dirichlet energy", choices=("tv", "tikhonov")),
        Param("eps", 0.02, "smoothing ε of TV_ε", min=1e-4, max=1.0, log=True),
        Param("step", 0.95, "τ as a fraction of the bound 2/Lip(∇R)", min=0.01, max=1.0),
        iterations_param(300),
    )

    def supports(self, problem: Problem) -> str | None:
        if problem.degradation.project(problem.initial(), problem.y) is None:
            return (f"projected gradient needs a cheap projection onto {{Au = y}}; "
                    f"{problem.degradation.label.lower()} has none (it works for inpainting and MRI)")
        return None

    def run(self, problem: Problem, *, prior: str, eps: float, step: float, iterations: int) -> Iterator[Step]:
        d = problem.degradation
        u = fair_start(problem)
        if prior == "tv":
            tau = step * 2.0 * eps / reg.GRAD_NORM_SQ
            value_and_grad = lambda v: reg.tv_smooth_and_grad(v, eps)  # noqa: E731
        else:
            tau = step * 2.0 / reg.GRAD_NORM_SQ
            value_and_grad = lambda v: (reg.dirichlet(v), reg.dirichlet_grad(v))  # noqa: E731
        with torch.no_grad():
            _, g = value_and_grad(u)
            for k in range(1, iterations + 1):
                u = d.project(u - tau * g, problem.y)
                value, g = value_and_grad(u)
                yield Step(k, u, {"loss": float(value)})
