"""Unrolling a trained recurrent cell on a problem: the inference loop of RIM and of the direct baseline.

RIM (Putzky & Welling, 2017, eq. 5): x_{t+1} = x_t + g_ω(∇ₓL(y, x_t)/L, x_t, σ; h_t), started from
the degradation's natural estimate x₀ (Aᵀy, bicubic, zero-fill, …). The likelihood gradient is
∇½‖A x − y‖², from :meth:`Problem.fidelity_and_grad` (closed form for linear A, autograd through any
other), divided by its Lipschitz constant L so that every operator presents the same scale; σ is the
noise level. Training backpropagates through the recurrence but treats the gradient as an input, as
at inference. The direct baseline's cell gets x₀ in place of the gradient: it never sees A.

Learned Gauss–Newton (the RIM's source asks for it as the next step for non-linear A): the cell is
fed the Gauss–Newton direction d_t ≈ −(JᵀJ + δI)⁻¹ Jᵀ r(x_t) instead of the scaled gradient, where
r = M(φ(x) − y) and J its Jacobian at x_t, from ``cg`` conjugate-gradient steps started at 0 (their
early stop is itself a regulariser, as in Landweber/CGLS) with δ = 10⁻² L; J and Jᵀ are
Jacobian–vector products (:class:`arena.nonlinear_least_squares.Linearization`), never a dense Jacobian. Each step
costs one φ evaluation, one Jᵀ and ``cg`` (J, Jᵀ) pairs: 2 + 2·cg products against the RIM's 2.

Both end with the data-proximal step by default (:mod:`arena.data_proximal`): a last iterate that
misfits y more than the noise does is moved back towards the data, and left alone otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import torch

from arena import data_proximal
from arena.errors import SpecError
from arena.method import Step
from arena.nets.rim import RimCell, fold, load_rim, unfold
from arena.params import Param
from arena.problem import Problem

CONSISTENCY = Param("consistency", "upre",
                    "the data-proximal step on the last iterate when it misfits y more than the noise does "
                    "(arena/data_proximal.py): Tikhonov with the iterate as prior mean, μ by the unbiased "
                    "predictive risk (upre) or Morozov's discrepancy; off: the cell's output as it is",
                    choices=(*data_proximal.RULES, "off"))
"""The unrolled methods' data-proximal option (``rim``, ``lgn``)."""


def unroll(cell: RimCell, problem: Problem, steps: int) -> Iterator[torch.Tensor]:
    """Yield x_1 … x_steps, each ``problem.x_shape`` (batched problems give batched iterates)."""
    x0 = problem.initial()
    x = fold(x0)
    sigma = torch.full((x.shape[0], 1, 1, 1), problem.noise_rms, device=x.device, dtype=x.dtype)
    state = cell.initial_state(x)
    start = fold(x0)
    scale = 1.0 / problem.lipschitz
    for _ in range(steps):
        if cell.cfg.inputs == "gradient":
            _, g = problem.fidelity_and_grad(unfold(x, x0).detach())
            feature = fold(g) * scale
        elif cell.cfg.inputs == "gauss_newton":
            feature = fold(gauss_newton_direction(problem, unfold(x, x0).detach(), cell.cfg.cg))
        else:
            feature = start
        x, state = cell(x, feature, sigma, state)
        yield unfold(x, x0)


def gauss_newton_direction(problem: Problem, x: torch.Tensor, cg: int, damping: float = 1e-2) -> torch.Tensor:
    """d ≈ −(JᵀJ + δ L I)⁻¹ Jᵀ r(x): ``cg`` CG steps from 0, each image of a batch on its own
    (inner products per image, so that a batch is many problems, not one)."""
    from arena.nonlinear_least_squares import Linearization

    lin = Linearization(problem.residual, x)
    delta = damping * problem.lipschitz

    def dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (a * b).flatten(1).sum(1).view(-1, *[1] * (a.dim() - 1))

    with torch.no_grad():
        r = -lin.Jt(lin.residual)
        d, p, rs = torch.zeros_like(r), r.clone(), dot(r, r)
        for _ in range(cg):
            q = lin.JtJ(p) + delta * p
            alpha = rs / dot(p, q).clamp_min(1e-30)
            d, r = d + alpha * p, r - alpha * q
            rs_new = dot(r, r)
            p, rs = r + rs_new / rs.clamp_min(1e-30) * p, rs_new
    return d


def unrolled_steps(cell: RimCell, problem: Problem, iterations: int, consistency: str = "off") -> Iterator[Step]:
    """The plugins' iterates: each unrolled step, with ½‖A x − y‖² as its loss. Unless ``consistency``
    is ``off`` the last one gets the data-proximal step (:func:`arena.data_proximal.project` with
    that rule), its diagnostics saying how far it had to move."""
    why_not = data_proximal.applicable(problem) if consistency != "off" else ""
    with torch.no_grad():
        for t, x in enumerate(unroll(cell, problem, iterations), start=1):
            if t < iterations or consistency == "off" or why_not:
                notes = (why_not,) if t == iterations and why_not else ()
                yield Step(t, x, {"loss": float(problem.fidelity(x))}, notes=notes)
                continue
            p = data_proximal.project(problem, x, consistency)
            moved = 255 * float((p.x - x).pow(2).mean().sqrt())
            notes = (f"data-proximal step ({consistency}): the cell's output misfit {p.misfit_before:.2f} "
                     f"exceeded the noise level {p.noise:.2f}; moved it by {moved:.2f} RMS to misfit "
                     f"{p.misfit_after:.2f}",) if p.mu else ()
            yield Step(t, p.x, {"loss": float(problem.fidelity(p.x)), "misfit_before_projection": p.misfit_before,
                                "proximal_mu": p.mu}, notes=notes)


@lru_cache(maxsize=4)
def trained_cell(path: str, device: str, inputs: str) -> tuple[RimCell, dict[str, str]]:
    """A trained cell (cached), checked to take the expected input."""
    cell, meta = load_rim(path, device)
    if cell.cfg.inputs != inputs:
        raise SpecError(f"{Path(path).name} is a {cell.cfg.inputs!r}-input cell; this method needs {inputs!r}")
    return cell, meta


def checkpoint_path(weights: str, default: Path) -> str:
    """The shipped file or a user's ``.safetensors`` checkpoint."""
    if weights and not weights.endswith(".safetensors"):
        raise SpecError(f"weights={weights!r}: give a .safetensors file written by training/train_rim.py")
    return str(Path(weights).expanduser() if weights else default)
