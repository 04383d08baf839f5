"""Sweeps: grids expand as written, a sweep's numbers are ``arena run``'s, and it resumes exactly."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from arena.errors import SpecError
from arena.experiment import Config, prepare_experiment, run
from arena.sweep import COLUMNS, Results, SweepSpec, expand_grid, run_key, sweep
from tests.conftest import ASSETS, ROOT

ray = pytest.importorskip("ray")

SPEC = """
images = ["camera", "photos"]
degradations = ["blur:sigma=1.6,noise=2"]
methods = ["tikhonov", "tv:iterations=20"]
seeds = [0, 1]
max_side = 32
"""


def test_a_grid_is_the_product_of_its_axes():
    assert expand_grid("tv:lam=[0.01,0.1],iterations=[5,10],step=1") == [
        "tv:lam=0.01,iterations=5,step=1", "tv:lam=0.01,iterations=10,step=1",
        "tv:lam=0.1,iterations=5,step=1", "tv:lam=0.1,iterations=10,step=1"]
    assert expand_grid("naive") == ["naive"]
    for bad in ("tv:lam=[0.1", "tv:lam=[]", "tv:lam"):
        with pytest.raises(SpecError):
            expand_grid(bad)


def test_a_bad_spec_is_refused_before_anything_runs(tmp_path):
    good = {"images": ["camera"], "degradations": ["denoise"], "methods": ["naive"]}
    with pytest.raises(SpecError, match="unknown sweep key 'image'"):
        SweepSpec.from_dict({**good, "image": ["camera"]})
    with pytest.raises(SpecError, match="seeds"):
        SweepSpec.from_dict({**good, "seeds": [0.5]})
    with pytest.raises(SpecError, match="neither a bundled image"):
        SweepSpec.from_dict({**good, "images": ["no-such-image"]}, root=tmp_path).cells()
    with pytest.raises(SpecError, match="nosuch"):
        SweepSpec.from_dict({**good, "methods": ["tv", "nosuch:lam=[1,2]"]}).cells()
    with pytest.raises(SpecError, match="same run twice"):
        SweepSpec.from_dict({**good, "methods": ["naive", "naive"]}).cells()
    (tmp_path / "bad.toml").write_text("images = [")
    with pytest.raises(SpecError, match="not valid TOML"):
        SweepSpec.load(tmp_path / "bad.toml")


def test_a_partial_last_row_is_dropped_and_recomputed(tmp_path):
    path = tmp_path / "results.csv"
    rows = Results(path)
    full = {c: "" for c in COLUMNS}
    rows.add({**full, "key": "a" * 16, "status": "done", "psnr": 30.5})
    rows.add({**full, "key": "b" * 16, "status": "done", "psnr": 31.5})
    text = path.read_text()
    path.write_text(text[: len(text) - 9])  # killed while writing the second row
    again = Results(path).load()
    assert list(again) == ["a" * 16] and again["a" * 16]["psnr"] == "30.5"
    assert list(csv.DictReader(path.open())) == [again["a" * 16]]  # the file holds whole rows only


@pytest.fixture(scope="module")
def spec_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("sweep")
    (d / "photos").mkdir()
    shutil.copy(ASSETS / "astronaut.png", d / "photos" / "astronaut.png")
    (d / "spec.toml").write_text(SPEC)
    return d


@pytest.fixture(scope="module")
def swept(spec_dir):
    out = spec_dir / "out"
    rows = sweep(SweepSpec.load(spec_dir / "spec.toml"), out, workers=2, quiet=True)
    yield out, rows
    ray.shutdown()


def test_a_sweep_gives_one_row_per_cell_with_arena_runs_numbers(swept):
    out, rows = swept
    assert len(rows) == 8 and all(r["status"] == "done" for r in rows.values())
    assert {(r["image"], r["method"], r["seed"]) for r in rows.values()} == {
        (i, m, s) for i in ("camera", "astronaut.png") for m in ("tikhonov", "tv") for s in ("0", "1")}
    for key, row in rows.items():
        config = Config.load(out / "runs" / key / "config.json")  # what `arena run --config` replays
        results = next(ev.results for ev in run(prepare_experiment(config), with_lpips=False) if ev.kind == "done")
        (r,) = results.values()
        assert float(row["psnr"]) == pytest.approx(r.metrics["psnr"], abs=1e-4), row
        assert int(row["iterations"]) == r.iterations
        assert (out / "runs" / key / "restored.png").is_file()
    summary = (out / "summary.md").read_text()
    assert "| tikhonov | 4 |" in summary and "| tv (iterations=20) | 4 |" in summary and "**" in summary
    assert (out / "psnr.png").stat().st_size > 1000


def test_a_second_sweep_recomputes_nothing(swept, spec_dir, monkeypatch):
    out, rows = swept
    before = (out / "results.csv").read_text()
    import arena.sweep

    monkeypatch.setattr(arena.sweep, "_run_on_ray", lambda *a, **k: pytest.fail("a finished run was run again"))
    again = sweep(SweepSpec.load(spec_dir / "spec.toml"), out, quiet=True)
    assert again == rows and (out / "results.csv").read_text() == before


def test_a_failing_method_in_a_grid_leaves_the_others(swept, spec_dir):
    out = spec_dir / "out-failing"
    spec = SweepSpec.from_dict({"images": ["camera"], "degradations": ["denoise:sigma=25"],
                                "methods": ["direct", "tv:lam=[0.05,0.1],iterations=10"], "max_side": 32})
    rows = sweep(spec, out, quiet=True)
    by_method = {(r["method"], r["params"]): r for r in rows.values()}
    refused = by_method[("direct", "")]
    assert refused["status"] == "unsupported" and "trained for" in refused["message"]
    assert [by_method[("tv", f"lam={lam},iterations=10")]["status"] for lam in (0.05, 0.1)] == ["done", "done"]
    assert "## Runs that failed or were refused" in (out / "summary.md").read_text()


def test_killed_mid_sweep_then_resumed_gives_every_row_once(spec_dir):
    out = spec_dir / "out-killed"
    cmd = [sys.executable, "-m", "arena.cli", "sweep", str(spec_dir / "spec.toml"), "--out", str(out),
           "--workers", "1", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    results = out / "results.csv"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and (not results.is_file() or results.read_text().count("\n") < 3):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its embedded Ray, mid-sweep
    proc.wait()
    done_before = results.read_text().count("\n") - 1
    assert 2 <= done_before < 8
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    keys = [r["key"] for r in csv.DictReader(results.open())]
    assert len(keys) == 8 and len(set(keys)) == 8


def test_the_table_renderer_shows_each_grids_best_setting_and_bolds_the_best():
    from benchmarks.tables import render

    spec = SweepSpec.from_dict({"images": ["camera"], "degradations": ["denoise:sigma=25"],
                                "methods": ["naive", "tv:lam=[0.01,0.1]", "direct"]})
    resolved = "denoise:sigma=25.0"

    def row(method, params, image, psnr, status="done"):
        return {"degradation": resolved, "method": method, "params": params, "image": image, "psnr": str(psnr),
                "ssim": "0.5", "status": status}

    rows = [row("naive", "", "a", 20), row("naive", "", "b", 22),
            row("tv", "lam=0.01", "a", 25), row("tv", "lam=0.01", "b", 27),  # mean 26: the grid's best
            row("tv", "lam=0.1", "a", 28), row("tv", "lam=0.1", "b", 20),    # mean 24
            row("direct", "", "a", "", "unsupported"), row("direct", "", "b", "", "unsupported")]
    rows[2]["seconds"], rows[3]["seconds"] = "1.0", "3.0"
    table = render(rows, spec, "t")
    assert "| denoise:sigma=25 | 21.00 / 0.500 | **26.00 / 0.500** (lam=0.01) | — |" in table
    # under it, every setting of the grid, with its mean time where the rows have one
    assert "| degradation | lam=0.01 | lam=0.1 |" in table
    assert "| denoise:sigma=25 | 26.00 / 0.500 (2.0 s) | 24.00 / 0.500 |" in table


def test_a_grid_tuned_on_other_images_reports_the_setting_chosen_there_not_the_oracle():
    from benchmarks.tables import load, render

    spec = SweepSpec.from_dict({"images": ["camera"], "degradations": ["denoise:sigma=25"],
                                "methods": ["naive", "tv:lam=[0.01,0.1]"]})

    def row(params, image, psnr, method="tv"):
        return {"degradation": "denoise:sigma=25.0", "method": method, "params": params, "image": image,
                "psnr": str(psnr), "ssim": "0.5", "status": "done"}

    rows = [row("", "a", 20, "naive"), row("lam=0.01", "a", 26), row("lam=0.1", "a", 24)]  # oracle: lam=0.01
    tuning = [row("lam=0.01", "t1", 20), row("lam=0.1", "t1", 23), row("lam=0.01", "t2", 21), row("lam=0.1", "t2", 22)]
    table = render(rows, spec, "t", tuning)
    assert "| denoise:sigma=25 | 20.00 / 0.500 | **24.00 / 0.500** (lam=0.1) |" in table  # naive: never tuned
    assert "on 2 other held-out images" in table and "an oracle over the grid" not in table
    assert "(lam=0.01)" in render(rows, spec, "t")  # without a tuning set: the oracle, said so
    spec, tune_faces = load("gan_yeh")
    assert tune_faces == 5 and "tune_faces" not in vars(spec)


def test_regenerating_a_table_keeps_its_hand_written_reading(tmp_path):
    from benchmarks.tables import write_table

    md = tmp_path / "t.md"
    write_table(md, "| old table |\n")
    assert md.read_text() == "| old table |\n"
    md.write_text(md.read_text() + "\n## Reading\n\npnp wins.\n")
    write_table(md, "| new table |\n")
    assert md.read_text() == "| new table |\n\n## Reading\n\npnp wins.\n"


def test_a_grids_default_setting_is_named_not_left_blank():
    from benchmarks.tables import render

    spec = SweepSpec.from_dict({"images": ["camera"], "degradations": ["denoise:sigma=25"],
                                "methods": ["pnp", "pnp:denoiser=bm3d"]})
    rows = [{"degradation": "denoise:sigma=25.0", "method": "pnp", "params": params, "image": "a", "psnr": psnr,
             "ssim": "0.5", "status": "done"} for params, psnr in (("", "30"), ("denoiser=bm3d", "29"))]
    table = render(rows, spec, "t")
    assert "**30.00 / 0.500** (defaults) |" in table and "()" not in table
    assert "| degradation | defaults | denoiser=bm3d |" in table


def test_a_cluster_address_where_nothing_listens_is_one_sentence(spec_dir):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = subprocess.run([sys.executable, "-m", "arena.cli", "sweep", str(spec_dir / "spec.toml"), "--out",
                          str(spec_dir / "out-nowhere"), "--address", f"127.0.0.1:{port}"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.startswith("error: nothing answers at 127.0.0.1:")
    assert "Traceback" not in out.stderr


def test_a_retrained_network_changes_the_keys_of_the_runs_that_read_it_only(tmp_path, monkeypatch):
    import arena.method
    import arena.sweep
    from arena.resources import WEIGHTS

    shipped = tmp_path / "weights"
    shipped.mkdir()
    shutil.copy(WEIGHTS / "rim.safetensors", shipped / "rim.safetensors")
    mine = tmp_path / "mine.safetensors"
    shutil.copy(WEIGHTS / "rim.safetensors", mine)
    monkeypatch.setattr(arena.method, "WEIGHTS", shipped)
    monkeypatch.setattr(arena.sweep, "WEIGHTS", shipped)
    specs = {"rim": "rim", "tikhonov": "tikhonov", "mine": f"rim:weights={mine}"}

    def keys() -> dict[str, str]:
        return {k: run_key(Config.from_specs("camera", "blur:sigma=1.6,noise=2", [m]), None) for k, m in specs.items()}

    before = keys()
    assert keys() == before, "a key is a function of the run"
    with open(shipped / "rim.safetensors", "ab") as f:  # "retrained": other bytes
        f.write(b"\0")
    after = keys()
    assert after["rim"] != before["rim"]
    assert after["tikhonov"] == before["tikhonov"] and after["mine"] == before["mine"]
    with open(mine, "ab") as f:
        f.write(b"\0")
    assert keys()["mine"] != before["mine"], "a user's weights= file is keyed by its content too"


def test_a_changed_default_changes_the_keys_of_that_methods_runs_only(monkeypatch):
    """A cached run made before a method gained a parameter (or changed a default) is not reused."""
    from dataclasses import replace

    from arena.method import METHODS

    def keys() -> dict[str, str]:
        return {m: run_key(Config.from_specs("camera", "blur:sigma=1.6,noise=2", [m]), None) for m in ("rim", "tv")}

    before = keys()
    rim = METHODS.get("rim")
    changed = tuple(replace(p, default="off") if p.name == "consistency" else p for p in rim.params)
    monkeypatch.setattr(rim, "params", changed)
    after = keys()
    assert after["rim"] != before["rim"] and after["tv"] == before["tv"]
