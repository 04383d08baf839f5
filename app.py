"""Restoration Arena — the Gradio app: ``python app.py`` (honours GRADIO_SERVER_NAME/PORT).

A thin layer over :mod:`arena`: widgets come from the registries' parameter schemas, every number
from the core; this file lays out the page and wires events. Handlers live in :mod:`ui.inputs`,
:mod:`ui.run` and :mod:`ui.api` (shared limits and helpers: :mod:`ui.common`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from contextlib import suppress
from typing import Any

with suppress(ImportError):  # on a ZeroGPU Space, spaces must come before torch initialises CUDA
    import spaces  # noqa: F401

import gradio as gr

from arena.degradations import DEGRADATIONS
from arena.method import METHODS
from arena.settings import ON_PAGE
from ui import api, common, inputs, run
from ui.registry import SETTINGS, Components
from ui.widgets import param_widget, setting_widget

RESULT_PANELS = ("status", "overview", "table", "lesson", "plot", "tuning_plot", "maps_plot", "slider", "zoom",
                 "download", "results", "image.", "progress.")
"""What a run writes; a preset's pick empties it (:func:`ui.inputs.cleared_results`)."""

PRIVATE = {"api_visibility": "private"}
"""The page's own events: not on the API page, not callable by gradio_client. Only the three
documented endpoints are an API, and they refuse server paths (Param.server_path)."""

CSS = """
.arena-table table {border-collapse: collapse; width: 100%; font-size: 0.95em}
.arena-table th, .arena-table td {padding: 4px 10px; border-bottom: 1px solid var(--border-color-primary); text-align: right}
.arena-table td:first-child, .arena-table th:first-child {text-align: left}
.arena-table td.best {font-weight: 700; background: var(--color-accent-soft)}
.arena-table td.status, .arena-table th.status {text-align: left; white-space: nowrap; color: var(--body-text-color)}
.arena-table {max-width: 100%}
/* The table scrolls inside its own box; shadows at its edges show there is more to either side. */
.arena-table .table-scroll {overflow-x: auto; max-width: 100%;
  background: linear-gradient(to right, var(--background-fill-primary) 30%, transparent) left center / 40px 100% no-repeat local,
              linear-gradient(to left, var(--background-fill-primary) 30%, transparent) right center / 40px 100% no-repeat local,
              radial-gradient(farthest-side at 0 50%, rgba(0, 0, 0, .3), transparent) left center / 14px 100% no-repeat scroll,
              radial-gradient(farthest-side at 100% 50%, rgba(0, 0, 0, .3), transparent) right center / 14px 100% no-repeat scroll}
.arena-table .scroll-cue {display: none; margin: 0 0 4px; font-size: 0.85em; color: var(--body-text-color-subdued)}
.mask-help {margin-bottom: 6px}
#preset-table table, #preset-table td, #preset-table th, #preset-table span {font-family: var(--font) !important}
/* Compare: a figure's label sits above it, not over its panel titles; the maps grid fits the screen;
   the slider is as wide as its picture (set per run), centred, never wider than the page. */
#maps-plot > label, #tuning-plot > label, #compare-slider > label {position: static; margin-bottom: 4px}
#maps-plot img {max-height: calc(100vh - 60px); width: auto; max-width: 100%; object-fit: contain}
#compare-slider {max-width: 100% !important; margin-left: auto; margin-right: auto}
@media (max-width: 640px) {
  /* A phone: two pictures a row, the table scrolls inside its box, nothing wider than the screen. */
  #overview .grid-container {--grid-cols: 2 !important}
  .gradio-container {padding: 4px !important; overflow-x: hidden}
  .arena-table table {font-size: 0.8em}
  .arena-table .scroll-cue {display: block}
  #tuning-plot img {width: 100%; height: auto}
  /* The convergence and maps figures keep a readable size and scroll sideways inside their own box
     (at the phone's width a map panel was 80 px wide, under the image's toolbar). */
  #convergence-plot, #maps-plot {overflow-x: auto !important}
  #convergence-plot .image-container, #convergence-plot .image-container > button, #convergence-plot .image-frame,
  #maps-plot .image-container, #maps-plot .image-container > button, #maps-plot .image-frame {
    display: block !important; width: 760px !important; max-width: none !important}
  #convergence-plot img, #maps-plot img {width: 760px !important; max-width: none !important; height: auto !important;
    max-height: none !important}
  /* Run and Stop stay on screen: the method list above them is longer than a phone's screen. */
  #run-bar {position: fixed !important; left: 0; right: 0; bottom: 0; z-index: 100; margin: 0 !important;
            padding: 6px 8px; background: var(--background-fill-primary); box-shadow: 0 -2px 8px rgba(0, 0, 0, .2)}
  .gradio-container {padding-bottom: 64px !important}
  /* Tap targets of at least 40 px: buttons, tabs, every tick box and radio choice with its label (not the
     hidden copies of the tabs by which Gradio measures whether they fit). */
  label:has(input[type=checkbox]), label:has(input[type=radio]) {min-height: 40px; display: flex !important;
    align-items: center; box-sizing: border-box}
  .tab-container:not(.visually-hidden) > button, .overflow-menu > button, button.label-wrap, button.icon-button,
  button.reset-button, #run-bar button {
    min-height: 40px !important; min-width: 40px}
}
"""


