"""Learned gradient descent (RIM), the direct baseline and the learned DnCNN denoiser."""

from __future__ import annotations

from itertools import pairwise

import pytest
import torch

from arena.denoisers import denoise
from arena.errors import SpecError
from arena.experiment import bundled_images
from arena.images import load_image
from arena.method import METHODS, load_methods
from arena.metrics import psnr
from arena.nets.rim import (
    DEFAULT_DIRECT,
    DEFAULT_DNCNN,
    DEFAULT_RIM,
    RimCell,
    RimConfig,
    load_dncnn,
    load_rim,
    save_rim,
)
from arena.problem import Problem, make_problem
from arena.unroll import unroll
from tests.conftest import bundled

load_methods()


def held_out(name: str = "camera", side: int = 64) -> torch.Tensor:
    """A centre crop of a bundled image the networks never saw in training."""
    x = load_image(bundled_images()[name]).x
    h, w = x.shape[-2:]
    return x[..., (h - side) // 2 : (h + side) // 2, (w - side) // 2 : (w + side) // 2]


def final(method: str, problem, **values):
    m = METHODS.get(method)()
    assert m.supports(problem) is None
    return list(m.run(problem, **m.resolve(values)))[-1]


def test_shipped_networks_load_with_their_model_card_facts():
    cell, meta = load_rim(DEFAULT_RIM)
    assert cell.cfg.inputs == "gradient" and int(meta["steps"]) > 0 and "held out" in meta["data"]
    direct, dmeta = load_rim(DEFAULT_DIRECT)
    assert direct.cfg.inputs == "start" and dmeta["degradation"] == "blur"
    net, nmeta = load_dncnn(DEFAULT_DNCNN)
    assert float(nmeta["held_out_psnr_noise_25"]) > 25
    assert not any(p.requires_grad for p in cell.parameters())


def test_a_cell_of_another_width_is_refused(tmp_path):
    path = tmp_path / "cell.safetensors"
    save_rim(path, RimCell(RimConfig(hidden=8)), {})
    assert load_rim(path)[0].cfg.hidden == 8
    from safetensors.torch import load_file, save_file

    save_file(load_file(str(path)), str(path), metadata={"config": '{"hidden": 16}'})
    with pytest.raises(SpecError, match="does not match the RimCell architecture"):
        load_rim(path)
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(SpecError, match="not a readable safetensors"):
        load_rim(path)


def test_rim_deblurs_a_held_out_image_well_beyond_the_input():
    """In-family deblurring on an image the RIM never saw: far beyond the input, and each of its
    first steps improves the estimate. (At 256² it also beats converged TV with its best λ, by 0.35 dB
    on camera and 0.1 dB on astronaut: weights/learned.md.)"""
    problem, clean, _ = make_problem(held_out("camera", 96), "blur", {"kernel": "gaussian", "sigma": 1.6, "noise": 2.0})
    steps = list(METHODS.get("rim")().run(problem, iterations=16, weights="", consistency="discrepancy"))
    scores = [psnr(s.x, clean) for s in steps]
    assert scores[-1] > psnr(problem.y, clean) + 4
    assert all(b > a for a, b in pairwise(scores[:7])), scores


def test_rim_beats_tv_given_the_same_number_of_gradient_evaluations():
    """Learned gradient descent's claim (Putzky & Welling; Adler & Öktem): with the same T likelihood
    gradients, the learned update beats a hand-made one — here TV gradient descent at its best λ."""
    problem, clean, _ = make_problem(held_out("camera"), "blur", {"kernel": "gaussian", "sigma": 1.6, "noise": 2.0})
    rim = final("rim", problem)  # its default: the T = 16 steps it was trained for
    best_tv = max(psnr(final("tv", problem, lam=lam, iterations=rim.it).x, clean) for lam in (0.0005, 0.002, 0.01, 0.05))
    assert psnr(rim.x, clean) > best_tv + 0.5


def test_rim_iterates_improve_the_data_fit_on_a_new_operator():
    problem, clean, _ = make_problem(held_out("chelsea"), "blur", {"kernel": "motion", "size": 9, "angle": 30})
    steps = list(METHODS.get("rim")().run(problem, iterations=8, weights="", consistency="discrepancy"))
    assert len(steps) == 8 and steps[-1].diagnostics["loss"] < problem.fidelity(problem.initial()).item()


def test_rim_runs_on_a_non_linear_degradation_it_never_saw():
    problem, clean, _ = make_problem(held_out("astronaut"), "camera", {})
    out = final("rim", problem)
    assert out.x.shape == clean.shape and torch.isfinite(out.x).all()


def test_unrolled_rim_on_a_batch_equals_one_image_at_a_time():
    x = torch.cat([held_out("chelsea", 32), held_out("coffee", 32)])
    problem, _, _ = make_problem(x, "denoise", {"sigma": 20})
    cell, _ = load_rim(DEFAULT_RIM)
    with torch.no_grad():
        both = list(unroll(cell, problem, 3))[-1]
        alone = list(unroll(cell, Problem(problem.y[1:], problem.degradation), 3))[-1]
    assert torch.allclose(both[1:], alone, atol=1e-5)


def test_direct_network_refuses_other_degradations_and_warns_on_other_blurs():
    direct = METHODS.get("direct")()
    inpaint, _, _ = make_problem(held_out(), "inpaint", {})
    why = direct.supports(inpaint)
    assert why and "retrained" in why
    motion, _, _ = make_problem(held_out(), "blur", {"kernel": "motion", "size": 9})
    assert direct.supports(motion) is None
    assert "not trained for kernel=motion" in direct.caveat(motion)
    trained, clean, _ = make_problem(held_out(), "blur", {"kernel": "gaussian", "sigma": 1.6, "noise": 2.0})
    assert direct.caveat(trained) is None
    assert psnr(final("direct", trained).x, clean) > psnr(trained.y, clean) + 1


def test_runner_shows_the_direct_networks_warning():
    from arena.runner import run_comparison

    problem, clean, _ = make_problem(held_out(), "blur", {"kernel": "uniform", "size": 5})
    events = list(run_comparison(problem, clean, ["direct"], with_lpips=False))
    end = [e for e in events if e.kind == "end"][-1]
    assert end.status == "done" and "not trained for kernel=uniform (trained gaussian)" in end.message


def test_learned_denoiser_serves_red():
    problem, clean, _ = make_problem(held_out("coffee"), "denoise", {"sigma": 25})
    d = denoise(problem.y, 25 / 255, "dncnn")
    assert psnr(d, clean) > psnr(problem.y, clean) + 5
    red = final("red", problem, denoiser="dncnn", iterations=5)
    assert psnr(red.x, clean) > psnr(problem.y, clean) + 3


def test_drunet_denoises_a_grey_photo_as_well_as_bm3d():
    """Grey images go through the colour DRUNet as three equal channels, whose noise is all
    luminance: asked at σ it under-smooths by several dB; at σ√3 it is level with BM3D."""
    problem, clean, _ = make_problem(bundled("camera", 64), "denoise", {"sigma": 25}, seed=0)
    assert problem.y.shape[1] == 1
    ours, bm3d = (psnr(denoise(problem.y, problem.sigma, d), clean) for d in ("drunet", "bm3d"))
    assert ours > bm3d - 0.5, (ours, bm3d)
