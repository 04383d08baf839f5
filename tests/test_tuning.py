"""Tuning modes: auto never reads the clean image, oracle does and says so; both are recorded."""

from __future__ import annotations

import json
import math
import threading

import pytest
import torch
from conftest import bundled

from arena import tuning
from arena.experiment import Config, prepare_experiment, run, save
from arena.problem import make_problem
from arena.runner import run_comparison

BLUR = {"kernel": "gaussian", "sigma": 1.6, "noise": 2}


def _run(problem, clean, spec: str, tune: str, **kw):
    for ev in run_comparison(problem, clean, [spec], tune=tune, with_lpips=False, **kw):
        if ev.kind == "done":
            return ev.results[spec.split(":")[0]]
    raise AssertionError("no done event")


def test_auto_weight_grows_with_the_noise():
    x = bundled("camera", 40)
    chosen = []
    for sigma in (10, 25, 50):
        problem, clean, _ = make_problem(x, "denoise", {"sigma": sigma})
        chosen.append(_run(problem, clean, "tv:iterations=80", "auto").tuning["chosen"])
    assert chosen[0] < chosen[1] < chosen[2]


def test_oracle_beats_auto_beats_an_untuned_weight_on_deblurring():
    problem, clean, _ = make_problem(bundled("camera", 48), "blur", BLUR)
    fixed = _run(problem, clean, "tv:lam=0.08", "off").metrics["psnr"]  # σ=25 denoising's weight
    auto = _run(problem, clean, "tv", "auto")
    oracle = _run(problem, clean, "tv", "oracle")
    assert oracle.metrics["psnr"] >= auto.metrics["psnr"] - 1e-6
    assert auto.metrics["psnr"] > fixed + 1.0
    assert oracle.metrics["psnr"] - auto.metrics["psnr"] < 0.7


def test_auto_never_reads_the_clean_image():
    problem, clean, _ = make_problem(bundled("camera", 40), "blur", BLUR)
    garbage = torch.rand(clean.shape, generator=torch.Generator().manual_seed(1))
    a = _run(problem, clean, "tikhonov", "auto").tuning
    b = _run(problem, garbage, "tikhonov", "auto").tuning
    assert a["chosen"] == b["chosen"]
    assert sorted((t["value"], t["misfit"]) for t in a["trials"]) == sorted((t["value"], t["misfit"]) for t in b["trials"])
    o1 = _run(problem, clean, "tikhonov", "oracle").tuning["chosen"]
    o2 = _run(problem, garbage, "tikhonov", "oracle").tuning["chosen"]
    assert o1 != o2, "the oracle does read it"


def test_auto_fits_the_data_to_the_noise_level():
    problem, clean, _ = make_problem(bundled("camera", 48), "denoise", {"sigma": 25})
    r = _run(problem, clean, "tikhonov", "auto")
    misfit = tuning.misfit(problem, r.x)
    assert misfit == pytest.approx(tuning.TAU * problem.sigma * math.sqrt(problem.measurements), rel=0.05)


def test_auto_keeps_the_rule_without_noise_and_says_why():
    problem, clean, _ = make_problem(bundled("camera", 32), "sr", {"factor": 2})
    r = _run(problem, clean, "tv:iterations=20", "auto")
    assert r.tuning["chosen"] == r.tuning["default"] and not r.tuning["trials"]
    assert "default rule is kept" in r.tuning["reason"]


