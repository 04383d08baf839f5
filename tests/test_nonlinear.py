"""Gauss–Newton and Levenberg–Marquardt: Jacobian products, the linear case, monotone descent."""

from __future__ import annotations

from itertools import pairwise

import torch

from arena.method import METHODS, load_methods
from arena.nonlinear_least_squares import Linearization
from arena.problem import make_problem
from tests.conftest import bundled


def _steps(name: str, problem, **params):
    load_methods()
    m = METHODS.get(name)()
    return list(m.run(problem, **m.resolve(params, problem)))


def test_jacobian_products_are_adjoint_and_match_finite_differences():
    x = bundled("astronaut", 24).double()
    p, _, _ = make_problem(x.float(), "camera", {"noise": 0}, seed=0)
    p = type(p)(p.y.double(), p.degradation, p.seed)
    lin = Linearization(p.residual, x)
    g = torch.Generator().manual_seed(0)
    v, u = torch.randn(x.shape, generator=g, dtype=x.dtype), torch.randn(p.y.shape, generator=g, dtype=x.dtype)
    assert torch.allclose((lin.J(v) * u).sum(), (v * lin.Jt(u)).sum(), rtol=1e-10)
    h = 1e-6
    fd = (p.residual(x + h * v) - p.residual(x - h * v)) / (2 * h)
    assert torch.allclose(lin.J(v), fd, rtol=1e-5, atol=1e-7)
    assert torch.allclose(lin.JtJ(v), lin.Jt(lin.J(v)))


def test_the_straight_through_quantizer_linearises_to_the_identity():
    """Forward-mode AD refuses its autograd Function; the double vjp gives J = I (straight through)."""
    x = bundled("camera", 16)
    p, _, _ = make_problem(x, "quantize", {"levels": 5}, seed=0)
    v = torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(Linearization(p.residual, x).J(v), v)


def test_one_gauss_newton_step_on_a_linear_problem_is_the_tikhonov_solution():
    x = bundled("camera", 32)
    p, _, _ = make_problem(x, "blur", {"sigma": 1.6, "noise": 2}, seed=0)
    (step,) = _steps("gauss_newton", p, prior="tikhonov", lam=0.01, iterations=1, cg_iterations=1000, cg_tol=1e-10)
    (closed,) = _steps("tikhonov", p, lam=0.01, solver="fourier")
    assert step.diagnostics["step_length"] == 1.0
    assert (step.x - closed.x).abs().max() < 1e-4


def test_levenberg_marquardt_decreases_its_objective_at_every_accepted_step_and_reaches_tvs_minimum():
    x = bundled("chelsea", 48)
    p, clean, _ = make_problem(x, "camera", {"noise": 10}, seed=0)
    steps = _steps("levenberg_marquardt", p)
    accepted = [s.diagnostics["loss"] for s in steps if s.diagnostics["accepted"]]
    assert len(accepted) >= 2 and all(b < a for a, b in pairwise(accepted))
    assert any(not s.diagnostics["accepted"] for s in steps) or steps[-1].notes, "μ adapts or it converged"
    assert all(s.diagnostics["damping"] > 0 for s in steps)
    tv = _steps("tv", p)[-1]  # same F (TV's λ and ε): LM gets at least as low in far fewer steps
    assert accepted[-1] <= tv.diagnostics["loss"] * (1 + 1e-4) and len(steps) <= 30
