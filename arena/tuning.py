"""Choosing a method's regularisation weight, and saying whether the clean image was looked at.

Three modes, the same in the CLI (``--tune``), the app, the API and ``config.json``:

- ``off`` — the method's problem-aware default (``Method.defaults``), no extra runs.
- ``auto`` — the **discrepancy principle** (Morozov 1966): choose λ so that the estimate fits the
  data as well as the noise allows, ‖A(x̂_λ) − y‖ = τ σ √m (m measurements, τ = :data:`TAU`).
  The misfit grows with λ, so this is a root of g(t) = log ‖A x̂_{e^t} − y‖ − log(τσ√m) in
  t = log λ: three trials around the default λ₀ run side by side, the root is interpolated, and
  the run the user sees is the fourth — about 3× one untuned run in wall time on two cores. It
  never reads the clean image (the tuner is not given it). It needs the noise to dominate what
  the operator loses (σ > σ_eq): for noiseless SR or inpainting the target is zero and for MRI
  the best estimate's misfit is twice the noise (measured), so there the default rule is kept
  and the record says so. Why not SURE: Monte-Carlo SURE
  (Ramani, Blu & Unser 2008) estimates the error in the *measurement* domain, which equals the
  image error only for denoising; for blur, SR or MRI it tunes the wrong quantity and needs two
  runs per trial. The discrepancy principle works for every degradation with a known σ.
- ``oracle`` — the best PSNR against the clean image over a log grid of λ (half-decade steps,
  two decades either side of λ₀), refined by golden-section search. This is how papers tune;
  the result is labelled "oracle (uses the clean image)" wherever it appears.

Two parameters that interact (RED's λ and its denoiser's σ_d: a larger λ wants a gentler
denoiser) are tuned **jointly** when the caller asks for it (``joint=``, see :func:`joint_param`):
``oracle`` searches the λ grid at each of :data:`JOINT_FACTORS` × the second parameter's default,
then refines λ by golden section at the best second value; the record's ``params`` holds both
chosen values, and the caller must run with both (:func:`chosen_params`). ``auto`` has one
equation (the discrepancy) for two unknowns, so it keeps the second parameter's default rule
and says so.

References: V. A. Morozov, "On the solution of functional equations by the method of
regularization", Soviet Math. Dokl. 7, 1966; P. C. Hansen, *Discrete Inverse Problems*, SIAM 2010
(ch. 5, parameter-choice methods); S. Ramani, T. Blu, M. Unser, "Monte-Carlo SURE", IEEE TIP 2008.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import torch

from arena.errors import ArenaError
from arena.method import Method
from arena.params import Param, Value, clip
from arena.problem import Problem

TAU = 0.92
"""Morozov's factor. Below 1 because a good estimate fits part of the noise:
E‖Ax̂ − y‖² ≈ σ²(m − df), df the degrees of freedom the estimate spends. Fitted on the three
training photos (``arena.data.photos``, 128² crops): the oracle λ of TV has ‖Ax̂ − y‖/(σ√m) =
0.914–0.920 for deblurring (σ = 2/255) and 0.80–0.83 for denoising (σ = 25/255). The value suits
deblurring, where the misfit curve is flat and a small error in τ moves λ by a decade; on
denoising the curve is steep and τ = 0.92 costs a little against the oracle (``benchmarks/RULES.md``)."""
ORACLE_DECADES = 2.0
ORACLE_GOLDEN_STEPS = 6
JOINT_FACTORS = (0.5, 0.7, 1.0, 1.4)
"""Multiples of the second parameter's default searched at every λ of the oracle's grid."""
LABELS = {"off": "default rule", "auto": "auto (discrepancy principle, no clean image)",
          "oracle": "oracle (uses the clean image)"}


class TuningCancelled(ArenaError):
    """The run was stopped while tuning."""


@dataclass
class Trial:
    """One candidate value and what was measured with it."""

    value: float
    misfit: float
    psnr: float | None = None
    others: dict[str, float] = field(default_factory=dict)
    """Values of the other jointly tuned parameters in this trial (empty when tuning one)."""
    x: torch.Tensor | None = field(default=None, repr=False, compare=False)
    """The trial's estimate, kept until the runner has measured it for the λ figure."""


@dataclass
class TuningRecord:
    """What the tuner did: mode, parameter, choice, why, and every trial (for the λ figure)."""

    mode: str
    param: str
    default: float
    chosen: float
    reason: str
    target: float | None = None
    trials: list[Trial] = field(default_factory=list)
    seconds: float = 0.0
    """Wall time spent on the trials (the final run is timed as every run is)."""
    params: dict[str, float] = field(default_factory=dict)
    """Every tuned parameter's chosen value, ``param`` included (jointly tuned ones besides it)."""

    @property
    def label(self) -> str:
        return LABELS[self.mode]

    def to_json(self) -> dict[str, Any]:
        trials = [{"value": t.value, "misfit": t.misfit, "psnr": t.psnr, **({"others": t.others} if t.others else {})}
                  for t in self.trials]
        return {"mode": self.mode, "param": self.param, "default": self.default, "chosen": self.chosen,
                "params": chosen_params(self),
                "reason": self.reason, "target": self.target, "tau": TAU, "seconds": self.seconds, "label": self.label,
                "trials": trials,
                "psnr_measured_after": self.mode == "auto" and any(t.psnr is not None for t in self.trials)}


