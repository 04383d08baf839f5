"""Early stopping without the clean image: ES-WMV, the windowed moving variance of the iterates.

Deep Image Prior and its relatives fit structure before noise, so their reconstruction quality
rises, peaks and falls (the net starts to reproduce the noise). The clean image, which would
tell where the peak is, is exactly what a method never has. Wang et al. observe that the
*running variance* of the iterates follows the error curve: while the net converges towards the
image the iterates settle (the variance falls), and once it starts to fit the noise they wander
again (the variance rises). So:

    VAR(t) = (1/W) Σ_{w=0}^{W−1} ‖x_{t−w} − x̄_t‖²_F,     x̄_t = (1/W) Σ_{w=0}^{W−1} x_{t−w}

over the last W iterates, t* = the step of the lowest VAR seen so far; stop when VAR has not
reached a new minimum for P (patience) steps, and return x_{t*}.

VAR is kept in O(N) per step from running sums — VAR(t) = (1/W) Σ‖x_{t−w}‖² − ‖x̄_t‖² — in float64
(the two terms are close; float32 would cancel away the digits that matter), with the W buffered
iterates needed to drop the oldest one (W·N floats: 20 MB for W = 100 at 128² RGB).

References
----------
Hengkang Wang, Taihui Li, Zhong Zhuang, Tiancong Chen, Hengyue Liang, Ju Sun, "Early Stopping for
Deep Image Prior", Transactions on Machine Learning Research, 2023 (arXiv:2112.06074),
Algorithm 1 (ES-WMV).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

import torch

from arena.method import Step
from arena.params import Param, Value

STOP_RULES = ("es-wmv", "none")
"""Values of the ``stop`` parameter of DIP and DeepRED."""
TIME_MARGIN = 0.02
"""Share of the time budget left free at the end for the runner's last measurement."""
PLAN_MARGIN = 0.04
"""Share of the time left that a re-plan keeps free (the end is guarded step by step anyway)."""


def stop_params(patience: int = 300) -> tuple[Param, ...]:
    """The ``stop``, ``window`` and ``patience`` parameters of a method that uses ES-WMV."""
    return (
        Param("stop", "es-wmv", "early stopping without the clean image: ES-WMV (running variance of the "
              "outputs) or none (run all iterations)", choices=STOP_RULES),
        Param("window", 100, "ES-WMV: outputs in the running variance (W)", min=2, max=1000),
        Param("patience", patience, "ES-WMV: steps without a new variance minimum before stopping (P)",
              min=1, max=100_000, log=True),
    )


class WindowedVariance:
    """ES-WMV: feed the iterates one by one with :meth:`update`; it says when to stop.

    Parameters
    ----------
    window : int
        W, how many of the latest iterates the variance is taken over (the paper uses 100).
    patience : int
        P, how many steps without a new variance minimum end the run.

    Attributes
    ----------
    step : int
        Iterates seen so far.
    variance : float or None
        VAR at the latest step (``None`` until W iterates were seen).
    best_step : int
        t*: the step of the lowest variance so far (0 before the window is full).
    best_variance : float
        VAR(t*).
    """

    def __init__(self, window: int = 100, patience: int = 200) -> None:
        if window < 2 or patience < 1:
            raise ValueError(f"ES-WMV needs window ≥ 2 and patience ≥ 1, got window={window}, patience={patience}")
        self.window, self.patience = int(window), int(patience)
        self._buffer: deque[torch.Tensor] = deque()
        self._sum: torch.Tensor | None = None
        self._sumsq = 0.0
        self.step = 0
        self.variance: float | None = None
        self.best_step = 0
        self.best_variance = float("inf")

    def update(self, x: torch.Tensor) -> bool:
        """Add iterate x_t; ``True`` when the rule says stop (no new minimum for ``patience`` steps).

        After a ``True`` (or at any time) :attr:`best_step` is t*. Returns ``False`` whenever the
        latest VAR is a new minimum — check :meth:`improved` to keep the iterate that goes with it.
        """
        x64 = x.detach().to(torch.float64)
        self.step += 1
        if self._sum is None:
            self._sum = torch.zeros_like(x64)
        self._buffer.append(x.detach().clone())
        self._sum += x64
        self._sumsq += float(x64.pow(2).sum())
        if len(self._buffer) > self.window:
            old = self._buffer.popleft().to(torch.float64)
            self._sum -= old
            self._sumsq -= float(old.pow(2).sum())
        if len(self._buffer) < self.window:
            return False
        mean = self._sum / self.window
        self.variance = max(self._sumsq / self.window - float(mean.pow(2).sum()), 0.0)
        if self.variance < self.best_variance:
            self.best_variance, self.best_step = self.variance, self.step
            return False
        return self.step - self.best_step >= self.patience

    @property
    def improved(self) -> bool:
        """The latest :meth:`update` set a new variance minimum (its iterate is the one to keep)."""
        return self.best_step == self.step and self.step > 0

    def describe(self, stop_step: int) -> str:
        """The sentence a method reports when the rule has fired at ``stop_step``."""
        return (f"stopped at step {stop_step} because the running variance of the last {self.window} outputs "
                f"stopped decreasing at step {self.best_step} (ES-WMV, Wang et al. 2023: no new minimum "
                f"for {stop_step - self.best_step} steps); the result is the output at step {self.best_step}")


