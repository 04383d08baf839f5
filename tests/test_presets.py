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
