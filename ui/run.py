"""A comparison in the app: the degradation preview, the Run as three chained events (start,
stream, finish) on a named :class:`RunView`, Stop, and the Compare tab's table, slider and zoom."""

from __future__ import annotations

import html
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from typing import Any

import gradio as gr
import torch

from arena.degradations import DEGRADATIONS
from arena.errors import ArenaError
from arena.experiment import Prepared, prepare_experiment, save
from arena.experiment import run as run_experiment
from arena.images import to_uint8, zoom_crop, zoom_window
from arena.lessons import Verdict, summary
from arena.live import Tracker
from arena.method import METHODS
from arena.metrics import lpips_status, noise_level
from arena.plots import convergence_figure, figure_array
from arena.report import summary_table, zip_folder
from arena.tuning import LABELS
from ui.common import (
    MAX_SECONDS,
    OVERVIEW_INTERVAL,
    PLOT_INTERVAL,
    PLOT_SHARE,
    PRESETS,
    PREVIEW_INTERVAL,
    RUNS,
    WORKERS,
    session_of,
    shown,
    shown_or_none,
    trim_heap,
)
from ui.images import png_file
from ui.inputs import config_from
from ui.registry import Components
from ui.session import session_dir
from ui.text import user_text
from ui.zerogpu import gpu_seconds, on_zero_gpu


def _degraded_text(prep: Prepared) -> str:
    m = prep.degraded_metrics
    h, w = prep.problem.x_shape[-2:]
    quality = ("observed photo: no clean image, so no PSNR — judge by data-fit and the residual maps"
               if m["psnr"] is None else f"degraded PSNR **{m['psnr']:.2f} dB**"
               + (f", SSIM **{m['ssim']:.3f}**" if m["ssim"] is not None else ""))
    lines = [f"**{prep.problem.degradation.describe()}** · seed {prep.config.seed} · {w}×{h} px · {quality}"]
    lines += [f"- note: {n}" for n in prep.notices]
    return "\n".join(lines)


def show_degradation(v: dict[str, Any], request: gr.Request) -> dict[str, Any]:
    try:
        prep = prepare_experiment(config_from(v, session_of(request)))
    except ArenaError as exc:
        raise gr.Error(str(exc), print_exception=False) from None
    return {"clean": shown_or_none(prep.clean), "degraded": shown(prep.degraded), "degraded_md": _degraded_text(prep)}


@dataclass
class RunView:
    """The components a run writes to, by name; app.py builds it and wires the three run events.

    A run is three chained events, so that the long one streams to three components only: Gradio
    rebuilds the configuration of every output an update leaves out (a "skip" is an update), which
    cost the app a quarter of its streaming time when the stream had all thirty-odd outputs."""

    clean: Any
    degraded: Any
    degraded_md: Any
    status: Any
    overview: Any
    images: dict[str, Any]
    """Method name → the image in its tab."""
    progress: dict[str, Any]
    """Method name → the progress line in its tab."""
    table: Any
    plot: Any
    left: Any
    right: Any
    slider: Any
    zoom: Any
    download: Any
    results: Any
    """State: the last finished run's images (slider, zoom and the method tabs read it)."""
    tuning_plot: Any
    maps_plot: Any
    lesson: Any
    """The preset's claims checked on the finished run (empty for a run that is not a preset's)."""
    live: Any
    """State: the run in progress, handed from the start to the stream to the finish."""
    run: Any
    """The Run button: disabled while a run of this page computes (a second click would queue)."""
    names: Components
    """The page's registry: the settings arrive keyed by component and are read by name."""

    @classmethod
    def of(cls, ui: Components, live: Any) -> RunView:
        """The view of the page's components of these names (a method's are ``image.<name>`` and
        ``progress.<name>``); ``live`` is the State the three events hand along."""
        single = {f.name: ui[f.name] for f in fields(cls) if f.name not in ("images", "progress", "live", "names")}
        return cls(**single, images={m.name: ui[f"image.{m.name}"] for m in METHODS},
                   progress={m.name: ui[f"progress.{m.name}"] for m in METHODS}, live=live, names=ui)

    def noise_widgets(self) -> dict[str, Any]:
        """Degradation name → its noise-level widget (where it has one): an observed photo's estimate
        is shown there."""
        return {d.name: self.names[f"degr.{d.name}.{d.noise_key}"] for d in DEGRADATIONS
                if d.noise_key and f"degr.{d.name}.{d.noise_key}" in self.names}

    def start_outputs(self) -> list[Any]:
        return [self.clean, self.degraded, self.degraded_md, self.status, self.overview, *self.images.values(),
                *self.progress.values(), self.table, self.plot, self.download, self.results, self.tuning_plot,
                self.maps_plot, self.lesson, self.live, self.run, *self.noise_widgets().values()]

    def stream_outputs(self) -> list[Any]:
        return [self.status, self.overview, self.plot, self.live]

    def finish_outputs(self) -> list[Any]:
        return [self.table, self.plot, self.left, self.right, self.slider, self.zoom, self.download, self.results,
                self.status, self.overview, self.tuning_plot, self.maps_plot, self.lesson, *self.images.values(),
                *self.progress.values(), self.run]


