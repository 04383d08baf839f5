"""Run several methods on one problem at once and stream what happens as events.

Each method runs in its own thread (on CUDA, on its own stream) or its own worker process
(:mod:`arena.workers`); events go through a queue or a pipe to the single consumer — the CLI, the
app or a test — that iterates :func:`run_comparison`.
Consuming the stream never changes the algorithms: the runner only observes the iterates.
"""

from __future__ import annotations

import math
import os
import queue
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from arena import metrics, tuning
from arena import workers as workers_module
from arena.errors import ArenaError, SpecError
from arena.method import ITERATIONS_MAX, METHODS, Method, Step, load_methods
from arena.params import Value, check_given, parse_spec
from arena.problem import Problem
from arena.settings import TUNE_MODES

METHOD_THREADS = int(os.environ.get("ARENA_METHOD_THREADS", "1"))
"""torch intra-op threads inside a light method's worker thread on the CPU. One is fastest here:
OpenMP parallel regions entered from a non-main Python thread cost more than they save for
element-wise work (TV on 256² in a worker thread, 2 cores: 4.2 ms/iteration with 2 threads, 0.7 ms
with 1; on 1024²: 29 ms with 2 threads vs 16 ms with 1), and it makes ``compute_seconds`` exact.
``heavy`` methods (conv nets) do gain from threads (DIP's net at 128²: 0.41 s/it with 1 thread,
0.28 s with 2), so they share the cores: cores // (heavy methods running at once)."""

WORKERS = ("threads", "processes")

STATUS_DONE = "done"
STATUS_BUDGET = "budget"
STATUS_CANCELLED = "cancelled"
STATUS_DIVERGED = "diverged"
STATUS_ERROR = "error"
STATUS_UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class MethodSpec:
    """A method name, its parameter values, and an optional display key (default: the name)."""

    name: str
    values: Mapping[str, Any] = field(default_factory=dict)
    key: str | None = None

    @classmethod
    def parse(cls, spec: str) -> MethodSpec:
        """From the CLI form ``name[:key=value,...]``."""
        name, values = parse_spec(spec)
        return cls(name, values)


@dataclass(frozen=True)
class Budget:
    """Caps applied to every method: iterations and wall-clock seconds (None: no cap)."""

    iterations: int | None = None
    seconds: float | None = None


@dataclass(frozen=True)
class Event:
    """Something that happened to one method.

    ``kind`` is ``start``, ``step`` (``x`` and ``metrics`` are set every ``metrics_every`` steps,
    else None), ``end`` (``status`` and ``message`` set) or ``done`` (all methods finished;
    ``results`` holds every :class:`MethodResult`).
    """

    kind: str
    method: str = ""
    step: int = 0
    total: int = 0
    seconds: float = 0.0
    compute_seconds: float = 0.0
    x: torch.Tensor | None = None
    diagnostics: Mapping[str, float] = field(default_factory=dict)
    metrics: Mapping[str, float | None] | None = None
    status: str | None = None
    message: str | None = None
    results: Mapping[str, MethodResult] | None = None


@dataclass
class MethodResult:
    """Everything known about one finished method.

    ``seconds`` is wall time (it includes waiting for the other methods when they run at once);
    ``compute_seconds`` is the method's own time: its thread's CPU time on the CPU (torch's
    intra-op helper threads are not counted, so run with ``sequential=True`` for runtime tables),
    or the sum of CUDA event timings of its steps on its stream.
    """

    key: str
    name: str
    label: str
    params: dict[str, Value]
    status: str = STATUS_DONE
    message: str = ""
    iterations: int = 0
    total: int = 0
    seconds: float = 0.0
    compute_seconds: float = 0.0
    x: torch.Tensor | None = None
    images: dict[str, torch.Tensor] = field(default_factory=dict)
    maps: dict[str, torch.Tensor] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tuning: dict[str, Any] | None = None


@dataclass(frozen=True)
class _Job:
    key: str
    method: Method
    params: dict[str, Value]
    """Schema defaults overlaid with what was given (static; adaptive rules not applied yet)."""
    given: dict[str, Value]
    """Only the values the user gave: what ``config.json`` stores, so rules re-apply on replay."""


