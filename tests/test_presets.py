"""Presets are data: every one names a bundled image and valid, checked parameters."""

import json

from arena.experiment import bundled_images, bundled_observed
from arena.method import METHODS, load_methods
from arena.presets import PRESETS_FILE, load_presets


def test_every_preset_is_valid_and_unique():
    raw = json.loads(PRESETS_FILE.read_text())["presets"]
    presets = load_presets()
    assert len(presets) == len(raw) >= 8
    load_methods()
    for p in presets.values():
        images = bundled_observed() if p.config.observed else bundled_images()
        assert p.config.image in images and p.title and len(p.description) > 40
        names = [m["name"] for m in p.config.methods]
        assert len(names) == len(set(names)) and all(n in METHODS for n in names)


def test_paper_presets_follow_the_papers_settings():
    presets = load_presets()
    dip = next(m for m in presets["dip-paper-denoise"].config.methods if m["name"] == "dip")["params"]
    assert (dip["net"], dip["iterations"], dip["lr"], dip["ema"]) == ("paper", 3000, 0.01, 0.99)
    assert abs(dip["reg_noise"] - 1 / 30) < 1e-6
    red = next(m for m in presets["deepred-paper-denoise"].config.methods if m["name"] == "deepred")["params"]
    assert (red["lr"], red["lam"], red["mu"], red["reg_noise"], red["denoise_every"], red["denoiser"]) == \
        (0.008, 0.5, 0.5, 0.033, 10, "nlm")


def test_deepred_paper_preset_is_the_denoising_notebook():
    """train_via_admm's defaults in DeepRED's denoising.ipynb (Mataev, Elad & Milanfar's code)."""
    c = load_presets()["deepred-paper-denoise"].config
    deepred = next(m["params"] for m in c.methods if m["name"] == "deepred")
    assert c.degradation == "denoise" and c.degradation_params["sigma"] == 25
    assert deepred == {**deepred, "iterations": 6000, "lr": 0.008, "lam": 0.5, "mu": 0.5, "reg_noise": 0.033,
                       "denoise_every": 10, "denoiser": "nlm", "sigma_d": 3.0, "schedule": True, "net": "paper"}


def test_measured_run_times_belong_to_presets_and_reach_the_list(tmp_path):
    """The shipped times name existing presets; a times file is read per device kind and the
    preset list shows each kind measured, else the preset's time budget."""
    from arena.presets import TIMES_FILE
    from ui.common import run_time

    presets = load_presets()
    if TIMES_FILE.is_file():
        for entry in json.loads(TIMES_FILE.read_text()).values():
            assert set(entry["presets"]) <= set(presets)
    raw = json.loads(PRESETS_FILE.read_text())
    (tmp_path / PRESETS_FILE.name).write_text(json.dumps(raw))
    times = {"cpu": {"presets": {"denoise-classical": {"seconds": 4.2}, "dip-paper-denoise": {"seconds": 600}}},
             "gpu": {"presets": {"dip-paper-denoise": {"seconds": 31.0}}}}
    (tmp_path / TIMES_FILE.name).write_text(json.dumps(times))
    got = load_presets(tmp_path / PRESETS_FILE.name)
    assert got["denoise-classical"].seconds == {"cpu": 4.2}
    assert run_time(got["denoise-classical"]) == "≈ 4 s on a CPU"
    assert run_time(got["dip-paper-denoise"]) == "≈ 10 min on a CPU, 31 s on a GPU"
    assert got["sr-x4"].seconds == {} and run_time(got["sr-x4"]) == "time not measured"
    assert run_time(got["own-photo-noisy"]) == "≤ 60 s per method"


def test_every_preset_has_a_measured_cpu_time_for_the_preset_list():
    """The preset list shows each preset's run time on a CPU; a preset added without running
    ``python -m benchmarks.bench_presets --only ID`` would show none."""
    from arena.presets import TIMES_FILE

    measured = json.loads(TIMES_FILE.read_text())["cpu"]["presets"]
    missing = sorted(set(load_presets()) - set(measured))
    assert not missing, f"run: python -m benchmarks.bench_presets --only {' '.join(missing)}"
    assert all(t["seconds"] > 0 for t in measured.values())