def start_run(view: RunView) -> Callable[..., dict[Any, Any]]:
    """Run, first event: check the settings, show the input pair, clear the last run's outputs."""

    def start(given: dict[Any, Any], request: gr.Request) -> dict[Any, Any]:
        started = time.perf_counter()
        values = view.names.named(given)
        try:
            prep = prepare_experiment(config_from(values, session_of(request)))
        except ArenaError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        # Each picture is encoded once: the overview reuses the files the panels were given.
        fixed = ([(shown(prep.clean), "clean")] if prep.clean is not None else []) + [(shown(prep.degraded), "degraded")]
        chosen = {m["name"] for m in prep.config.methods}
        RUNS.start(session_of(request))  # from now on Stop applies, even while the run waits for a slot
        return {view.clean: fixed[0][0] if prep.clean is not None else None, view.degraded: fixed[-1][0],
                view.degraded_md: _degraded_text(prep), view.status: "Starting…", view.overview: fixed,
                **{c: None for c in view.images.values()},
                **{c: "starting" if k in chosen else "not run yet" for k, c in view.progress.items()},
                view.table: "", view.plot: None, view.download: None, view.results: None,
                view.tuning_plot: gr.Image(value=None, visible=False), view.maps_plot: gr.Image(value=None, visible=False),
                view.lesson: "",
                view.live: {"prep": prep, "fixed": fixed, "results": None, "started": started,
                            "preset": values.get("preset")},
                view.run: gr.Button(interactive=False), **_estimate_shown(view, prep)}

    return start


def _estimate_shown(view: RunView, prep: Any) -> dict[Any, Any]:
    """The noise widget of an observed photo's degradation set to the σ estimated from it."""
    c = prep.config
    d = DEGRADATIONS.get(c.degradation)
    widget = view.noise_widgets().get(c.degradation)
    if not c.observed or widget is None or not isinstance(c.degradation_params.get(d.noise_key), (int, float)):
        return {}
    return {widget: gr.update(value=round(float(c.degradation_params[d.noise_key]), 2),
                              info="estimated from the photo for the last run")}


def stream_run(view: RunView) -> Callable[..., Iterator[dict[Any, Any]]]:
    """Run, second event: compute, streaming the status line, the overview and the plot."""

    def stream(request: gr.Request, live: dict[str, Any] | None) -> Iterator[dict[Any, Any]]:
        if not live:
            return
        prep, fixed, session = live["prep"], live["fixed"], session_of(request)
        flag = RUNS.current(session) or RUNS.start(session)
        keys = [m.get("key") or m["name"] for m in prep.config.methods]
        tracker = Tracker(keys, [m["name"] for m in prep.config.methods], budget=prep.config.seconds)
        noise = noise_level(prep.problem)
        latest: dict[str, str] = {}
        sent: dict[str, torch.Tensor] = {}
        last_push = last_overview = 0.0
        last_plot, plot_cost = time.monotonic(), 0.0
        try:
            yield {view.status: "Running… (Stop keeps what was reached)"}
            for ev in run_experiment(prep, cancel=flag, workers=WORKERS):
                tracker.update(ev)
                now = time.monotonic()
                if ev.kind == "done" or now - last_push < PREVIEW_INTERVAL:
                    continue
                last_push = now
                update: dict[Any, Any] = {view.status: "Running… " + " · ".join(
                    f"{k}: {m.progress()}" for k, m in tracker.methods.items())}
                new_image = False
                for k in tracker.take_changed():
                    x = tracker.methods[k].x
                    if x is not None and x is not sent.get(k):
                        sent[k], latest[k], new_image = x, shown(x), True
                if new_image and now - last_overview >= OVERVIEW_INTERVAL:
                    last_overview = now
                    update[view.overview] = fixed + [(path, k) for k, path in latest.items()]
                # The plot is the costly part (matplotlib): at most every PLOT_INTERVAL seconds, and
                # never more than PLOT_SHARE of this process's time, however long the histories grow.
                if now - last_plot >= max(PLOT_INTERVAL, plot_cost / PLOT_SHARE):
                    update[view.plot] = png_file(figure_array(convergence_figure(
                        tracker.methods, degraded_psnr=prep.degraded_metrics["psnr"], noise_level=noise)))
                    last_plot = time.monotonic()
                    plot_cost = last_plot - now
                yield update
        except ArenaError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        finally:
            flag.set()
            RUNS.finish(session, flag)
        yield {view.live: {**live, "results": tracker.results or {}, "tracker": tracker}}

    return on_zero_gpu(stream, lambda request, live: gpu_seconds(live and live["prep"].config.seconds, MAX_SECONDS))


