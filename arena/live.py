"""Fold a runner event stream into per-method live state, for interfaces that redraw periodically."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from arena.runner import Event, MethodResult

NOT_DIAGNOSTICS = {"step", "seconds", "loss", "psnr", "ssim", "lpips", "data_fit"}
"""History keys that are not a method's own numbers (those are plotted or in the table)."""


@dataclass
class LiveMethod:
    """What an interface shows for one method while it runs."""

    key: str
    name: str = ""
    """The method's registry name (the key without a ``#2`` suffix unless given)."""
    step: int = 0
    total: int = 0
    seconds: float = 0.0
    status: str = "waiting"
    message: str = ""
    x: torch.Tensor | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    budget: float | None = None
    """The run's time budget per method (seconds), which no ETA exceeds."""

    @property
    def eta(self) -> float | None:
        """Seconds left at the current pace (never past the time budget), or None before the first
        step or after the end."""
        if self.status != "running" or self.step <= 0 or self.total <= self.step:
            return None
        pace = self.seconds / self.step * (self.total - self.step)
        return pace if self.budget is None else max(0.0, min(pace, self.budget - self.seconds))

    @property
    def planned(self) -> int:
        """The steps the run reaches: ``total``, or fewer where the time budget ends it first at the
        current pace (a 60 s budget at 0.1 s a step plans 600 of 3000)."""
        if self.budget is None or self.step <= 0 or self.seconds <= 0:
            return self.total
        return min(self.total, max(self.step, int(self.budget * self.step / self.seconds)))

    def progress(self, message: bool = True) -> str:
        """``step/planned (of total) · elapsed · ETA`` (or the final status) and the method's own
        numbers in one line, then — with ``message`` — the result's message after a dash."""
        if self.status == "waiting":
            return "waiting"
        if self.status == "tuning":
            return f"tuning · {self.message}"
        planned = self.planned
        steps = f"{self.step}/{planned}" + (f" of {self.total} (the time budget)" if planned < self.total else "")
        text = f"{steps} · {self.seconds:.1f} s"
        if self.eta is not None:
            text += f" · ETA {self.eta:.1f} s"
        if self.status != "running":
            text += f" · {self.status}"
        text += "".join(f" · {k} {v:.3g}" for k, v in self.diagnostics()[:4])
        return text + (f" — {self.message}" if message and self.message and self.status != "running" else "")

    def diagnostics(self) -> list[tuple[str, float]]:
        """The method's own numbers at its latest step (σ_k and μ_k of PnP, LM's damping, DeepRED's
        ADMM gap, …): what the convergence plot, which shows only loss and PSNR, leaves out."""
        last = self.history[-1] if self.history else {}
        return [(k, float(v)) for k, v in last.items() if k not in NOT_DIAGNOSTICS and not k.startswith("psnr_")]


class Tracker:
    """Consumes :class:`~arena.runner.Event` s; ``methods`` holds the live state by key."""

    def __init__(self, keys: list[str], names: list[str] | None = None, budget: float | None = None) -> None:
        names = names or [k.partition("#")[0] for k in keys]
        self.methods: dict[str, LiveMethod] = {k: LiveMethod(k, n, budget=budget)
                                               for k, n in zip(keys, names, strict=True)}
        self.results: dict[str, MethodResult] | None = None
        self.changed: set[str] = set()

    def update(self, ev: Event) -> None:
        if ev.kind == "done":
            self.results = dict(ev.results or {})
            return
        m = self.methods.setdefault(ev.method, LiveMethod(ev.method, ev.method.partition("#")[0]))
        self.changed.add(ev.method)
        m.total = ev.total or m.total
        if ev.kind == "start":
            m.status = "running"
            return
        if ev.kind == "tune":
            m.status, m.message = "tuning", ev.message or ""
            return
        m.step, m.seconds = ev.step, ev.seconds
        if ev.x is not None:
            m.x = ev.x
        if ev.kind == "step":
            record = {"step": float(ev.step), "seconds": ev.seconds, **ev.diagnostics}
            if ev.metrics:
                record.update({k: v for k, v in ev.metrics.items() if v is not None})
                m.metrics = dict(ev.metrics)
            m.history.append(record)
        elif ev.kind == "end":
            m.status, m.message = ev.status or "done", ev.message or ""
            if m.status == "done":
                m.total = m.step  # closed forms and early convergence finish before `iterations`
            if ev.metrics:
                m.metrics = dict(ev.metrics)

    def take_changed(self) -> set[str]:
        """Keys updated since the last call (to redraw only those)."""
        changed, self.changed = self.changed, set()
        return changed

    @property
    def running(self) -> bool:
        return self.results is None
