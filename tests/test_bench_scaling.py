"""benchmarks/bench_scaling.py: a cell measures what it says, refusals keep the method's sentence, and
the growth exponent recovers known slopes."""

from __future__ import annotations

import statistics

import pytest
import torch

from benchmarks import bench_scaling as bs

PIXELS = [s * s for s in (128, 256, 512, 1024)]


@pytest.fixture
def keep_threads():
    """measure_cell sets torch's thread count, as the runner does; the test process gets its own back."""
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def spec(method: str, side: int = 32, **kw) -> dict:
    return {"method": method, "side": side, "degradation": "denoise", "values": {"sigma": 25}, "seconds": 10.0,
            "max_steps": 3, "device": "cpu", "placeholders": False, "threads": 1, **kw}


@pytest.mark.parametrize("slope", [0.0, 0.5, 1.0, 1.37, 2.0])
def test_the_exponent_fit_recovers_a_known_slope(slope):
    values = [3e-4 * p**slope for p in PIXELS]
    assert bs.growth_exponent(PIXELS, values) == pytest.approx(slope, abs=1e-9)


def test_the_exponent_fit_with_noise_gaps_and_too_few_points():
    noisy = [3e-4 * p * f for p, f in zip(PIXELS, (1.05, 0.95, 1.05, 0.95), strict=True)]
    assert abs(bs.growth_exponent(PIXELS, noisy) - 1.0) < 0.05
    # 256² → 1024² is 16× the pixels, 2 → 8 MB is 4×: slope ½; the missing and the zero value are left out
    assert bs.growth_exponent(PIXELS, [None, 2.0, 0.0, 8.0]) == pytest.approx(0.5)
    assert bs.growth_exponent(PIXELS, [None, None, 1.0, -1.0]) is None


def test_exponents_of_cells_use_the_measured_ones_only():
    cells = [{"status": "ok", "pixels": p, "steady_s": 1e-3 * p**1.5 / 1e6, "first_s": 1.0, "peak_mb": 10.0}
             for p in PIXELS[:3]]
    cells.append({"status": "skipped", "pixels": PIXELS[3], "why": "slow"})
    t, m = bs.exponents(cells)
    assert t == pytest.approx(1.5, abs=1e-3) and m == pytest.approx(0.0, abs=1e-3)
    # a cell stopped after its first step (setup included) shows a time but does not bend the fit
    first_only = {"status": "ok", "pixels": PIXELS[3], "steady_s": None, "first_s": 1e6, "peak_mb": 10.0}
    assert bs.exponents([*cells, first_only])[0] == pytest.approx(1.5, abs=1e-3)
    assert bs.step_seconds(first_only) == 1e6
    assert bs.exponents(cells[:1]) == (None, None)


def test_a_cell_times_at_least_min_steady_steps_past_its_time_then_stops():
    times = bs.StepTimes(seconds=0.0, max_steps=5, min_steady=1)
    step = bs.Step(1, torch.zeros(1, 1, 2, 2), notes=("a note",))
    assert times.more()
    times.add(9.0, step)
    assert times.more(), "the first step alone (setup included) is no steady time"
    times.add(1.0, step)
    assert not times.more()
    assert times.summary()["first_s"] == 9.0 and times.summary()["steady_s"] == 1.0
    assert times.summary()["notes"] == ["a note"]
    long = bs.StepTimes(seconds=1e6, max_steps=2, min_steady=0)
    for _ in range(3):
        long.add(1.0, step)
    assert not long.more() and long.summary()["steps"] == 2


def test_an_iterative_cell_times_its_steps_after_the_first(keep_threads):
    out = bs.measure_cell(spec("tv"))
    assert out["status"] == "ok" and out["method"] == "tv" and out["pixels"] == 32 * 32
    assert out["runs"] == 1 and out["steps"] == 3 and len(out["step_times"]) == 3
    assert out["first_s"] > 0 and out["steady_s"] == pytest.approx(statistics.median(out["step_times"]), abs=1e-5)
    assert out["peak_mb"] >= 0 and out["rss_before_mb"] > 0 and out["threads"] == 1
    assert bs.step_seconds(out) == out["steady_s"]


def test_a_one_shot_method_is_run_again_for_its_steady_time(keep_threads):
    out = bs.measure_cell(spec("naive"))
    assert out["status"] == "ok" and out["runs"] == 4 and out["steps"] == 3


def test_a_domain_method_refuses_another_size_in_its_own_words(keep_threads):
    out = bs.measure_cell(spec("gan"))
    assert out["status"] == "refused" and out["why"].startswith("the generator makes 64×64")
    assert bs.step_seconds(out) is None


def test_a_cell_in_its_own_process_returns_the_same_structure():
    out = bs.run_cell(spec("naive"), timeout=120)
    assert out["status"] == "ok", out
    assert {"first_s", "steady_s", "peak_mb", "rss_before_mb", "wall_s", "steps"} <= set(out)


def test_a_cell_that_outlives_its_time_is_stopped_and_says_so():
    out = bs.run_cell(spec("naive"), timeout=0.2)  # importing torch alone takes longer
    assert out["status"] == "timeout" and "0 s" in out["why"] and bs.step_seconds(out) is None


def test_the_markdown_has_every_method_its_tables_and_the_headline():
    rows = [{"method": name, "problem": "denoise σ=25", "domain": None, "cells": [
        {"side": s, "pixels": s * s, "status": "ok", "steady_s": 1e-6 * s**k, "first_s": 0.1, "peak_mb": float(s)}
        for s in (128, 256)]} for name, k in (("tv", 2), ("dip", 3))]
    for row in rows:
        row["exponent_time"], row["exponent_memory"] = bs.exponents(row["cells"])
    doc = {"command": "c", "date": "d", "total_s": 60, "machine": "m", "device": "cpu", "cores": 2,
           "sizes": [128, 256], "args": {"steps": 3, "seconds": 5, "step_limit": 20, "threads": 1, "min_steady": 1},
           "load": {"start": 1, "end": 2}, "limits": bs.app_limits(), "methods": rows}
    text = bs.markdown(doc)
    assert "slowest-growing **tv** (exponent 1.00), fastest-growing **dip** (1.50)" in text
    assert text.count("| tv | denoise σ=25 |") == 3 and "| tv | none of its own |" in text
    assert "40,000,000 pixels" in text and "1024 px" in text
