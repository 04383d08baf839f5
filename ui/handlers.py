"""Event handlers of the app. They translate widget values into core calls and core results into
widget values; the maths and the metrics all happen in :mod:`arena`."""

from __future__ import annotations

import html
import json
import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import gradio as gr
import numpy as np
import torch
from PIL import Image

from arena import workers
from arena.degradations import DEGRADATIONS, Degradation
from arena.device import pick_device
from arena.errors import ArenaError, SpecError
from arena.experiment import Config, Prepared, bundled_images, bundled_observed, prepare_experiment, resolve_image, save
from arena.experiment import run as run_experiment
from arena.images import load_image, to_uint8, zoom_crop, zoom_window
from arena.live import Tracker
from arena.method import METHODS, Method, load_methods
from arena.metrics import lpips_status
from arena.params import Param, refuse_server_paths
from arena.plots import convergence_figure, figure_array
from arena.tuning import LABELS
from arena.presets import load_presets
from arena.report import metrics_document, summary_table, zip_folder
from ui.images import png_file
from ui.registry import Components
from ui.session import Runs, session_dir
from ui.widgets import widget_default

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
    """Presets grouped by topic (in the order topics first appear), each with its time budget."""
    topics = list(dict.fromkeys(p.topic for p in PRESETS.values()))
    return [(f"{p.topic} · {p.title}" + (f" · ≤ {p.config.seconds:g} s per method" if p.config.seconds else ""), pid)
            for t in topics for pid, p in PRESETS.items() if p.topic == t]


def ui_params(d: type[Degradation] | type[Method]) -> list[Param]:
    """The parameters that get a widget: all but server paths, which no web client may set (the
    painted mask's path is set by the server itself)."""
    return [p for p in d.params if not p.server_path]


def teaching_text(m: type[Method]) -> str:
    doc = "\n".join(line.strip() for line in (m.__doc__ or "").strip().splitlines())
    params = "\n".join(f"- **{p.name}** ({'default from the problem' if p.adaptive else f'default {p.default}'}"
                       f"{', tunable' if p.tunable else ''}): {p.help}" for p in m.params) or "- none"
    domain = f"\n\n**Domain.** {m.domain_note}" if m.domain_note else ""
    return f"**Update rule.** {doc}{domain}\n\n**Parameters.**\n{params}\n\n**Reference.** {m.reference}"


def editor_background(path: str, max_side: int) -> np.ndarray | None:
    try:
        return to_uint8(load_image(path, max_side=int(max_side), mode="rgb").x)
    except ArenaError:
        return None


def _file_or_none(a: np.ndarray | None) -> str | None:
    return png_file(a) if a is not None else None


# ---- input choices ----------------------------------------------------------------------------
CLEARED = {"degraded": None, "degraded_md": "*A new image: press **Show degradation** or **Run**.*"}
"""What a new image or preset leaves in the panels that described the previous one."""


NO_PRESET = {"preset": None, "preset_md": ""}
"""A user's own change of image, degradation or methods: the preset's text no longer describes the page."""


def leave_preset(v: dict[str, Any], request: gr.Request) -> dict[str, Any]:
    return NO_PRESET if v.get("preset") else {}


def pick_bundled(v: dict[str, Any], request: gr.Request, evt: gr.SelectData) -> dict[str, Any]:
    path = gallery_items()[evt.index][0]
    img = editor_background(path, int(v["max_side"]))
    return {"image": path, "clean": _file_or_none(img), "editor": img, **CLEARED, **NO_PRESET}


def pick_upload(source: str) -> Callable[[dict[str, Any], gr.Request], dict[str, Any]]:
    """The handler of an upload box named ``source``: the core loader reads the file, and a file it
    cannot read is named in a sentence while the previous image stays selected."""

    def pick(v: dict[str, Any], request: gr.Request) -> dict[str, Any]:
        path = v[source]
        if not path:
            return {}
        try:
            loaded = load_image(path, max_side=int(v["max_side"]))
        except ArenaError as exc:
            gr.Warning(f"{str(exc).rstrip('.')}. The previous image stays selected.")
            return {source: None}
        for notice in loaded.notices:
            gr.Info(notice)
        return {"image": path, "clean": png_file(to_uint8(loaded.x)),
                "editor": to_uint8(loaded.x.expand(-1, 3, -1, -1)), **CLEARED, **NO_PRESET}

    return pick


def show_group(v: dict[str, Any], request: gr.Request) -> dict[str, Any]:
    return {f"group.{d.name}": gr.Group(visible=d.name == v["degradation"]) for d in DEGRADATIONS}


