"""Diffusion samplers against a prior whose exact ε-predictor is known: x₀ ~ N(m, s²) per pixel.

For that prior E[ε | x_t] = √(1−ᾱ_t)(x_t − √ᾱ_t m) / (ᾱ_t s² + 1 − ᾱ_t), so the samplers' maths
(schedule, x̂₀, the DDPM step, DiffPIR's data step and re-noising) is checked without any
trained network, against the closed-form prior and posterior.
"""

from __future__ import annotations

from itertools import pairwise

import pytest
import torch

from arena.diffusion import diffpir, dps, quad_timesteps, timesteps
from arena.nets.ddpm import DiffusionUNet, T, alpha_bar, load_ddpm, save_ddpm
from arena.problem import make_problem

M, S = 0.2, 0.3  # the prior in model units ([−1, 1])
AB = alpha_bar()


def exact_eps(u: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    ab = float(AB[int(t)])
    return (1 - ab) ** 0.5 * (u - ab**0.5 * M) / (ab * S * S + 1 - ab)


def _problem(degradation: str, values: dict, side: int = 24):
    x = ((M + S * torch.randn(1, 1, side, side, generator=torch.Generator().manual_seed(0))).clamp(-1, 1) + 1) / 2
    return make_problem(x, degradation, values, seed=0)[0]


def test_timesteps_run_from_the_last_step_to_zero():
    ts = timesteps(100)
    assert ts[0] == T - 1 and ts[-1] == 0 and len(ts) == 100 and ts == sorted(ts, reverse=True)
    assert timesteps(5000) == list(range(T - 1, -1, -1))


def test_diffpirs_steps_are_the_reference_codes_quad_skip():
    """main_ddpir.py: seq = int(√linspace(0, T², n)), seq[−1] −= 1, t = T − 1 − seq."""
    ts = quad_timesteps(100)
    assert len(ts) == 100 and ts[0] == T - 1 and ts[-1] == 0
    assert ts[1] == T - 1 - 100 and ts[-2] == T - 1 - 994  # ⌊√(10⁶/99)⌋ = 100, ⌊1000√(98/99)⌋ = 994
    gaps = [a - b for a, b in pairwise(ts)]
    assert gaps == sorted(gaps, reverse=True) or max(gaps[50:]) < min(gaps[:10])  # dense near t = 0
    assert quad_timesteps(3) == [T - 1, T - 1 - 707, 0]


def _constant_x0(m: float):
    """An ε-predictor whose x̂₀ is the constant m (model units) at every step."""
    def eps(u: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        ab = float(AB[int(t)])
        return (u - ab**0.5 * m) / (1 - ab) ** 0.5
    return eps


def test_diffpirs_data_weight_is_the_reference_codes():
    """ρ_t = λσ²/σ̄_t² with σ on the [0, 1] scale: for denoising (A = I) the data step is
    ẑ = (y + ρ_t x̂₀)/(1 + ρ_t) — the reference's weight, not 4× it (σ in model units)."""
    problem = _problem("denoise", {"sigma": 25})
    m, lam = 0.1, 7.0
    ts = quad_timesteps(3)
    samples = list(diffpir(problem, _constant_x0(m), samples=1, steps=3, lam=lam, zeta=1.0, inner=1,
                           generator=torch.Generator().manual_seed(0)))
    ab = float(AB[ts[1]])
    rho = lam * problem.sigma**2 * ab / (1 - ab)
    expected = ((problem.y + rho * (m + 1) / 2) / (1 + rho)).clamp(0, 1)
    assert torch.allclose(samples[1].x0, expected, atol=1e-5)
    assert not torch.allclose(samples[1].x0, ((problem.y + 4 * rho * (m + 1) / 2) / (1 + 4 * rho)).clamp(0, 1),
                              atol=1e-3)


def test_diffpirs_last_step_returns_x0_without_a_data_step():
    """With ρ → 0 every data step returns y; the last step does not: it is √ᾱ₀ ẑ₀ plus fresh
    noise of standard deviation √(1 − ᾱ₀) = 0.01 in model units (0.005 on [0, 1])."""
    problem = _problem("denoise", {"sigma": 25}, side=32)
    *_, before, last = diffpir(problem, _constant_x0(0.0), samples=1, steps=10, lam=1e-6, zeta=1.0, inner=1,
                               generator=torch.Generator().manual_seed(0))
    assert last.t == 0 and float((before.x0 - problem.y.clamp(0, 1)).abs().max()) < 1e-4
    inside = (problem.y > 0.05) & (problem.y < 0.95)
    rms = float((last.x0 - before.x0)[inside].pow(2).mean().sqrt())
    assert rms == pytest.approx(0.5 * (1 - float(AB[0])) ** 0.5, rel=0.2)


def test_ancestral_sampling_with_the_exact_score_reproduces_the_prior():
    """DPS with ζ = 0 is plain DDPM sampling: 1000 steps of it draw from N(m, s²)."""
    problem = _problem("denoise", {"sigma": 10})
    *_, last = dps(problem, exact_eps, samples=8, steps=T, zeta=0.0, generator=torch.Generator().manual_seed(1))
    u = 2 * last.x0 - 1
    assert float(u.mean()) == pytest.approx(M, abs=0.01)
    assert float(u.std()) == pytest.approx(S, rel=0.03)


def test_diffpir_moves_the_noisy_observation_towards_the_posterior_mean():
    """λ = 4 makes ρ_t = (2σ)²/σ̄_t², noise and σ̄_t both in model units (the reference's σ is on
    [0, 1], σ̄_t in model units)."""
    problem = _problem("denoise", {"sigma": 40})
    sn, y = 2 * 40 / 255, 2 * problem.y - 1
    posterior_mean = (S * S * y + sn * sn * M) / (S * S + sn * sn)
    *_, last = diffpir(problem, exact_eps, samples=16, steps=100, lam=4.0, zeta=0.3, inner=1,
                       generator=torch.Generator().manual_seed(1))
    err = float(((2 * last.x0 - 1).mean(0) - posterior_mean).pow(2).mean().sqrt())
    assert err < 0.4 * float((y - posterior_mean).pow(2).mean().sqrt())


def test_diffpir_keeps_the_measured_pixels_of_noiseless_inpainting():
    """ρ_t grows as σ̄_t → 0, so the last data steps average y with x̂₀ (≈ y); the result x₀ adds
    the last re-noising, √(1 − ᾱ₀)/2 = 0.005 on [0, 1] (1.3 grey levels)."""
    problem = _problem("inpaint", {"mask": "random", "ratio": 0.5})
    mask = problem.degradation.measurement_mask().expand_as(problem.y).bool()
    *_, last = diffpir(problem, exact_eps, samples=2, steps=20, lam=7.0, zeta=0.3, inner=20,
                       generator=torch.Generator().manual_seed(1))
    for x in last.x0.split(1):
        err = (x - problem.y)[mask]
        assert float(err.pow(2).mean().sqrt()) < 0.0065 and float(err.abs().max()) < 0.025


def test_dps_pulls_the_samples_towards_the_data():
    problem = _problem("denoise", {"sigma": 10})
    fits = []
    for zeta in (0.0, 1.0):
        *_, last = dps(problem, exact_eps, samples=4, steps=50, zeta=zeta, generator=torch.Generator().manual_seed(1))
        fits.append(float((last.x0 - problem.y).pow(2).mean()))
    assert fits[1] < 0.8 * fits[0]


def test_a_ddpm_checkpoint_round_trips(tmp_path):
    torch.manual_seed(0)
    net = DiffusionUNet((8, 16))
    save_ddpm(tmp_path / "d.safetensors", net, {"steps": "0"})
    loaded, meta = load_ddpm(tmp_path / "d.safetensors")
    u = torch.randn(2, 3, 8, 8)
    assert meta["steps"] == "0" and torch.equal(loaded(u, torch.tensor([5])), net.eval()(u, torch.tensor([5])))
