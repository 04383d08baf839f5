"""The data-proximal step: move an estimate x̂ that misfits the data back towards it.

A network's output x̂ (the RIM's, the learned Gauss–Newton's) should explain y = A(x) + n to the
noise level: ‖r(x̂)‖ ≈ σ√m with r(x) = M(A(x) − y). Where it misfits more, the step replaces it by
the Tikhonov solution with prior mean x̂,

    x_μ = argmin_x ½‖r(x)‖² + μ/2 ‖x − x̂‖²,

the data-proximal correction of a network (Göppel, Frikel & Haltmeier, *Data-proximal null-space
networks for inverse problems*, 2023): it changes x̂ only along directions the data sees, and keeps
what x̂ puts where A is blind (clipped highlights, missing pixels, the null space of SR). Where
x̂ already fits, ‖r(x̂)‖ ≤ σ√m, it is left alone. Two rules choose μ (σ known, the clean image never seen):

- ``upre`` (default) minimises the unbiased predictive risk estimate (Mallows' C_L; Vogel,
  *Computational Methods for Inverse Problems*, 2002, §7.1)

      U(μ) = ‖r(x_μ)‖² − m σ² + 2σ² tr H_μ,    H_μ = J (JᵀJ + μI)⁻¹ Jᵀ,

  an unbiased estimate of E‖A(x_μ) − A(x)‖² when x̂ does not depend on the noise, with tr H_μ by
  Hutchinson's estimator (one Rademacher probe: bᵀ H_μ b) and J at x_μ. x̂ *does* depend on y, so
  U undercounts the noise it has fitted; that is why the step runs only where x̂ misfits more than
  the noise. μ on a grid of decades from 10² to 10⁻⁶ ‖J‖², then the best one's half-decade neighbours.
- ``discrepancy`` is Morozov's rule: the μ with ‖r(x_μ)‖ = σ√m, by bisection on log μ — the
  projection of x̂ onto the discrepancy set {x : ‖r(x)‖ ≤ σ√m}. It stops short of the data when x̂'s
  error is larger than the noise, so UPRE corrects more there.

On the RIM (``benchmarks/LEARNED.md``'s RIM cell and RIM columns; both rules in
``benchmarks/RULES.md``) the rows where the cell already fits y about as well as the noise allows
do not move; noiseless SR and inpainting gain under both rules (σ = 0: the smallest μ, the data met
exactly in the range of Aᵀ), and the camera response most, UPRE more than the discrepancy rule.

For linear A each x_μ is one CG solve of (AᵀMA + μI) x = AᵀMy + μ x̂; for non-linear A a few
Gauss–Newton steps, J used only through Jacobian–vector products
(:class:`arena.nonlinear_least_squares.Linearization`). Degradations that only round (quantization, JPEG:
``rounds_only``) are left out: their Jacobian is a straight-through stand-in, and a step along it
would pull x̂ back to y.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from arena.nonlinear_least_squares import Linearization
from arena.problem import Problem
from arena.solvers import cg_solve
from arena.tuning import misfit

RULES = ("upre", "discrepancy")
MU_RANGE = (1e-6, 1e2)
"""The μ searched, in units of ‖J‖² (``problem.lipschitz``): from "fit the data" to "stay at x̂"."""
BISECTIONS = 8
"""Halvings of the log-μ interval for ``discrepancy``: 8 decades / 2⁸ — μ to within 8 %."""
CG_ITERATIONS = 30
GAUSS_NEWTON_STEPS = 3
"""Per μ for non-linear A, warm-started from the previous μ's solution."""


@dataclass(frozen=True)
class Projection:
    """The step's result: x, μ (0: x̂ fitted already and was kept) and the RMS misfits ‖r‖/√m
    before and after, with the noise level σ they are judged against, on the 0–255 scale like the
    arena's data-fit column."""

    x: torch.Tensor
    mu: float
    misfit_before: float
    misfit_after: float
    noise: float


def applicable(problem: Problem) -> str:
    """Empty if the step applies to this problem, else why not (a sentence for the user)."""
    if problem.degradation.rounds_only:
        return (f"no data-proximal step on {problem.degradation.label}: its A only rounds, and the "
                "straight-through Jacobian would pull the estimate back to y")
    return ""


def project(problem: Problem, xhat: torch.Tensor, rule: str = "upre") -> Projection:
    """x̂ itself if ‖r(x̂)‖ ≤ σ√m, else x_μ with μ from ``rule`` (``upre`` or ``discrepancy``)."""
    rms = 255.0 / math.sqrt(problem.measurements)
    delta = problem.sigma * math.sqrt(problem.measurements)
    before = misfit(problem, xhat)
    if before <= delta:
        return Projection(xhat, 0.0, before * rms, before * rms, problem.sigma * 255)
    mu, x = (_upre(problem, xhat) if rule == "upre" else _discrepancy(problem, xhat, delta))
    return Projection(x, mu, before * rms, misfit(problem, x) * rms, problem.sigma * 255)