def show_methods(v: dict[str, Any], request: gr.Request) -> dict[str, Any]:
    chosen = set(v["methods"] or [])
    return ({f"box.{m.name}": gr.Accordion(visible=m.name in chosen and bool(ui_params(m))) for m in METHODS}
            | {f"tab.{m.name}": gr.Tab(visible=m.name in chosen) for m in METHODS})


def apply_preset(v: dict[str, Any], request: gr.Request) -> dict[str, Any]:
    pid = v["preset"]
    if not pid or pid not in PRESETS:
        return {"preset_md": ""}
    p = PRESETS[pid]
    c = p.config
    path = str(resolve_image(c.image))
    img = editor_background(path, c.max_side or DEFAULT_MAX_SIDE)
    d = DEGRADATIONS.get(c.degradation)
    chosen = {m["name"]: m["params"] for m in c.methods}
    md = f"**{p.title}.** {p.description}" + (f"\n\n*Convention:* {p.convention}" if p.convention else "")
    return {"preset_md": md, "image": path, "clean": _file_or_none(img), "editor": img, **CLEARED,
            "degradation": c.degradation, **show_group({"degradation": c.degradation}, request),
            **{f"degr.{d.name}.{prm.name}": _number_or_default(c.degradation_params.get(prm.name, prm.default),
                                                                prm.default) for prm in ui_params(d)},
            "seed": c.seed, "max_side": c.max_side or DEFAULT_MAX_SIDE, "methods": list(chosen),
            **show_methods({"methods": list(chosen)}, request),
            **{f"method.{m.name}.{prm.name}": _shown_value(chosen[m.name].get(prm.name, widget_default(prm)))
               for m in METHODS if m.name in chosen for prm in ui_params(m)},
            "seconds": min(c.seconds or 60, MAX_SECONDS), "tune": c.tune, "observed": c.observed}


def _shown_value(value: Any) -> Any:
    """A float as a person types it (a preset's 1/30 shows as 0.0333333)."""
    return float(f"{value:.6g}") if isinstance(value, float) else value


def _number_or_default(value: Any, default: Any) -> Any:
    """A preset's ``auto`` noise level shows as the default in its slider (the estimate replaces it)."""
    return default if isinstance(value, str) and value.strip().lower() == "auto" else value


# ---- settings → Config --------------------------------------------------------------------------
def _config(v: Mapping[str, Any], session: str) -> Config:
    """The ``settings`` widgets' values, by name (:data:`ui.registry.SETTINGS`), as a checked :class:`Config`."""
    image, degradation = v.get("image"), v.get("degradation")
    d = DEGRADATIONS.get(str(degradation)) if degradation in DEGRADATIONS else None
    degr_params: dict[str, Any] = {p.name: v.get(f"degr.{degradation}.{p.name}", widget_default(p))
                                   for p in (ui_params(d) if d else [])}
    selected = list(v.get("methods") or [])
    method_params = {n: {p.name: v.get(f"method.{n}.{p.name}", widget_default(p)) for p in ui_params(METHODS.get(n))}
                     for n in selected if n in METHODS}
    if not image:
        raise SpecError("choose an image first (Gallery or Upload)")
    if not selected:
        raise SpecError("tick at least one method")
    if v.get("observed") and v.get("estimate", True) and d is not None and d.noise_key is not None:
        degr_params[d.noise_key] = "auto"
    if degradation == "inpaint" and degr_params.get("mask") == "file":
        if not v.get("mask"):
            raise SpecError("mask 'painted' needs strokes: paint the pixels to remove on the Mask tab first")
        degr_params["path"] = v["mask"]
    seconds = v.get("seconds")
    if seconds is not None and float(seconds) > MAX_SECONDS:
        gr.Info(f"the time budget is at most {MAX_SECONDS} s per method in the app; {MAX_SECONDS} s is used")
    cfg = Config(image=str(image), degradation=str(degradation), degradation_params=degr_params,
                 methods=[{"name": n, "params": method_params.get(n, {})} for n in selected],
                 seed=_int(v.get("seed", 0), "seed"), max_side=_int(v.get("max_side", DEFAULT_MAX_SIDE), "longest side"),
                 seconds=min(float(seconds or MAX_SECONDS), MAX_SECONDS), sequential=bool(v.get("sequential")),
                 tune=str(v.get("tune") or "off"), observed=bool(v.get("observed")))
    cfg.check()
    return cfg


def _int(value: Any, what: str) -> int:
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise SpecError(f"{what} must be a whole number, not {value!r}") from None
    if not math.isfinite(f) or f != int(f) or f < 0 or f >= 2**31:
        raise SpecError(f"{what} must be a whole number between 0 and 2147483647, not {value!r}")
    return int(f)