def _settings(add: Callable[[str, Any], Any], region: str, kinds: tuple[str, ...] | None = None) -> None:
    """The scalar settings' widgets (:mod:`arena.settings`) of one region of the page, in the table's
    order, optionally only some kinds (the radios go on their own line)."""
    for s in ON_PAGE:
        if s.page.region == region and (kinds is None or s.page.kind in kinds):
            add(s.name, setting_widget(s, **common.PAGE_POLICY.get(s.name, {})))


def _method_families(add: Callable[[str, Any], Any]) -> None:
    """The method list by family (``Method.family``), a box each, and a "select family" pick. The
    comparison reads one hidden ``methods`` list; the boxes show it and set it."""
    add("methods", gr.CheckboxGroup(choices=[(m.label, m.name) for m in METHODS], value=common.DEFAULT_METHODS,
                                    visible=False))
    with gr.Group(elem_id="method-families"):
        gr.Markdown("**Methods**, by family", elem_classes=["families-title"])
        add("family_pick", gr.Radio(choices=list(common.FAMILIES), value=None, label="select family (ticks all of "
                                    "one family, unticks the others)", elem_id="family-pick"))
        for family, label in common.FAMILIES.items():
            add(f"family.{family}", gr.CheckboxGroup(
                choices=[(m.label, m.name) for m in METHODS if m.family == family], label=label,
                value=[n for n in common.family_members(family) if n in common.DEFAULT_METHODS]))


def _preset_browser(add: Callable[[str, Any], Any]) -> None:
    """Every lecture preset in a table grouped by topic, with its methods and measured run time, and a
    search over titles, methods and topics; a click picks the preset (the ``preset`` dropdown)."""
    with gr.Accordion(f"Lecture presets: browse all {len(common.PRESETS)} by topic, or search by title, method or "
                      "topic", open=False, elem_id="preset-browser"):
        add("preset_search", gr.Textbox(label="search presets", placeholder="e.g. dip, deblurring, inpainting, GAN",
                                        elem_id="preset-search"))
        add("preset_browser", gr.Dataframe(value=common.preset_rows(), headers=common.PRESET_HEADERS, interactive=False,
                                           wrap=True, column_widths=["17%", "48%", "20%", "15%"], max_height=440,
                                           label="click a preset to load it", elem_id="preset-table", buttons=[]))


