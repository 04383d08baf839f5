"""The data-proximal step: the image nearest an estimate x̂ that explains the data to the noise level.

    x̃ = argmin_x ½‖x − x̂‖²   subject to   ‖r(x)‖ ≤ δ = τ σ √m,     r(x) = M(A(x) − y),

the projection of a network's output onto Morozov's discrepancy set (Göppel, Frikel & Haltmeier,
*Data-proximal null-space networks for inverse problems*, 2023; Engl, Hanke & Neubauer,
*Regularization of Inverse Problems*, 1996, §4.3). Where x̂ already fits, ‖r(x̂)‖ ≤ δ, x̃ = x̂: a
network that respects the data is left alone. Otherwise the constraint is active and x̃ is the
Tikhonov solution with prior mean x̂,

    x_μ = argmin_x ½‖r(x)‖² + μ/2 ‖x − x̂‖²,     ‖r(x_μ)‖ = δ,

whose misfit grows with μ, so μ is found by bisection on log μ. For linear A each x_μ is one CG
solve of (AᵀMA + μI) x = AᵀMy + μ x̂; for non-linear A a few Gauss–Newton steps, J used only through
Jacobian–vector products (:class:`arena.nonlinear.Linearization`). Noiseless data (δ = 0) gives the
smallest μ tried: x̂ corrected in the range of Aᵀ to fit y, its null-space part kept.

Degradations that only round (quantization, JPEG: ``rounds_only``) are left out: their Jacobian is a
straight-through stand-in, and a projection along it would pull x̂ back to y.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from arena.nonlinear import Linearization
from arena.problem import Problem
from arena.solvers import conjugate_gradient

TAU = 1.0
"""δ = τ σ √m, the expected norm of the noise itself. Measured for the RIM (held-out 96² crops of the
four bundled photos, ``benchmarks/LEARNED.md``'s eight problems): τ = 1 changes no row by more than
0.01 dB for the worse; τ = 0.92 (the tuning rule's factor) costs 0.5 dB on uniform blur, whose RIM
output already fits to 0.97 σ√m; τ = 1.1 gives back part of the gain on the camera response."""
MU_RANGE = (1e-6, 1e2)
"""Bisection bounds of μ, in units of ‖J‖² (``problem.lipschitz``): from "fit the data" to "stay at x̂"."""
BISECTIONS = 8
"""Halvings of the log-μ interval: 8 decades / 2⁸ — μ to within 8 %."""
CG_ITERATIONS = 30
GAUSS_NEWTON_STEPS = 3
"""Per μ for non-linear A, warm-started from the previous μ's solution."""


@dataclass(frozen=True)
class Projection:
    """x̃ and what it took: μ (0: x̂ fitted already) and the RMS misfits ‖r‖/√m before, after and
    aimed at (δ/√m), on the 0–255 scale like the arena's data-fit column."""

    x: torch.Tensor
    mu: float
    misfit_before: float
    misfit_after: float
    target: float


def applicable(problem: Problem) -> str:
    """Empty if the step applies to this problem, else why not (a sentence for the user)."""
    if problem.degradation.rounds_only:
        return (f"no data-proximal step on {problem.degradation.label}: its A only rounds, and the "
                "straight-through Jacobian would pull the estimate back to y")
    return ""


def project(problem: Problem, xhat: torch.Tensor, tau: float = TAU) -> Projection:
    """x̃ = the point of {x : ‖r(x)‖ ≤ τσ√m} nearest ``xhat`` (``xhat`` itself if it is inside)."""
    rms = 255.0 / math.sqrt(problem.measurements)
    delta = tau * problem.sigma * math.sqrt(problem.measurements)
    before = _misfit(problem, xhat)
    if before <= delta:
        return Projection(xhat, 0.0, before * rms, before * rms, delta * rms)
    lo, hi = (math.log10(b * problem.lipschitz) for b in MU_RANGE)
    x = xhat
    inside: tuple[float, torch.Tensor] | None = None
    for _ in range(BISECTIONS):
        mid = 0.5 * (lo + hi)
        x = _tikhonov(problem, xhat, 10.0**mid, x)
        fit = _misfit(problem, x)
        if fit > delta:
            hi = mid
        else:
            lo, inside = mid, (fit, x)
    if inside is None:  # δ below the best attainable misfit (noiseless data): the closest fit tried
        x = _tikhonov(problem, xhat, 10.0**lo, x)
        inside = (_misfit(problem, x), x)
    fit, x = inside
    return Projection(x, 10.0**lo, before * rms, fit * rms, delta * rms)


def _misfit(problem: Problem, x: torch.Tensor) -> float:
    with torch.no_grad():
        return float(problem.residual(x).norm())


def _normal_equations(problem: Problem, x: torch.Tensor) -> tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
    """(Jᵀr(x), v ↦ JᵀJ v): closed form for linear A (J v = r(v) − r(0) = MAv), autograd otherwise."""
    if problem.linear:
        with torch.no_grad():
            offset = problem.residual(torch.zeros_like(x))
            return (problem.A_adjoint(problem.residual(x)),
                    lambda v: problem.A_adjoint(problem.residual(v) - offset))
    lin = Linearization(problem.residual, x)
    with torch.no_grad():
        return lin.Jt(lin.residual), lin.JtJ


def _tikhonov(problem: Problem, xhat: torch.Tensor, mu: float, start: torch.Tensor) -> torch.Tensor:
    """x_μ from ``start``: Gauss–Newton steps (JᵀJ + μI) d = −(Jᵀr + μ(x − x̂)), each kept only if
    it lowers ½‖r‖² + μ/2‖x − x̂‖² (for linear A one step is the exact minimiser, up to CG)."""
    def objective(z: torch.Tensor) -> float:
        with torch.no_grad():
            return float(0.5 * problem.residual(z).pow(2).sum() + 0.5 * mu * (z - xhat).pow(2).sum())

    x, f = start, objective(start)
    for _ in range(1 if problem.linear else GAUSS_NEWTON_STEPS):
        jtr, jtj = _normal_equations(problem, x)
        g = jtr + mu * (x - xhat)
        d = torch.zeros_like(x)
        for d, _ in conjugate_gradient(lambda v: jtj(v) + mu * v, -g, d, CG_ITERATIONS, tol=1e-4 * float(g.norm())):
            pass
        f_new = objective(x + d)
        if not f_new < f:
            break
        x, f = x + d, f_new
    return x