def prepare(specs: Sequence[MethodSpec | str]) -> list[_Job]:
    """Resolve names and check every parameter now, before anything runs.

    Raises
    ------
    SpecError
        Unknown method or invalid parameter, with the valid names/keys in the message.
    """
    load_methods()
    jobs: list[_Job] = []
    seen: dict[str, int] = {}
    for spec in specs:
        spec = MethodSpec.parse(spec) if isinstance(spec, str) else spec
        cls = METHODS.get(spec.name)
        params = cls.resolve(spec.values)
        given = check_given(cls.params, spec.values, cls.name)
        key = spec.key or spec.name
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            key = f"{key}#{seen[key]}"
        jobs.append(_Job(key, cls(), params, given))
    if not jobs:
        raise SpecError(f"no method given; valid names: {', '.join(METHODS.names())}")
    return jobs


def run_comparison(
    problem: Problem,
    clean: torch.Tensor | None,
    specs: Sequence[MethodSpec | str],
    *,
    budget: Budget = Budget(),
    metrics_every: int = 10,
    sequential: bool = False,
    cancel: threading.Event | None = None,
    with_lpips: bool = True,
    tune: str = "off",
    workers: str = "threads",
) -> Iterator[Event]:
    """Run every method on ``problem`` and yield :class:`Event` s as they happen.

    Parameters
    ----------
    problem : Problem
        What the methods see.
    clean : Tensor or None
        The ground truth, used here for PSNR/SSIM every ``metrics_every`` steps and LPIPS at the end;
        None for a photo that came degraded: those metrics are then None, never invented.
    specs : sequence of MethodSpec or spec strings
    budget : Budget
        Iteration and wall-time caps per method.
    sequential : bool
        Run methods one after another ("fair timing") instead of all at once.
    cancel : threading.Event, optional
        Set it to stop every method at its next iteration; closing the generator does the same.
    with_lpips : bool
        Compute LPIPS for final results when its weights are available.
    tune : {"off", "auto", "oracle"}
        How methods with a tunable parameter choose it (:mod:`arena.tuning`): their default rule,
        the discrepancy principle (never sees ``clean``), or the best PSNR against ``clean``.
    workers : {"threads", "processes"}
        Where methods run: threads of this process (no start-up cost; what the CLI uses), or worker
        processes (:mod:`arena.workers`) that the caller's own Python work cannot slow down and
        whose crash ends that method only (what the app uses).

    Raises
    ------
    SpecError
        On the first ``next()``, for unknown methods or invalid parameters.
    """
    jobs = prepare(specs)
    if tune not in TUNE_MODES:
        raise SpecError(f"tune={tune!r} is not a mode; choose one of {', '.join(TUNE_MODES)}")
    if tune == "oracle" and clean is None:
        raise SpecError("oracle tuning needs the clean image, and this photo came degraded; use tune=auto")
    if workers not in WORKERS:
        raise SpecError(f"workers={workers!r}; choose one of {', '.join(WORKERS)}")
    cancel = cancel or threading.Event()
    results: dict[str, MethodResult] = {}
    clean = clean.to(problem.device) if clean is not None else None
    heavy = 1 if sequential else max(1, sum(j.method.heavy for j in jobs))
    # In worker processes LPIPS is computed here, once the results are back: each fresh worker would
    # otherwise load AlexNet again (a second and more at the end of every method, on a CPU).
    in_worker_lpips = with_lpips and workers == "threads"
    calls = [(job.key, _work, (job, problem, clean, budget, max(1, int(metrics_every)), in_worker_lpips, heavy, tune))
             for job in jobs]
    limit = 1 if sequential else len(jobs)
    if workers == "processes":
        by_key = {job.key: job for job in jobs}

        def died(key: str, reason: str) -> list[Event]:
            job = by_key[key]
            res = MethodResult(key, job.method.name, job.method.label, dict(job.params),
                               status=STATUS_ERROR, message=reason)
            results[key] = res
            return [Event("end", key, status=res.status, message=res.message)]

        yield from workers_module.run_in_processes(calls, limit, cancel, died, results)
        for res in results.values():
            if with_lpips and clean is not None and res.x is not None and res.metrics:
                res.metrics["lpips"] = metrics.lpips_distance(res.x, clean)
    else:
        yield from _run_in_threads(calls, limit, cancel, results)
    yield Event("done", results={job.key: results[job.key] for job in jobs})