def store_mask(v: dict[str, Any], request: gr.Request) -> dict[str, Any]:
    """Save the painted strokes (any non-transparent pixel of a drawing layer) as this session's mask
    PNG, keep its server-side path (in a ``gr.State``, never sent by the browser), and switch the
    degradation to inpainting with the painted mask: painting says what the user wants."""
    path = _painted_mask(v["editor"], request)
    if path is None:
        return {"mask": None}
    return {"mask": path, "degradation": "inpaint", "degr.inpaint.mask": "file",
            **show_group({"degradation": "inpaint"}, request)}


def _painted_mask(editor: Any, request: gr.Request) -> str | None:
    layers = (editor or {}).get("layers") or []
    painted = None
    for layer in layers:
        if isinstance(layer, np.ndarray) and layer.ndim == 3 and layer.shape[2] == 4:
            alpha = layer[..., 3] > 0
            painted = alpha if painted is None else painted | alpha
    if painted is None or not painted.any():
        return None
    path = session_dir(_session(request) + "mask") / "mask.png"
    Image.fromarray((painted * 255).astype(np.uint8)).save(path)
    return str(path)


# ---- degrade / run ----------------------------------------------------------------------------
DISPLAY_MIN_SIDE = 256
"""Smaller images (the GAN prior's 64×64) are shown enlarged by whole pixels, so they are not specks."""


def shown(x: torch.Tensor) -> str:
    """The PNG file shown for ``x``: enlarged by an integer factor (nearest) when its longest side
    is small; written once per picture (:func:`ui.images.png_file`)."""
    a = to_uint8(x)
    k = DISPLAY_MIN_SIDE // max(a.shape[:2])
    return png_file(a if k < 2 else a.repeat(k, axis=0).repeat(k, axis=1))


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
        prep = prepare_experiment(_config(v, _session(request)))
    except ArenaError as exc:
        raise gr.Error(str(exc), print_exception=False) from None
    return {"clean": _shown_or_none(prep.clean), "degraded": shown(prep.degraded), "degraded_md": _degraded_text(prep)}


def _shown_or_none(x: torch.Tensor | None) -> str | None:
    return shown(x) if x is not None else None


def _session(request: gr.Request | None) -> str:
    return (getattr(request, "session_hash", None) or "anonymous") if request is not None else "anonymous"


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
    live: Any
    """State: the run in progress, handed from the start to the stream to the finish."""
    run: Any
    """The Run button: disabled while a run of this page computes (a second click would queue)."""
    names: Components
    """The page's registry: the settings arrive keyed by component and are read by name."""

    def start_outputs(self) -> list[Any]:
        return [self.clean, self.degraded, self.degraded_md, self.status, self.overview, *self.images.values(),
                *self.progress.values(), self.table, self.plot, self.download, self.results, self.tuning_plot,
                self.maps_plot, self.live, self.run]

    def stream_outputs(self) -> list[Any]:
        return [self.status, self.overview, self.plot, self.live]

    def finish_outputs(self) -> list[Any]:
        return [self.table, self.plot, self.left, self.right, self.slider, self.zoom, self.download, self.results,
                self.status, self.overview, self.tuning_plot, self.maps_plot, *self.images.values(),
                *self.progress.values(), self.run]


def start_run(view: RunView) -> Callable[..., dict[Any, Any]]:
    """Run, first event: check the settings, show the input pair, clear the last run's outputs."""

    def start(given: dict[Any, Any], request: gr.Request) -> dict[Any, Any]:
        try:
            prep = prepare_experiment(_config(view.names.named(given), _session(request)))
        except ArenaError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        # Each picture is encoded once: the overview reuses the files the panels were given.
        fixed = ([(shown(prep.clean), "clean")] if prep.clean is not None else []) + [(shown(prep.degraded), "degraded")]
        chosen = {m["name"] for m in prep.config.methods}
        RUNS.start(_session(request))  # from now on Stop applies, even while the run waits for a slot
        return {view.clean: fixed[0][0] if prep.clean is not None else None, view.degraded: fixed[-1][0],
                view.degraded_md: _degraded_text(prep), view.status: "Starting…", view.overview: fixed,
                **{c: None for c in view.images.values()},
                **{c: "starting" if k in chosen else "not run yet" for k, c in view.progress.items()},
                view.table: "", view.plot: None, view.download: None, view.results: None,
                view.tuning_plot: gr.Image(value=None, visible=False), view.maps_plot: gr.Image(value=None, visible=False),
                view.live: {"prep": prep, "fixed": fixed, "results": None}, view.run: gr.Button(interactive=False)}

    return start


