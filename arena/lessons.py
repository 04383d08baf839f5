"""A preset's lesson as claims, checked on a finished run.

A lecture preset says what the audience should see ("the raw output peaks, then falls as the net
fits the noise"). Beside that prose it lists *claims*, each a small JSON object that this module
evaluates on the run's own results — final metrics, the metric histories, the wall time — and
answers with a :class:`Verdict`: held or not, and one sentence with the measured numbers. The
benchmark (``benchmarks.bench_presets``), the tests and the app's lesson line all call
:func:`check`, so what the page promises is what the tests hold it to.

Claim kinds (``method`` and the names inside ``curve`` are method keys of the preset;
``"degraded"`` stands for the degraded input where a final metric is compared):

``order``
    ``{"metric": "psnr", "better": "dip", "worse": ["tv", "degraded"], "margin": 0.0}`` — the
    final metric of ``better`` beats each of ``worse`` by at least ``margin`` (higher is better for
    PSNR and SSIM, lower for LPIPS and seconds).
``peak_then_fall``
    ``{"curve": "dip.psnr_raw", "min_fall": 1.0, "min_rise": 0.0}`` — the curve reaches its
    maximum before its last point, having risen at least ``min_rise`` from its first point, and
    later drops at least ``min_fall`` below that maximum (semi-convergence, overfitting). The drop
    is measured to the lowest later point: a rule that stops early (ES-WMV) hands back the output
    at its chosen step as the last one.
``keeps_peak``
    ``{"method": "dip", "curves": ["psnr", "psnr_raw"], "within": 0.3}`` — the method's result is
    within ``within`` of the best value any of those curves reached during the run. With
    ``"at_fall": f`` (one curve): at the first step where that curve has fallen by f below its
    peak, the method's result curve is within ``within`` of that peak or above it — DIP's averaged
    output holding the peak while the raw output fits the noise.
``plateau``
    ``{"curve": "tv.psnr", "last": 0.5, "max_change": 0.1}`` — over the last ``last`` share of the
    run the curve moves by at most ``max_change``.
``close``
    ``{"metric": "psnr", "a": "gauss_newton", "b": "tv", "within": 0.2}`` — two results agree.
``fewer_steps``
    ``{"better": "gauss_newton", "worse": "tv"}`` — ``better`` needed fewer iterations.
``data_fit``
    ``{"method": "tv", "ratio": [0.8, 1.25]}`` — the method's data-fit ‖A(x̂) − y‖ (RMS) over the
    noise level lies in the range: it fits the data as closely as the noise allows, no closer; or
    ``{"method": "pgd", "max": 0.01}`` — the data-fit (0–255 scale) is at most that (exact data).
``time``
    ``{"max_seconds": 60}`` — the whole run (slowest method) ended within that many seconds of
    wall time. Preset times are stated for a 2-core CPU; a slower machine fails honestly.

A claim whose methods did not run, or that needs the clean image when there is none, is
*unchecked* (``held is None``) with a sentence saying why — never counted as held. So is a claim
marked ``"full": true`` when a method it names was stopped by the time budget: the paper presets'
lessons need the paper's iterations, which a CPU does not reach in their budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from arena.errors import SpecError


class Result(Protocol):
    """What a claim reads from one method's result (:class:`arena.runner.MethodResult`)."""

    label: str
    status: str
    iterations: int
    seconds: float
    metrics: Mapping[str, Any]
    history: Sequence[Mapping[str, float]]


@dataclass(frozen=True)
class Verdict:
    """One claim checked: ``held`` is True, False, or None (could not be checked here)."""

    claim: Mapping[str, Any]
    held: bool | None
    text: str

    @property
    def mark(self) -> str:
        return {True: "✓", False: "✗", None: "–"}[self.held]

    def to_json(self) -> dict[str, Any]:
        return {"claim": dict(self.claim), "held": self.held, "text": self.text}


class Unchecked(Exception):
    """A claim that cannot be evaluated on this run (a method absent, no clean image)."""


@dataclass(frozen=True)
class Run:
    """A finished run as the claims see it."""

    results: Mapping[str, Result]
    degraded: Mapping[str, Any]
    seconds: float

    def result(self, key: str) -> Result:
        if key not in self.results:
            raise Unchecked(f"{key} is not in this run")
        return self.results[key]

    def final(self, key: str, metric: str) -> float:
        if key == "degraded":
            value = self.degraded.get(metric)
        elif metric in ("seconds", "iterations"):
            value = getattr(self.result(key), metric)
        else:
            value = self.result(key).metrics.get(metric)
        if value is None or not math.isfinite(float(value)):
            raise Unchecked(f"{key} has no {METRICS.get(metric, (metric,))[0]} (no clean image, or it did not finish)")
        return float(value)

    def curve(self, spec: str) -> list[tuple[float, float]]:
        key, _, name = spec.partition(".")
        pts = [(h["step"], h[name]) for h in self.result(key).history if name in h and math.isfinite(h[name])]
        if len(pts) < 3:
            raise Unchecked(f"{spec} has {len(pts)} measured points, too few for a curve")
        return pts

    def name(self, key: str) -> str:
        return "the degraded input" if key == "degraded" else key


