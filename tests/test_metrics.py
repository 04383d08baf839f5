"""Metrics equal scikit-image's; LPIPS is real or clearly unavailable, never invented."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from arena import metrics
from arena.problem import make_problem
from tests.conftest import bundled


def _pair(channels: int):
    g = torch.Generator().manual_seed(0)
    ref = torch.rand(1, channels, 40, 48, generator=g)
    x = (ref + 0.1 * torch.randn(ref.shape, generator=g)).clamp(0, 1)
    return x, ref


@pytest.mark.parametrize("channels", [1, 3])
def test_psnr_ssim_equal_scikit_image(channels):
    x, ref = _pair(channels)
    a = ref[0].permute(1, 2, 0).double().numpy().squeeze()
    b = x[0].permute(1, 2, 0).double().numpy().squeeze()
    assert metrics.psnr(x, ref) == pytest.approx(peak_signal_noise_ratio(a, b, data_range=1.0), abs=1e-9)
    expected = structural_similarity(a, b, data_range=1.0, channel_axis=-1 if channels == 3 else None)
    assert metrics.ssim(x, ref) == pytest.approx(expected, abs=1e-9)


def test_psnr_closed_form_and_edge_cases():
    ref = torch.zeros(1, 1, 10, 10)
    x = torch.full_like(ref, 0.1)  # MSE = 0.01 → PSNR = 20 dB
    assert metrics.psnr(x, ref) == pytest.approx(20.0, abs=1e-5)
    assert math.isinf(metrics.psnr(ref, ref))
    assert metrics.ssim(torch.rand(1, 1, 2, 9), torch.rand(1, 1, 2, 9)) is None
    assert metrics.ssim(torch.rand(1, 1, 5, 9), torch.rand(1, 1, 5, 9)) is not None


def test_luma_psnr_matches_bt601():
    x, ref = _pair(3)
    y = metrics.luma(ref)[0, 0].numpy()
    r, g, b = ref[0].numpy()
    assert np.allclose(y, (65.481 * r + 128.553 * g + 24.966 * b + 16) / 255, atol=1e-6)
    assert metrics.psnr_y(x, ref, crop=4) != metrics.psnr_y(x, ref)


def test_data_fit_of_the_truth_is_the_noise_level():
    clean = bundled("astronaut", 64)
    problem, clean, _ = make_problem(clean, "blur", {"noise": 10.0}, seed=0)
    assert metrics.noise_level(problem) == pytest.approx(10.0)
    assert metrics.data_fit(problem, clean) == pytest.approx(10.0, rel=0.05)
    problem, clean, _ = make_problem(clean, "inpaint", {"noise": 10.0, "ratio": 0.8}, seed=0)
    assert metrics.data_fit(problem, clean) == pytest.approx(10.0, rel=0.05), "only real measurements count"


@pytest.fixture
def hub(tmp_path):
    old = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    yield tmp_path / "hub" / "checkpoints"
    torch.hub.set_dir(old)


def test_lpips_unavailable_is_a_clear_status(hub):
    model = metrics._Lpips()
    status = model.status()
    assert not status.available
    assert metrics.ALEXNET_FILE in status.reason and str(hub) in status.reason and "copy" in status.reason
    assert model.distance(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)) is None


def test_lpips_loads_from_the_hub_cache_when_the_file_is_there(hub):
    """Exercise the real loading path with a stand-in AlexNet file of the right architecture
    (random weights, never shipped): the lpips package must load it from the cache without
    downloading and give a distance that is 0 for identical images and positive otherwise."""
    import torchvision

    hub.mkdir(parents=True)
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), hub / metrics.ALEXNET_FILE)
    model = metrics._Lpips()
    assert model.status().available, model.status().reason
    a = torch.rand(1, 3, 64, 64)
    assert model.distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert model.distance(a, torch.rand(1, 3, 64, 64)) > 0
    assert model.distance(a[:, :1], a[:, :1]) == pytest.approx(0.0, abs=1e-6), "gray images work"


def test_lpips_corrupt_weights_reported(hub):
    hub.mkdir(parents=True)
    (hub / metrics.ALEXNET_FILE).write_bytes(b"garbage")
    status = metrics._Lpips().status()
    assert not status.available and "loading its weights failed" in status.reason