def _wire_families(ui: Components) -> None:
    """A tick in a family's box sets the one ``methods`` setting; "select family" sets it to that
    family; and the boxes show whatever sets it (a preset included)."""
    families = ui.group(["family."])
    for box in families:
        box.input(ui.bind(inputs.methods_from_families), inputs=set(families), outputs=[ui["methods"]],
                  show_progress="hidden", **PRIVATE)
    ui["family_pick"].input(ui.bind(inputs.select_family), inputs={ui["family_pick"]}, show_progress="hidden",
                            outputs=ui.group(["methods", "family_pick", "preset", "preset_md"]), **PRIVATE)
    ui["methods"].change(ui.bind(inputs.family_values), inputs={ui["methods"]}, outputs=families,
                         show_progress="hidden", **PRIVATE)


def _wire_preset_browser(ui: Components) -> None:
    """Typing filters the browser's rows; a click on a row picks its preset (whose change loads it)."""
    ui["preset_search"].input(ui.bind(inputs.search_presets), inputs={ui["preset_search"]},
                              outputs=[ui["preset_browser"]], trigger_mode="always_last", show_progress="hidden",
                              **PRIVATE)
    ui["preset_browser"].select(ui.bind(inputs.browse_preset, select=True), inputs={ui["preset_search"]},
                                outputs=[ui["preset"]], show_progress="hidden", **PRIVATE)


def build_demo(ui: Components | None = None) -> gr.Blocks:
    """Lay out the page and wire its events; returns the Blocks (not launched). ``ui`` receives
    every named component (tests read it)."""
    # While the page loads: the workers' forkserver imports torch and the methods, LPIPS loads AlexNet.
    threading.Thread(target=common.warm, name="arena-warm", daemon=True).start()
    ui = Components() if ui is None else ui
    with gr.Blocks(title="Restoration Arena", analytics_enabled=False) as demo:
        add = ui.add
        add("results", gr.State(None))
        add("mask", gr.State(None))
        add("image", gr.State(common.default_image()))
        gr.Markdown("# Restoration Arena\nDegrade an image with a known forward model **y = A(x) + n**, "
                    "run restoration methods side by side, and compare them as they converge.")
        _preset_browser(add)
        # At the top, under the browser: the list opens downwards (lower on the page it opened upwards,
        # over the title) and the preset's description and promises read first.
        add("preset", gr.Dropdown(choices=common.preset_choices(), value=None, label="Lecture preset",
                                  elem_id="preset-pick"))
        add("preset_md", gr.Markdown(elem_id="preset-md"))
        with gr.Row():
            with gr.Column(scale=1, min_width=300):
                _input_column(add)
            with gr.Column(scale=2, min_width=300):
                _method_column(add)
        with gr.Tabs():  # the comparison (and its download) before the method tabs: a phone shows the first ones
            with gr.Tab("Overview"):
                add("overview", gr.Gallery(columns=5, format="png", label="clean, degraded and every output",
                                           elem_id="overview", height="auto", allow_preview=True, object_fit="contain"))
            with gr.Tab("Compare"):
                _compare_tab(add)
            for m in METHODS:
                with add(f"tab.{m.name}", gr.Tab(m.label, visible=m.name in common.DEFAULT_METHODS)):
                    with gr.Row():
                        add(f"image.{m.name}", gr.Image(label=f"{m.label}: result", format="png",
                                                        interactive=False, height=360))
                        with gr.Column():
                            add(f"progress.{m.name}", gr.Markdown("not run yet"))
                            gr.Markdown(common.teaching_text(m), latex_delimiters=common.LATEX)
        _wire_inputs(ui)
        _wire_families(ui)
        _wire_preset_browser(ui)
        _wire_run(ui)
        _api_endpoints()
    return demo


