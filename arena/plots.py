"""Convergence plots: PSNR and loss against iteration and against wall time, all methods overlaid."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any, Protocol

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


class HasHistory(Protocol):
    history: list[dict[str, float]]


def display_key(key: str, res: object) -> str:
    """The method key as tables and plots show it: tuned results say how (``tv [oracle]``)."""
    tuning = getattr(res, "tuning", None)
    return f"{key} [{tuning['mode']}]" if tuning else key


LABELS = {"psnr": "PSNR (dB)", "data_fit": "data-fit ‖A(x̂) − y‖ (RMS, 0–255)",
          "loss": "objective ÷ its first value (log)", "schedule": "schedule (log)",
          "step": "iteration", "seconds": "wall time (s)"}
FEW_POINTS = 30
"""Curves with at most this many points get a marker at each, so an 8-step method is not a stub."""
LOG_STEPS = 10
"""When the longest run has this many times the steps of the shortest, iterations are on a log axis."""
EXTRA_STYLES = ("--", "-.", ":")
"""Line styles of a method's other outputs (DIP's raw output dashed), its result solid."""


def _colors(i: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """A method's colour and a lighter one of the same hue for its other outputs (tab20's pairs)."""
    from matplotlib import colormaps

    pairs = colormaps["tab20"]
    return pairs(2 * (i % 10)), pairs(2 * (i % 10) + 1)


def schedule_of(key: str, res: object) -> tuple[str, ...]:
    """The diagnostics a method declares as its schedule (σ_k, μ_k, …), drawn on their own panel."""
    from arena.method import METHODS, load_methods

    load_methods()
    name = getattr(res, "name", None) or key.partition("#")[0]
    return METHODS.get(name).schedule if name in METHODS else ()


def _curve(res: HasHistory, axis: str, name: str) -> list[tuple[float, float]]:
    return [(h[axis], h[name]) for h in res.history if name in h and axis in h and np.isfinite(h[name])]


def _draw(ax: object, pts: list[tuple[float, float]], *, color: object, style: str, label: str, width: float) -> None:
    xs, ys = zip(*pts, strict=True)
    marker = "o" if len(pts) <= FEW_POINTS else None
    ax.plot(xs, ys, linestyle=style, marker=marker, color=color, label=label, markersize=4,  # type: ignore[attr-defined]
            linewidth=width)


def convergence_figure(results: Mapping[str, HasHistory], *, degraded_psnr: float | None = None,
                       noise_level: float | None = None) -> Figure:
    """The methods' histories (finished results or live ones) against iteration and wall time.

    Rows: PSNR of each result (solid) and of its other outputs (dashed: DIP's raw output), with the
    degraded input's PSNR as a grey line — or, without a clean image, the data-fit with the noise
    level as a line (fitting below it means fitting the noise); each method's objective relative
    to its start; and, when a method follows a schedule (PnP's σ_k and μ_k), that schedule.
    Short runs get a marker per point, and iterations go on a log axis when run lengths differ
    tenfold. Uses ``matplotlib.figure.Figure`` directly (no pyplot
    state), so it is safe in threads.
    """
    top = "psnr" if any("psnr" in h for res in results.values() for h in res.history) else "data_fit"
    schedules = {k: s for k, res in results.items() if (s := schedule_of(k, res))
                 and any(n in h for h in res.history for n in s)}
    rows = [top, "loss"] + (["schedule"] if schedules else [])
    lengths = [res.history[-1]["step"] for res in results.values() if res.history]
    log_steps = len(lengths) > 1 and max(lengths) >= LOG_STEPS * max(min(lengths), 1)
    fig = Figure(figsize=(11, 3.6 * len(rows) + 0.6), layout="constrained")
    axes = fig.subplots(len(rows), 2, squeeze=False)
    for row, metric in zip(axes, rows, strict=True):
        for ax, axis in zip(row, ("step", "seconds"), strict=True):
            for i, (key, res) in enumerate(results.items()):
                _plot_curves(ax, metric, axis, i, display_key(key, res), res, schedules.get(key, ()))
            _style_panel(ax, metric, axis, log_steps=log_steps, degraded_psnr=degraded_psnr, noise_level=noise_level)
    _shared_legend(fig, axes)
    return fig


def _plot_curves(ax: Any, metric: str, axis: str, i: int, label: str, res: HasHistory,
                 schedule: Sequence[str]) -> None:
    """The ``i``-th method's curves on one panel: its schedule, its objective relative to its start,
    or its ``metric`` with (for PSNR) its other outputs dashed."""
    color, light = _colors(i)
    if metric == "schedule":
        for j, name in enumerate(schedule):
            if pts := [(a, b) for a, b in _curve(res, axis, name) if b > 0]:
                _draw(ax, pts, color=color if j == 0 else light, style=EXTRA_STYLES[j % 3] if j else "-",
                      label=f"{label}: {name}", width=1.6)
        return
    if metric == "loss":  # methods minimise different objectives: each relative to its start
        pts = [(a, b) for a, b in _curve(res, axis, "loss") if b > 0]
        if pts:
            _draw(ax, [(a, b / pts[0][1]) for a, b in pts], color=color, style="-", label=label, width=1.6)
        return
    if pts := _curve(res, axis, metric):
        _draw(ax, pts, color=color, style="-", label=label, width=1.8)
    extras = sorted({k for h in res.history for k in h if k.startswith("psnr_")}) if metric == "psnr" else []
    for j, name in enumerate(extras):
        if pts := _curve(res, axis, name):
            _draw(ax, pts, color=light, style=EXTRA_STYLES[j % 3], width=1.4,
                  label=f"{label} ({name.removeprefix('psnr_')} output)")


def _style_panel(ax: Any, metric: str, axis: str, *, log_steps: bool, degraded_psnr: float | None,
                 noise_level: float | None) -> None:
    """Scales, reference lines (degraded input, noise level), labels and grid of one panel."""
    if metric in ("loss", "schedule"):
        ax.set_yscale("log")
    if metric == "psnr" and degraded_psnr is not None:
        ax.axhline(degraded_psnr, color="gray", linestyle=":", linewidth=1.2, label="degraded input")
    if metric == "data_fit" and noise_level:
        ax.axhline(noise_level, color="black", linestyle=":", linewidth=1.2, label="noise level")
    if axis == "step" and log_steps:  # an 8-step method beside a 3000-step one: both visible
        ax.set_xscale("log")
    ax.set_xlabel(LABELS[axis] + (" (log)" if axis == "step" and log_steps else ""), fontsize=11)
    ax.set_ylabel(LABELS[metric], fontsize=11)
    ax.tick_params(labelsize=10)
    ax.grid(True, alpha=0.3)


def _shared_legend(fig: Figure, axes: np.ndarray) -> None:
    """One legend for every row, below the panels (each label once)."""
    handles: dict[str, object] = {}
    for ax in axes[:, 0]:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, h)
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncols=min(len(handles), 3),
                   frameon=False, fontsize=11)


def figure_array(fig: Figure, dpi: int = 100) -> np.ndarray:
    """Render ``fig`` to an ``(H, W, 3)`` uint8 array (Agg), for image widgets."""
    canvas = FigureCanvasAgg(fig)
    fig.set_dpi(dpi)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def discrepancy_crossing(trials: list[dict], target: float) -> float | None:
    """λ where the trials' misfit crosses ``target`` (log-log interpolation), or None — what the
    discrepancy principle picks from the same trials (drawn in the oracle's figure too)."""
    pts = sorted((t["value"], t["misfit"]) for t in trials if t["misfit"] > 0)
    for (a, ra), (b, rb) in pairwise(pts):
        if (ra - target) * (rb - target) <= 0 and ra != rb:
            la, lb = np.log(a), np.log(b)
            return float(np.exp(la + (np.log(target) - np.log(ra)) * (lb - la) / (np.log(rb) - np.log(ra))))
    return None


def tuning_figure(results: Mapping[str, object]) -> Figure | None:
    """For every tuned method, PSNR against λ (when the clean image is known) and the data misfit
    ‖A x̂ − y‖ against λ with the lines σ√m and τσ√m; the default, the discrepancy-principle and
    the best-PSNR choices are marked. None when no method was tuned."""
    tuned = [(k, getattr(r, "tuning", None)) for k, r in results.items()]
    tuned = [(k, t) for k, t in tuned if t and t["trials"]]
    if not tuned:
        return None
    with_psnr = any(tr["psnr"] is not None for _, t in tuned for tr in t["trials"])
    fig = Figure(figsize=(11 if with_psnr else 6, 3.6 * len(tuned)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(tuned), 2 if with_psnr else 1, squeeze=False))
    for (key, t), row in zip(tuned, axes, strict=True):
        ax_p, ax_m = (row[0], row[1]) if with_psnr else (None, row[0])
        trials = sorted(t["trials"], key=lambda tr: tr["value"])
        lam = [tr["value"] for tr in trials]
        marks = [(t["default"], "default rule", "gray", ":")]
        scored = [tr for tr in trials if tr["psnr"] is not None]
        if scored and ax_p is not None:
            best = max(scored, key=lambda tr: tr["psnr"])
            marks.append((best["value"], "best PSNR (oracle)", "C3", "-"))
            ax_p.plot([tr["value"] for tr in scored], [tr["psnr"] for tr in scored], "o-", color="C0")
            note = " (measured after the choice)" if t.get("psnr_measured_after") else ""
            ax_p.set_title(f"{key}: PSNR against {t['param']}{note}", fontsize=10)
        if t["target"]:
            dp = t["chosen"] if t["mode"] == "auto" else discrepancy_crossing(trials, t["target"])
            if dp is not None:
                marks.append((dp, "discrepancy principle (auto)", "C2", "--"))
            sigma_line = t["target"] / t.get("tau", 1.0)
            ax_m.axhline(sigma_line, color="gray", linewidth=1, label="σ√m")
            ax_m.axhline(t["target"], color="C2", linewidth=1, linestyle="--", label="τσ√m")
        ax_m.plot(lam, [tr["misfit"] for tr in trials], "o-", color="C1", label="‖A x̂ − y‖")
        ax_m.set_title(f"{key}: data misfit against {t['param']}", fontsize=10)
        for ax in filter(None, (ax_p, ax_m)):
            ax.set_xscale("log")
            ax.set_xlabel(t["param"])
            ax.grid(True, alpha=0.3)
            for value, label, color, style in marks:
                ax.axvline(value, color=color, linestyle=style, linewidth=1.5, label=label)
        ax_m.set_yscale("log")
        if ax_p is not None:
            ax_p.set_ylabel("PSNR (dB)")
        ax_m.set_ylabel("misfit")
        ax_m.legend(fontsize=8, loc="best")
    return fig


def residual_image(problem: object, x: object) -> np.ndarray:
    """A(x̂) − y as an ``(H, W)`` array, averaged over channels: in the measurement domain when it
    is an image (blur, SR, inpainting, …), else brought back by Aᵀ (MRI, compressive sensing)."""
    import torch

    with torch.no_grad():
        r = problem.residual(x)  # type: ignore[attr-defined]
        if not problem.degradation.observable:  # type: ignore[attr-defined]
            r = problem.A_adjoint(r)  # type: ignore[attr-defined]
        return r[0].mean(0).float().cpu().numpy()


MAPS_COLUMNS = 4
"""Methods per row of the maps figure: a grid a projector shows at once, not one tall column."""


def maps_figure(problem: object, results: Mapping[str, object], clean: object | None) -> Figure | None:
    """Residual maps A(x̂) − y (signed, one colour scale for all methods) in one grid and, when the
    clean image is known, error maps |x̂ − x| (RMS over channels, one scale) in a second, each with
    its title and colour bar; up to :data:`MAPS_COLUMNS` methods a row.
    Structure in a residual means the method ignored data (edges) or fitted the noise (flat)."""
    rows = [(k, r.x) for k, r in results.items() if getattr(r, "x", None) is not None]  # type: ignore[attr-defined]
    if not rows:
        return None
    res = {k: residual_image(problem, x) for k, x in rows}
    err = {k: (x - clean).pow(2).mean(1)[0].sqrt().float().cpu().numpy() for k, x in rows} if clean is not None else {}
    r_max = float(np.percentile(np.abs(np.concatenate([v.ravel() for v in res.values()])), 99.5)) or 1e-6
    e_max = float(np.percentile(np.concatenate([v.ravel() for v in err.values()]), 99.5)) if err else 0.0
    kinds = [("Residual maps A(x̂) − y", res, "RdBu_r", (-r_max, r_max), "residual (0–1 scale)")]
    if err:
        kinds.append(("Error maps |x̂ − x|", err, "magma", (0.0, e_max or 1e-6), "error (0–1 scale)"))
    grid = -(-len(rows) // MAPS_COLUMNS)
    cols = -(-len(rows) // grid)  # rows as even as they can be: 5 methods are 3 + 2, not 4 + 1
    fig = Figure(figsize=(2.7 * cols + 1.3, (2.7 * grid + 0.5) * len(kinds)), layout="constrained")
    for sub, (title, maps, cmap, (lo, hi), bar) in zip(fig.subfigures(len(kinds), 1, squeeze=False)[:, 0], kinds,
                                                          strict=True):
        sub.suptitle(f"{title}, one colour scale", fontsize=10)
        axes = sub.subplots(grid, cols, squeeze=False).ravel()
        for ax, (key, _) in zip(axes, rows, strict=False):
            im = ax.imshow(maps[key], cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
            ax.set_title(display_key(key, results[key]), fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        for ax in axes[len(rows):]:
            ax.remove()
        sub.colorbar(im, ax=list(axes[:len(rows)]), shrink=0.8, label=bar)
    return fig
