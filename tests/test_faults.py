"""Resource faults: CUDA out-of-memory (injected on the CPU) ends one method with a clear message and
releases what it held; Stop flags are per session."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from arena.method import METHODS, Method, Step, iterations_param, load_methods
from arena.problem import Problem, make_problem
from arena.runner import run_comparison
from tests.conftest import bundled
from ui.session import Runs

load_methods()


class _OutOfMemory(Method):
    """x_{k+1} = x_k; on step 3 the device runs out of memory (an injected fault)."""

    name = "oom-injection"
    label = "OOM injection"
    reference = "test double"
    params = (iterations_param(10),)
    released: list[bool] = []

    def run(self, problem: Problem, *, iterations: int) -> Iterator[Step]:
        held = torch.zeros(1_000_000)  # what must be released
        try:
            x = problem.initial()
            for k in range(1, iterations + 1):
                if k == 3:
                    raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
                yield Step(k, x, {"loss": float(held[0])})
        finally:
            del held
            _OutOfMemory.released.append(True)


def test_out_of_memory_ends_one_method_clearly_and_releases_it(monkeypatch):
    # A new dict, restored afterwards: the registry re-sorts by replacing its dict, so an item set
    # into the old one would outlive the test (and show up in the support matrix).
    monkeypatch.setattr(METHODS, "_items", {**METHODS._items, _OutOfMemory.name: _OutOfMemory})
    problem, clean = make_problem(bundled("camera", 32), "denoise", {}, seed=0)[:2]
    events = list(run_comparison(problem, clean, [_OutOfMemory.name, "tv:iterations=20"], with_lpips=False))
    results = events[-1].results
    bad = results[_OutOfMemory.name]
    assert bad.status == "error" and "out of GPU memory" in bad.message and "--max-side" in bad.message
    assert bad.iterations == 2 and bad.x is not None, "what was reached is kept"
    assert _OutOfMemory.released == [True], "the method's finally ran: its memory is released"
    assert results["tv"].status == "done" and results["tv"].iterations == 20


def test_stop_is_per_session():
    runs = Runs()
    a, b = runs.start("alice"), runs.start("bob")
    assert runs.stop("alice") and a.is_set() and not b.is_set()
    runs.finish("alice", a)
    assert not runs.stop("alice"), "nothing left to stop for alice"
    assert runs.stop("bob") and b.is_set()


def test_stopping_one_session_leaves_the_other_running():
    import threading

    runs = Runs()
    problem, clean = make_problem(bundled("camera", 32), "denoise", {}, seed=0)[:2]
    flags = {s: runs.start(s) for s in ("alice", "bob")}
    results: dict[str, dict] = {}

    def session(name: str, iterations: int) -> None:
        stream = run_comparison(problem, clean, [f"tv:iterations={iterations}"], cancel=flags[name], with_lpips=False)
        results[name] = list(stream)[-1].results

    threads = [threading.Thread(target=session, args=("alice", 100_000)),
               threading.Thread(target=session, args=("bob", 3000))]
    for t in threads:
        t.start()
    threads[0].join(timeout=0.5)
    runs.stop("alice")
    for t in threads:
        t.join(timeout=60)
    assert results["alice"]["tv"].status == "cancelled"
    assert results["bob"]["tv"].status == "done" and results["bob"]["tv"].iterations == 3000
