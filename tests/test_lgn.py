"""Learned Gauss–Newton: the Gauss–Newton direction it is fed, and the shipped cell."""

from __future__ import annotations

from itertools import pairwise

import pytest
import torch

from arena.method import METHODS, load_methods
from arena.metrics import psnr
from arena.nets.rim import DEFAULT_LGN, RimConfig, load_rim
from arena.nonlinear_least_squares import Linearization
from arena.problem import Problem, build_degradation, make_problem
from arena.unroll import gauss_newton_direction
from tests.test_learned import final, held_out

load_methods()
BLUR = {"kernel": "gaussian", "sigma": 1.0, "size": 5, "noise": 1.0}


def test_on_denoising_the_direction_is_the_closed_form_step_to_y():
    """A = I: JᵀJ = I, so d = −(1 + δ)⁻¹ (x − y) after a single CG step."""
    problem, _, _ = make_problem(held_out("coffee", 16), "denoise", {"sigma": 10})
    x = torch.rand(problem.x_shape, generator=torch.Generator().manual_seed(0))
    d = gauss_newton_direction(problem, x, cg=1, damping=0.25)
    assert torch.allclose(d, -(x - problem.y) / 1.25, atol=1e-6)


def test_many_cg_steps_solve_the_damped_normal_equations_of_a_non_linear_operator():
    problem, _, _ = make_problem(held_out("astronaut", 16), "camera", {})
    x = problem.initial().clamp(0.05, 0.95)
    d = gauss_newton_direction(problem, x, cg=60)
    lin = Linearization(problem.residual, x)
    rhs = lin.Jt(lin.residual)
    assert (lin.JtJ(d) + 1e-2 * problem.lipschitz * d + rhs).norm() < 1e-4 * rhs.norm()


def test_a_batch_is_many_problems_not_one():
    x = torch.rand(3, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    deg = build_degradation("blur", (1, 16, 16), BLUR, seed=3)
    batch = Problem(deg.observe(x, torch.Generator().manual_seed(2)), deg, 3)
    z = torch.rand(3, 1, 16, 16, generator=torch.Generator().manual_seed(4))
    both = gauss_newton_direction(batch, z, cg=3)
    alone = gauss_newton_direction(Problem(batch.y[2:], deg, 3), z[2:], cg=3)
    assert torch.allclose(both[2:], alone, atol=1e-6)


def test_a_gauss_newton_cell_needs_its_cg_steps():
    with pytest.raises(ValueError, match="cg"):
        RimConfig(inputs="gauss_newton")
    with pytest.raises(ValueError, match="cg"):
        RimConfig(inputs="gradient", cg=3)
    cell, meta = load_rim(DEFAULT_LGN)
    assert cell.cfg.inputs == "gauss_newton" and cell.cfg.cg >= 1 and "held out" in meta["data"]


def test_the_shipped_cell_deblurs_a_held_out_image_and_inverts_the_camera_response():
    """Every step improves the deblurred estimate; on the camera response (where the exact inverse
    curve is already a strong start: weights/learned.md) it ends near that inverse, far from y."""
    problem, clean, _ = make_problem(held_out("camera", 96), "blur", {"kernel": "gaussian", "sigma": 1.6, "noise": 2.0})
    steps = list(METHODS.get("lgn")().run(problem, iterations=4, weights="", consistency="discrepancy"))
    scores = [psnr(problem.initial(), clean)] + [psnr(s.x, clean) for s in steps]
    assert all(b > a for a, b in pairwise(scores)) and scores[-1] > psnr(problem.y, clean) + 3, scores
    camera, clean, _ = make_problem(held_out("astronaut", 96), "camera", {})
    out = final("lgn", camera)
    assert psnr(out.x, clean) > psnr(camera.y, clean) + 6
    assert psnr(out.x, clean) > psnr(camera.initial(), clean) - 0.5