def misfit(problem: Problem, x: torch.Tensor) -> float:
    """‖A(x) − y‖ over the actual measurements (0–1 scale)."""
    with torch.no_grad():
        return float(problem.residual(x).norm())


def discrepancy_target(problem: Problem) -> float:
    """τ σ √m: the misfit a perfect estimate would have, in expectation."""
    return TAU * problem.sigma * math.sqrt(problem.measurements)


Evaluate = Callable[..., torch.Tensor]
"""``evaluate(value, others=None)`` runs the method to its end with the tuned parameter set to
``value`` (and the jointly tuned ones to ``others``, a name → value mapping); returns the final x̂."""


def chosen_params(record: TuningRecord) -> dict[str, float]:
    """Every value the tuner chose: what the final run must use."""
    return {record.param: record.chosen, **{k: v for k, v in record.params.items() if k != record.param}}


def joint_param(method: Method | type[Method], param: Param, params: Mapping[str, Value]) -> tuple[Param, float] | None:
    """The second tunable parameter of ``method`` (declared ``tunable`` after ``param``) and its
    value in ``params``, when there is one with a positive value to scale; else None."""
    for p in method.params:
        if p.tunable and p.name != param.name:
            value = params.get(p.name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
                return p, float(value)
    return None


def evaluator(method: Method, problem: Problem, params: Mapping[str, Value], param: Param,
              cancel: threading.Event | None = None, seconds: float | None = None) -> Evaluate:
    """A function λ ↦ x̂_λ that runs ``method`` to completion (checking ``cancel`` every step and
    stopping at ``seconds``), on one torch thread so that trials can run side by side."""
    def run(value: float, others: Mapping[str, float] | None = None) -> torch.Tensor:
        torch.set_num_threads(1)  # per thread; trials run in parallel
        t0 = time.perf_counter()
        x = None
        gen = method.run(problem, **{**params, **(others or {}), param.name: value})
        try:
            for step in gen:
                x = step.x
                if cancel is not None and cancel.is_set():
                    raise TuningCancelled("stopped while tuning")
                if seconds is not None and time.perf_counter() - t0 >= seconds:
                    break
        finally:
            gen.close()
        if x is None:
            raise ArenaError(f"{method.name} yielded no estimate while tuning")
        return x.detach()

    return run


def tune_auto(problem: Problem, param: Param, default: float, evaluate: Evaluate,
              progress: Callable[[str], None] = lambda _: None, workers: int = 2, *,
              joint: tuple[Param, float] | None = None) -> TuningRecord:
    """The discrepancy principle: λ where ‖A x̂_λ − y‖ crosses τσ√m (see the module docstring).

    Three trials side by side (λ₀/√10, λ₀, √10·λ₀), one more decade outwards while the target is
    not bracketed (at most two), then the crossing of the piecewise-linear log-misfit curve. A
    ``joint`` parameter keeps its default (one equation cannot choose two values); the reason says so.
    """
    record = _tune_auto(problem, param, default, evaluate, progress, workers)
    if joint is not None:
        record.reason += f"; {joint[0].name} keeps its default rule ({joint[1]:.3g}): one equation, one unknown"
    return record


def _tune_auto(problem: Problem, param: Param, default: float, evaluate: Evaluate,
               progress: Callable[[str], None], workers: int) -> TuningRecord:
    if problem.sigma <= problem.degradation.equivalent_sigma():
        return TuningRecord("auto", param.name, default, default,
                            "the operator loses more than the noise does (σ ≤ σ_eq: missing data or "
                            "noiseless), so fitting the data to the noise level says little about λ; "
                            "the default rule is kept")
    target = discrepancy_target(problem)
    record = TuningRecord("auto", param.name, default, default, "", target)
    lo, hi = _bounds(param)
    done: dict[float, float] = {}

    def trial(t: float) -> None:
        x = evaluate(math.exp(t))
        r = misfit(problem, x)
        done[t] = math.log(max(r, 1e-30))
        record.trials.append(Trial(math.exp(t), r, x=x))
        progress(f"auto: {len(record.trials)} trials, {param.name}={math.exp(t):.3g} → misfit {r:.3g} "
                 f"(target {target:.3g})")

    half = 0.5 * math.log(10)
    c = min(max(math.log(default), lo), hi)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="arena-tune") as pool:
        list(pool.map(trial, sorted({min(max(c + k * half, lo), hi) for k in (-1, 0, 1)})))
    goal = math.log(target)
    for _ in range(2):
        ts = sorted(done)
        if done[ts[0]] > goal and ts[0] > lo:
            trial(max(ts[0] - 2 * half, lo))
        elif done[ts[-1]] < goal and ts[-1] < hi:
            trial(min(ts[-1] + 2 * half, hi))
        else:
            break
    ts = sorted(done)
    chosen = None
    for a, b in pairwise(ts):
        if (done[a] - goal) * (done[b] - goal) <= 0 and done[a] != done[b]:
            chosen = a + (goal - done[a]) * (b - a) / (done[b] - done[a])
            break
    if chosen is None:
        chosen = min(ts, key=lambda t: abs(done[t] - goal))
        record.reason = (f"no λ in [{math.exp(ts[0]):.3g}, {math.exp(ts[-1]):.3g}] fits the data to "
                         f"τσ√m = {target:.3g}; the closest trial is kept")
    else:
        record.reason = (f"λ where ‖A x̂ − y‖ crosses τσ√m = {target:.3g} (τ = {TAU:g}, "
                         f"σ = {problem.sigma * 255:.3g}/255, m = {problem.measurements}), "
                         f"interpolated between {len(record.trials)} trials")
    record.chosen = float(clip(param, math.exp(chosen)))
    return record