def finish_run(view: RunView) -> Callable[..., Iterator[dict[Any, Any]]]:
    """Run, third event: the comparison at once, then the plot, the figures and the zip once written."""

    def finish(request: gr.Request, live: dict[str, Any] | None) -> Iterator[dict[Any, Any]]:
        if not live or live.get("results") is None:  # the stream failed (its error is shown) or never began
            yield {view.run: gr.Button(interactive=True)}
            return
        prep, results, tracker = live["prep"], live["results"], live["tracker"]
        verdicts = lesson_verdicts(live.get("preset"), results, prep, time.perf_counter() - live["started"])
        images = ({"clean": prep.clean.cpu()} if prep.clean is not None else {}) | {"degraded": prep.degraded.cpu()}
        images.update({k: r.x.cpu() for k, r in results.items() if r.x is not None})
        names = list(images)
        statuses = ", ".join(f"{k} {r.status}" for k, r in results.items())
        best_right = max((k for k in names if k not in ("clean", "degraded")),
                         key=lambda k: results[k].metrics.get("psnr") or -1, default="degraded")
        state = {"images": images, "order": names}
        asked = {m.get("key") or m["name"]: m.get("params") or {} for m in prep.config.methods}
        # clean and degraded were encoded by the start event; only the results are new pictures
        paths = {name: path for path, name in live["fixed"]} | {k: shown(x) for k, x in images.items()
                                                               if k not in ("clean", "degraded")}
        maps = [(shown(4 * v), f"{k} {n} (×4)") for k, r in results.items() for n, v in r.maps.items()]
        yield {
            view.lesson: lesson_markdown(live.get("preset"), verdicts),
            view.table: table_html(results, prep.degraded_metrics),
            view.left: gr.Dropdown(choices=names, value="degraded"),
            view.right: gr.Dropdown(choices=names, value=best_right),
            view.slider: slider("degraded", best_right, images, paths),
            view.zoom: zoom_all(state, 0.5, 0.5, 32),
            view.results: state,
            view.status: f"Finished: {statuses}. Writing the download…",
            view.run: gr.Button(interactive=True),
            view.overview: [(path, caption(k, results.get(k), prep.degraded_metrics)) for k, path in paths.items()] + maps,
            **{view.images[r.name]: paths[k] for k, r in results.items() if k in paths and r.name in view.images},
            **{view.progress[r.name]: f"**{tracker.methods[k].progress(message=False)}**\n\n"
               + (f"{user_text(r.message)}\n\n" if r.message else "") + used_params(r, asked.get(k))
               for k, r in results.items() if r.name in view.progress and k in tracker.methods},
        }
        out = session_dir(session_of(request)) / "restoration-arena"
        save(prep, results, out, lesson=verdicts)
        archive = zip_folder(out, out.parent / "restoration-arena.zip")
        lam, maps_png = out / "tuning.png", out / "maps.png"
        yield {view.plot: str(out / "convergence.png"), view.download: str(archive), view.status: f"Finished: {statuses}.",
               view.tuning_plot: gr.Image(value=str(lam), visible=True) if lam.is_file() else gr.Image(value=None, visible=False),
               view.maps_plot: gr.Image(value=str(maps_png), visible=True) if maps_png.is_file()
               else gr.Image(value=None, visible=False)}
        trim_heap()

    return finish


