"""DIP, RED and DeepRED on tiny images: they beat the degraded input, reproduce, and take any size."""

from __future__ import annotations

import threading

import pytest
import torch

from arena.method import METHODS, load_methods
from arena.metrics import psnr
from arena.nets.skip import SkipConfig, SkipNet
from arena.problem import make_problem
from tests.conftest import bundled

load_methods()
FAST = {"net": "light", "iterations": 150, "ema": 0.9, "stop": "none"}


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread, as the runner gives a heavy method when the cores are busy: several
    OpenMP threads on shared cores can make a step of these nets many times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _steps(method: str, problem, **values):
    m = METHODS.get(method)()
    return list(m.run(problem, **m.resolve(values)))


@pytest.mark.parametrize("degradation,values", [("denoise", {"sigma": 25}), ("inpaint", {"ratio": 0.5})])
@pytest.mark.parametrize("method", ["dip", "deepred"])
def test_deep_priors_beat_the_degraded_input(method, degradation, values):
    problem, clean, _ = make_problem(bundled("chelsea", 32), degradation, values, seed=0)
    steps = _steps(method, problem, **FAST, **({"denoise_every": 5} if method == "deepred" else {}))
    assert psnr(steps[-1].x, clean) > psnr(problem.degradation.preview(problem.y), clean) + 3.0
    assert "raw" in steps[-1].images and steps[-1].images["raw"].shape == clean.shape


def test_deepred_admm_gap_shrinks_and_the_denoiser_runs_in_parallel():
    problem, _, _ = make_problem(bundled("chelsea", 32), "denoise", {"sigma": 25}, seed=0)
    m = METHODS.get("deepred")()
    gaps, workers = [], set()
    for step in m.run(problem, **m.resolve({**FAST, "denoise_every": 5})):
        gaps.append(step.diagnostics["admm_gap"])
        workers |= {t.name for t in threading.enumerate() if t.name.startswith("deepred-denoiser")}
    assert sum(gaps[-10:]) / 10 < 0.5 * sum(gaps[:10]) / 10
    assert workers, "the denoiser ran in its own worker thread"
    assert not any(t.name.startswith("deepred-denoiser") for t in threading.enumerate()), "and it was shut down"


@pytest.mark.parametrize("denoiser,iterations", [("nlm", 5), ("tv", 5), ("bm3d", 1)])
@pytest.mark.parametrize("degradation,values,lam", [("denoise", {"sigma": 25}, 1.0), ("blur", {"noise": 2.0}, 0.02)])
def test_red_beats_the_degraded_input_with_every_denoiser(denoiser, iterations, degradation, values, lam):
    problem, clean, _ = make_problem(bundled("chelsea", 32), degradation, values, seed=0)
    steps = _steps("red", problem, denoiser=denoiser, iterations=iterations, lam=lam)
    assert psnr(steps[-1].x, clean) > psnr(problem.degradation.preview(problem.y), clean) + 1.0


def test_red_steepest_descent_also_improves():
    problem, clean, _ = make_problem(bundled("chelsea", 32), "denoise", {"sigma": 25}, seed=0)
    steps = _steps("red", problem, solver="steepest", denoiser="tv", iterations=10)
    assert psnr(steps[-1].x, clean) > psnr(problem.y, clean) + 1.0


@pytest.mark.parametrize("method", ["dip", "deepred"])
def test_same_seed_same_numbers(method):
    problem, _, _ = make_problem(bundled("chelsea", 32), "denoise", {"sigma": 25}, seed=3)
    a = _steps(method, problem, net="light", iterations=5)
    b = _steps(method, problem, net="light", iterations=5)
    assert torch.equal(a[-1].x, b[-1].x)
    assert [s.diagnostics["loss"] for s in a] == [s.diagnostics["loss"] for s in b]


@pytest.mark.parametrize("shape", [(1, 37, 23), (3, 97, 61), (3, 8, 8)])
def test_odd_and_tiny_sizes(shape):
    problem, clean, _ = make_problem(torch.rand(1, *shape), "denoise", {"sigma": 25}, seed=0)
    steps = _steps("dip", problem, net="paper", iterations=2)
    assert steps[-1].x.shape == clean.shape and torch.isfinite(steps[-1].x).all()


def test_skip_net_matches_the_paper_configuration():
    net = SkipNet(SkipConfig.paper())
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert sum(1 for c in convs if c.stride == (2, 2)) == 5, "five scales, strided downsampling"
    assert {c.out_channels for c in convs if c.kernel_size == (1, 1) and c.out_channels == 4}, "skip channels 4"
    assert isinstance(list(net.modules())[-1], torch.nn.Conv2d) and net.head.out_channels == 3
    assert any(isinstance(m, torch.nn.ReflectionPad2d) for m in net.modules())
    out = net(torch.rand(1, 32, 64, 64))
    assert float(out.min()) >= 0 and float(out.max()) <= 1, "sigmoid output"


def test_dip_samples_are_independent_nets_in_one_call_with_a_std_map():
    problem, clean, _ = make_problem(bundled("chelsea", 32), "denoise", {"sigma": 25}, seed=0)
    one = _steps("dip", problem, net="light", iterations=20, samples=1)
    three = _steps("dip", problem, net="light", iterations=20, samples=3)
    std = three[-1].images["map_std"]
    assert std.shape == clean.shape and float(std.mean()) > 0
    assert "map_std" not in one[-1].images
    assert three[-1].x.shape == clean.shape and torch.isfinite(three[-1].x).all()


def test_grouped_copies_do_not_see_each_other():
    net = SkipNet(SkipConfig.light(8, 3, copies=3)).eval()
    z = torch.rand(1, 24, 40, 40)
    z2 = z.clone()
    z2[:, 8:16] += 1.0  # change only copy 1's input
    with torch.no_grad():
        a, b = net(z), net(z2)
    assert torch.equal(a[:, :3], b[:, :3]) and torch.equal(a[:, 6:], b[:, 6:])
    assert not torch.equal(a[:, 3:6], b[:, 3:6])
