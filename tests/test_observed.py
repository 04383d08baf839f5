"""A photo that came degraded: y is given, there is no clean image, and nothing is invented."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import bundled

from arena import metrics
from arena.cli import main
from arena.errors import SpecError
from arena.experiment import Config
from arena.images import load_image, save_png
from arena.problem import observed_problem


@pytest.fixture
def noisy_photo(tmp_path):
    """A σ=25 photo saved as 8-bit PNG (clipped and quantised like a real one), and its clean original."""
    clean = bundled("chelsea", 96)
    noisy = (clean + 25 / 255 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(5))).clamp(0, 1)
    path = save_png(noisy, tmp_path / "noisy.png")
    return path, clean


def test_cli_restores_an_observed_photo_with_estimated_noise(noisy_photo, tmp_path, capsys):
    path, clean = noisy_photo
    out = tmp_path / "out"
    code = main(["run", "--observed", str(path), "--degradation", "denoise:sigma=auto", "--method", "tv",
                 "--tune", "auto", "--out", str(out), "--quiet", "--no-lpips"])
    assert code == 0
    doc = json.loads((out / "metrics.json").read_text())
    assert 21 <= doc["degradation"]["sigma"] <= 29, "σ estimated from the photo"
    tv = doc["methods"]["tv"]
    assert tv["psnr"] is None and tv["ssim"] is None and doc["degraded"]["psnr"] is None, "no metric invented"
    assert not (out / "clean.png").exists() and (out / "observed.png").is_file() and (out / "maps.png").is_file()
    restored = load_image(out / "tv.png").x
    photo = load_image(path).x
    assert metrics.psnr(restored, clean) > metrics.psnr(photo, clean) + 4, "measurably better (checked offline)"
    saved = json.loads((out / "config.json").read_text())
    assert saved["observed"] and saved["degradation_params"]["sigma"] == doc["degradation"]["sigma"]
    assert "—" in capsys.readouterr().out


def test_observed_replay_is_exact(noisy_photo, tmp_path):
    path, _ = noisy_photo
    out = tmp_path / "out"
    assert main(["run", "--observed", str(path), "--degradation", "denoise:sigma=auto", "--method", "tikhonov",
                 "--out", str(out), "--quiet", "--no-lpips"]) == 0
    again = tmp_path / "again"
    assert main(["run", "--config", str(out / "config.json"), "--out", str(again), "--quiet", "--no-lpips"]) == 0
    assert torch.equal(load_image(out / "tikhonov.png").x, load_image(again / "tikhonov.png").x)


def test_oracle_and_auto_without_an_observed_photo_are_refused(noisy_photo):
    path, _ = noisy_photo
    with pytest.raises(SpecError, match="oracle tuning needs the clean image"):
        Config.from_specs(str(path), "denoise:sigma=auto", ["tv"], tune="oracle", observed=True)
    with pytest.raises(SpecError, match="estimated from an observed photo only"):
        Config.from_specs("camera", "denoise:sigma=auto", ["tv"])
    with pytest.raises(SpecError, match="not an image"):
        Config.from_specs(str(path), "mri", ["tv"], observed=True)


def test_observed_super_resolution_restores_a_larger_image():
    low = bundled("camera", 32)
    problem, values, _ = observed_problem(low, "sr", {"factor": 2})
    assert problem.x_shape == (1, 1, 64, 64) and torch.equal(problem.y, low)


def test_estimated_sigma_tracks_the_true_noise():
    clean = bundled("astronaut", 128)
    for sigma in (10, 25, 50):
        y = clean + sigma / 255 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(sigma))
        _, values, _ = observed_problem(y, "denoise", {"sigma": "auto"})
        assert abs(values["sigma"] - sigma) <= 2 + 0.1 * sigma  # texture leaks into the finest wavelet scale


def test_a_normal_run_downloads_error_and_residual_maps(tmp_path):
    code = main(["run", "--image", "camera", "--degradation", "blur", "--method", "tv:iterations=20",
                 "--max-side", "32", "--out", str(tmp_path), "--quiet", "--no-lpips"])
    assert code == 0 and (tmp_path / "maps.png").is_file() and (tmp_path / "clean.png").is_file()


def test_maps_share_one_scale_and_show_the_error_only_with_a_clean_image():
    from arena.plots import maps_figure
    from arena.problem import make_problem
    from arena.runner import run_comparison

    problem, clean, _ = make_problem(bundled("camera", 32), "blur", {})
    results = next(ev.results for ev in run_comparison(problem, clean, ["naive", "tv:iterations=20"], with_lpips=False)
                   if ev.kind == "done")
    with_clean, without = maps_figure(problem, results, clean), maps_figure(problem, results, None)
    assert len(with_clean.axes) == 2 * 2 + 2 and len(without.axes) == 2 + 1  # panels + colour bars
    images = [ax.images[0] for ax in with_clean.axes if ax.images]
    residual_limits = {im.get_clim() for im in images if im.get_cmap().name == "RdBu_r"}
    assert len(residual_limits) == 1, "one colour scale for every method's residual"


def test_maps_are_a_grid_of_at_most_four_methods_a_row_not_one_tall_column():
    """Five methods: residual maps in a 2×4 grid (three empty places removed) above the error maps
    in another, each grid with its own title and colour bar; the figure is wider than tall per grid."""
    from arena.plots import MAPS_COLUMNS, maps_figure
    from arena.problem import make_problem
    from arena.runner import run_comparison

    problem, clean, _ = make_problem(bundled("camera", 32), "denoise", {})
    methods = ["naive", "lsq:iterations=3", "tikhonov", "tv:iterations=5", "tv:iterations=9"]
    results = next(ev.results for ev in run_comparison(problem, clean, methods, with_lpips=False) if ev.kind == "done")
    shown = [k for k, r in results.items() if r.x is not None]
    assert len(shown) > MAPS_COLUMNS, shown
    fig = maps_figure(problem, results, clean)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 2 * len(shown)
    tops = {round(ax.get_position().y0, 3) for ax in panels if ax.figure is fig.subfigs[0]}
    assert len(tops) == 2, "two rows of residual maps"
    assert [s._suptitle.get_text() for s in fig.subfigs] == ["Residual maps A(x̂) − y, one colour scale",
                                                             "Error maps |x̂ − x|, one colour scale"]
    width, height = fig.get_size_inches()
    assert width > height / 2
