"""Gauss–Newton and Levenberg–Marquardt for F(x) = ½‖φ(x) − y‖² + λ R(x), any differentiable φ.

One outer step linearises the residual r(x) = M(φ(x) − y) (M: the measurement mask) at x_k and
solves the regularised normal equations by conjugate gradients,

    (JᵀJ + λ ∇²R(x_k) + μ I) δ = −(Jᵀ r + λ ∇R(x_k)),        J = ∂r/∂x at x_k,

with Jacobian products only — never a dense Jacobian (Burger & Kaltenbacher 2006; Nocedal &
Wright, *Numerical Optimization*, ch. 10). Gauss–Newton takes μ = 0 and a backtracking line
search on δ; Levenberg–Marquardt adapts μ by the gain ratio ρ = actual / predicted decrease
(Nielsen's rule, Madsen, Nielsen & Tingleff 2004, eq. 2.21). For linear φ = A with the Dirichlet
prior, one Gauss–Newton step from any x is the Tikhonov solution (AᵀA + λ∇ᵀ∇) x̂ = Aᵀy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from arena import regularizers as reg
from arena.method import Step, iterations_param
from arena.params import Param
from arena.problem import Problem
from arena.solvers import cg_solve

PRIORS = ("tv", "tikhonov")
LINE_SEARCH_HALVINGS = 12
"""Gauss–Newton halves a step that does not decrease F at most this often, then stops."""
CONVERGED = 1e-7
"""An accepted step that lowers F by less than this fraction ends the iterations (float32's
resolution: smaller decreases are rounding)."""
MAX_DAMPING = 1e8
"""Levenberg–Marquardt stops once μ exceeds this many ‖J‖²: even a tiny gradient step no longer
decreases F, so x is a minimiser to working precision."""

PARAMS = (
    Param("lam", 0.003, "regularisation weight λ (auto: TV's rule 20 σ_eff^2.3; with prior=tikhonov give "
          "Tikhonov's 35 σ_eff² or tune)", min=1e-6, max=100.0, log=True, adaptive=True, tunable=True),
    Param("prior", "tv", "R: smoothed TV (lagged-diffusivity curvature) or the Dirichlet energy ½‖∇x‖²",
          choices=PRIORS),
    Param("eps", 0.02, "smoothing ε of TV_ε", min=1e-4, max=1.0, log=True),
    iterations_param(30),
    Param("cg_iterations", 30, "inner conjugate-gradient iterations per outer step", min=1, max=1000, log=True),
    Param("cg_tol", 1e-3, "inner CG stops when ‖residual‖ ≤ cg_tol ‖gradient‖", min=1e-10, max=0.5, log=True),
)
"""The parameters of both methods (methods/gauss_newton.py, methods/levenberg_marquardt.py)."""


def tv_rule(problem: Problem) -> dict[str, float]:
    """λ = 20 σ_eff^2.3, the ``tv`` method's default, so both minimise the same F by default."""
    return {"lam": 20.0 * problem.sigma_eff**2.3}


