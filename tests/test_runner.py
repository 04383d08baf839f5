"""The runner: concurrency, cancellation, divergence, budgets, history."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from arena.errors import SpecError
from arena.problem import make_problem
from arena.runner import Budget, MethodSpec, run_comparison
from tests.conftest import bundled


@pytest.fixture
def blur_problem():
    return make_problem(bundled("camera", 48), "blur", {"noise": 2.0}, seed=0)[:2]


def _collect(events):
    evs = list(events)
    assert evs[-1].kind == "done"
    return evs, evs[-1].results


def test_two_methods_stream_concurrently(blur_problem):
    problem, clean = blur_problem
    evs, results = _collect(run_comparison(problem, clean, ["tv:iterations=400", "lsq:iterations=400"],
                                           metrics_every=50, with_lpips=False))
    order = [e.method for e in evs if e.kind == "step"]
    first_end = next(i for i, e in enumerate(evs) if e.kind == "end")
    before = {e.method for e in evs[:first_end] if e.kind == "step"}
    assert before == {"tv", "lsq"}, "both methods produced iterates before either finished"
    assert len(order) == 800
    for key in ("tv", "lsq"):
        r = results[key]
        assert r.status == "done" and r.iterations == 400 and len(r.history) == 400
        measured = [h for h in r.history if "psnr" in h]
        assert [h["step"] for h in measured] == [1] + list(range(50, 401, 50))
        assert r.metrics["psnr"] == pytest.approx(measured[-1]["psnr"])
        assert r.seconds >= r.compute_seconds * 0.5 > 0


def test_cancel_stops_every_method_within_a_second(blur_problem):
    problem, clean = blur_problem
    cancel = threading.Event()
    stream = run_comparison(problem, clean, ["tv:iterations=100000", "lsq:iterations=100000"], cancel=cancel,
                            with_lpips=False)
    seen = 0
    for ev in stream:
        if ev.kind == "step":
            seen += 1
            if seen == 20:
                t0 = time.perf_counter()
                cancel.set()
        if ev.kind == "done":
            elapsed = time.perf_counter() - t0
            results = ev.results
    assert elapsed < 1.0
    assert {r.status for r in results.values()} == {"cancelled"}
    assert all(r.x is not None and r.iterations < 100000 for r in results.values()), "what was reached is kept"


def test_closing_the_stream_stops_the_threads(blur_problem):
    problem, clean = blur_problem
    before = threading.active_count()
    stream = run_comparison(problem, clean, ["tv:iterations=100000"], with_lpips=False)
    for ev in stream:
        if ev.kind == "step" and ev.step >= 5:
            break
    t0 = time.perf_counter()
    stream.close()
    assert time.perf_counter() - t0 < 1.0
    assert threading.active_count() == before


def test_divergence_ends_one_method_and_the_other_finishes(blur_problem):
    problem, clean = blur_problem
    _, results = _collect(run_comparison(problem, clean, ["lsq:step=2.9,iterations=2000", "tv:iterations=50"],
                                         with_lpips=False))
    bad, good = results["lsq"], results["tv"]
    assert bad.status == "diverged" and "NaN/Inf" in bad.message and bad.iterations < 2000
    assert torch.isfinite(bad.x).all(), "the last finite iterate is kept"
    assert good.status == "done" and good.iterations == 50


def test_iteration_and_time_budgets(blur_problem):
    problem, clean = blur_problem
    _, results = _collect(run_comparison(problem, clean, ["tv:iterations=500", "naive"],
                                         budget=Budget(iterations=30), with_lpips=False))
    assert results["tv"].iterations == 30 and results["tv"].status == "budget"
    assert results["naive"].status == "done"
    t0 = time.perf_counter()
    _, results = _collect(run_comparison(problem, clean, ["tv:iterations=100000"], budget=Budget(seconds=0.5),
                                         with_lpips=False))
    assert results["tv"].status == "budget" and 0.5 <= results["tv"].seconds < 1.5
    assert time.perf_counter() - t0 < 3.0


def test_unsupported_pairing_is_refused_with_a_reason(blur_problem):
    problem, clean = blur_problem
    _, results = _collect(run_comparison(problem, clean, ["pgd"], with_lpips=False))
    assert results["pgd"].status == "unsupported" and "projection" in results["pgd"].message
    assert results["pgd"].x is None


def test_bad_specs_fail_before_anything_runs(blur_problem):
    problem, clean = blur_problem
    with pytest.raises(SpecError, match="valid names"):
        next(run_comparison(problem, clean, ["nope"]))
    with pytest.raises(SpecError, match="out of range"):
        next(run_comparison(problem, clean, [MethodSpec("tv", {"lam": -1})]))


def test_same_method_twice_gets_distinct_keys(blur_problem):
    problem, clean = blur_problem
    _, results = _collect(run_comparison(problem, clean, ["tv:iterations=5,lam=0.01", "tv:iterations=5,lam=0.1"],
                                         with_lpips=False))
    assert list(results) == ["tv", "tv#2"]
    assert results["tv"].params["lam"] == 0.01 and results["tv#2"].params["lam"] == 0.1


def test_sequential_runs_one_after_another(blur_problem):
    problem, clean = blur_problem
    evs, _ = _collect(run_comparison(problem, clean, ["tv:iterations=20", "lsq:iterations=20"], sequential=True,
                                     with_lpips=False))
    kinds = [(e.kind, e.method) for e in evs if e.kind in ("start", "end")]
    assert kinds == [("start", "tv"), ("end", "tv"), ("start", "lsq"), ("end", "lsq")]


def test_same_seed_same_numbers(blur_problem):
    problem, clean = blur_problem
    a = _collect(run_comparison(problem, clean, ["tv:iterations=20"], with_lpips=False))[1]["tv"]
    problem2, clean2 = make_problem(bundled("camera", 48), "blur", {"noise": 2.0}, seed=0)[:2]
    b = _collect(run_comparison(problem2, clean2, ["tv:iterations=20"], with_lpips=False))[1]["tv"]
    assert torch.equal(a.x, b.x) and a.metrics["psnr"] == b.metrics["psnr"]


def test_the_live_progress_line_shows_a_methods_own_numbers():
    """σ_k and μ_k of plug-and-play (LM's damping, DeepRED's gap, …) reach the method's tab."""
    from arena.live import Tracker
    from arena.runner import Event

    t = Tracker(["pnp"])
    t.update(Event("start", "pnp", total=8))
    t.update(Event("step", "pnp", step=3, total=8, seconds=1.5,
                   diagnostics={"loss": 2.0, "sigma_k": 12.34, "mu_k": 0.00612}, metrics={"psnr": 28.0}))
    line = t.methods["pnp"].progress()
    assert line.startswith("3/8 · 1.5 s") and "sigma_k 12.3" in line and "mu_k 0.00612" in line
    assert "loss" not in line and "psnr" not in line