def _input_column(add: Callable[[str, Any], Any]) -> None:
    """The page's left column: the image (bundled, uploaded, pasted; a painted mask), the degradation
    with its parameters, and the image's settings."""
    with gr.Tabs():
        with gr.Tab("Gallery"):
            add("gallery", gr.Gallery(value=common.gallery_items(), columns=3, allow_preview=False, height="auto",
                                      object_fit="contain", label="Bundled images (click one)", format="png",
                                      elem_id="bundled"))
        with gr.Tab("Upload / paste"):
            # A file box, not an image box: Gradio decodes an image box's upload before any handler
            # runs and answers a broken file with a bare "Error"; the core loader says what is wrong.
            add("upload", gr.File(type="filepath", file_types=["image", ".tif", ".tiff", ".webp"],
                                  label="Your image (PNG, JPEG, TIFF, WebP, …)", elem_id="upload"))
            add("paste", gr.Image(type="filepath", sources=["clipboard"], format="png",
                                  label="…or paste one (Ctrl+V)", height=160))
        with gr.Tab("Mask"):
            gr.Markdown("Paint the pixels to remove; inpainting with this mask is then selected.",
                        elem_classes=["mask-help"])
            add("editor", gr.ImageEditor(
                value=common.editor_background(common.default_image(), common.DEFAULT_MAX_SIDE), type="numpy",
                image_mode="RGBA", format="png", transforms=(), layers=False,
                brush=gr.Brush(colors=["#ff2020"], color_mode="fixed", default_size=14), show_label=False))
    with gr.Row():
        _settings(add, "photo")
        add("estimate", gr.Checkbox(True, label="estimate its noise level from the photo", visible=False))
    add("degradation", gr.Dropdown(choices=[(d.label, d.name) for d in DEGRADATIONS], value="denoise",
                                   label="Degradation"))
    for d in DEGRADATIONS:
        with add(f"group.{d.name}", gr.Group(visible=d.name == "denoise")):
            defaults = {q.name: q.default for q in d.params}
            for p in common.ui_params(d):
                add(f"degr.{d.name}.{p.name}", param_widget(d.name, p, visible=p.used(defaults)))
    with gr.Row():
        _settings(add, "image")
    add("show", gr.Button("Show degradation"))


def _method_column(add: Callable[[str, Any], Any]) -> None:
    """The page's right column: the clean and degraded pair, the methods by family with their
    parameters, the run's settings, Run and Stop, and the status line."""
    with gr.Row():
        add("clean", gr.Image(value=common.default_preview(), label="clean", format="png", interactive=False,
                              height=300, elem_id="clean-image"))
        add("degraded", gr.Image(label="degraded", format="png", interactive=False, height=300,
                                 elem_id="degraded-image"))
    add("degraded_md", gr.Markdown("*Press **Show degradation** or **Run**.*"))
    _method_families(add)
    for m in METHODS:
        with add(f"box.{m.name}", gr.Accordion(f"{m.label} — parameters", open=False,
                                               visible=m.name in common.DEFAULT_METHODS and bool(common.ui_params(m)))):
            for p in common.ui_params(m):
                add(f"method.{m.name}.{p.name}", param_widget(m.name, p))
    with gr.Row():
        _settings(add, "run", kinds=("slider", "number", "checkbox"))
    _settings(add, "run", kinds=("radio",))
    with gr.Row(elem_id="run-bar"):
        add("run", gr.Button("Run", variant="primary"))
        add("stop", gr.Button("Stop", variant="stop"))
    add("status", gr.Markdown())


