"""What the app's handlers share: its limits and rates, the session's Stop flags, the bundled
content, and how a picture becomes a file the page shows."""

from __future__ import annotations

import ctypes
import math
import sys
from contextlib import suppress
from typing import Any

import gradio as gr
import numpy as np
import torch

from arena import workers
from arena.degradations import Degradation
from arena.device import pick_device
from arena.errors import ArenaError, SpecError
from arena.experiment import bundled_images
from arena.images import load_image, to_uint8
from arena.method import METHODS, Method, load_methods
from arena.metrics import lpips_status
from arena.params import Param
from arena.presets import Preset, load_presets
from arena.settings import BY_NAME
from ui.images import png_file
from ui.session import Runs
from ui.text import user_text

load_methods()
PRESETS = load_presets()
GPU = pick_device().type == "cuda"
DEFAULT_MAX_SIDE = 512 if GPU else 256
DEFAULT_METHODS = ["naive", "tikhonov", "tv"]
MAX_SECONDS = 600
CONCURRENT_RUNS = 1 if GPU else 2
WORKERS = "threads" if GPU else "processes"
"""On a CPU every method runs in a worker process (:mod:`arena.workers`), where the app's own work —
encoding images, drawing the plot, serving the page — cannot hold the interpreter lock its steps
need. On a GPU, methods share one device through CUDA streams in threads (one CUDA context)."""
QUEUE_SIZE = 16
MAX_FILE_SIZE = "25mb"
PREVIEW_INTERVAL = 1.0
"""Seconds between updates of the status line; the overview's images at most every OVERVIEW_INTERVAL.
Each update costs the browser a re-render: at 0.5 s / 1 s Chromium used a third of a core on a
2-core machine, taken from the methods (benchmarks/APP.md)."""
PLOT_INTERVAL = 2.0
PLOT_SHARE = 0.05
"""The live plot is redrawn at most every PLOT_INTERVAL s, and less often when drawing it would take
more than this share of the time (a 4-panel figure of 600-step histories: 0.25–0.4 s here)."""
OVERVIEW_INTERVAL = 2.0
API_MAX_SECONDS = 120.0
API_MAX_ITERATIONS = 5000

RUNS = Runs()


M_ARENA_MAX = -8
"""mallopt's parameter number for the arena limit (glibc's malloc.h)."""
HEAP_ARENAS = 2
"""glibc's malloc arenas for the app process (its default: 8 per core). Each of Gradio's handler
threads may get its own arena, and torch's buffers freed in one are not reused by another: under
many API users the app process kept growing while its live Python objects did not (benchmarks/SOAK.md)."""


def limit_heap() -> None:
    """At start: at most ``HEAP_ARENAS`` malloc arenas (glibc only; elsewhere nothing happens)."""
    with suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, HEAP_ARENAS)


def trim_heap() -> None:
    """After a run: hand the C heap's free pages back to the system (glibc's ``malloc_trim``), so the
    process holds what it uses, not the peak of the last run's buffers."""
    with suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def warm() -> None:
    """Load what the first run would otherwise wait for: the workers' forkserver, LPIPS's AlexNet."""
    if WORKERS == "processes":
        workers.warm()
    lpips_status()


# ---- static content ---------------------------------------------------------------------------
def default_image() -> str:
    return str(bundled_images()["astronaut"])


def default_preview() -> str | None:
    """The default image as the clean panel shows it before anything is chosen."""
    try:
        return png_file(to_uint8(load_image(default_image(), max_side=DEFAULT_MAX_SIDE).x))
    except ArenaError:
        return None


def gallery_items() -> list[tuple[str, str]]:
    return [(str(p), name) for name, p in bundled_images().items()]


def preset_choices() -> list[tuple[str, str]]:
    """Presets grouped by topic (in the order topics first appear), each with the methods it runs (so
    typing a method's name finds every preset that uses it) and its measured run time on a CPU and a
    GPU where benchmarks/bench_presets.py measured it, else its time budget."""
    topics = list(dict.fromkeys(p.topic for p in PRESETS.values()))
    return [(f"{p.topic} · {p.title} · {', '.join(m['name'] for m in p.config.methods)} · {run_time(p)}", pid)
            for t in topics for pid, p in PRESETS.items() if p.topic == t]


PRESET_HEADERS = ["topic", "preset", "methods", "run time"]


def preset_rows(query: str = "") -> list[list[str]]:
    """The preset browser's rows, grouped by topic (the topic written on its first row only): every
    preset whose topic, title, id or methods (names and labels) contain each word of ``query``."""
    words = str(query or "").lower().split()
    rows: list[list[str]] = []
    for topic in dict.fromkeys(p.topic for p in PRESETS.values()):
        found = [p for pid, p in PRESETS.items() if p.topic == topic and all(w in _preset_text(pid, p) for w in words)]
        rows += [[topic if i == 0 else "", p.title, ", ".join(m["name"] for m in p.config.methods), run_time(p)]
                 for i, p in enumerate(found)]
    return rows


