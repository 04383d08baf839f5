"""Small numerical building blocks shared by methods."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from arena.problem import Problem


def conjugate_gradient(apply: Callable[[torch.Tensor], torch.Tensor], b: torch.Tensor, x0: torch.Tensor,
                       iterations: int, tol: float = 1e-10) -> Iterator[tuple[torch.Tensor, float]]:
    """Conjugate gradients (Hestenes & Stiefel, 1952) for ``apply(x) = b`` with ``apply`` symmetric
    positive definite; yields ``(x_k, ‖r_k‖)`` after every step and stops early once ‖r‖ ≤ tol."""
    with torch.no_grad():
        x = x0.clone()
        r = b - apply(x)
        p = r.clone()
        rs = float((r * r).sum())
        for _ in range(iterations):
            if rs <= tol**2:
                yield x, rs**0.5
                return
            q = apply(p)
            alpha = rs / float((p * q).sum())
            x = x + alpha * p
            r = r - alpha * q
            rs_new = float((r * r).sum())
            p = r + (rs_new / rs) * p
            rs = rs_new
            yield x, rs**0.5


def missing_pixels(problem: Problem) -> bool:
    """True when some pixels have no measurement at all (inpainting masks): a local denoiser
    started from the zero-filled image never sees anything there."""
    mask = problem.degradation.measurement_mask()
    return mask is not None and tuple(mask.shape[-2:]) == tuple(problem.x_shape[-2:]) and bool((mask == 0).any())


def harmonic_start(problem: Problem, iterations: int = 50) -> torch.Tensor:
    """A smooth first estimate for missing-pixel problems: CG on (AᵀA + λ∇ᵀ∇) x = Aᵀy with a small
    λ = 10⁻³ — the measured pixels kept, the holes filled by (near-)harmonic interpolation."""
    from arena import regularizers as reg

    lam = 1e-3

    def normal(v: torch.Tensor) -> torch.Tensor:
        return problem.A_adjoint(problem.A(v)) + lam * reg.dirichlet_grad(v, circular=False)

    x = problem.initial()
    for x, _ in conjugate_gradient(normal, problem.A_adjoint(problem.y), x, iterations):
        pass
    return x
