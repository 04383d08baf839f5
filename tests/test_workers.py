"""Methods in worker processes: the same numbers as in threads, Stop works, a killed worker ends
its method only, and nothing is left behind. And two network methods run together give the same
numbers as each alone (each draws its weights from its own generator)."""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path

import pytest
import torch

from arena import workers
from arena.problem import make_problem
from arena.runner import Budget, run_comparison
from tests.conftest import bundled

DIP = "dip:net=light,iterations=12,stop=none,input_depth=4"
DEEPRED = "deepred:net=light,iterations=12,stop=none,input_depth=4,denoise_every=4"


@pytest.fixture(scope="module")
def problem():
    return make_problem(bundled("camera", 24), "denoise", {"sigma": 25}, seed=0)[:2]


def _results(problem, specs, **kw):
    p, clean = problem
    events = list(run_comparison(p, clean, specs, with_lpips=False, metrics_every=4, **kw))
    assert events[-1].kind == "done"
    return events, events[-1].results


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_processes_give_the_numbers_threads_give(problem):
    specs = ["tv:iterations=60", "tikhonov", DIP]
    _, threads = _results(problem, specs)
    events, procs = _results(problem, specs, workers="processes")
    for key, r in threads.items():
        assert procs[key].status == r.status == "done"
        assert torch.equal(procs[key].x, r.x), key
        assert procs[key].history[-1]["psnr"] == r.history[-1]["psnr"]
    assert {e.method for e in events if e.kind == "step"} == set(threads)
    assert not workers.running_workers(), "every worker has exited"


def test_network_methods_together_give_the_numbers_each_gives_alone(problem, monkeypatch):
    # One core: a heavy method gets as many torch threads alone as beside another, so the sums
    # run in the same order and the numbers can be equal to the last bit.
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    _, together = _results(problem, [DIP, DEEPRED])
    for spec in (DIP, DEEPRED):
        _, alone = _results(problem, [spec])
        key = spec.split(":")[0]
        assert torch.equal(alone[key].x, together[key].x), key


def test_stop_ends_every_worker_within_a_second(problem):
    p, clean = problem
    cancel = threading.Event()
    stream = run_comparison(p, clean, ["tv:iterations=100000", "dip:net=light,iterations=100000,stop=none"],
                            cancel=cancel, with_lpips=False, workers="processes")
    for ev in stream:
        if ev.kind == "step" and ev.step >= 20:
            cancel.set()
            stopped = time.monotonic()
            break
    rest = list(stream)
    assert time.monotonic() - stopped < 2.0
    results = rest[-1].results
    assert {r.status for r in results.values()} == {"cancelled"}
    assert not workers.running_workers()


def test_a_killed_worker_ends_its_method_only_and_the_next_run_works(problem):
    p, clean = problem
    list(run_comparison(p, clean, ["tikhonov"], with_lpips=False, workers="processes"))  # warm
    gc.collect()
    before = _rss_mb()
    killed = False
    events = []
    for ev in run_comparison(p, clean, ["tv:iterations=100000", "tikhonov", DIP],
                             budget=Budget(seconds=6.0), with_lpips=False, workers="processes"):
        events.append(ev)
        if not killed and ev.kind == "step" and ev.method == "tv" and ev.step >= 50:
            pid = next(pid for pid, key in workers.running_workers().items() if key == "tv")
            os.kill(pid, signal.SIGKILL)
            killed = True
    results = events[-1].results
    tv = results["tv"]
    assert tv.status == "error" and "SIGKILL" in tv.message and tv.message.count(". ") == 0, tv.message
    assert results["tikhonov"].status == results["dip"].status == "done"
    assert [e.status for e in events if e.kind == "end" and e.method == "tv"] == ["error"]
    _, again = _results(problem, ["tv:iterations=40"], workers="processes")
    assert again["tv"].status == "done"
    assert not workers.running_workers() and not multiprocessing.active_children()
    gc.collect()
    assert _rss_mb() < before + 30, f"{before:.0f} MB before the run, {_rss_mb():.0f} MB after"
