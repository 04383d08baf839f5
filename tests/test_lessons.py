"""Lessons as claims: the evaluator on hand-made results (the presets' own: test_preset_lessons.py)."""

from __future__ import annotations

import pytest

from arena.errors import SpecError
from arena.lessons import check, promise, summary, validate
from arena.runner import MethodResult


def result(key: str, psnr: float | None = None, curve: list[float] | None = None, raw: list[float] | None = None,
           **metrics: float) -> MethodResult:
    history = [{"step": 10.0 * (i + 1), "psnr": v} for i, v in enumerate(curve or [])]
    for h, v in zip(history, raw or [], strict=False):
        h["psnr_raw"] = v
    return MethodResult(key, key, key, {}, iterations=10 * len(curve or [1]), metrics={"psnr": psnr, **metrics},
                        history=history)


DEGRADED = {"psnr": 20.0, "ssim": 0.3, "lpips": 0.6}


def verdict(claim: dict, *results: MethodResult, seconds: float = 1.0):
    (v,) = check([claim], {r.key: r for r in results}, degraded=DEGRADED, seconds=seconds)
    return v


def test_order_against_methods_and_the_degraded_input():
    a, b = result("a", 28.0, lpips=0.2), result("b", 27.0, lpips=0.3)
    assert verdict({"kind": "order", "metric": "psnr", "better": "a", "worse": ["b", "degraded"]}, a, b).held
    assert not verdict({"kind": "order", "metric": "psnr", "better": "a", "worse": "b", "margin": 1.5}, a, b).held
    assert verdict({"kind": "order", "metric": "lpips", "better": "a", "worse": "b"}, a, b).held  # lower is better
    assert not verdict({"kind": "order", "metric": "lpips", "better": "b", "worse": "a"}, a, b).held
    v = verdict({"kind": "order", "metric": "psnr", "better": "a", "worse": "b"}, a, b)
    assert "28.00 dB" in v.text and "27.00 dB" in v.text
    # a negative margin: "b gains less than 1.5 dB over a" (a lesson that a prior does not help)
    no_gain = {"kind": "order", "metric": "psnr", "better": "b", "worse": "a", "margin": -1.5}
    assert verdict(no_gain, a, b).held and "within 1.50 dB of a or above" in verdict(no_gain, a, b).text
    assert not verdict({**no_gain, "margin": -0.5}, a, b).held
    assert promise(no_gain) == "a gains less than 1.50 dB over b in PSNR"


def test_peak_then_fall_needs_an_interior_peak_and_the_fall():
    overfits = result("dip", 27.0, curve=[20, 25, 27.5, 26.8, 26.0])
    assert verdict({"kind": "peak_then_fall", "curve": "dip.psnr", "min_fall": 1.0}, overfits).held
    assert not verdict({"kind": "peak_then_fall", "curve": "dip.psnr", "min_fall": 2.0}, overfits).held
    rising = result("tv", 27.0, curve=[20, 25, 26, 27])
    v = verdict({"kind": "peak_then_fall", "curve": "tv.psnr", "min_fall": 0.0}, rising)
    assert not v.held and "step 40" in v.text  # the peak is the last point: no fall
    assert not verdict({"kind": "peak_then_fall", "curve": "dip.psnr", "min_rise": 10.0}, overfits).held


def test_keeps_peak_compares_the_result_with_the_best_of_its_curves():
    dip = result("dip", 28.0, curve=[24, 27, 28.1, 28.0], raw=[25, 27.9, 27.0, 26.0])
    assert verdict({"kind": "keeps_peak", "method": "dip", "curves": ["psnr_raw"], "within": 0.3}, dip).held
    assert verdict({"kind": "keeps_peak", "method": "dip", "curves": ["psnr", "psnr_raw"], "within": 0.3}, dip).held
    late = result("dip", 26.5, curve=[24, 27, 28.1, 26.5], raw=[25, 27.9, 27.0, 26.0])
    assert not verdict({"kind": "keeps_peak", "method": "dip", "curves": ["psnr_raw"], "within": 0.3}, late).held