def _preset_text(pid: str, p: Preset) -> str:
    names = [m["name"] for m in p.config.methods]
    return " ".join([p.topic, p.title, pid, *names, *(METHODS.get(n).label for n in names if n in METHODS)]).lower()


PRESET_BY_TITLE = {p.title: pid for pid, p in PRESETS.items()}


def run_time(p: Preset) -> str:
    """"≈ 40 s on a CPU, 6 s on a GPU" from the measured times; the budget where none was measured."""
    known = [f"{_duration(p.seconds[k])} on a {k.upper()}" for k in ("cpu", "gpu") if k in p.seconds]
    if known:
        return ("" if known[0].startswith("<") else "≈ ") + ", ".join(known)
    return f"≤ {_duration(p.config.seconds)} per method" if p.config.seconds else "time not measured"


def _duration(seconds: float) -> str:
    if seconds < 1:
        return "< 1 s"
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


FAMILIES = {"classical": "Classical: a model and an optimiser, nothing trained",
            "deep priors": "Deep priors: a network as the prior, fitted to the image or plugged in as a denoiser",
            "learned": "Learned: trained on pairs, run as one pass or a few unrolled steps",
            "generative": "Generative: a trained generator or diffusion model of one class of images"}
"""The method list's groups, in the page's order (each method declares its ``family``)."""


def family_members(family: str) -> list[str]:
    return [m.name for m in METHODS if m.family == family]


RUN_FIRST = ("<p class='run-first'><em>No comparison yet: press <b>Run</b>. The table, the lesson's checks, "
             "the plots, the slider and the download appear here.</em></p>")
"""The Compare tab before any run (and after a preset replaces the comparison)."""
TUNE_CHOICES = list(BY_NAME["tune"].page.choices)
NO_ORACLE = "oracle tuning scores against the clean image, which an observed photo does not have"


PAGE_POLICY: dict[str, dict[str, Any]] = {
    "seconds": {"maximum": MAX_SECONDS}, "max_side": {"value": DEFAULT_MAX_SIDE},
    "tune": {"label": f"tune λ ({', '.join(m.label.split(' (')[0] for m in METHODS if m.tunable())})"}}
"""The app's own choices over a setting's widget (:mod:`arena.settings`): a shared server's cap on
the time budget, a larger first image on a GPU, the tunable methods named in tune's label."""


def ui_params(d: type[Degradation] | type[Method]) -> list[Param]:
    """The parameters that get a widget: all but server paths, which no web client may set (the
    painted mask's path is set by the server itself)."""
    return [p for p in d.params if not p.server_path]


LATEX = [{"left": "$$", "right": "$$", "display": True}]
"""How the method tabs' Markdown marks a formula."""


def teaching_text(m: type[Method]) -> str:
    """A method tab's text: the update rule as a formula, the docstring's explanation (its first
    paragraph, the rule in plain text, gives way to the formula), the parameters and the reference."""
    paragraphs = (m.__doc__ or "").strip().split("\n\n")
    body = paragraphs[1:] if m.rule else paragraphs
    doc = user_text("\n\n".join("\n".join(line.strip() for line in p.splitlines()) for p in body),
                    vars(sys.modules[m.__module__]))
    rule = f"**Update rule.**\n\n$$\n{m.rule}\n$$\n\n" if m.rule else "**Update rule.** "
    params = "\n".join(f"- **{p.name}** ({'default from the problem' if p.adaptive else f'default {p.default}'}"
                       f"{', tunable' if p.tunable else ''}): {user_text(p.help)}" for p in ui_params(m)) or "- none"
    domain = f"\n\n**Domain.** {user_text(m.domain_note)}" if m.domain_note else ""
    return f"{rule}{doc}{domain}\n\n**Parameters.**\n{params}\n\n**Reference.** {m.reference}"


def editor_background(path: str, max_side: int) -> np.ndarray | None:
    try:
        return to_uint8(load_image(path, max_side=int(max_side), mode="rgb").x)
    except ArenaError:
        return None


def as_int(value: Any, what: str) -> int:
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise SpecError(f"{what} must be a whole number, not {value!r}") from None
    if not math.isfinite(f) or f != int(f) or f < 0 or f >= 2**31:
        raise SpecError(f"{what} must be a whole number between 0 and 2147483647, not {value!r}")
    return int(f)


# ---- pictures and sessions --------------------------------------------------------------------
DISPLAY_MIN_SIDE = 256
"""Smaller images (the GAN prior's 64×64) are shown enlarged by whole pixels, so they are not specks."""


def shown(x: torch.Tensor) -> str:
    """The PNG file shown for ``x``: enlarged by an integer factor (nearest) when its longest side
    is small; written once per picture (:func:`ui.images.png_file`)."""
    a = to_uint8(x)
    k = DISPLAY_MIN_SIDE // max(a.shape[:2])
    return png_file(a if k < 2 else a.repeat(k, axis=0).repeat(k, axis=1))


def shown_or_none(x: torch.Tensor | None) -> str | None:
    return shown(x) if x is not None else None


def session_of(request: gr.Request | None) -> str:
    return (getattr(request, "session_hash", None) or "anonymous") if request is not None else "anonymous"