class Linearization:
    """A map r (a problem's residual r(x) = M(φ(x) − y), or any differentiable function)
    linearised at x: products with J, Jᵀ and JᵀJ.

    Jᵀu is a vector–Jacobian product of one retained autograd graph; J v is obtained from the same
    graph by differentiating the (linear in u) map u ↦ Jᵀu in the direction v — the "double vjp".
    Forward-mode ``torch.func.jvp`` would be cheaper, but it refuses autograd Functions such as
    quantization's straight-through rounding; the double vjp works for every φ the arena has.
    """

    def __init__(self, r: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> None:
        with torch.enable_grad():
            self._x = x.detach().requires_grad_(True)
            self._r = r(self._x)
            self._u = torch.zeros_like(self._r, requires_grad=True)
            (self._jt_u,) = torch.autograd.grad(self._r, self._x, self._u, create_graph=True)
        self.residual = self._r.detach()

    def J(self, v: torch.Tensor) -> torch.Tensor:
        (out,) = torch.autograd.grad(self._jt_u, self._u, v, retain_graph=True)
        return out

    def Jt(self, u: torch.Tensor) -> torch.Tensor:
        (out,) = torch.autograd.grad(self._r, self._x, u, retain_graph=True)
        return out

    def JtJ(self, v: torch.Tensor) -> torch.Tensor:
        return self.Jt(self.J(v))


@dataclass(frozen=True)
class Prior:
    """R with its value, gradient and a positive semi-definite curvature (Hessian-vector product)."""

    name: str
    eps: float

    def value(self, x: torch.Tensor) -> torch.Tensor:
        if self.name == "tikhonov":
            return reg.dirichlet(x, circular=True)
        return reg.tv_smooth_and_grad(x, self.eps)[0]

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        if self.name == "tikhonov":
            return reg.dirichlet_grad(x, circular=True)
        return reg.tv_smooth_and_grad(x, self.eps)[1]

    def curvature(self, x: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        """v ↦ ∇²R v: exact for the Dirichlet energy (−Δ); for TV_ε the lagged-diffusivity
        approximation −div(∇v / √(|∇x|² + ε²)) (Vogel & Oman 1996), the positive part of its Hessian."""
        if self.name == "tikhonov":
            return lambda v: reg.dirichlet_grad(v, circular=True)
        weight = 1.0 / torch.sqrt(reg.grad(x).pow(2).sum(dim=-3, keepdim=True) + self.eps**2)
        return lambda v: -reg.div(reg.grad(v) * weight)


def objective(problem: Problem, x: torch.Tensor, lam: float, prior: Prior) -> tuple[float, torch.Tensor]:
    """(F(x) = ½‖r(x)‖² + λ R(x), r(x)): one evaluation of φ serves the value and the residual."""
    with torch.no_grad():
        r = problem.residual(x)
        return float(0.5 * r.pow(2).sum() + lam * prior.value(x)), r


Operator = Callable[[torch.Tensor], torch.Tensor]


def _hessian(lin: Linearization, lam: float, curvature: Operator) -> Operator:
    """v ↦ (JᵀJ + λ∇²R) v, the Gauss–Newton approximation of F's Hessian at the linearisation point."""
    return lambda v: lin.JtJ(v) + lam * curvature(v)


def _shifted(operator: Operator, mu: float) -> Operator:
    """v ↦ operator(v) + μv (Levenberg–Marquardt's damping; μ = 0 for Gauss–Newton)."""
    return lambda v: operator(v) + mu * v


def solve(problem: Problem, *, lam: float, prior: Prior, iterations: int, cg_iterations: int, cg_tol: float,
          damping: float | None) -> Iterator[Step]:
    """The outer iterations; ``damping`` None is Gauss–Newton, a number is Levenberg–Marquardt's μ₀
    in units of ‖J‖² (``problem.lipschitz``). Each Step carries F, μ, the inner CG iterations, the
    relative linearisation error ‖r(x+δ) − r(x) − Jδ‖ / ‖Jδ‖ and whether the step was accepted.
    Ends early at a minimiser (no decrease along the Gauss–Newton direction, a relative decrease
    below ``CONVERGED``, or μ above ``MAX_DAMPING``), with a note saying so."""
    x = problem.initial()
    f, _ = objective(problem, x, lam, prior)
    mu = None if damping is None else damping * problem.lipschitz
    nu = 2.0
    for k in range(1, iterations + 1):
        lin = Linearization(problem.residual, x)
        curvature = prior.curvature(x)
        with torch.no_grad():
            g = lin.Jt(lin.residual) + lam * prior.grad(x)
        hessian = _hessian(lin, lam, curvature)
        system = _shifted(hessian, mu or 0.0)
        delta, inner = cg_solve(system, -g, torch.zeros_like(x), cg_iterations, tol=cg_tol * float(g.norm()))
        jd = lin.J(delta)
        predicted = float(-(g * delta).sum() - 0.5 * (delta * hessian(delta)).sum())
        step = 1.0
        while True:
            candidate = x + step * delta
            f_new, r_new = objective(problem, candidate, lam, prior)
            if mu is not None or f_new < f or step < 0.5**LINE_SEARCH_HALVINGS:
                break
            step *= 0.5
        lin_error = float((r_new - lin.residual - step * jd).norm() / max(float(step * jd.norm()), 1e-12))
        accepted = f_new < f
        converged = accepted and f - f_new <= CONVERGED * abs(f)
        diagnostics = {"loss": min(f, f_new), "cg": float(inner), "linearisation_error": lin_error,
                       "accepted": float(accepted)}
        if mu is None:
            diagnostics["step_length"] = step
            if accepted:
                x, f = candidate, f_new
            converged = converged or not accepted  # no decrease along the Gauss–Newton direction
        else:
            diagnostics["damping"] = mu
            rho = (f - f_new) / max(predicted, 1e-30)
            if accepted and rho > 0:
                x, f = candidate, f_new
                mu *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
                nu = 2.0
            else:
                mu *= nu
                nu *= 2.0
            converged = converged or mu > MAX_DAMPING * problem.lipschitz
        if converged:
            yield Step(k, x, diagnostics, notes=(f"converged at outer iteration {k}: F no longer decreases",))
            return
        yield Step(k, x, diagnostics)
