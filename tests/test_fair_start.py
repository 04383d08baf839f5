"""Where pixels have no measurement, iterative methods start from their harmonic fill; a run the
time budget cut short says so."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from arena.method import METHODS, load_methods
from arena.problem import make_problem
from arena.runner import Budget, run_comparison
from arena.solvers import harmonic_start
from tests.conftest import bundled


@pytest.fixture
def strokes(tmp_path):
    """A hand-painted mask: six strokes 6–10 px wide over a 64² photo (a quarter of its pixels)."""
    x = bundled("camera", 64)
    mask = Image.new("L", (64, 64), 0)
    draw, rng = ImageDraw.Draw(mask), np.random.default_rng(0)
    for _ in range(6):
        draw.line([tuple(int(v) for v in rng.integers(0, 64, 2)) for _ in range(3)], fill=255,
                  width=int(rng.integers(6, 11)))
    mask.save(tmp_path / "strokes.png")
    problem, clean, _ = make_problem(x, "inpaint", {"mask": "file", "path": str(tmp_path / "strokes.png")}, seed=0)
    hole = (problem.degradation.measurement_mask() == 0).expand_as(clean)
    return problem, clean, hole


@pytest.mark.parametrize("name", ["tv", "pgd", "tikhonov", "lsq"])
def test_painted_strokes_are_filled_not_left_black(strokes, name):
    """Gradient steps move a hole's value a few pixels per hundred iterations: from a zero fill the
    strokes stayed black (11.6 dB for TV after 300 iterations in the app). From the harmonic fill
    they hold what the model puts there, near the fill and far from black."""
    problem, clean, hole = strokes
    load_methods()
    cls = METHODS.get(name)
    *_, last = cls().run(problem, **cls.resolve({"iterations": 30}, problem))

    def error(v: torch.Tensor) -> float:
        return float((v - clean)[hole].pow(2).mean().sqrt())

    assert error(last.x) < 0.4 * error(problem.initial())
    assert error(last.x) < 1.1 * error(harmonic_start(problem))


def test_least_squares_from_zero_keeps_the_holes_black(strokes):
    """``start=zero`` is the minimum-norm path: the data says nothing inside the holes."""
    problem, _, hole = strokes
    load_methods()
    cls = METHODS.get("lsq")
    *_, last = cls().run(problem, **cls.resolve({"iterations": 20, "start": "zero"}, problem))
    assert float(last.x[hole].abs().max()) == 0.0


def test_a_run_cut_by_the_time_budget_says_so():
    """DIP with a budget far too short for its iterations ends with status 'budget' and a sentence
    naming the budget and the step it reached — never a bare 'done'."""
    problem, clean = make_problem(bundled("camera", 32), "denoise", {"sigma": 25}, seed=0)[:2]
    events = list(run_comparison(problem, clean, ["dip:net=light,iterations=100000,stop=none", "naive"],
                                 budget=Budget(seconds=2.0),
                                 with_lpips=False))
    results = events[-1].results
    dip = results["dip"]
    assert dip.status == "budget" and "stopped by the 2 s budget at step" in dip.message
    assert f"step {dip.iterations} of the 100000" in dip.message
    assert results["naive"].status == "done"
