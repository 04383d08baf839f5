"""Plug-and-play HQS and its DRUNet denoiser: exact data steps, the DPIR schedule, the network."""

from __future__ import annotations

from itertools import pairwise

import pytest
import torch

from arena import metrics
from arena.errors import SpecError
from arena.method import METHODS, load_methods
from arena.nets.drunet import DEFAULT_DRUNET, DRUNet, load_drunet, save_drunet
from arena.problem import make_problem
from arena.solvers import quadratic_data_step
from tests.conftest import bundled

load_methods()
PNP = METHODS.get("pnp")


def _normal_residual(problem, x, z, mu):
    """‖(AᵀA + μI)x − (Aᵀy + μz)‖ / ‖Aᵀy + μz‖, computed with the operator itself."""
    lhs = problem.A_adjoint(problem.A(x)) + mu * x
    rhs = problem.A_adjoint(problem.y) + mu * z
    return float((lhs - rhs).norm() / rhs.norm())


@pytest.mark.parametrize("degradation,values,inner", [
    ("blur", {"kernel": "gaussian", "sigma": 1.6, "noise": 2}, 1),  # Fourier: exact in one go
    ("sr", {"factor": 2, "noise": 1}, 200),  # conjugate gradients
    ("inpaint", {"mask": "random", "ratio": 0.5}, 200),
])
def test_the_data_step_solves_the_normal_equations(degradation, values, inner):
    x0 = bundled("astronaut", 32)
    problem, _, _ = make_problem(x0, degradation, values, seed=0)
    z = torch.rand(x0.shape, generator=torch.Generator().manual_seed(1))
    x = quadratic_data_step(problem, problem.initial(), z, 0.05, inner)
    assert _normal_residual(problem, x, z, 0.05) < 1e-4


def test_the_non_linear_data_step_lowers_its_objective_to_near_stationarity():
    x0 = bundled("camera", 32)
    problem, _, _ = make_problem(x0, "camera", {"noise": 2}, seed=0)
    z = (x0 + 0.05 * torch.randn(x0.shape, generator=torch.Generator().manual_seed(2))).clamp(0, 1)
    mu = 0.5

    def grad(x):
        return problem.fidelity_grad(x) + mu * (x - z)

    x = quadratic_data_step(problem, z, z, mu, 200)
    assert float(grad(x).norm()) < 1e-3 * float(grad(z).norm())


def test_the_schedule_follows_dpir():
    x0 = bundled("astronaut", 24)
    problem, _, _ = make_problem(x0, "blur", {"kernel": "gaussian", "sigma": 1.6, "noise": 5}, seed=0)
    m = PNP()
    steps = list(m.run(problem, **m.resolve({"denoiser": "tv", "iterations": 5}, problem)))
    sigmas = [s.diagnostics["sigma_k"] for s in steps]
    assert sigmas[0] == pytest.approx(49.0) and sigmas[-1] == pytest.approx(255 * problem.sigma, rel=1e-6)
    ratios = [b / a for a, b in pairwise(sigmas)]
    assert max(ratios) == pytest.approx(min(ratios)) and ratios[0] < 1
    for s in steps:
        assert s.diagnostics["mu_k"] == pytest.approx(0.23 * (255 * problem.sigma) ** 2 / s.diagnostics["sigma_k"] ** 2)


def test_defaults_adapt_the_iterations_to_the_data_step():
    x0 = bundled("astronaut", 24)
    blur, _, _ = make_problem(x0, "blur", {}, seed=0)
    sr, _, _ = make_problem(x0, "sr", {"factor": 2}, seed=0)
    assert PNP.resolve({}, blur)["iterations"] == 8 and PNP.resolve({}, sr)["iterations"] == 24
    assert PNP.resolve({}, blur)["sigma_end"] == pytest.approx(255 * blur.sigma)
    assert PNP.resolve({}, sr)["sigma_end"] == pytest.approx(255 * max(sr.sigma_eff, 1 / 255))
    assert sr.sigma == 0 < sr.sigma_eff  # noiseless, but the subsampling's loss counts


def test_a_non_blind_denoiser_beats_the_blind_one_inside_pnp():
    """The point of DPIR's schedule: with σ_k as an input the denoiser follows it."""
    if not DEFAULT_DRUNET.is_file():
        pytest.skip("weights/drunet.safetensors is not shipped")
    x0 = bundled("astronaut", 64)
    problem, clean, _ = make_problem(x0, "blur", {"kernel": "gaussian", "sigma": 1.6, "noise": 2}, seed=0)
    m = PNP()
    score = {}
    for d in ("drunet", "dncnn"):
        *_, last = m.run(problem, **m.resolve({"denoiser": d}, problem))
        score[d] = metrics.psnr(last.x, clean)
    assert score["drunet"] > score["dncnn"] + 0.5, score


def test_drunet_takes_any_size_grey_or_colour_and_sigma_changes_its_output():
    torch.manual_seed(0)
    net = DRUNet((8, 16, 32), 1).eval()
    with torch.no_grad():
        x = torch.rand(1, 3, 21, 30)
        assert net(x, 0.1).shape == x.shape
        assert net(x[:, :1], 0.1).shape == (1, 1, 21, 30)
        assert not torch.allclose(net(x, 0.05), net(x, 0.2))
        batch = torch.rand(2, 3, 16, 16)
        both = net(batch, torch.tensor([0.05, 0.2]))
        assert torch.allclose(both[1:], net(batch[1:], 0.2), atol=1e-6)


def test_a_drunet_checkpoint_round_trips_and_a_wrong_one_is_refused(tmp_path):
    torch.manual_seed(0)
    net = DRUNet((8, 16), 1)
    save_drunet(tmp_path / "d.safetensors", net, {"steps": "0"})
    loaded, meta = load_drunet(tmp_path / "d.safetensors")
    x = torch.rand(1, 3, 8, 8)
    assert meta["steps"] == "0" and torch.equal(loaded(x, 0.1), net.eval()(x, 0.1))
    (tmp_path / "bad.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(SpecError, match="not a readable"):
        load_drunet(tmp_path / "bad.safetensors")
