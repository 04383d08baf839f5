"""Regularised Gauss–Newton for a known, possibly non-linear forward model."""

from __future__ import annotations

from collections.abc import Iterator

from arena import nonlinear_least_squares as nls
from arena.degradations.color import GREEN_CHANNEL_LIMIT
from arena.degradations.jpeg import ROUNDING_LIMIT
from arena.degradations.nonlinear import TIE_LIMIT
from arena.degradations.quantize import STRAIGHT_THROUGH_LIMIT
from arena.method import METHODS, Method, Step
from arena.problem import Problem


@METHODS.register
class GaussNewton(Method):
    """x_{k+1} = x_k + t δ_k,  (JᵀJ + λ∇²R(x_k)) δ_k = −(Jᵀr(x_k) + λ∇R(x_k)),  J = ∂r/∂x(x_k)

    minimises F(x) = ½‖φ(x) − y‖² + λR(x) by linearising φ at every outer step; the inner system
    is solved by conjugate gradients with Jacobian-vector products (no Jacobian is formed), and t
    is halved until F decreases. Where φ is nearly linear it converges in a few outer steps
    (quadratically near a zero-residual solution); for linear φ and R = ½‖∇x‖² one step is the
    Tikhonov solution. Diagnostics: inner CG iterations, the linearisation error
    ‖r(x+δ) − r(x) − Jδ‖/‖Jδ‖ (how far from linear φ is over the step) and t.

    This is Gauss–Newton with a line search on one fixed Tikhonov-type functional (λ does not
    change along the iteration; Nocedal & Wright ch. 10 for Gauss–Newton, ch. 3 for the
    backtracking, ch. 5 and 7 for CG on the inner system with Jacobian products) — not the
    iteratively regularised Gauss–Newton method of regularisation theory (Bakushinskii;
    Kaltenbacher, Neubauer & Scherzer), whose weight α_k → 0 along the iteration with a stopping
    rule doing the regularising.
    """

    name = "gauss_newton"
    rule = (r"x_{k+1} = x_k + t\,\delta_k,\qquad (J^\top J + "
            r"\lambda\nabla^2 R(x_k))\,\delta_k = -\big(J^\top r(x_k) + \lambda\nabla R(x_k)\big)")
    label = "Gauss–Newton (regularised)"
    reference = ("Nocedal & Wright, Numerical Optimization, 2nd ed., Springer 2006, ch. 10 (Gauss–Newton); "
                 "Björck, Numerical Methods for Least Squares Problems, SIAM 1996, ch. 9")
    order = 45
    limits = {
        "colorize": GREEN_CHANNEL_LIMIT,
        "quantize": STRAIGHT_THROUGH_LIMIT,
        "jpeg": ROUNDING_LIMIT,
        "camera": TIE_LIMIT,
    }
    params = nls.PARAMS

    def defaults(self, problem: Problem) -> dict[str, float]:
        return nls.tv_rule(problem)

    def run(self, problem: Problem, *, lam: float, prior: str, eps: float, iterations: int, cg_iterations: int,
            cg_tol: float) -> Iterator[Step]:
        yield from nls.solve(problem, lam=lam, prior=nls.Prior(prior, eps), iterations=iterations,
                                   cg_iterations=cg_iterations, cg_tol=cg_tol, damping=None)