def supervise(steps: Iterator[Step], *, iterations: int, stop: str, window: int, patience: int,
              seconds: float | None, started: float, ready: int = 0, notes: tuple[str, ...] = (),
              chosen: Mapping[str, Value] | None = None, seconds_per_step: float | None = None,
              cap: int | None = None, watch: str = "raw") -> Iterator[Step]:
    """Pass a fit's steps on until ``iterations``, the stop rule or the time budget ends it.

    Parameters
    ----------
    steps : iterator of Step
        The fit's iterates, ``it`` = 1, 2, …; ``step.images[watch]`` is what the rule watches.
    stop : {"es-wmv", "none"}
        ES-WMV (:class:`WindowedVariance`) or no rule.
    seconds, started
        The time budget (``None``: none) and the ``time.perf_counter()`` at which the method began.
        When the next step would end past the budget, the run ends now, so that the method's own
        last word (below) is what the runner keeps. The first ``ready`` steps were computed before
        (while timing) and always pass.
    notes, chosen
        Attached to the first step passed on (where the choice of net and iterations is known).
    seconds_per_step
        A first estimate of a step's time, refined from the steps seen.
    cap
        With a budget and ``chosen["iterations"]`` planned from a few timed steps: the most
        iterations allowed. Once a quarter of the budget has passed, the plan is redone once from
        the steps actually seen (timing a handful of steps is noisy, more so on busy cores), and a
        rise of more than 5 % is passed on as ``chosen["iterations"]`` with a note (a fall is left to
        the step-by-step guard: a slow spell may pass).

    When the rule fires at step k, the last step passed on carries its result: ``x`` and ``images``
    of the step at the variance minimum t* (its ``it`` stays k), the sentence why, and
    ``chosen["iterations"]`` = k. When the iterations or the budget end first, the rule has not
    decided (its minimum is recent, the iterates may still be improving: ``benchmarks/RULES.md``,
    ES-WMV), so the last output is kept and a note says where the minimum was. Without a rule
    the steps pass unchanged (bar the notes).
    """
    rule = WindowedVariance(window, patience) if stop == "es-wmv" else None
    best: Step | None = None
    timer = _StepTimer(seconds_per_step)
    replan = seconds is not None and cap is not None and chosen is not None and "iterations" in chosen
    for k, step in enumerate(steps):
        now = timer.tick()
        replanned: dict[str, Any] = {}
        if replan and timer.seen >= 20 and now - started >= 0.25 * seconds and timer.per_step:
            replan = False
            iterations, replanned = _replanned(step.it, iterations, cap, seconds - (now - started), timer.per_step)
        fired = False
        if rule is not None:
            fired = rule.update(step.images[watch])
            if rule.improved:
                best = step
        done = step.it >= iterations
        late = (seconds is not None and timer.per_step is not None and step.it >= ready
                and now - started + 1.5 * timer.per_step > seconds * (1 - TIME_MARGIN))
        first_word = {"notes": tuple(notes), "chosen": dict(chosen or {})} if k == 0 and (notes or chosen) else {}
        extra: dict[str, Any] = replanned or first_word
        said: list[str] = [*step.notes, *extra.get("notes", ())]
        if fired and best is not None:
            said.append(rule.describe(step.it) + ".")
            yield replace(step, x=best.x, images=best.images, maps=best.maps, notes=tuple(said),
                          chosen={**step.chosen, **extra.get("chosen", {}), "iterations": step.it})
            return
        asked = max(cap or 0, iterations)
        budget_ended = (late and not done) or (done and seconds is not None and iterations < asked)
        if late or done:
            said = _closing_notes(said, step.it, seconds, asked, budget_ended, rule)
        if said or late:
            extra = {"notes": tuple(said), "chosen": {**extra.get("chosen", {}),
                                                      **({"iterations": step.it} if late else {})},
                     "budget_ended": budget_ended}
        if "chosen" in extra:
            extra["chosen"] = {**step.chosen, **extra["chosen"]}
        yield replace(step, **extra) if extra else step
        if done or late:
            return
        timer.restart()


class _StepTimer:
    """A step's wall time, smoothed over the steps seen (those computed before, while timing,
    arrive at once and are not counted)."""

    def __init__(self, per_step: float | None) -> None:
        self.per_step = per_step
        self.seen = 0
        self.last = time.perf_counter()

    def tick(self) -> float:
        """The time now, counting the step that has just arrived."""
        now = time.perf_counter()
        if now - self.last > 1e-3:
            self.per_step = now - self.last if self.per_step is None else 0.9 * self.per_step + 0.1 * (now - self.last)
            self.seen += 1
        return now

    def restart(self) -> None:
        """The next step's time starts now (after the consumer has had this one)."""
        self.last = time.perf_counter()


def _replanned(it: int, iterations: int, cap: int, left: float, per_step: float) -> tuple[int, dict[str, Any]]:
    """The iterations that fit in the ``left`` seconds at ``per_step`` (at most ``cap``) and what to
    pass on — only a rise of more than 5 %: fewer, and the step-by-step guard ends the run in time."""
    n = min(cap, it + int(left * (1 - PLAN_MARGIN) / per_step))
    if n > 1.05 * iterations:
        return n, {"notes": (f"iterations re-planned to {n} after {it} steps "
                             f"({per_step:.3g} s a step, not as timed at first).",),
                   "chosen": {"iterations": n}}
    return iterations, {}


def _closing_notes(said: list[str], it: int, seconds: float | None, asked: int, budget_ended: bool,
                   rule: WindowedVariance | None) -> list[str]:
    """The notes of the last step passed on when the iterations or the budget end the run: why it
    ended there and, when ES-WMV had not decided, where its minimum was."""
    if budget_ended:
        said = [f"stopped by the {seconds:g} s budget at step {it} of the {asked} it would run.", *said]
    if rule is not None and rule.variance is not None:
        said = [*said, f"ES-WMV had not fired: the running variance of the last {rule.window} outputs was "
                       f"lowest at step {rule.best_step}, fewer than its patience of {rule.patience} steps "
                       f"before the end, so the last output is the result."]
    return said