def _run_in_threads(calls: list[tuple[str, Any, tuple[Any, ...]]], limit: int, cancel: threading.Event,
                    results: dict[str, MethodResult]) -> Iterator[Event]:
    """Each call in its own thread of this process, at most ``limit`` at once; events as they come."""
    events: queue.Queue[Event] = queue.Queue()
    threads = [threading.Thread(target=target, name=f"arena-{key}", daemon=True,
                                args=(*args, cancel, events, results)) for key, target, args in calls]
    pending, running = list(threads), []
    try:
        while pending or running or not events.empty():
            running = [t for t in running if t.is_alive()]
            while pending and len(running) < limit:
                running.append(pending.pop(0))
                running[-1].start()
            try:
                yield events.get(timeout=0.05)
            except queue.Empty:
                continue
    finally:
        cancel.set()
        for t in threads:
            if t.ident is not None:
                t.join(timeout=10.0)


def _work(job: _Job, problem: Problem, clean: torch.Tensor | None, budget: Budget, every: int,
          with_lpips: bool, heavy_jobs: int, tune: str, cancel: threading.Event, events: queue.Queue[Event],
          results: dict[str, MethodResult]) -> None:
    problem = replace(problem, seconds=budget.seconds)
    res = MethodResult(job.key, job.method.name, job.method.label, dict(job.params))
    total = 0
    try:  # anything that fails here ends this method only, with a readable line (never a traceback)
        job = replace(job, params=job.method.resolve(job.given, problem))
        total = int(job.params.get("iterations", 1))
        if budget.iterations is not None:
            total = min(total, budget.iterations)
        res.params, res.total = dict(job.params), total
        if cancel.is_set():
            res.status, res.message = STATUS_CANCELLED, "stopped before it started"
        else:
            if tune != "off" and job.method.tunable() is not None and job.method.supports(problem) is None:
                job = _tune(job, problem, clean, budget, tune, cancel, events, res)
            if res.status == STATUS_DONE:
                _solve(job, problem, clean, budget, every, cancel, events, res, heavy_jobs)
        _finish(problem, clean, res, with_lpips)
    except Exception as exc:
        res.status, res.message = STATUS_ERROR, f"{type(exc).__name__}: {exc}"
    results[job.key] = res
    events.put(Event("end", job.key, res.iterations, total, res.seconds, res.compute_seconds, res.x,
                     metrics=dict(res.metrics), status=res.status, message=res.message))


def _tune(job: _Job, problem: Problem, clean: torch.Tensor | None, budget: Budget, mode: str,
          cancel: threading.Event, events: queue.Queue[Event], res: MethodResult) -> _Job:
    """Choose the job's tunable parameter (:mod:`arena.tuning`); only ``oracle`` is handed the
    clean image, through its score function."""
    param = job.method.tunable()
    assert param is not None
    default = float(job.params[param.name])
    params = {**job.params}
    if budget.iterations is not None and "iterations" in params:
        params["iterations"] = min(int(params["iterations"]), budget.iterations)
    evaluate = tuning.evaluator(job.method, problem, params, param, cancel, budget.seconds)
    joint = tuning.joint_param(job.method, param, params)  # a second tunable parameter (RED's σ_d)

    def progress(text: str) -> None:
        events.put(Event("tune", job.key, 0, res.total, message=text))

    t0 = time.perf_counter()
    try:
        if mode == "auto":
            record = tuning.tune_auto(problem, param, default, evaluate, progress, joint=joint)
        else:
            assert clean is not None  # run_comparison refuses oracle without it
            record = tuning.tune_oracle(param, default, evaluate, lambda x: metrics.psnr(x, clean), problem, progress,
                                        joint=joint)
    except tuning.TuningCancelled:
        res.status, res.message = STATUS_CANCELLED, "stopped while tuning"
        return job
    except Exception as exc:  # a trial that fails ends this method only, with a readable line
        res.status, res.message = STATUS_ERROR, f"tuning failed: {type(exc).__name__}: {exc}"
        return job
    record.seconds = time.perf_counter() - t0
    if mode == "auto":  # for the λ figure only, after the choice is made: observation, never input
        for trial in record.trials:
            trial.psnr = metrics.psnr(trial.x, clean) if trial.x is not None and clean is not None else None
    for trial in record.trials:
        trial.x = None
    res.tuning = record.to_json()
    chosen = tuning.chosen_params(record)
    res.params.update(chosen)
    return replace(job, params={**job.params, **chosen})


