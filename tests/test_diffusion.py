"""Diffusion samplers against a prior whose exact ε-predictor is known: x₀ ~ N(m, s²) per pixel.

For that prior E[ε | x_t] = √(1−ᾱ_t)(x_t − √ᾱ_t m) / (ᾱ_t s² + 1 − ᾱ_t), so the samplers' maths
(schedule, x̂₀, the DDPM step, DiffPIR's data step and re-noising) is checked without any
trained network, against the closed-form prior and posterior.
"""

from __future__ import annotations

import pytest
import torch

from arena.diffusion import diffpir, dps, timesteps
from arena.nets.ddpm import T, DiffusionUNet, alpha_bar, load_ddpm, save_ddpm
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


def test_ancestral_sampling_with_the_exact_score_reproduces_the_prior():
    """DPS with ζ = 0 is plain DDPM sampling: 1000 steps of it draw from N(m, s²)."""
    problem = _problem("denoise", {"sigma": 10})
    *_, last = dps(problem, exact_eps, samples=8, steps=T, zeta=0.0, generator=torch.Generator().manual_seed(1))
    u = 2 * last.x0 - 1
    assert float(u.mean()) == pytest.approx(M, abs=0.01)
    assert float(u.std()) == pytest.approx(S, rel=0.03)


def test_diffpir_moves_the_noisy_observation_towards_the_posterior_mean():
    problem = _problem("denoise", {"sigma": 40})
    sn, y = 2 * 40 / 255, 2 * problem.y - 1
    posterior_mean = (S * S * y + sn * sn * M) / (S * S + sn * sn)
    *_, last = diffpir(problem, exact_eps, samples=16, steps=100, lam=1.0, zeta=0.3, inner=1,
                       generator=torch.Generator().manual_seed(1))
    err = float(((2 * last.x0 - 1).mean(0) - posterior_mean).pow(2).mean().sqrt())
    assert err < 0.4 * float((y - posterior_mean).pow(2).mean().sqrt())


def test_diffpir_keeps_the_measured_pixels_of_noiseless_inpainting():
    """Within 2.5 grey levels: ρ_t grows as σ̄_t → 0, so the last steps average y with x̂₀ (≈ y)."""
    problem = _problem("inpaint", {"mask": "random", "ratio": 0.5})
    mask = problem.degradation.measurement_mask().expand_as(problem.y).bool()
    *_, last = diffpir(problem, exact_eps, samples=2, steps=20, lam=7.0, zeta=0.3, inner=20,
                       generator=torch.Generator().manual_seed(1))
    for x in last.x0.split(1):
        assert float((x - problem.y)[mask].abs().max()) < 0.01


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
