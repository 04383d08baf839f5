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


def test_a_resumed_rim_keeps_its_unrolled_steps_unless_told(tmp_path):
    from arena.nets.rim import load_rim
    from training.train_rim import main

    args = ["--only", "rim", "--rim-steps", "1", "--batch", "2", "--size", "16", "--leaves", "1", "--out", str(tmp_path)]
    main([*args, "--hidden", "4", "--unroll", "3"])
    main([*args, "--resume"])
    cell, meta = load_rim(tmp_path / "rim.safetensors")
    assert (cell.cfg.hidden, cell.cfg.steps, meta["steps"]) == (4, 3, "2")
    main([*args, "--resume", "--unroll", "5"])
    assert load_rim(tmp_path / "rim.safetensors")[0].cfg.steps == 5


def test_missing_wallpapers_say_how_to_get_them(tmp_path):
    with pytest.raises(SpecError, match="apt-get download .*mate-backgrounds"):
        wallpaper_photos(tmp_path)


def test_the_validation_photographs_are_never_training_photographs():
    held = [p for p in PHOTOS if any(v in p.path for v in VALIDATION)]
    assert len(held) == len(VALIDATION) == 2
    assert all(p.licence and p.author for p in PHOTOS)


def test_a_time_budget_ends_the_run_and_drives_the_schedule(monkeypatch):
    from training import state

    clock = [100.0]
    monkeypatch.setattr(state.time, "time", lambda: clock[0])
    by_steps, by_time = state.Budget(10), state.Budget(10, minutes=2)
    assert by_steps.fraction(5) == 0.5 and not by_steps.done(9) and by_steps.done(10)
    assert by_time.fraction(10**6) == 0.0  # steps do not count against minutes
    clock[0] += 90
    assert by_time.fraction(1) == 0.75 and not by_time.done(1)
    clock[0] += 30
    assert by_time.done(1)


def test_packed_wallpapers_equal_the_unpacked_ones_to_8_bits(tmp_path):
    """A folder laid out like the packages (two small JPEGs at listed paths, one of them a
    validation photo) packs into one .npz that reads back as the same photographs."""
    import numpy as np
    from PIL import Image

    from arena.data import wallpapers

    rng = np.random.default_rng(0)
    train, held = PHOTOS[0], next(p for p in PHOTOS if any(v in p.path for v in VALIDATION))
    for photo in (train, held):
        (tmp_path / photo.path).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)).save(tmp_path / photo.path)
    with pytest.warns(UserWarning, match="not found"):
        direct = wallpaper_photos(tmp_path)
    assert len(direct) == 1 and direct[0].shape == (16, 24, 3)
    assert wallpapers.pack(tmp_path, tmp_path / "w.npz") == 2
    packed = wallpaper_photos(tmp_path / "w.npz")
    assert len(packed) == 1 and np.abs(packed[0] - direct[0]).max() <= 0.5 / 255 + 1e-9
    assert len(wallpaper_photos(tmp_path / "w.npz", split="validation")) == 1


def test_drunet_fine_tuning_starts_from_init_and_keeps_the_shipped_file(tmp_path):
    """--init loads the given weights (step 0 of the new stage equals them) and the stage is
    appended to their history; the shipped file is not touched."""
    import numpy as np
    import torch
    from PIL import Image

    from arena.nets.drunet import DRUNet, load_drunet, save_drunet
    from training.train_drunet import main

    start = tmp_path / "start.safetensors"
    torch.manual_seed(1)
    save_drunet(start, DRUNet((8, 16), 1), {"steps": "7", "train_seconds": "3"})
    photo = PHOTOS[0]
    (tmp_path / photo.path).parent.mkdir(parents=True)
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)).save(tmp_path / photo.path)
    before = _weights_state()
    out = tmp_path / "out"
    args = ["--photos", str(tmp_path), "--init", str(start), "--widths", "8", "16", "--blocks", "1", "--batch", "1",
            "--size", "16", "--out", str(out), "--no-bar"]
    with pytest.warns(UserWarning, match="not found"):  # one listed photograph of 22 is there
        main([*args, "--steps", "0"])
    saved, started = (load_drunet(p)[0].state_dict().values() for p in (out / "drunet.safetensors", start))
    assert all(torch.equal(a, b) for a, b in zip(saved, started, strict=True))
    with pytest.warns(UserWarning, match="not found"):
        main([*args, "--steps", "2"])
    net, meta = load_drunet(out / "drunet.safetensors")
    assert meta["steps"] == "9" and meta["stages"].startswith("7 steps on a CPU; 2 steps × 1")
    assert not all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), load_drunet(start)[0].state_dict().values(), strict=True))
    assert _weights_state() == before
