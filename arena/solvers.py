"""Small numerical building blocks shared by methods."""

from __future__ import annotations

from collections import deque
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


def cg_solve(apply: Callable[[torch.Tensor], torch.Tensor], b: torch.Tensor, x0: torch.Tensor,
             iterations: int, tol: float = 1e-10) -> tuple[torch.Tensor, int]:
    """Runs :func:`conjugate_gradient` to its end: the last iterate (``x0`` when it takes no step)
    and the number of steps taken."""
    last = deque(enumerate(conjugate_gradient(apply, b, x0, iterations, tol), 1), maxlen=1)
    if not last:
        return x0, 0
    steps, (x, _) = last[0]
    return x, steps


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

    x, _ = cg_solve(normal, problem.A_adjoint(problem.y), problem.initial(), iterations)
    return x


def fair_start(problem: Problem) -> torch.Tensor:
    """The first estimate of an iterative method: the degradation's natural start, or, where some
    pixels have no measurement at all, :func:`harmonic_start` — gradient steps spread information a
    few pixels per hundred iterations, so a zero-filled hole (a painted stroke) would stay black
    for any budget, whatever the method's model says belongs there."""
    return harmonic_start(problem) if problem.linear and missing_pixels(problem) else problem.initial()


def quadratic_data_step(problem: Problem, x: torch.Tensor, z: torch.Tensor, mu: float, inner: int) -> torch.Tensor:
    """argmin_x ½‖A(x) − y‖² + (μ/2)‖x − z‖², warm-started at ``x`` — the data step of
    half-quadratic splitting (plug-and-play, DiffPIR). Exact in Fourier when A is a circular
    convolution; ``inner`` conjugate-gradient steps on (AᵀA + μI) x = Aᵀy + μz for other linear A;
    ``inner`` gradient steps of size 1/(‖A‖² + μ) for non-linear A."""
    from arena.degradations.convolution import apply as conv_apply

    with torch.no_grad():
        if problem.linear:
            otf = problem.degradation.otf()
            if otf is not None:
                rhs = conv_apply(problem.y, otf.conj()) + mu * z
                return torch.fft.irfft2(torch.fft.rfft2(rhs) / (otf.abs() ** 2 + mu), s=z.shape[-2:])
            normal = lambda v: problem.A_adjoint(problem.A(v)) + mu * v  # noqa: E731
            x, _ = cg_solve(normal, problem.A_adjoint(problem.y) + mu * z, x, inner)
            return x
    tau = 1.0 / (problem.lipschitz + mu)
    for _ in range(inner):
        x = x - tau * (problem.fidelity_grad(x) + mu * (x - z))
    return x
