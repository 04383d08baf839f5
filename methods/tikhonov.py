"""Tikhonov regularisation with a gradient penalty; the Wiener filter for convolutions."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from arena import regularizers as reg
from arena.degradations.color import PER_CHANNEL_LIMIT
from arena.degradations.convolution import apply as conv_apply
from arena.degradations.jpeg import ROUNDING_LIMIT
from arena.degradations.quantize import STRAIGHT_THROUGH_LIMIT
from arena.errors import UnsupportedError
from arena.method import METHODS, Method, Step, iterations_param
from arena.params import Param
from arena.problem import Problem
from arena.solvers import conjugate_gradient, fair_start


@METHODS.register
class Tikhonov(Method):
    """x̂ = argmin ½‖Ax − y‖² + (λ/2)‖∇x‖², i.e. (AᵀA + λ∇ᵀ∇) x̂ = Aᵀy (circular ∇).

    Units: the course writes ½‖Ax − y‖² + λ‖∇x‖² (no ½ on the penalty), whose normal equations
    are (AᵀA + 2λ∇ᵀ∇) x̂ = Aᵀy; so λ here is **twice the course's λ** — halve a value from this tab
    to compare it with the course (λ = 0.5 here is λ = 0.25 there).

    Default λ = 35 σ_eff², σ_eff = √(σ² + σ_eq²) (``Problem.sigma_eff``): for the Wiener filter the
    best λ is the noise-to-signal power ratio σ²/E|∇x|², and the constant was fitted on training
    photos (best λ for Gaussian deblurring at σ = 2/255 and denoising at σ = 25/255, both ≈ 35 σ²;
    ``benchmarks/DEFAULTS.md``).

    ``solver=fourier`` — when A is a circular convolution with transfer K (denoising, circular
    blur) the normal equations are diagonal in Fourier and x̂ = F⁻¹[ K̄ ŷ / (|K|² + λ|D̂|²) ]: the
    Wiener filter with a 1/|ω|² image spectrum. ``cg`` — conjugate gradients on the normal
    equations for any linear A, one iterate per CG step. ``gd`` — gradient descent with
    τ = 1/(‖A‖² + 8λ), the only choice for non-linear A. ``auto`` picks in that order.
    """

    name = "tikhonov"
    rule = (r"\hat x = \arg\min_x \tfrac12\|Ax - y\|^2 + \tfrac{\lambda}{2}\|\nabla x\|^2 \iff (A^\top A + "
            r"\lambda\nabla^\top\nabla)\,\hat x = A^\top y")
    label = "Tikhonov / Wiener"
    reference = "Tikhonov & Arsenin, 1977; Wiener, 1949; Leclaire, Restoration with Generative Priors, 2024"
    order = 30
    limits = {
        "colorize": PER_CHANNEL_LIMIT,
        "quantize": STRAIGHT_THROUGH_LIMIT,
        "jpeg": ROUNDING_LIMIT,
        "camera": "noise 2 through a saturating curve: the quadratic prior ties with the inverse curve",
    }
    params = (
        Param("lam", 0.5, "regularisation weight λ (auto: 35 σ_eff²)", min=1e-5, max=1000.0, log=True,
              adaptive=True, tunable=True),
        Param("solver", "auto", "closed form (fourier), conjugate gradients or gradient descent",
              choices=("auto", "fourier", "cg", "gd")),
        iterations_param(100),
    )

    def defaults(self, problem: Problem) -> dict[str, float]:
        return {"lam": 35.0 * problem.sigma_eff**2}

    def run(self, problem: Problem, *, lam: float, solver: str, iterations: int) -> Iterator[Step]:
        otf = problem.degradation.otf()
        if solver == "auto":
            solver = "fourier" if otf is not None else "cg" if problem.linear else "gd"
        if solver == "fourier" and otf is None:
            raise UnsupportedError(f"solver=fourier needs a circular convolution; {problem.degradation.name} "
                                   "is not one (use solver=cg or auto)")
        if solver == "cg" and not problem.linear:
            raise UnsupportedError(f"solver=cg needs a linear operator; {problem.degradation.name} is not linear "
                             "(use solver=gd or auto)")

        def objective(x: torch.Tensor) -> float:
            return float(problem.fidelity(x) + lam * reg.dirichlet(x, circular=True))

        if solver == "fourier":
            d2 = reg.laplacian_transfer(problem.x_shape[-2:], problem.device)
            filt = otf.conj() / (otf.abs() ** 2 + lam * d2)
            x = conv_apply(problem.y, filt)
            yield Step(1, x, {"loss": objective(x)})
        elif solver == "cg":
            yield from self._cg(problem, lam, iterations, objective)
        else:
            x = fair_start(problem)
            tau = 1.0 / (problem.lipschitz + reg.GRAD_NORM_SQ * lam)
            _, g = problem.fidelity_and_grad(x)
            for k in range(1, iterations + 1):
                x = x - tau * (g + lam * reg.dirichlet_grad(x, circular=True))
                fid, g = problem.fidelity_and_grad(x)
                yield Step(k, x, {"loss": float(fid + lam * reg.dirichlet(x, circular=True))})

    @staticmethod
    def _cg(problem: Problem, lam: float, iterations: int, objective) -> Iterator[Step]:
        """Conjugate gradients on (AᵀA + λ∇ᵀ∇) x = Aᵀy, started from the naive inverse (or the
        harmonic fill of missing pixels)."""

        def normal(v: torch.Tensor) -> torch.Tensor:
            return problem.A_adjoint(problem.A(v)) + lam * reg.dirichlet_grad(v, circular=True)

        b = problem.A_adjoint(problem.y)
        for k, (x, residual) in enumerate(conjugate_gradient(normal, b, fair_start(problem), iterations, tol=1e-10), 1):
            yield Step(k, x, {"loss": objective(x), "residual": residual})