def _solve(job: _Job, problem: Problem, clean: torch.Tensor | None, budget: Budget, every: int,
           cancel: threading.Event, events: queue.Queue[Event], res: MethodResult, heavy_jobs: int) -> None:
    why_not = job.method.supports(problem)
    if why_not:
        res.status, res.message = STATUS_UNSUPPORTED, why_not
        return
    caveat = job.method.caveat(problem)
    cuda = problem.device.type == "cuda"
    stream = torch.cuda.Stream(device=problem.device) if cuda else None
    if not cuda:  # per calling thread (OpenMP ICV)
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // heavy_jobs if job.method.heavy else METHOD_THREADS))
    events.put(Event("start", job.key, 0, res.total))
    clock = _Clock(stream)
    gen = None
    try:
        with torch.cuda.stream(stream) if cuda else nullcontext():
            gen = job.method.run(problem, **job.params)
            while True:
                if cancel.is_set():
                    res.status, res.message = STATUS_CANCELLED, f"stopped at iteration {res.iterations}"
                    break
                step = clock.next(gen)
                if step is None:
                    break
                x = step.x.detach()
                diag = {k: float(v) for k, v in step.diagnostics.items()}
                if not _finite(x, diag):
                    res.status = STATUS_DIVERGED
                    res.message = (f"diverged at iteration {step.it}: the estimate became NaN/Inf "
                                   "(try a smaller step or learning rate); the last finite iterate is kept")
                    break
                _keep(res, step, x, budget)
                res.seconds, res.compute_seconds = clock.seconds(), clock.compute_seconds()
                due = step.it == 1 or step.it % measure_every(every, res.total) == 0 or step.it >= res.total
                measured = _measure(problem, clean, x, step) if due else None
                res.history.append({**diag, "step": step.it, "seconds": res.seconds,
                                    "compute_seconds": res.compute_seconds,
                                    **{k: v for k, v in (measured or {}).items() if v is not None}})
                events.put(Event("step", job.key, step.it, res.total, res.seconds, res.compute_seconds,
                                 x if measured else None, diag, measured))
                if _budget_reached(job, budget, res, step.it):
                    break
    except ArenaError as exc:
        res.status, res.message = STATUS_ERROR, str(exc)
    except torch.cuda.OutOfMemoryError:
        res.status, res.message = STATUS_ERROR, "out of GPU memory: use a smaller image (--max-side) or fewer methods"
    except Exception as exc:  # a plugin bug must end this method only, with a readable line
        res.status, res.message = STATUS_ERROR, f"{type(exc).__name__}: {exc}"
    finally:
        if gen is not None:
            gen.close()
        _settle(res, clock, caveat)


class _Clock:
    """A method's wall time and its own compute time: the calling thread's CPU time on the CPU,
    CUDA events around each step on its ``stream`` otherwise."""

    def __init__(self, stream: torch.cuda.Stream | None) -> None:
        self.stream = stream
        self.t0, self.c0 = time.perf_counter(), time.thread_time()
        self.gpu_ms = 0.0

    def next(self, gen: Iterator[Step]) -> Step | None:
        """The method's next step (None at its end), timed on the GPU when there is one."""
        if self.stream is not None:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record(self.stream)
        try:
            step = next(gen)
        except StopIteration:
            return None
        if self.stream is not None:
            end.record(self.stream)
            end.synchronize()
            self.gpu_ms += start.elapsed_time(end)
        return step

    def seconds(self) -> float:
        return time.perf_counter() - self.t0

    def compute_seconds(self) -> float:
        return self.gpu_ms / 1e3 if self.stream is not None else time.thread_time() - self.c0