def tune_oracle(param: Param, default: float, evaluate: Evaluate, score: Callable[[torch.Tensor], float],
                problem: Problem, progress: Callable[[str], None] = lambda _: None,
                workers: int = 2, *, joint: tuple[Param, float] | None = None) -> TuningRecord:
    """Best ``score`` (PSNR against the clean image) over a log grid, then golden section.

    With ``joint = (second, its default)`` the grid is crossed with :data:`JOINT_FACTORS` × that
    default (clipped to its range) and the golden section runs at the best second value; the
    record's ``params`` holds both choices."""
    record = TuningRecord("oracle", param.name, default, default, "",
                          discrepancy_target(problem) if problem.sigma > 0 else None)
    lo, hi = _bounds(param)
    c = math.log(default)
    half = int(2 * ORACLE_DECADES)
    grid = sorted({min(max(c + k * 0.5 * math.log(10), lo), hi) for k in range(-half, half + 1)})
    second_values = [None] if joint is None else sorted({float(clip(joint[0], f * joint[1])) for f in JOINT_FACTORS})
    total = len(grid) * len(second_values) + ORACLE_GOLDEN_STEPS
    cache: dict[tuple[float, float | None], float] = {}
    lock = threading.Lock()

    def f(t: float, v: float | None) -> float:
        if (t, v) in cache:
            return cache[(t, v)]
        others = {} if v is None or joint is None else {joint[0].name: v}
        x = evaluate(math.exp(t), others) if others else evaluate(math.exp(t))
        s = score(x)
        with lock:
            record.trials.append(Trial(math.exp(t), misfit(problem, x), s, others=dict(others)))
            cache[(t, v)] = s
            extra = f", {joint[0].name}={v:.3g}" if others and joint is not None else ""
            progress(f"oracle: {len(record.trials)}/{total} trials, {param.name}={math.exp(t):.3g}{extra} → {s:.2f} dB")
        return s

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="arena-tune") as pool:
        list(pool.map(lambda tv: f(*tv), [(t, v) for v in second_values for t in grid]))
    i, v = max(((k, v) for k in range(len(grid)) for v in second_values), key=lambda kv: cache[(grid[kv[0]], kv[1])])
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    phi = (math.sqrt(5) - 1) / 2  # golden section: each step keeps one probe and adds one
    x1, x2 = b - phi * (b - a), a + phi * (b - a)
    s1, s2 = f(x1, v), f(x2, v)
    for _ in range(ORACLE_GOLDEN_STEPS - 2):
        if s1 >= s2:
            b, x2, s2 = x2, x1, s1
            x1 = b - phi * (b - a)
            s1 = f(x1, v)
        else:
            a, x1, s1 = x1, x2, s2
            x2 = a + phi * (b - a)
            s2 = f(x2, v)
    best = max(record.trials, key=lambda tr: tr.psnr if tr.psnr is not None else -math.inf)
    record.chosen = best.value
    record.params = {param.name: best.value, **best.others}
    edge = " (at the edge of the searched range)" if best.value in (math.exp(grid[0]), math.exp(grid[-1])) else ""
    jointly = (f", jointly with {joint[0].name} at {', '.join(f'{u:.3g}' for u in second_values)}"
               if joint is not None else "")
    record.reason = (f"best PSNR against the clean image over {len(record.trials)} trials "
                     f"(grid ±{ORACLE_DECADES:g} decades around the default in half decades{jointly}, "
                     f"then golden section){edge}")
    return record


def _bounds(p: Param) -> tuple[float, float]:
    lo = math.log(p.min) if p.min is not None and p.min > 0 else -math.inf
    hi = math.log(p.max) if p.max is not None else math.inf
    return lo, hi
