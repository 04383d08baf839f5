"""Levenberg–Marquardt: Gauss–Newton with an adaptive damping."""

from __future__ import annotations

from collections.abc import Iterator

from arena import nonlinear_least_squares as nls
from arena.degradations.color import GREEN_CHANNEL_LIMIT
from arena.degradations.nonlinear import TIE_LIMIT
from arena.method import METHODS, Method, Step
from arena.params import Param
from arena.problem import Problem


@METHODS.register
class LevenbergMarquardt(Method):
    """(JᵀJ + λ∇²R(x_k) + μ_k I) δ_k = −(Jᵀr(x_k) + λ∇R(x_k)); accept x_k + δ_k if F decreases.

    ρ = (F(x_k) − F(x_k + δ_k)) / (L(0) − L(δ_k)) compares the actual decrease with the one the
    quadratic model L predicts. Accepted (ρ > 0): μ ← μ · max(1/3, 1 − (2ρ − 1)³); rejected:
    μ ← ν μ, ν ← 2ν (Nielsen's rule). Large μ is a short gradient step (safe far from the
    solution or where φ bends), small μ is Gauss–Newton (fast near it). F decreases at every
    accepted step. Diagnostics: μ, inner CG iterations, the linearisation error, accepted.
    """

    name = "levenberg_marquardt"
    rule = (r"(J^\top J + \lambda\nabla^2 R(x_k) + \mu_k I)\,\delta_k = -\big(J^\top r(x_k) + "
            r"\lambda\nabla R(x_k)\big),\qquad x_{k+1} = x_k + \delta_k \text{ if } F \text{ decreases}")
    label = "Levenberg–Marquardt"
    reference = ("Levenberg 1944; Marquardt 1963; Madsen, Nielsen & Tingleff, Methods for Non-Linear Least "
                 "Squares Problems, 2004; Burger & Kaltenbacher 2006")
    order = 46
    limits = {"colorize": GREEN_CHANNEL_LIMIT, "camera": TIE_LIMIT}
    params = (*nls.PARAMS, Param("damping", 1e-3, "initial damping μ₀ in units of ‖J‖²", min=1e-8, max=100.0, log=True))

    def defaults(self, problem: Problem) -> dict[str, float]:
        return nls.tv_rule(problem)

    def run(self, problem: Problem, *, lam: float, prior: str, eps: float, iterations: int, cg_iterations: int,
            cg_tol: float, damping: float) -> Iterator[Step]:
        yield from nls.solve(problem, lam=lam, prior=nls.Prior(prior, eps), iterations=iterations,
                                   cg_iterations=cg_iterations, cg_tol=cg_tol, damping=damping)
