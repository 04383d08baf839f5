"""Closed forms, convergence and 'better than the input' checks for the classical methods."""

from __future__ import annotations

from itertools import pairwise

import pytest
import torch

from arena.method import METHODS, load_methods
from arena.metrics import psnr
from arena.problem import make_problem
from tests.conftest import bundled

load_methods()


def _last(method: str, problem, **values):
    m = METHODS.get(method)()
    steps = list(m.run(problem, **m.resolve(values)))
    return steps[-1], steps


def test_wiener_closed_form_is_the_limit_of_gradient_descent():
    x = bundled("camera", 16)
    problem, _, _ = make_problem(x, "blur", {"size": 5, "noise": 5.0}, seed=0)
    closed, _ = _last("tikhonov", problem, lam=0.05, solver="fourier")
    gd, _ = _last("tikhonov", problem, lam=0.05, solver="gd", iterations=4000)
    cg, _ = _last("tikhonov", problem, lam=0.05, solver="cg", iterations=200)
    assert float((closed.x - gd.x).abs().max()) < 1e-4
    assert float((closed.x - cg.x).abs().max()) < 1e-4


def test_tikhonov_closed_form_solves_the_normal_equations():
    """(AᵀA + λ∇ᵀ∇) x̂ = Aᵀy, checked with the operators themselves (an independent route)."""
    from arena.regularizers import dirichlet_grad

    problem, _, _ = make_problem(bundled("astronaut", 32), "denoise", {"sigma": 25}, seed=1)
    x, _ = _last("tikhonov", problem, lam=0.7)
    lhs = problem.A_adjoint(problem.A(x.x)) + 0.7 * dirichlet_grad(x.x, circular=True)
    assert torch.allclose(lhs, problem.A_adjoint(problem.y), atol=1e-4)


@pytest.mark.parametrize("degradation,values,params", [
    ("denoise", {"sigma": 25}, {"tikhonov": {"lam": 0.5}, "tv": {"lam": 0.08}}),
    ("blur", {"noise": 2.0}, {"tikhonov": {"lam": 0.01}, "tv": {"lam": 0.005}}),
])
def test_tv_and_tikhonov_beat_the_degraded_input(degradation, values, params):
    problem, clean, _ = make_problem(bundled("camera", 64), degradation, values, seed=0)
    base = psnr(problem.degradation.preview(problem.y), clean)
    for method, p in params.items():
        last, _ = _last(method, problem, **p)
        assert psnr(last.x, clean) > base + 1.0, (method, psnr(last.x, clean), base)


def test_tv_descent_is_monotone_under_the_step_rule():
    problem, _, _ = make_problem(bundled("camera", 32), "denoise", {"sigma": 25}, seed=0)
    _, steps = _last("tv", problem, lam=0.1, eps=0.01, step=0.99, iterations=60)
    losses = [s.diagnostics["loss"] for s in steps]
    assert all(b <= a * (1 + 1e-6) for a, b in pairwise(losses))


@pytest.mark.parametrize("image,values", [("coffee", {}), ("chelsea", {"exposure": 1.5}),
                                          ("astronaut", {"exposure": 2.0, "curve": 4.0, "noise": 10.0})])
def test_tv_objective_never_rises_on_the_camera(image, values):
    """Issue 14's criterion: with the camera's Lipschitz bound (curvature term included) the default
    step τ = 0.95·2/L is a descent step for the non-linear data term, so TV's objective never
    rises (to float32 rounding, 1e-6 relative)."""
    problem, _, _ = make_problem(bundled(image, 48), "camera", values, seed=0)
    _, steps = _last("tv", problem, **METHODS.get("tv").resolve({}, problem))
    losses = [s.diagnostics["loss"] for s in steps]
    assert all(b <= a * (1 + 1e-6) for a, b in pairwise(losses))
    assert losses[-1] < losses[0]


def test_red_streams_its_fixed_point_residual_as_loss_and_its_energy_apart():
    """RED with NLM does not minimise its energy (issue 14): the curve called loss is the
    fixed-point residual, which falls; the energy is streamed under its own name."""
    problem, _, _ = make_problem(bundled("camera", 32), "denoise", {"sigma": 25}, seed=0)
    _, steps = _last("red", problem, **METHODS.get("red").resolve({"iterations": 12}, problem))
    for s in steps:
        assert s.diagnostics["loss"] == s.diagnostics["relative_change"] and "red_energy" in s.diagnostics
    assert steps[-1].diagnostics["loss"] < 0.1 * steps[0].diagnostics["loss"]


def test_pgd_keeps_the_data_and_fills_the_hole():
    problem, clean, _ = make_problem(bundled("shapes", 48), "inpaint", {"ratio": 0.6}, seed=0)
    last, _ = _last("pgd", problem, iterations=300)
    mask = problem.degradation.mask
    assert torch.allclose(last.x * mask, problem.y * mask)
    assert psnr(last.x, clean) > psnr(problem.initial(), clean) + 8.0


@pytest.mark.parametrize("image", ["phantom", "camera"])
def test_pgd_ends_consistent_with_noiseless_mri_data(image):
    """Issue 14's criterion: projected gradient on noiseless MRI ends with an RMS data misfit below
    0.5 on the 0–255 scale (the projection is exact, so it is ~1e-5) and beats the zero-fill."""
    from arena.metrics import data_fit

    problem, clean, _ = make_problem(bundled(image, 64), "mri", {"noise": 0.0}, seed=0)
    last, _ = _last("pgd", problem)
    assert data_fit(problem, last.x) < 0.5
    assert psnr(last.x, clean) > psnr(problem.initial(), clean) + 1.0


def test_lsq_from_zero_is_the_pseudo_inverse_on_inpainting():
    problem, _, _ = make_problem(bundled("camera", 32), "inpaint", {}, seed=0)
    last, _ = _last("lsq", problem, iterations=5, start="zero")
    assert torch.allclose(last.x, problem.y, atol=1e-6)  # A⁺y = zero-fill for a mask


@pytest.mark.slow
@pytest.mark.parametrize("degradation,lam", [("sr", 0.0005), ("mri", 0.002)])
def test_tv_improves_on_the_naive_inverse(degradation, lam):
    img = "phantom" if degradation == "mri" else "astronaut"
    problem, clean, _ = make_problem(bundled(img, 64), degradation, {}, seed=0)
    naive, _ = _last("naive", problem)
    tv, _ = _last("tv", problem, lam=lam, iterations=300)
    assert psnr(tv.x, clean) > psnr(naive.x, clean)
