"""Fair by default: every method, given no parameters, beats the naive inverse on every degradation
it supports — derived from the registries, so a new method or degradation inherits the rule.

The exceptions are declared on the method (``Method.limits``: degradation → reason), where users
see them as the result's caveat: each is a limit of the *method's model* (measured, also with the
best λ), not of its settings, and ``strict`` xfail flags it the day it passes. ``Method.baseline``
methods are the reference, not held to the rule; ``Method.slow`` ones run with ``pytest -m slow``.
"""

from __future__ import annotations

import pytest
import torch
from conftest import bundled

from arena import metrics
from arena.degradations import DEGRADATIONS
from arena.method import METHODS, load_methods
from arena.problem import make_problem

load_methods()
MARGIN_DB = 0.1


@pytest.fixture(autouse=True)
def one_thread():
    """As the runner does for light methods: one torch thread (faster for element-wise work)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _cases() -> list:
    out = []
    for m in METHODS:
        if m.baseline:
            continue
        for d in DEGRADATIONS:
            marks = []
            if m.slow:
                marks.append(pytest.mark.slow)
            if d.name in m.limits:
                marks.append(pytest.mark.xfail(strict=True, reason=m.limits[d.name]))
            out.append(pytest.param(m.name, d.name, marks=marks, id=f"{m.name}-{d.name}"))
    return out


@pytest.mark.parametrize("method,degradation", _cases())
def test_defaults_beat_the_naive_inverse(method: str, degradation: str):
    cls = METHODS.get(method)
    m = cls()
    image = bundled("face1", 64) if m.domain else bundled("astronaut", 48)
    problem, clean, _ = make_problem(image, degradation, {}, seed=0)
    if m.supports(problem) is not None:
        pytest.skip(m.supports(problem))
    if cls.unavailable(cls.resolve({}, problem), problem):  # a published file not in this machine's cache
        pytest.skip(cls.unavailable(cls.resolve({}, problem), problem))
    x = None
    for step in m.run(problem, **cls.resolve({}, problem)):
        x = step.x
    gain = metrics.psnr(x, clean) - metrics.psnr(problem.initial(), clean)
    assert gain >= MARGIN_DB, f"{method} with its defaults on {degradation}: {gain:+.2f} dB over the naive inverse"


@pytest.mark.parametrize("method", ["tikhonov", "tv", "red"])
def test_default_weight_grows_with_the_noise(method: str):
    cls = METHODS.get(method)
    lams = []
    for sigma in (5, 15, 40):
        problem, _, _ = make_problem(bundled("camera", 32), "denoise", {"sigma": sigma})
        lams.append(cls.resolve({}, problem)["lam"])
    assert lams == sorted(lams) and lams[0] < lams[-1]


def test_missing_information_raises_the_default_weight():
    """Noiseless inpainting is not regularised as if nothing were missing (σ_eq)."""
    x = bundled("camera", 32)
    full, _, _ = make_problem(x, "inpaint", {"ratio": 0.0})
    half, _, _ = make_problem(x, "inpaint", {"ratio": 0.5})
    tv = METHODS.get("tv")
    assert tv.resolve({}, half)["lam"] > 100 * tv.resolve({}, full)["lam"]


def test_given_values_win_over_rules_and_auto_means_the_rule():
    problem, _, _ = make_problem(bundled("camera", 32), "denoise", {"sigma": 25})
    tv = METHODS.get("tv")
    assert tv.resolve({"lam": 0.3}, problem)["lam"] == 0.3
    assert tv.resolve({"lam": "auto"}, problem)["lam"] == tv.resolve({"lam": None}, problem)["lam"] \
        == pytest.approx(20 * (25 / 255) ** 2.3)


def test_rule_values_stay_inside_the_schema_bounds():
    problem, _, _ = make_problem(bundled("camera", 32), "inpaint", {"ratio": 0.0})  # σ_eff = 0
    for cls in METHODS:
        values = cls.resolve({}, problem)
        for p in cls.params:
            assert p.coerce(values[p.name], cls.name) == values[p.name]


def test_harmonic_start_keeps_measurements_and_fills_holes():
    from arena.solvers import harmonic_start, missing_pixels

    problem, clean, _ = make_problem(bundled("camera", 32), "inpaint", {"ratio": 0.5})
    assert missing_pixels(problem)
    x = harmonic_start(problem)
    mask = problem.degradation.mask
    assert float(((x - problem.y) * mask).abs().mean()) < 0.01, "observed pixels are kept"
    assert metrics.psnr(x, clean) > metrics.psnr(problem.initial(), clean) + 10