def stream_run(view: RunView) -> Callable[..., Iterator[dict[Any, Any]]]:
    """Run, second event: compute, streaming the status line, the overview and the plot."""

    def stream(request: gr.Request, live: dict[str, Any] | None) -> Iterator[dict[Any, Any]]:
        if not live:
            return
        prep, fixed, session = live["prep"], live["fixed"], _session(request)
        flag = RUNS.current(session) or RUNS.start(session)
        keys = [m.get("key") or m["name"] for m in prep.config.methods]
        tracker = Tracker(keys)
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
                        tracker.methods, degraded_psnr=prep.degraded_metrics["psnr"])))
                    last_plot = time.monotonic()
                    plot_cost = last_plot - now
                yield update
        except ArenaError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        finally:
            flag.set()
            RUNS.finish(session, flag)
        yield {view.live: {**live, "results": tracker.results or {}, "tracker": tracker}}

    return stream


def finish_run(view: RunView) -> Callable[..., Iterator[dict[Any, Any]]]:
    """Run, third event: the comparison at once, then the plot, the figures and the zip once written."""

    def finish(request: gr.Request, live: dict[str, Any] | None) -> Iterator[dict[Any, Any]]:
        if not live or live.get("results") is None:  # the stream failed (its error is shown) or never began
            yield {view.run: gr.Button(interactive=True)}
            return
        prep, results, tracker = live["prep"], live["results"], live["tracker"]
        images = ({"clean": prep.clean.cpu()} if prep.clean is not None else {}) | {"degraded": prep.degraded.cpu()}
        images.update({k: r.x.cpu() for k, r in results.items() if r.x is not None})
        names = list(images)
        statuses = ", ".join(f"{k} {r.status}" for k, r in results.items())
        best_right = max((k for k in names if k not in ("clean", "degraded")),
                         key=lambda k: results[k].metrics.get("psnr") or -1, default="degraded")
        state = {"images": images, "order": names}
        paths = {k: shown(x) for k, x in images.items()}
        maps = [(shown(4 * v), f"{k} {n} (×4)") for k, r in results.items() for n, v in r.maps.items()]
        yield {
            view.table: table_html(results, prep.degraded_metrics),
            view.left: gr.Dropdown(choices=names, value="degraded"),
            view.right: gr.Dropdown(choices=names, value=best_right),
            view.slider: (paths["degraded"], paths[best_right]),
            view.zoom: zoom_all(state, 0.5, 0.5, 32),
            view.results: state,
            view.status: f"Finished: {statuses}. Writing the download…",
            view.run: gr.Button(interactive=True),
            view.overview: [(path, k) for k, path in paths.items()] + maps,
            **{view.images[r.name]: paths[k] for k, r in results.items() if k in paths and r.name in view.images},
            **{view.progress[r.name]: f"**{tracker.methods[k].progress()}**" for k, r in results.items()
               if r.name in view.progress and k in tracker.methods},
        }
        out = session_dir(_session(request)) / "restoration-arena"
        save(prep, results, out)
        archive = zip_folder(out, out.parent / "restoration-arena.zip")
        lam, maps_png = out / "tuning.png", out / "maps.png"
        yield {view.plot: str(out / "convergence.png"), view.download: str(archive), view.status: f"Finished: {statuses}.",
               view.tuning_plot: gr.Image(value=str(lam), visible=True) if lam.is_file() else gr.Image(value=None, visible=False),
               view.maps_plot: gr.Image(value=str(maps_png), visible=True) if maps_png.is_file()
               else gr.Image(value=None, visible=False)}

    return finish