def caption(key: str, result: Any, degraded: dict[str, Any]) -> str:
    """An overview caption: the image's name with its PSNR and SSIM, or its data-fit without a clean image."""
    m = result.metrics if result is not None else degraded if key == "degraded" else {}
    if m.get("psnr") is not None:
        return f"{key} · {m['psnr']:.2f} dB · SSIM {m['ssim']:.3f}" if m.get("ssim") is not None else f"{key} · {m['psnr']:.2f} dB"
    if m.get("data_fit") is not None:
        return f"{key} · data-fit {m['data_fit']:.2f} (noise {m['noise_level']:.2f})"
    return key


def used_params(result: Any, requested: dict[str, Any] | None = None) -> str:
    """Every parameter value the last run used, in a table that says where each came from: a value
    the user set, the method's rule applied to this problem (an adaptive parameter left at "auto"),
    or the tuner (with the values it chose, a joint σ_d included)."""
    tuned = (result.tuning or {}).get("params") or {}
    rows = []
    for k, v in result.params.items():
        if isinstance(v, str) and not v:
            continue
        asked = (requested or {}).get(k)
        how = (f"tuned ({result.tuning['mode']})" if k in tuned else
               "rule: from the problem" if requested is not None and (asked is None or asked == "auto") else "setting")
        rows.append(f"| {k} | {v:.4g} | {how} |" if isinstance(v, float) else f"| {k} | {v} | {how} |")
    return ("*Parameters used by the last run:*\n\n| parameter | value | set by |\n|---|---|---|\n" + "\n".join(rows)
            if rows else "")


def lesson_verdicts(pid: str | None, results: dict[str, Any], prep: Prepared, seconds: float) -> list[Verdict] | None:
    """The claims of the preset this run came from, checked on it (None: not a preset's run)."""
    if not pid or pid not in PRESETS or not PRESETS[pid].claims:
        return None
    return PRESETS[pid].check(results, degraded=prep.degraded_metrics, seconds=seconds)


def lesson_markdown(pid: str | None, verdicts: list[Verdict] | None) -> str:
    """The lesson line: the preset's claims with ✓/✗ and the numbers this run measured."""
    if verdicts is None or pid is None:
        return ""
    lines = [f"**The lesson, checked on this run** ({summary(verdicts)}):"]
    lines += [f"- {v.mark} {html.escape(v.text)}" for v in verdicts]
    return "\n".join(lines)


STATUS_CHARS = 60
"""A status cell shows this much of the method's message (a sentence can run to 60 words)."""


@dataclass(frozen=True)
class Column:
    """How the results table shows one column of :func:`arena.report.summary_table`."""

    format: Callable[[Any], str]
    """A value (never None) as its cell's text."""
    kind: str = "number"
    """The cell's class: "name" (left), "number" (right) or "status" (one line, left)."""


def _decimals(n: int) -> Callable[[Any], str]:
    return lambda v: ("∞" if math.isinf(v) else f"{v:.{n}f}") if isinstance(v, float) else str(v)


def _status_line(v: Any) -> str:
    full = user_text(str(v))
    return full if len(full) <= STATUS_CHARS else full[:STATUS_CHARS].rsplit(" ", 1)[0] + " …"


TABLE = {"method": Column(str, "name"), "PSNR (dB)": Column(_decimals(2)), "SSIM": Column(_decimals(3)),
         "LPIPS": Column(_decimals(3)), "seconds": Column(_decimals(2)), "iterations": Column(str),
         "data-fit": Column(_decimals(2)), "status": Column(_status_line, "status")}
"""The results table's columns by header, with their formats; a header of the core's table that is
missing here is an error, not a column formatted by its position."""


def _cell(header: str, v: Any, best: bool) -> str:
    col = TABLE[header]
    classes = " ".join(c for c in (col.kind, "best" if best else "") if c)
    if v is None or v == "":
        return f'<td class="{classes}">{"—" if col.kind == "number" else ""}</td>'
    title = f' title="{html.escape(user_text(str(v)))}"' if col.kind == "status" else ""  # all of it; also in the tab
    return f'<td class="{classes}"{title}>{html.escape(col.format(v))}</td>'