METRICS: dict[str, tuple[str, str, int]] = {
    "psnr": ("PSNR", "dB", +1), "ssim": ("SSIM", "", +1), "lpips": ("LPIPS", "", -1),
    "seconds": ("time", "s", -1), "data_fit": ("data-fit", "", -1), "iterations": ("iterations", "", -1),
}
"""metric → (name, unit, +1 when higher is better / −1 when lower is: a smaller data-fit explains y better)."""


def _fmt(metric: str, v: float) -> str:
    unit = METRICS[metric][1]
    digits = 3 if metric in ("ssim", "lpips") else 0 if metric == "iterations" else 2 if unit == "dB" else 1
    return f"{v:.{digits}f}" + (f" {unit}" if unit else "")


def _curve_label(spec: str) -> str:
    key, _, name = spec.partition(".")
    what = name.replace("psnr_", "").replace("psnr", "result")
    return f"{key}'s {what} output" if name != "psnr" else f"{key}'s PSNR"


def _order(c: Mapping[str, Any], run: Run) -> tuple[bool, str]:
    metric, better, margin = c["metric"], c["better"], float(c.get("margin", 0.0))
    worse = [c["worse"]] if isinstance(c["worse"], str) else list(c["worse"])
    name, _, sign = METRICS[metric]
    b = run.final(better, metric)
    ws = [run.final(w, metric) for w in worse]
    held = all(sign * (b - w) >= margin for w in ws)
    lower = " (lower is better)" if sign < 0 else ""
    others = ", ".join(f"{_fmt(metric, w_v)} ({run.name(w)})" for w, w_v in zip(worse, ws, strict=True))
    if margin < 0:  # "no worse than": the other method gains less than |margin|
        return held, (f"{run.name(better)} ends within {_fmt(metric, -margin)} of {' and '.join(map(run.name, worse))} "
                      f"or above in {name}{lower}: {_fmt(metric, b)} against {others}")
    gap = f" by ≥ {_fmt(metric, margin)}" if margin else ""
    return held, (f"{run.name(better)} beats {' and '.join(map(run.name, worse))} in {name}{lower}{gap}: "
                  f"{_fmt(metric, b)} against {others}")


def _peak_then_fall(c: Mapping[str, Any], run: Run) -> tuple[bool, str]:
    pts = run.curve(c["curve"])
    min_fall, min_rise = float(c.get("min_fall", 0.0)), float(c.get("min_rise", 0.0))
    i = max(range(len(pts)), key=lambda j: pts[j][1])
    (s_peak, peak), first = pts[i], pts[0][1]
    s_low, low = min(pts[i + 1:], key=lambda p: p[1]) if i + 1 < len(pts) else pts[i]
    fall, rise = peak - low, peak - first
    held = s_low > s_peak and fall >= min_fall and rise >= min_rise
    rose = f"rose {rise:.2f} dB to " if min_rise else "peaked at "
    return held, (f"{_curve_label(c['curve'])} {rose}{peak:.2f} dB at step {s_peak:g} and fell {fall:.2f} dB by step "
                  f"{s_low:g} (the claim: a fall of ≥ {min_fall:g} dB"
                  f"{f', a rise of ≥ {min_rise:g} dB' if min_rise else ''})")


def _keeps_peak(c: Mapping[str, Any], run: Run) -> tuple[bool, str]:
    key, within = c["method"], float(c["within"])
    if "at_fall" in c:
        return _keeps_peak_at_fall(c, run)
    result = run.final(key, "psnr")
    best = max((max(run.curve(f"{key}.{name}"), key=lambda p: p[1]) + (name,) for name in c["curves"]),
               key=lambda p: p[1])
    held = result >= best[1] - within
    return held, (f"{key}'s result {result:.2f} dB is {best[1] - result:.2f} dB below the best PSNR it reached "
                  f"({best[1]:.2f} dB, {_curve_label(f'{key}.{best[2]}')} at step {best[0]:g}; "
                  f"the claim: ≤ {within:g} dB)")