def test_oracle_is_labelled_everywhere_and_the_replay_is_exact(tmp_path):
    cfg = Config.from_specs("camera", "blur:kernel=gaussian,sigma=1.6,noise=2", ["tv:iterations=60"],
                            max_side=40, tune="oracle")
    prep = prepare_experiment(cfg)
    results = next(ev.results for ev in run(prep, with_lpips=False) if ev.kind == "done")
    save(prep, results, tmp_path)
    doc = json.loads((tmp_path / "metrics.json").read_text())
    assert doc["methods"]["tv"]["tuning"]["label"] == "oracle (uses the clean image)"
    assert "tv [oracle]" in (tmp_path / "metrics.csv").read_text() or doc["methods"]["tv"]["tuning"]["mode"] == "oracle"
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["tune"] == "off" and saved["methods"][0]["params"]["lam"] == results["tv"].params["lam"]
    replay = prepare_experiment(Config.load(tmp_path / "config.json"))
    again = next(ev.results for ev in run(replay, with_lpips=False) if ev.kind == "done")
    assert again["tv"].metrics["psnr"] == pytest.approx(results["tv"].metrics["psnr"], abs=1e-6)
    assert (tmp_path / "tuning.png").is_file()


def test_default_rule_values_are_recorded():
    cfg = Config.from_specs("camera", "denoise:sigma=25", ["tv:iterations=5"], max_side=32)
    assert cfg.methods[0]["params"] == {"iterations": 5}, "config stores only what was given"
    prep = prepare_experiment(cfg)
    results = next(ev.results for ev in run(prep, with_lpips=False) if ev.kind == "done")
    assert results["tv"].params["lam"] == pytest.approx(20 * (25 / 255) ** 2.3)


def test_stop_while_tuning_ends_the_method_as_cancelled():
    problem, clean, _ = make_problem(bundled("camera", 48), "blur", BLUR)
    cancel = threading.Event()
    seen = []
    for ev in run_comparison(problem, clean, ["tv:iterations=3000"], tune="oracle", cancel=cancel, with_lpips=False):
        if ev.kind == "tune":
            seen.append(ev.message)
            cancel.set()
        if ev.kind == "done":
            assert ev.results["tv"].status == "cancelled"
    assert seen


def test_unknown_mode_is_refused():
    with pytest.raises(Exception, match="tune='best' is not one of off, auto, oracle"):
        Config.from_specs("camera", "denoise", ["tv"], tune="best")


def test_the_oracle_tunes_reds_lambda_and_sigma_d_jointly():
    """RED declares σ_d tunable after λ: searched jointly, the oracle is at least as good as λ alone
    (the λ-only grid is part of the joint one), it records both values, and a run with them
    reproduces the best trial exactly."""
    from arena import metrics
    from arena.method import METHODS, load_methods

    load_methods()
    problem, clean, _ = make_problem(bundled("camera", 32), "denoise", {"sigma": 25}, seed=0)
    cls = METHODS.get("red")
    method = cls()
    params = {**cls.resolve({"denoiser": "nlm"}, problem), "iterations": 8}
    lam = cls.tunable()
    joint = tuning.joint_param(cls, lam, params)
    assert joint is not None and joint[0].name == "sigma_d" and joint[1] == pytest.approx(25.0, rel=0.01)
    evaluate = tuning.evaluator(method, problem, params, lam)
    score = lambda x: metrics.psnr(x, clean)  # noqa: E731
    alone = tuning.tune_oracle(lam, params["lam"], evaluate, score, problem)
    both = tuning.tune_oracle(lam, params["lam"], evaluate, score, problem, joint=joint)
    best_alone = max(t.psnr for t in alone.trials)
    best_both = max(t.psnr for t in both.trials)
    assert best_both >= best_alone - 1e-6
    chosen = tuning.chosen_params(both)
    assert set(chosen) == {"lam", "sigma_d"} and both.to_json()["params"] == chosen
    assert {t.others["sigma_d"] for t in both.trials} >= {12.5, 25.0, 35.0}
    *_, last = method.run(problem, **{**params, **chosen})
    assert metrics.psnr(last.x, clean) == pytest.approx(best_both, abs=1e-6)
    auto = tuning.tune_auto(problem, lam, params["lam"], evaluate, joint=joint)
    assert tuning.chosen_params(auto) == {"lam": auto.chosen} and "keeps its default rule" in auto.reason