def table_html(results: dict[str, Any], degraded: dict[str, Any]) -> str:
    status = lpips_status()
    headers, rows, best = summary_table(results, degraded, None if status.available else status.reason)

    def cell(v: Any, col: int) -> str:
        if v is None:
            return "—"
        if isinstance(v, float):
            return "∞" if math.isinf(v) else f"{v:.3f}" if col in (2, 3) else f"{v:.2f}"
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        tds = []
        for j, v in enumerate(row):
            cls = "best" if best.get(j) == i else "status" if j == len(row) - 1 else ""
            tds.append(f'<td class="{cls}">{cell(v, j)}</td>')
        body.append("<tr>" + "".join(tds) + "</tr>")
    note = ("" if status.available else f"<p><small>{html.escape(status.reason)}</small></p>")
    fit = next((r.metrics.get("noise_level") for r in results.values() if r.metrics), None)
    legend = (f"<p><small>Best value per column in bold. Data-fit: RMS of A(x̂) − y on the 0–255 scale; the noise "
              f"level is {fit:.2f} — fitting much below it means fitting the noise. Seconds are wall time.</small></p>"
              if fit is not None else "")
    modes = {r.tuning["mode"] for r in results.values() if r.tuning}
    if modes:
        legend += ("<p><small>" + " ".join(f"<b>[{m}]</b>: λ chosen by {html.escape(LABELS[m])}." for m in sorted(modes))
                   + " The λ figure below the plot shows every trial.</small></p>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{legend}{note}"


def stop(request: gr.Request) -> str:
    return "Stopping…" if RUNS.stop(_session(request)) else "Nothing is running."


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


def slide(state: dict[str, Any] | None, left: str | None, right: str | None) -> Any:
    if not state or left not in state["images"] or right not in state["images"]:
        return gr.skip()
    return (shown(state["images"][left]), shown(state["images"][right]))


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


# ---- API -------------------------------------------------------------------------------------
def _api(cfg: Config) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    names = {**bundled_images(), **bundled_observed()}
    if cfg.image not in names:
        raise SpecError(f"the API takes a bundled image name: {', '.join(names)}")
    if cfg.degradation in DEGRADATIONS:
        refuse_server_paths(DEGRADATIONS.get(cfg.degradation).params, cfg.degradation_params, cfg.degradation)
    for m in cfg.methods:
        if m.get("name") in METHODS:
            refuse_server_paths(METHODS.get(m["name"]).params, m.get("params") or {}, m["name"])
    cfg.seconds = min(cfg.seconds or API_MAX_SECONDS, API_MAX_SECONDS)
    cfg.iterations = min(cfg.iterations or API_MAX_ITERATIONS, API_MAX_ITERATIONS)
    cfg.check()
    prep = prepare_experiment(cfg)
    last = None
    for last in run_experiment(prep, workers=WORKERS):  # only the final event is kept
        pass
    results = (last.results if last is not None else None) or {}
    doc = metrics_document(results, degradation={"name": cfg.degradation, **cfg.degradation_params},
                           seed=cfg.seed, degraded=prep.degraded_metrics, notices=prep.notices,
                           lpips_status=lpips_status().reason)
    for m in doc["methods"].values():
        m.pop("history", None)
    # gradio_client treats any dict with a "path" key as a file to fetch; the API never takes one.
    doc["degradation"].pop("path", None)
    images = [(png_file(to_uint8(prep.clean)), "clean")] if prep.clean is not None else []
    images += [(png_file(to_uint8(prep.degraded)), "degraded")]
    images += [(png_file(to_uint8(r.x)), k) for k, r in results.items() if r.x is not None]
    return doc, images


def api_run_config(config_json: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Run a comparison described by a ``config.json`` document (bundled images only)."""
    try:
        raw = json.loads(config_json or "")
        if not isinstance(raw, dict):
            raise SpecError("the config must be a JSON object")
        raw.pop("version", None)
        raw.pop("libraries", None)
        raw.pop("tuned", None)
        unknown = sorted(set(raw) - set(Config.__dataclass_fields__))
        if unknown:
            raise SpecError(f"unknown config key {unknown[0]!r}; valid keys: {', '.join(Config.__dataclass_fields__)}")
        return _api(Config(**raw))
    except json.JSONDecodeError as exc:
        raise gr.Error(f"the config is not valid JSON ({exc})", print_exception=False) from None
    except TypeError as exc:
        raise gr.Error(f"bad config: {exc}", print_exception=False) from None
    except ArenaError as exc:
        raise gr.Error(str(exc), print_exception=False) from None


def api_inspect_image(path: str | None) -> dict[str, Any]:
    """Read an uploaded image with the app's loader and say what the app would use (no run)."""
    try:
        if not path:
            raise SpecError("no file was uploaded")
        loaded = load_image(path, max_side=DEFAULT_MAX_SIDE)
    except ArenaError as exc:
        raise gr.Error(str(exc), print_exception=False) from None
    _, c, hgt, wid = loaded.x.shape
    return {"width": wid, "height": hgt, "channels": c, "notices": loaded.notices}


def api_run_preset(pid: str, seed: float | None) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Run a lecture preset by id, optionally with another seed."""
    try:
        if pid not in PRESETS:
            raise SpecError(f"unknown preset {pid!r}; valid ids: {', '.join(PRESETS)}")
        c = PRESETS[pid].config
        cfg = Config(**{**c.__dict__, "seed": _int(seed if seed is not None else c.seed, "seed"),
                        "methods": [dict(m) for m in c.methods], "degradation_params": dict(c.degradation_params)})
        return _api(cfg)
    except ArenaError as exc:
        raise gr.Error(str(exc), print_exception=False) from None
