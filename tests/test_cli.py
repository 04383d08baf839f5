"""The ``arena`` command: outputs, reproducibility, clear errors."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest
from PIL import Image

from arena.cli import main

RUN = ["run", "--image", "camera", "--max-side", "48", "--degradation", "blur:sigma=1.6,noise=2",
       "--method", "naive", "--method", "tikhonov:lam=0.01", "--method", "tv:lam=0.005,iterations=40", "--quiet"]


def test_run_writes_every_file_and_config_reproduces(tmp_path, capsys):
    out = tmp_path / "a"
    assert main([*RUN, "--out", str(out), "--seed", "3", "--no-lpips"]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"clean.png", "degraded.png", "naive.png", "tikhonov.png", "tv.png", "metrics.json", "metrics.csv",
            "convergence.png", "config.json"} <= names
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["seed"] == 3 and doc["degradation"]["name"] == "blur" and doc["degradation"]["sigma"] == 1.6
    tv = doc["methods"]["tv"]
    for key in ("psnr", "ssim", "lpips", "seconds", "iterations", "data_fit", "status", "history"):
        assert key in tv
    assert tv["lpips"] is None and tv["iterations"] == 40 and tv["status"] == "done"
    assert {"step", "seconds", "loss", "psnr"} <= set(tv["history"][-1])
    assert tv["psnr"] > doc["degraded"]["psnr"]
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert [r["method"] for r in rows] == ["naive", "tikhonov", "tv"]
    assert Image.open(out / "convergence.png").size[0] > 500
    assert Image.open(out / "tv.png").size == (48, 48)

    again = tmp_path / "b"
    assert main(["run", "--config", str(out / "config.json"), "--out", str(again), "--quiet", "--no-lpips"]) == 0
    doc2 = json.loads((again / "metrics.json").read_text())
    for key in ("naive", "tikhonov", "tv"):
        assert doc2["methods"][key]["psnr"] == doc["methods"][key]["psnr"]
        assert doc2["methods"][key]["ssim"] == doc["methods"][key]["ssim"]
    assert (again / "tv.png").read_bytes() == (out / "tv.png").read_bytes()
    table = capsys.readouterr().out
    assert "PSNR" in table and "tikhonov" in table


def test_config_falls_back_to_clean_png(tmp_path):
    """An image that has moved away is replaced by the ``clean.png`` beside the config — that image,
    at its own size — so the rerun is the same experiment (up to the PNG's 8-bit rounding)."""
    out, again = tmp_path / "a", tmp_path / "b"
    assert main([*RUN, "--out", str(out), "--no-lpips"]) == 0
    cfg = json.loads((out / "config.json").read_text())
    cfg["image"] = str(tmp_path / "moved-away.png")
    (out / "config.json").write_text(json.dumps(cfg))
    assert main(["run", "--config", str(out / "config.json"), "--out", str(again), "--quiet", "--no-lpips"]) == 0
    used = json.loads((again / "config.json").read_text())
    assert used["image"] == str(out / "clean.png") and used["max_side"] is None
    assert (again / "clean.png").read_bytes() == (out / "clean.png").read_bytes()
    first, rerun = (json.loads((d / "metrics.json").read_text()) for d in (out, again))
    for key in ("naive", "tikhonov", "tv"):
        assert rerun["methods"][key]["psnr"] == pytest.approx(first["methods"][key]["psnr"], abs=0.05), key


@pytest.mark.parametrize("argv,needle", [
    (["run", "--image", "camera", "--degradation", "blurr", "--method", "tv"], "valid names: denoise"),
    (["run", "--image", "camera", "--degradation", "blur:sigmaa=2", "--method", "tv"], "valid keys: kernel"),
    (["run", "--image", "camera", "--degradation", "blur", "--method", "tvv"], "valid names: naive"),
    (["run", "--image", "camera", "--degradation", "blur", "--method", "tv:lam=-3"], "out of range"),
    (["run", "--image", "nope.png", "--degradation", "blur", "--method", "tv"], "bundled names"),
    (["run", "--image", "camera", "--degradation", "blur"], "needs --method"),
    (["run", "--config", "/nonexistent/config.json"], "no config file"),
])
def test_bad_input_is_one_clear_line_and_exit_2(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and needle in err[0]


def test_list_json_describes_every_parameter(capsys):
    assert main(["list", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    degr = {d["name"]: d for d in doc["degradations"]}
    assert {p["name"] for p in degr["blur"]["params"]} == {"kernel", "sigma", "size", "angle", "boundary", "noise"}
    assert {p["name"] for p in degr["inpaint"]["params"]} >= {"mask", "ratio", "path", "noise"}
    assert {m["name"] for m in doc["methods"]} >= {"naive", "lsq", "tikhonov", "tv", "pgd"}


def test_console_script_entry_point():
    out = subprocess.run([sys.executable, "-m", "arena.cli", "list"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "DEGRADATIONS" in out.stdout and "tikhonov" in out.stdout


def test_arena_run_puts_network_methods_in_worker_processes_on_a_cpu():
    """The command's own Python must not hold the lock a heavy method's steps need; light ones stay in threads."""
    from arena.experiment import Config, cli_workers, prepare_experiment

    def workers(*methods):
        return cli_workers(prepare_experiment(Config(image="camera", degradation="denoise", max_side=32,
                                                     methods=[{"name": m, "params": {}} for m in methods])))

    assert workers("tv", "dip") == "processes" and workers("naive", "tikhonov", "tv") == "threads"
