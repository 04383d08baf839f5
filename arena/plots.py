"""Convergence plots: PSNR and loss against iteration and against wall time, all methods overlaid."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


class HasHistory(Protocol):
    history: list[dict[str, float]]

def display_key(key: str, res: object) -> str:
    """The method key as tables and plots show it: tuned results say how (``tv [oracle]``)."""
    tuning = getattr(res, "tuning", None)
    return f"{key} [{tuning['mode']}]" if tuning else key


PANELS = (("psnr", "step"), ("psnr", "seconds"), ("loss", "step"), ("loss", "seconds"))
LABELS = {"psnr": "PSNR (dB)", "loss": "objective (log)", "step": "iteration", "seconds": "wall time (s)"}


def convergence_figure(results: Mapping[str, HasHistory], *, degraded_psnr: float | None = None) -> Figure:
    """A 2×2 figure of the methods' histories (finished results or live ones); the PSNR panels
    show the degraded input's PSNR as a dashed line.

    Uses ``matplotlib.figure.Figure`` directly (no pyplot state), so it is safe in threads.
    """
    fig = Figure(figsize=(11, 7.5), layout="constrained")
    axes = fig.subplots(2, 2)
    for ax, (metric, axis) in zip(axes.flat, PANELS):
        for i, (key, res) in enumerate(results.items()):
            key = display_key(key, res)
            color = f"C{i % 10}"
            extras = sorted({k for h in res.history for k in h if k.startswith("psnr_")}) if metric == "psnr" else []
            for name, dashed in [(metric, False), *((e, True) for e in extras)]:
                pts = [(h[axis], h[name]) for h in res.history if name in h and axis in h]
                if metric == "loss":
                    pts = [(a, b) for a, b in pts if b > 0]
                if not pts:
                    continue
                xs, ys = zip(*pts)
                style = "o" if len(pts) == 1 else "--" if dashed else "-"
                label = f"{key} ({name.removeprefix('psnr_')})" if dashed else key
                ax.plot(xs, ys, style, color=color, label=label, markersize=5, alpha=0.6 if dashed else 1.0)
        if metric == "loss":
            ax.set_yscale("log")
        if metric == "psnr" and degraded_psnr is not None:
            ax.axhline(degraded_psnr, color="gray", linestyle="--", linewidth=1, label="degraded")
        ax.set_xlabel(LABELS[axis])
        ax.set_ylabel(LABELS[metric])
        ax.grid(True, alpha=0.3)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside right upper")
    return fig


def figure_array(fig: Figure, dpi: int = 100) -> np.ndarray:
    """Render ``fig`` to an ``(H, W, 3)`` uint8 array (Agg), for image widgets."""
    canvas = FigureCanvasAgg(fig)
    fig.set_dpi(dpi)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