def _compare_tab(add: Callable[[str, Any], Any]) -> None:
    """Compare: the lesson checked, the table, the download, the convergence, tuning and map
    figures, the slider and the zoom."""
    add("lesson", gr.Markdown(elem_id="lesson"))
    add("table", gr.HTML(value=common.RUN_FIRST, elem_classes=["arena-table"]))
    with gr.Accordion("Download everything (zip)", open=True):
        add("download", gr.File(label="images, metrics.csv/json, convergence.png, maps.png, tuning.png, "
                                      "config.json", elem_id="download", height=110))
        gr.Markdown("`arena run --config config.json` (from the unzipped folder) repeats this "
                    "comparison with the same seed and numbers.")
    gr.Markdown("**Convergence**: PSNR and objective against iteration and wall time")
    add("plot", gr.Image(show_label=False, format="png", interactive=False, elem_id="convergence-plot"))
    add("tuning_plot", gr.Image(label="tuning: PSNR and data misfit against λ (default, auto and oracle marked)",
                                format="png", interactive=False, visible=False, elem_id="tuning-plot"))
    add("maps_plot", gr.Image(label="residual maps A(x̂) − y and error maps |x̂ − x|, one colour scale each",
                              format="png", interactive=False, visible=False, elem_id="maps-plot"))
    with gr.Row():
        add("left", gr.Dropdown(label="slider: left image", choices=[], value=None))
        add("right", gr.Dropdown(label="slider: right image", choices=[], value=None))
    add("slider", gr.ImageSlider(label="drag to compare", format="png", interactive=False, elem_id="compare-slider",
                                 max_height=run.SLIDER_HEIGHT))
    with gr.Row():
        add("zoom_x", gr.Slider(0, 1, value=0.5, step=0.01, label="zoom centre x"))
        add("zoom_y", gr.Slider(0, 1, value=0.5, step=0.01, label="zoom centre y"))
        add("zoom_size", gr.Slider(8, 128, value=32, step=4, label="crop size (px)"))
    add("zoom", gr.Gallery(columns=6, format="png", label="the same crop in every image (first: where it is)",
                           height="auto", object_fit="contain"))


def _wire_inputs(ui: Components) -> None:
    """The input side's events: a picked image, upload or painted mask, the degradation and the
    widgets that apply to it, a preset (which replaces the comparison and clears the last run's
    panels), the observed-photo switch, and Show degradation."""
    pick_outputs = ui.group(["image", "clean", "editor", "degraded", "degraded_md", "preset", "preset_md"])
    groups, boxes_tabs = ui.group(["group."]), ui.group(["box.", "tab."])
    ui["editor"].change(ui.bind(inputs.store_mask), inputs={ui["editor"]}, trigger_mode="always_last",
                        outputs=[ui["mask"], ui["degradation"], ui["degr.inpaint.mask"], *groups],
                        show_progress="hidden", **PRIVATE)
    ui["gallery"].select(ui.bind(inputs.pick_bundled, select=True), inputs={ui["max_side"]}, outputs=pick_outputs,
                         **PRIVATE)
    for source in ("upload", "paste"):
        ui[source].change(ui.bind(inputs.pick_upload(source)), inputs={ui[source], ui["max_side"], ui["observed"]},
                          outputs=[*pick_outputs, ui[source]], **PRIVATE)
    ui["degradation"].change(ui.bind(inputs.show_group), inputs={ui["degradation"]}, outputs=groups, **PRIVATE)
    for name in ("degradation", *(f"family.{f}" for f in common.FAMILIES)):  # the user's own edits (not a
        ui[name].input(ui.bind(inputs.leave_preset), inputs={ui["preset"]},  # preset's): its text goes
                       outputs=ui.group(["preset", "preset_md"]), show_progress="hidden", **PRIVATE)
    ui["methods"].change(ui.bind(inputs.show_methods), inputs={ui["methods"]}, outputs=boxes_tabs, **PRIVATE)
    for d in DEGRADATIONS:  # a widget shows only while it applies (Param.applies: a random mask's ratio)
        for other in {p.applies[0] for p in common.ui_params(d) if p.applies}:
            dependants = [f"degr.{d.name}.{p.name}" for p in common.ui_params(d) if p.applies and p.applies[0] == other]
            ui[f"degr.{d.name}.{other}"].change(ui.bind(inputs.show_applicable(d.name, other)),
                                                 inputs={ui[f"degr.{d.name}.{other}"]},
                                                 outputs=ui.group(dependants), show_progress="hidden", **PRIVATE)
    (ui["preset"].change(run.hold_run, outputs=[ui["run"]], queue=False, show_progress="hidden", **PRIVATE)
     .then(ui.bind(inputs.apply_preset), inputs={ui["preset"]}, **PRIVATE,
           outputs=[*pick_outputs, *ui.group(["degradation", "degr.", "methods", "method.", *(s.name for s in ON_PAGE)]),
                    *groups, *boxes_tabs, *ui.group(RESULT_PANELS)])
     .then(run.release_run, outputs=[ui["run"]], queue=False, show_progress="hidden", **PRIVATE))
    ui["observed"].change(ui.bind(inputs.observed_changed), inputs={ui["observed"], ui["tune"]},
                          outputs=ui.group(["tune", "estimate"]), show_progress="hidden", **PRIVATE)
    ui["show"].click(ui.bind(run.show_degradation), api_name="show_degradation", inputs=set(ui.group(SETTINGS)),
                     outputs=ui.group(["clean", "degraded", "degraded_md"]), **PRIVATE)


