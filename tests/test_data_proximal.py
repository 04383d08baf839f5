"""The data-proximal step against closed forms and the optimality conditions of the projection."""

from __future__ import annotations

import math

import torch

from arena.data_proximal import applicable, project
from arena.method import METHODS, load_methods
from arena.nonlinear_least_squares import Linearization
from arena.problem import make_problem
from tests.conftest import bundled

load_methods()


def smooth(x: torch.Tensor) -> torch.Tensor:
    """An estimate that is plainly off the data: a 5×5 box average of x."""
    return torch.nn.functional.avg_pool2d(x, 5, 1, 2, count_include_pad=False)


def test_denoising_projection_is_the_closed_form_on_the_noise_ball():
    """A = I: the nearest point of the ball ‖x − y‖ ≤ δ to x̂ is y + δ (x̂ − y)/‖x̂ − y‖."""
    problem, clean, _ = make_problem(bundled("camera", 48), "denoise", {"sigma": 10})
    xhat = smooth(smooth(problem.y))
    delta = problem.sigma * math.sqrt(problem.measurements)
    assert float((xhat - problem.y).norm()) > 1.5 * delta
    expected = problem.y + delta * (xhat - problem.y) / (xhat - problem.y).norm()
    got = project(problem, xhat, "discrepancy")
    assert float((got.x - expected).abs().max()) < 0.03 * float((xhat - expected).abs().max())
    assert abs(got.misfit_after - got.noise) < 0.1 * got.noise


def test_denoising_upre_is_the_closed_form_shrinkage():
    """A = I: x_μ = y + w (x̂ − y) with w = μ/(1 + μ), tr H_μ = m/(1 + μ) (exact for a Rademacher
    probe), so U is smallest at w* = mσ²/‖x̂ − y‖²; the grid of half decades finds μ within ¼ decade."""
    problem, clean, _ = make_problem(bundled("camera", 48), "denoise", {"sigma": 10})
    xhat = smooth(smooth(problem.y))
    got = project(problem, xhat, "upre")
    d = xhat - problem.y
    w_star = problem.measurements * problem.sigma**2 / float(d.pow(2).sum())
    w = float(((got.x - problem.y) * d).sum() / d.pow(2).sum())
    assert abs(w - got.mu / (1 + got.mu)) < 1e-3
    assert abs(math.log10(got.mu) - math.log10(w_star / (1 - w_star))) <= 0.25 + 1e-6


def test_an_estimate_that_fits_already_is_left_alone():
    problem, clean, _ = make_problem(bundled("camera", 48), "denoise", {"sigma": 10})
    xhat = 0.5 * (clean + problem.y)  # misfit ‖n‖/2
    for rule in ("upre", "discrepancy"):
        got = project(problem, xhat, rule)
        assert got.mu == 0.0 and got.x is xhat and got.misfit_after < 0.6 * got.noise


def test_noiseless_inpainting_keeps_the_measured_pixels_and_the_estimate_elsewhere():
    """δ = 0 and A a pixel mask: the projection is y on measured pixels, x̂ on missing ones."""
    problem, clean, _ = make_problem(bundled("astronaut", 32), "inpaint", {"ratio": 0.5, "noise": 0})
    mask = problem.A(torch.ones_like(clean)).bool()
    xhat = smooth(problem.initial())
    for rule in ("upre", "discrepancy"):
        got = project(problem, xhat, rule).x
        assert float((got - problem.y)[mask].abs().max()) < 1e-3
        assert float((got - xhat)[~mask].abs().max()) < 1e-3


def test_camera_projection_meets_the_discrepancy_and_is_a_stationary_point():
    """Non-linear A: ‖r(x̃)‖ ≈ δ, and x̃ satisfies the Lagrange condition of the projection,
    μ (x̃ − x̂) + Jᵀ r(x̃) = 0, relative to the size of either term."""
    problem, clean, _ = make_problem(bundled("coffee", 48), "camera", {"noise": 2})
    xhat = smooth(problem.initial())
    got = project(problem, xhat, "discrepancy")
    assert got.mu > 0 and got.misfit_before > 2 * got.noise
    assert 0.85 * got.noise <= got.misfit_after <= got.noise
    lin = Linearization(problem.residual, got.x)
    jtr = lin.Jt(lin.residual)
    lagrange = got.mu * (got.x - xhat) + jtr
    assert float(lagrange.norm()) < 0.05 * float(jtr.norm())


def test_upre_corrects_an_estimate_far_off_the_data_more_than_the_discrepancy_rule():
    """When x̂'s error is much larger than the noise, Morozov's rule stops at the noise level with
    much of that error left; the predictive risk goes closer to the data, and closer to x."""
    problem, clean, _ = make_problem(bundled("chelsea", 64), "camera", {"noise": 2})
    xhat = smooth(problem.initial())
    upre, disc = project(problem, xhat, "upre"), project(problem, xhat, "discrepancy")
    assert upre.misfit_after < disc.misfit_after
    errors = [float((x - clean).norm()) for x in (upre.x, disc.x, xhat)]
    assert errors[0] < errors[1] < errors[2]


def test_rounding_degradations_are_left_out_with_a_reason():
    problem, clean, _ = make_problem(bundled("camera", 32), "quantize", {"levels": 5})
    assert "straight-through" in applicable(problem)
    rim = METHODS.get("rim")()
    on = list(rim.run(problem, **rim.resolve({"iterations": 3})))[-1]
    off = list(rim.run(problem, **rim.resolve({"iterations": 3, "consistency": "off"})))[-1]
    assert torch.equal(on.x, off.x) and "straight-through" in on.notes[0]


def test_rim_default_ends_at_the_noise_level_on_the_camera_response():
    """The cell alone misfits the camera response (it moves a good start); its default output fits
    the data to the noise level and is closer to the clean image."""
    problem, clean, _ = make_problem(bundled("chelsea", 64), "camera", {"noise": 2})
    rim = METHODS.get("rim")()
    on = list(rim.run(problem, **rim.resolve({})))[-1]
    off = list(rim.run(problem, **rim.resolve({"consistency": "off"})))[-1]
    rms = 255 / math.sqrt(problem.measurements)
    assert float(problem.residual(off.x).norm()) * rms > 2.5
    assert float(problem.residual(on.x).norm()) * rms <= 2.0
    assert on.diagnostics["misfit_before_projection"] > 2.5 and "data-proximal" in on.notes[0]
    assert float((on.x - clean).norm()) < float((off.x - clean).norm())