def _keeps_peak_at_fall(c: Mapping[str, Any], run: Run) -> tuple[bool, str]:
    """At the first step where the (single) curve has fallen ``at_fall`` below its peak so far, the
    method's result curve (``psnr``) is within ``within`` of that peak, or above it."""
    key, within, drop = c["method"], float(c["within"]), float(c["at_fall"])
    (name,) = c["curves"]
    watched, result = run.curve(f"{key}.{name}"), dict(run.curve(f"{key}.psnr"))
    peak = (0.0, -math.inf)
    for step, value in watched:
        peak = max(peak, (step, value), key=lambda p: p[1])
        if value <= peak[1] - drop and step in result:
            gap = peak[1] - result[step]
            return gap <= within, (f"when {_curve_label(f'{key}.{name}')} had fallen {peak[1] - value:.2f} dB from its "
                                   f"peak ({peak[1]:.2f} dB at step {peak[0]:g}) by step {step:g}, {key}'s result was "
                                   f"{result[step]:.2f} dB ({-gap:+.2f} dB against that peak; "
                                   f"the claim: ≥ −{within:g})")
    raise Unchecked(f"{_curve_label(f'{key}.{name}')} never fell {drop:g} dB below its peak")


def _plateau(c: Mapping[str, Any], run: Run) -> tuple[bool, str]:
    pts = run.curve(c["curve"])
    start = pts[-1][0] * (1 - float(c.get("last", 0.5)))
    tail = [v for s, v in pts if s >= start]
    change = max(tail) - min(tail)
    held = change <= float(c["max_change"])
    return held, (f"{_curve_label(c['curve'])} moved {change:.2f} dB over the last {len(tail)} measurements "
                  f"(steps {start:g}–{pts[-1][0]:g}; the claim: ≤ {c['max_change']:g} dB)")


def _close(c: Mapping[str, Any], run: Run) -> tuple[bool, str]:
    metric, a, b, within = c["metric"], c["a"], c["b"], float(c["within"])
    va, vb = run.final(a, metric), run.final(b, metric)
    return abs(va - vb) <= within, (f"{a} and {b} end within {_fmt(metric, abs(va - vb))} of each other in "
                                    f"{METRICS[metric][0]}: {_fmt(metric, va)} and {_fmt(metric, vb)} "
                                    f"(the claim: ≤ {_fmt(metric, within)})")


def _fewer_steps(c: Mapping[str, Any], run: Run) -> tuple[bool, str]:
    a, b = run.result(c["better"]), run.result(c["worse"])
    return a.iterations < b.iterations, f"{c['better']} took {a.iterations} steps, {c['worse']} {b.iterations}"


def _data_fit(c: Mapping[str, Any], run: Run) -> tuple[bool, str]:
    key = c["method"]
    fit = run.final(key, "data_fit")
    if "max" in c:
        return fit <= float(c["max"]), f"{key}'s data-fit is {fit:.3g} (the claim: ≤ {c['max']:g} on the 0–255 scale)"
    lo, hi = map(float, c["ratio"])
    noise = run.final(key, "noise_level")
    if noise <= 0:
        raise Unchecked("the problem is noiseless, so the data-fit has no noise level to compare with")
    ratio = fit / noise
    return lo <= ratio <= hi, (f"{key}'s data-fit is {fit:.2f} against a noise level of {noise:.2f} "
                               f"(ratio {ratio:.2f}; the claim: {lo:g}–{hi:g})")


def _time(c: Mapping[str, Any], run: Run) -> tuple[bool, str]:
    limit = float(c["max_seconds"])
    return run.seconds <= limit, f"the run took {run.seconds:.1f} s (the claim: ≤ {limit:g} s on a 2-core CPU)"


KINDS: dict[str, tuple[Callable[[Mapping[str, Any], Run], tuple[bool, str]], tuple[str, ...]]] = {
    "order": (_order, ("metric", "better", "worse")),
    "peak_then_fall": (_peak_then_fall, ("curve",)),
    "keeps_peak": (_keeps_peak, ("method", "curves", "within")),
    "plateau": (_plateau, ("curve", "max_change")),
    "close": (_close, ("metric", "a", "b", "within")),
    "fewer_steps": (_fewer_steps, ("better", "worse")),
    "data_fit": (_data_fit, ("method",)),
    "time": (_time, ("max_seconds",)),
}
"""kind → (evaluator, required keys)."""


def validate(claims: Sequence[Mapping[str, Any]], methods: Sequence[str]) -> None:
    """Raise :class:`SpecError` for a claim of unknown kind, missing keys, or naming a method the
    preset does not run (a typo would otherwise leave the claim unchecked forever)."""
    for c in claims:
        kind = c.get("kind")
        if kind not in KINDS:
            raise SpecError(f"claim kind {kind!r} unknown; valid: {', '.join(KINDS)}")
        missing = [k for k in KINDS[kind][1] if k not in c]
        if missing:
            raise SpecError(f"{kind} claim lacks {', '.join(missing)}")
        if "metric" in c and c["metric"] not in METRICS:
            raise SpecError(f"claim metric {c['metric']!r} unknown; valid: {', '.join(METRICS)}")
        unknown = [n for n in named(c) if n not in methods and n != "degraded"]
        if unknown:
            raise SpecError(f"{kind} claim names {unknown[0]!r}, which the preset does not run")