def test_oracle_tuning_through_the_runner_applies_every_jointly_chosen_value():
    """RED's λ and σ_d are tuned together; the final run uses (and the result records) both."""
    problem, clean = make_problem(bundled("camera", 32), "denoise", {"sigma": 25}, seed=0)[:2]
    evs = list(run_comparison(problem, clean, ["red:iterations=4"], tune="oracle", with_lpips=False))
    red = evs[-1].results["red"]
    chosen = red.tuning["params"]
    assert set(chosen) == {"lam", "sigma_d"}
    assert red.params["lam"] == chosen["lam"] and red.params["sigma_d"] == chosen["sigma_d"]
    best = max(t["psnr"] for t in red.tuning["trials"])
    assert red.metrics["psnr"] == pytest.approx(best, abs=1e-6), "the final run is the best trial, both values applied"


def test_eta_never_exceeds_the_time_budget():
    """A slow start under a 60 s budget said "ETA 120.7 s": the method will stop at the budget."""
    from arena.live import Tracker
    from arena.runner import Event

    t = Tracker(["dip"], budget=60.0)
    t.update(Event("start", "dip", total=3000))
    t.update(Event("step", "dip", step=28, total=3000, seconds=20.0))
    assert t.methods["dip"].eta == pytest.approx(40.0)
    free = Tracker(["dip"])
    free.update(Event("start", "dip", total=3000))
    free.update(Event("step", "dip", step=28, total=3000, seconds=20.0))
    assert free.methods["dip"].eta == pytest.approx(20.0 / 28 * 2972)


def test_progress_counts_against_the_steps_the_budget_allows():
    """After Stop the line said "28/3000" where about 84 steps fit the budget at that pace."""
    from arena.live import Tracker
    from arena.runner import Event

    t = Tracker(["dip"], budget=60.0)
    t.update(Event("start", "dip", total=3000))
    t.update(Event("step", "dip", step=28, total=3000, seconds=20.0))
    assert t.methods["dip"].planned == 84 and t.methods["dip"].progress().startswith("28/84 of 3000 (the time budget)")
    quick = Tracker(["tv"], budget=60.0)
    quick.update(Event("start", "tv", total=300))
    quick.update(Event("step", "tv", step=30, total=300, seconds=0.5))
    assert quick.methods["tv"].progress().startswith("30/300 · 0.5 s"), "the budget is far: the total stands"