def _settle(res: MethodResult, clock: _Clock, caveat: str | None) -> None:
    """Final times; the message: the method's notes, then why it ended (or, when it ended well, its caveat)."""
    res.seconds, res.compute_seconds = clock.seconds(), clock.compute_seconds()
    if caveat and res.status == STATUS_DONE and not res.message:
        res.message = caveat
    res.message = " ".join(filter(None, [*res.notes, res.message]))


def _finite(x: torch.Tensor, diagnostics: Mapping[str, float]) -> bool:
    """Whether the iterate and every diagnostic number are finite (no NaN/Inf)."""
    return bool(torch.isfinite(x).all()) and all(math.isfinite(v) for v in diagnostics.values())


def _keep(res: MethodResult, step: Step, x: torch.Tensor, budget: Budget) -> None:
    """The result becomes this (finite) step: its iterate and images, the settings it chose, its notes."""
    res.iterations, res.x, res.images = step.it, x, {k: v.detach() for k, v in step.images.items()}
    res.maps = {k: v.detach() for k, v in step.maps.items()}
    res.params.update(step.chosen)
    if "iterations" in step.chosen:
        res.total = min(int(step.chosen["iterations"]), budget.iterations or ITERATIONS_MAX)
    res.notes += [n for n in step.notes if n not in res.notes]
    if step.budget_ended:
        res.status = STATUS_BUDGET


def _measure(problem: Problem, clean: torch.Tensor | None, x: torch.Tensor, step: Step) -> dict[str, float | None]:
    """PSNR and SSIM of the iterate (and PSNR of the step's other outputs) against the clean image,
    or, without one, the data-fit."""
    if clean is None:
        return {"psnr": None, "ssim": None, "data_fit": metrics.data_fit(problem, x)}
    measured: dict[str, float | None] = {"psnr": metrics.psnr(x, clean), "ssim": metrics.ssim(x, clean)}
    for name, extra in step.images.items():
        if extra.shape == x.shape:
            measured[f"psnr_{name}"] = metrics.psnr(extra.detach(), clean)
    return measured


def _budget_reached(job: _Job, budget: Budget, res: MethodResult, it: int) -> bool:
    """Whether the iteration or time budget ends the run at step ``it``; when it cuts the run short,
    the status and message say so."""
    if budget.iterations is not None and it >= budget.iterations:
        if it < int(job.params.get("iterations", it)):
            res.status, res.message = STATUS_BUDGET, f"iteration budget of {budget.iterations} reached"
        return True
    if budget.seconds is not None and res.seconds >= budget.seconds and it < res.total:
        res.status = STATUS_BUDGET
        res.message = f"stopped by the {budget.seconds:g} s budget at step {it} of {res.total}"
        return True
    return False


MIN_POINTS = 8
"""A curve gets at least this many measured points: a method planned for 8 or 30 steps is measured
more often than every ``metrics_every`` steps, so its curve (and a schedule it follows) can be seen."""


def measure_every(every: int, total: int) -> int:
    """Steps between measurements: ``every``, or fewer for a run too short to give ``MIN_POINTS``."""
    return max(1, min(every, total // MIN_POINTS))


def _finish(problem: Problem, clean: torch.Tensor | None, res: MethodResult, with_lpips: bool) -> None:
    if res.x is None:
        return
    x = res.x
    m: dict[str, Any] = {
        "psnr": metrics.psnr(x, clean) if clean is not None else None,
        "ssim": metrics.ssim(x, clean) if clean is not None else None,
        "lpips": metrics.lpips_distance(x, clean) if with_lpips and clean is not None else None,
        "data_fit": metrics.data_fit(problem, x),
        "noise_level": metrics.noise_level(problem),
    }
    res.metrics = m
    if res.history and "psnr" not in res.history[-1] and m["psnr"] is not None:
        res.history[-1].update({"psnr": m["psnr"], **({"ssim": m["ssim"]} if m["ssim"] is not None else {})})