def named(c: Mapping[str, Any]) -> list[str]:
    """The method keys a claim names (``"degraded"`` included)."""
    keys = [c[k] for k in ("better", "a", "b", "method") if k in c]
    keys += c["worse"] if isinstance(c.get("worse"), list) else [c["worse"]] if "worse" in c else []
    return keys + ([c["curve"].partition(".")[0]] if "curve" in c else [])


def _cut_short(c: Mapping[str, Any], run: Run) -> None:
    """For a ``full`` claim: raise :class:`Unchecked` when a method it names was cut by the budget."""
    for key in named(c):
        r = run.results.get(key)
        if r is not None and r.status == "budget":
            raise Unchecked(f"{key} was stopped by the time budget at step {r.iterations}, short of the "
                            "setting the lesson describes (a GPU, or a longer budget, runs it)")


def check(claims: Sequence[Mapping[str, Any]], results: Mapping[str, Result], *,
          degraded: Mapping[str, Any], seconds: float) -> list[Verdict]:
    """Every claim evaluated on a finished run (``seconds``: its wall time, slowest method)."""
    run = Run(results, degraded, seconds)
    out = []
    for c in claims:
        evaluate, _ = KINDS[c["kind"]]
        try:
            if c.get("full"):
                _cut_short(c, run)
            held, text = evaluate(c, run)
        except Unchecked as why:
            out.append(Verdict(c, None, f"not checked: {why}"))
            continue
        out.append(Verdict(c, bool(held), text))
    return out


def promise(c: Mapping[str, Any]) -> str:
    """What a claim asks the run to show, in words, before any run (the preset's checklist)."""
    kind = c["kind"]
    if kind == "order":
        name, _, sign = METRICS[c["metric"]]
        worse = [c["worse"]] if isinstance(c["worse"], str) else c["worse"]
        margin = float(c.get("margin", 0.0))
        others = ", ".join(w if w != "degraded" else "the degraded input" for w in worse)
        if margin < 0:
            return f"{others} gains less than {_fmt(c['metric'], -margin)} over {c['better']} in {name}"
        gap = f" by at least {_fmt(c['metric'], margin)}" if margin else ""
        return f"{c['better']} ends with a {'higher' if sign > 0 else 'lower'} {name} than {others}{gap}"
    if kind == "peak_then_fall":
        rise = f"rises by at least {c['min_rise']:g} dB, " if c.get("min_rise") else ""
        return f"{_curve_label(c['curve'])} {rise}peaks, then falls by at least {c.get('min_fall', 0):g} dB"
    if kind == "keeps_peak" and "at_fall" in c:
        return (f"when {_curve_label(c['method'] + '.' + c['curves'][0])} has fallen {c['at_fall']:g} dB from its "
                f"peak, {c['method']}'s result is still within {c['within']:g} dB of that peak")
    if kind == "keeps_peak":
        return (f"{c['method']}'s result stays within {c['within']:g} dB of the best PSNR its "
                f"{' or '.join(n.replace('psnr_', '').replace('psnr', 'result') for n in c['curves'])} output reached")
    if kind == "plateau":
        return f"{_curve_label(c['curve'])} levels off (moves ≤ {c['max_change']:g} dB over the last part of the run)"
    if kind == "close":
        return (f"{c['a']} and {c['b']} end within {_fmt(c['metric'], float(c['within']))} of each other in "
                f"{METRICS[c['metric']][0]}")
    if kind == "fewer_steps":
        return f"{c['better']} needs fewer steps than {c['worse']}"
    if kind == "data_fit" and "max" in c:
        return f"{c['method']} reproduces the data exactly (data-fit ≤ {c['max']:g} on the 0–255 scale)"
    if kind == "data_fit":
        return (f"{c['method']} fits the data about as closely as the noise allows (data-fit ÷ noise level in "
                f"{c['ratio'][0]:g}–{c['ratio'][1]:g})")
    return f"the run ends within {c['max_seconds']:g} s on a 2-core CPU"


def summary(verdicts: Sequence[Verdict]) -> str:
    """"3 of 4 claims held" (unchecked ones said apart)."""
    held = sum(v.held is True for v in verdicts)
    checked = sum(v.held is not None for v in verdicts)
    rest = len(verdicts) - checked
    return f"{held} of {checked} claims held" + (f", {rest} not checked" if rest else "")
