"""Training scripts write where they are told, resume, and never overwrite the shipped weights."""

from __future__ import annotations

import pytest

from arena.data.wallpapers import PHOTOS, VALIDATION, wallpaper_photos
from arena.errors import SpecError
from arena.nets.ddpm import load_ddpm
from arena.resources import WEIGHTS


def _weights_state() -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in WEIGHTS.iterdir()}


def test_ddpm_training_writes_to_out_and_resumes(tmp_path):
    from training.train_ddpm import main

    before = _weights_state()
    args = ["--out", str(tmp_path), "--images", "4", "--batch", "2", "--widths", "8", "16", "--save-every", "1",
            "--grid", "1", "--grid-steps", "2"]
    main([*args, "--steps", "2"])
    net, meta = load_ddpm(tmp_path / "ddpm_faces.safetensors")
    assert meta["steps"] == "2" and net.widths == (8, 16)
    assert (tmp_path / "ddpm_faces_samples.png").is_file()
    main([*args, "--steps", "3", "--resume"])
    assert load_ddpm(tmp_path / "ddpm_faces.safetensors")[1]["steps"] == "3"
    assert _weights_state() == before


def test_rim_training_writes_its_networks_and_card_to_out(tmp_path):
    from training.train_rim import main

    before = _weights_state()
    main(["--only", "dncnn", "--dncnn-steps", "1", "--batch", "2", "--leaves", "1", "--out", str(tmp_path)])
    assert (tmp_path / "dncnn.safetensors").is_file()
    assert _weights_state() == before


def test_missing_wallpapers_say_how_to_get_them(tmp_path):
    with pytest.raises(SpecError, match="apt-get download .*mate-backgrounds"):
        wallpaper_photos(tmp_path)


def test_the_validation_photographs_are_never_training_photographs():
    held = [p for p in PHOTOS if any(v in p.path for v in VALIDATION)]
    assert len(held) == len(VALIDATION) == 2
    assert all(p.licence and p.author for p in PHOTOS)