def test_plateau_close_fewer_steps_data_fit_and_time():
    flat = result("tv", 28.0, curve=[20, 27.9, 28.0, 28.02, 28.0, 28.01], data_fit=22.0, noise_level=25.0)
    assert verdict({"kind": "plateau", "curve": "tv.psnr", "last": 0.5, "max_change": 0.1}, flat).held
    assert not verdict({"kind": "plateau", "curve": "tv.psnr", "last": 1.0, "max_change": 0.1}, flat).held
    gn = result("gn", 28.03, curve=[27, 28.03, 28.03])
    assert verdict({"kind": "close", "metric": "psnr", "a": "gn", "b": "tv", "within": 0.05}, gn, flat).held
    assert verdict({"kind": "fewer_steps", "better": "gn", "worse": "tv"}, gn, flat).held
    assert not verdict({"kind": "fewer_steps", "better": "tv", "worse": "gn"}, gn, flat).held
    assert verdict({"kind": "data_fit", "method": "tv", "ratio": [0.8, 1.2]}, flat).held  # 22 / 25 = 0.88
    assert not verdict({"kind": "data_fit", "method": "tv", "ratio": [0.95, 1.2]}, flat).held
    assert not verdict({"kind": "data_fit", "method": "tv", "max": 0.01}, flat).held
    assert verdict({"kind": "time", "max_seconds": 60}, flat, seconds=59.0).held
    assert not verdict({"kind": "time", "max_seconds": 60}, flat, seconds=61.0).held


def test_a_claim_that_cannot_be_checked_is_never_counted_as_held():
    blind = result("tv", None, curve=[])  # an observed photo: no PSNR, no curve
    verdicts = check([{"kind": "order", "metric": "psnr", "better": "tv", "worse": "degraded"},
                      {"kind": "peak_then_fall", "curve": "tv.psnr", "min_fall": 1.0},
                      {"kind": "order", "metric": "psnr", "better": "dip", "worse": "tv"},
                      {"kind": "time", "max_seconds": 5}], {"tv": blind}, degraded={"psnr": None}, seconds=1.0)
    assert [v.held for v in verdicts] == [None, None, None, True]
    assert "dip is not in this run" in verdicts[2].text
    assert summary(verdicts) == "1 of 1 claims held, 3 not checked"


@pytest.mark.parametrize("claim, message", [
    ({"kind": "shape"}, "unknown"),
    ({"kind": "order", "metric": "psnr", "better": "tv"}, "lacks worse"),
    ({"kind": "order", "metric": "mse", "better": "tv", "worse": "naive"}, "metric 'mse'"),
    ({"kind": "order", "metric": "psnr", "better": "tv", "worse": ["naive", "dip"]}, "'dip'"),
    ({"kind": "peak_then_fall", "curve": "dip.psnr_raw"}, "'dip'"),
])
def test_validate_refuses_bad_claims(claim, message):
    with pytest.raises(SpecError, match=message):
        validate([claim], ["tv", "naive"])


def test_a_full_claim_is_unchecked_when_the_budget_cut_its_method():
    """Paper presets need the paper's iterations: cut by a CPU's budget, their claims say so."""
    cut = result("dip", 22.0)
    cut.status = "budget"
    claim = {"kind": "order", "metric": "psnr", "better": "dip", "worse": "degraded"}
    assert verdict(claim, cut).held is True
    v = verdict({**claim, "full": True}, cut)
    assert v.held is None and "stopped by the time budget" in v.text


def test_keeps_peak_at_fall_reads_the_result_when_the_raw_output_has_fallen():
    """DIP's averaged output holds the peak while the raw output falls: the claim is read at the
    first step where the raw output is 1 dB below its peak, whatever happens later."""
    dip = result("dip", 24.0, curve=[20, 25, 27.0, 27.3, 26.0, 24.0], raw=[22, 27.5, 27.0, 26.4, 25.0, 23.0])
    claim = {"kind": "keeps_peak", "method": "dip", "curves": ["psnr_raw"], "within": 0.3, "at_fall": 1.0}
    v = verdict(claim, dip)  # raw peak 27.5 at step 20; fallen 1.1 dB at step 40, where the result is 27.3
    assert v.held and "by step 40" in v.text and "27.30 dB" in v.text
    assert not verdict({**claim, "within": 0.1}, dip).held
    assert verdict({**claim, "at_fall": 5.0}, dip).held is None  # it never fell that far