def _discrepancy(problem: Problem, xhat: torch.Tensor, delta: float) -> tuple[float, torch.Tensor]:
    """The largest μ (to bisection accuracy) with ‖r(x_μ)‖ ≤ δ; the smallest μ tried if none fits."""
    lo, hi = (math.log10(b * problem.lipschitz) for b in MU_RANGE)
    x = xhat
    inside: torch.Tensor | None = None
    for _ in range(BISECTIONS):
        mid = 0.5 * (lo + hi)
        x = _tikhonov(problem, xhat, 10.0**mid, x)
        if misfit(problem, x) > delta:
            hi = mid
        else:
            lo, inside = mid, x
    return 10.0**lo, inside if inside is not None else _tikhonov(problem, xhat, 10.0**lo, x)


def _upre(problem: Problem, xhat: torch.Tensor) -> tuple[float, torch.Tensor]:
    """argmin over μ of U(μ): every decade of MU_RANGE from the top (warm starts), then ±½ decade."""
    probe = torch.Generator(device="cpu").manual_seed(0)
    b = (torch.randint(0, 2, problem.y.shape, generator=probe).float() * 2 - 1).to(problem.y)
    mask = problem.degradation.measurement_mask()
    b = b if mask is None else b * mask
    lo, hi = (round(math.log10(v)) for v in MU_RANGE)
    best: tuple[float, float, torch.Tensor] | None = None  # (U, log10 μ/‖J‖², x_μ)

    def consider(k: float, start: torch.Tensor) -> torch.Tensor:
        nonlocal best
        mu = problem.lipschitz * 10.0**k
        x = _tikhonov(problem, xhat, mu, start)
        u = _risk(problem, x, mu, b)
        if best is None or u < best[0]:
            best = (u, k, x)
        return x

    x = xhat
    for k in range(hi, lo - 1, -1):
        x = consider(float(k), x)
    centre, start = best[1], best[2]
    for k in (centre - 0.5, centre + 0.5):
        if lo <= k <= hi:
            consider(k, start)
    return problem.lipschitz * 10.0**best[1], best[2]


def _risk(problem: Problem, x: torch.Tensor, mu: float, b: torch.Tensor) -> float:
    """U(μ) = ‖r(x_μ)‖² − mσ² + 2σ² bᵀ J (JᵀJ + μI)⁻¹ Jᵀ b."""
    jt, jtj, j = _jacobian(problem, x)
    with torch.no_grad():
        u = jt(b)
        v, _ = cg_solve(_damped(jtj, mu), u, torch.zeros_like(u), CG_ITERATIONS, tol=1e-4 * float(u.norm()))
        trace = float((b * j(v)).sum())
        var = problem.sigma**2
        return float(problem.residual(x).pow(2).sum()) - problem.measurements * var + 2 * var * trace


Linear = Callable[[torch.Tensor], torch.Tensor]


def _damped(jtj: Linear, mu: float) -> Linear:
    """v ↦ (JᵀJ + μI) v."""
    return lambda v: jtj(v) + mu * v


def _jacobian(problem: Problem, x: torch.Tensor) -> tuple[Linear, Linear, Linear]:
    """(u ↦ Jᵀu, v ↦ JᵀJ v, v ↦ J v) at x: closed form for linear A (J v = r(v) − r(0) = MAv),
    Jacobian products by autograd otherwise."""
    if problem.linear:
        with torch.no_grad():
            offset = problem.residual(torch.zeros_like(x))

        def j(v: torch.Tensor) -> torch.Tensor:
            return problem.residual(v) - offset

        return problem.A_adjoint, lambda v: problem.A_adjoint(j(v)), j
    lin = Linearization(problem.residual, x)
    return lin.Jt, lin.JtJ, lin.J


def _tikhonov(problem: Problem, xhat: torch.Tensor, mu: float, start: torch.Tensor) -> torch.Tensor:
    """x_μ from ``start``: Gauss–Newton steps (JᵀJ + μI) d = −(Jᵀr + μ(x − x̂)), each kept only if
    it lowers ½‖r‖² + μ/2‖x − x̂‖² (for linear A one step is the exact minimiser, up to CG)."""
    def objective(z: torch.Tensor) -> float:
        with torch.no_grad():
            return float(0.5 * problem.residual(z).pow(2).sum() + 0.5 * mu * (z - xhat).pow(2).sum())

    x, f = start, objective(start)
    for _ in range(1 if problem.linear else GAUSS_NEWTON_STEPS):
        jt, jtj, _ = _jacobian(problem, x)
        with torch.no_grad():
            g = jt(problem.residual(x)) + mu * (x - xhat)
            d, _ = cg_solve(_damped(jtj, mu), -g, torch.zeros_like(x), CG_ITERATIONS, tol=1e-4 * float(g.norm()))
        f_new = objective(x + d)
        if not f_new < f:
            break
        x, f = x + d, f_new
    return x