def _wire_run(ui: Components) -> None:
    """Run as three chained events (check and clear, stream, finish), Stop, and the Compare tab's
    own controls (a method tab's image, the slider's two sides, the zoom)."""
    view = run.RunView.of(ui, live=gr.State(None))
    (ui["run"].click(run.start_run(view), inputs=set(ui.group(SETTINGS)), outputs=view.start_outputs(),
                     show_progress="hidden", **PRIVATE)
     .success(run.stream_run(view), inputs=[view.live], outputs=view.stream_outputs(), concurrency_id="compute",
              concurrency_limit=common.CONCURRENT_RUNS, show_progress="minimal", show_progress_on=[ui["status"]],
              **PRIVATE)
     .then(run.finish_run(view), inputs=[view.live], outputs=view.finish_outputs(), show_progress="hidden",
           **PRIVATE))
    ui["stop"].click(run.stop, outputs=[ui["status"]], concurrency_limit=None, queue=False, **PRIVATE)
    for m in METHODS:
        ui[f"tab.{m.name}"].select(run.method_image(m.name), inputs=[ui["results"]], outputs=[ui[f"image.{m.name}"]],
                                   show_progress="hidden", **PRIVATE)
    for name in ("left", "right"):
        ui[name].change(run.slide, inputs=ui.group(["results", "left", "right"]), outputs=[ui["slider"]], **PRIVATE)
    for name in ("zoom_x", "zoom_y", "zoom_size"):  # typed values too, not only drags
        ui[name].change(run.zoom_all, inputs=ui.group(["results", "zoom_x", "zoom_y", "zoom_size"]),
                        outputs=[ui["zoom"]], trigger_mode="always_last", show_progress="hidden", **PRIVATE)


def _api_endpoints() -> None:
    """The API: JSON in, JSON + images out (what gradio_client and scripts use), on hidden components."""
    api_json, api_preset = gr.Textbox(visible=False), gr.Textbox(visible=False)
    api_seed = gr.Number(visible=False, precision=0)
    api_metrics, api_images = gr.JSON(visible=False), gr.Gallery(visible=False, format="png")
    gr.Button(visible=False).click(api.api_run_config, inputs=[api_json], outputs=[api_metrics, api_images],
                                   api_name="run_config", concurrency_id="compute",
                                   concurrency_limit=common.CONCURRENT_RUNS)
    api_file, api_info = gr.File(visible=False, type="filepath"), gr.JSON(visible=False)
    gr.Button(visible=False).click(api.api_inspect_image, inputs=[api_file], outputs=[api_info],
                                   api_name="inspect_image")
    gr.Button(visible=False).click(api.api_run_preset, inputs=[api_preset, api_seed],
                                   outputs=[api_metrics, api_images], api_name="run_preset",
                                   concurrency_id="compute", concurrency_limit=common.CONCURRENT_RUNS)


def main() -> None:
    common.limit_heap()
    demo = build_demo()
    demo.queue(max_size=common.QUEUE_SIZE, default_concurrency_limit=common.CONCURRENT_RUNS)
    demo.launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ["GRADIO_SERVER_PORT"]) if os.environ.get("GRADIO_SERVER_PORT") else None,
        max_file_size=common.MAX_FILE_SIZE, css=CSS, show_error=False,
    )


if __name__ == "__main__":
    main()