def table_html(results: dict[str, Any], degraded: dict[str, Any]) -> str:
    """The results table: one row per method, its columns declared in :data:`TABLE`; it scrolls
    sideways inside its own box on a narrow screen, with a cue that it does."""
    status = lpips_status()
    headers, rows, best = summary_table(results, degraded, None if status.available else status.reason)
    head = "".join(f'<th class="{TABLE[h].kind}">{html.escape(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(_cell(h, v, best.get(j) == i) for j, (h, v) in enumerate(zip(headers, row, strict=True)))
                   + "</tr>" for i, row in enumerate(rows))
    note = ("" if status.available else f"<p><small>{html.escape(status.reason)}</small></p>")
    fit = next((r.metrics.get("noise_level") for r in results.values() if r.metrics), None)
    legend = (f"<p><small>Best value per column in bold. Data-fit: RMS of A(x̂) − y on the 0–255 scale; the noise "
              f"level is {fit:.2f} — fitting much below it means fitting the noise. Seconds are wall time. "
              f"A method's whole status is in its tab.</small></p>" if fit is not None else "")
    modes = {r.tuning["mode"] for r in results.values() if r.tuning}
    if modes:
        legend += ("<p><small>" + " ".join(f"<b>[{m}]</b>: λ chosen by {html.escape(LABELS[m])}." for m in sorted(modes))
                   + " The λ figure below the plot shows every trial.</small></p>")
    return (f'<p class="scroll-cue">Swipe the table sideways for every column →</p><div class="table-scroll">'
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>{legend}{note}")


def stop(request: gr.Request) -> str:
    return "Stopping…" if RUNS.stop(session_of(request)) else "Nothing is running."


def hold_run() -> Any:
    """Run waits while a preset's settings travel to the page: a click sends the widgets' values
    as they are, and a click within that second ran the previous settings."""
    return gr.Button(interactive=False)


def release_run(request: gr.Request) -> Any:
    """Run again, unless this session's run is still going (its end enables Run)."""
    return gr.Button(interactive=RUNS.current(session_of(request)) is None)


def method_image(name: str) -> Callable[[dict[str, Any] | None], Any]:
    """A method tab's select handler: that method's result from the last finished run.

    Gradio mounts a tab's image only when the tab is first opened, and an image streamed to it
    before then is lost (the tab's Markdown keeps its text); this fills it in. During a run the state
    is empty and the tab keeps its live stream."""

    def fill(state: dict[str, Any] | None) -> Any:
        if not state or name not in state["images"]:
            return gr.skip()
        return shown(state["images"][name])

    return fill


SLIDER_HEIGHT = 500
"""The comparison slider's picture height (px; Gradio's ``max_height``): its width follows the image's."""


def slider(left: str, right: str, images: dict[str, torch.Tensor], paths: dict[str, str] | None = None) -> Any:
    """The comparison slider with both sides named in its label, as wide as the picture it shows, so
    the handle travels over the image and not over empty bands beside it (the page caps it at the
    screen's width)."""
    h, w = images[left].shape[-2:]
    paths = paths or {}
    return gr.ImageSlider(value=(paths.get(left) or shown(images[left]), paths.get(right) or shown(images[right])),
                          label=f"◀ left: {left}   |   right: {right} ▶  (drag the handle)",
                          width=round(SLIDER_HEIGHT * w / h), max_height=SLIDER_HEIGHT)


def slide(state: dict[str, Any] | None, left: str | None, right: str | None) -> Any:
    if not state or left not in state["images"] or right not in state["images"]:
        return gr.skip()
    return slider(left, right, state["images"])


def zoom_all(state: dict[str, Any] | None, x: float, y: float, size: float) -> list[tuple[str, str]]:
    """The same crop of every image, after a thumbnail that marks where the crop is."""
    if not state:
        return []
    ref = state["images"].get("clean", state["images"]["degraded"])
    top, left, side = zoom_window(ref.shape, float(x), float(y), int(size))
    where = to_uint8(ref.expand(-1, 3, -1, -1)).copy()
    t = max(1, max(where.shape[:2]) // 128)  # the frame stays visible once the page scales it down
    for rows, cols in ((slice(top, top + t), slice(left, left + side)),
                       (slice(top + side - t, top + side), slice(left, left + side)),
                       (slice(top, top + side), slice(left, left + t)),
                       (slice(top, top + side), slice(left + side - t, left + side))):
        where[rows, cols] = (255, 32, 32)
    return [(png_file(where), "where")] + [(png_file(to_uint8(zoom_crop(img, float(x), float(y), int(size)))), name)
                                           for name, img in state["images"].items()]
