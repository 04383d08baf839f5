"""Restoration Arena — the Gradio app: ``python app.py`` (honours GRADIO_SERVER_NAME/PORT).

A thin layer over :mod:`arena`: widgets come from the registries' parameter schemas, every number
from the core; this file lays out the page and wires events. Handlers live in :mod:`ui.handlers`.
"""

from __future__ import annotations

import os
import threading

import gradio as gr

from arena import workers
from arena.degradations import DEGRADATIONS
from arena.method import METHODS
from ui import handlers as h
from ui.widgets import param_widget

PRIVATE = {"api_visibility": "private"}
"""The page's own events: not on the API page, not callable by gradio_client. Only the three
documented endpoints are an API, and they refuse server paths (Param.server_path)."""

CSS = """
.arena-table table {border-collapse: collapse; width: 100%; font-size: 0.95em}
.arena-table th, .arena-table td {padding: 4px 10px; border-bottom: 1px solid var(--border-color-primary); text-align: right}
.arena-table td:first-child, .arena-table th:first-child {text-align: left}
.arena-table td.best {font-weight: 700; background: var(--color-accent-soft)}
.arena-table td.status {text-align: left; font-size: 0.85em; color: var(--body-text-color-subdued)}
"""


def build_demo() -> gr.Blocks:
    """Lay out the page and wire its events; returns the Blocks (not launched)."""
    if h.WORKERS == "processes":  # the workers' forkserver imports torch and the methods while the page loads
        threading.Thread(target=workers.warm, name="arena-warm", daemon=True).start()
    with gr.Blocks(title="Restoration Arena", analytics_enabled=False) as demo:
        results_state = gr.State(None)
        mask_path = gr.State(None)
        image_path = gr.State(h.default_image())
        gr.Markdown("# Restoration Arena\nDegrade an image with a known forward model **y = A(x) + n**, "
                    "run restoration methods side by side, and compare them as they converge.")
        with gr.Row():
            with gr.Column(scale=1, min_width=340):
                with gr.Tabs():
                    with gr.Tab("Gallery"):
                        gallery = gr.Gallery(value=h.gallery_items(), columns=3, allow_preview=False, height=260,
                                             label="Bundled images (click one)", format="png", elem_id="bundled")
                    with gr.Tab("Upload / paste"):
                        upload = gr.Image(type="filepath", sources=["upload", "clipboard"], format="png",
                                          label="Your image (PNG, JPEG, TIFF, …)")
                    with gr.Tab("Mask"):
                        editor = gr.ImageEditor(
                            value=h.editor_background(h.default_image(), h.DEFAULT_MAX_SIDE), type="numpy",
                            image_mode="RGBA", format="png", transforms=(), layers=False,
                            brush=gr.Brush(colors=["#ff2020"], color_mode="fixed", default_size=14),
                            label="Paint the pixels to remove (inpainting → mask: painted)")
                with gr.Row():
                    observed = gr.Checkbox(False, label="I only have the degraded photo (it is y: no clean image, "
                                                      "no PSNR)", elem_id="observed-mode")
                    estimate = gr.Checkbox(True, label="estimate its noise level from the photo")
                preset = gr.Dropdown(choices=h.preset_choices(), value=None, label="Lecture preset")
                preset_md = gr.Markdown()
                degradation = gr.Dropdown(choices=[(d.label, d.name) for d in DEGRADATIONS], value="denoise",
                                          label="Degradation")
                degr_groups, degr_widgets = [], []
                for d in DEGRADATIONS:
                    with gr.Group(visible=d.name == "denoise") as group:
                        for p in h.ui_params(d):
                            degr_widgets.append(param_widget(d.name, p))
                    degr_groups.append(group)
                with gr.Row():
                    seed = gr.Number(value=0, precision=0, minimum=0, maximum=2**31 - 1, label="seed")
                    max_side = gr.Slider(32, 1024, value=h.DEFAULT_MAX_SIDE, step=8, label="longest side (px)")
                show_btn = gr.Button("Show degradation")
            with gr.Column(scale=2):
                with gr.Row():
                    clean_img = gr.Image(label="clean", format="png", interactive=False, height=300, elem_id="clean-image")
                    degraded_img = gr.Image(label="degraded", format="png", interactive=False, height=300)
                degraded_md = gr.Markdown()
                methods = gr.CheckboxGroup(choices=[(m.label, m.name) for m in METHODS], value=h.DEFAULT_METHODS,
                                           label="Methods")
                method_boxes, method_widgets = [], []
                for m in METHODS:
                    with gr.Accordion(f"{m.label} — parameters", open=False,
                                      visible=m.name in h.DEFAULT_METHODS and bool(m.params)) as box:
                        for p in h.ui_params(m):
                            method_widgets.append(param_widget(m.name, p))
                    method_boxes.append(box)
                with gr.Row():
                    seconds = gr.Slider(1, h.MAX_SECONDS, value=60, step=1, label="time budget per method (s)")
                    sequential = gr.Checkbox(False, label="fair timing (run methods one after another)")
                tune = gr.Radio(choices=[("off: problem-aware defaults", "off"),
                                         ("auto: discrepancy principle (never sees the clean image)", "auto"),
                                         ("oracle: best PSNR (uses the clean image, as papers tune)", "oracle")],
                                value="off", label="tune λ (Tikhonov, TV, RED)", elem_id="tune-mode")
                with gr.Row():
                    run_btn = gr.Button("Run", variant="primary")
                    stop_btn = gr.Button("Stop", variant="stop")
                status = gr.Markdown()
        with gr.Tabs():
            with gr.Tab("Overview"):
                overview = gr.Gallery(columns=5, format="png", label="clean, degraded and every output", elem_id="overview",
                                      height="auto", allow_preview=True)
            method_tabs, method_imgs, method_progress = [], [], []
            for m in METHODS:
                with gr.Tab(m.label, visible=m.name in h.DEFAULT_METHODS) as tab:
                    with gr.Row():
                        method_imgs.append(gr.Image(label=f"{m.label}: current iterate", format="png",
                                                    interactive=False, height=360))
                        with gr.Column():
                            method_progress.append(gr.Markdown("not run yet"))
                            gr.Markdown(h.teaching_text(m))
                method_tabs.append(tab)
            with gr.Tab("Compare"):
                table = gr.HTML(elem_classes=["arena-table"])
                plot = gr.Image(label="convergence: PSNR and objective vs iteration and wall time", format="png",
                                interactive=False, elem_id="convergence-plot")
                lam_plot = gr.Image(label="tuning: PSNR and data misfit against λ (default, auto and oracle marked)",
                                    format="png", interactive=False, visible=False, elem_id="tuning-plot")
                maps_plot = gr.Image(label="residual maps A(x̂) − y and error maps |x̂ − x|, one colour scale each",
                                     format="png", interactive=False, visible=False, elem_id="maps-plot")
                with gr.Row():
                    left = gr.Dropdown(label="slider: left image", choices=[], value=None)
                    right = gr.Dropdown(label="slider: right image", choices=[], value=None)
                slider = gr.ImageSlider(label="drag to compare", format="png", interactive=False)
                with gr.Row():
                    zoom_x = gr.Slider(0, 1, value=0.5, step=0.01, label="zoom centre x")
                    zoom_y = gr.Slider(0, 1, value=0.5, step=0.01, label="zoom centre y")
                    zoom_size = gr.Slider(8, 128, value=32, step=4, label="crop size (px)")
                zoom = gr.Gallery(columns=6, format="png", label="the same crop in every image", height="auto")
            with gr.Tab("Download"):
                download = gr.File(label="images, metrics.csv/json, convergence.png, maps.png, tuning.png, config.json (zip)")
                gr.Markdown("`arena run --config config.json` (from the unzipped folder) repeats this comparison "
                            "with the same seed and numbers.")

        # ---- events ------------------------------------------------------------------------
        degr_inputs = [degradation, *degr_widgets]
        method_inputs = [methods, *method_widgets]
        settings = [image_path, *degr_inputs, seed, max_side, mask_path, *method_inputs, seconds, sequential, tune,
                    observed, estimate]

        editor.change(h.store_mask, inputs=[editor], outputs=[mask_path], trigger_mode="always_last", **PRIVATE,
                      show_progress="hidden")
        gallery.select(h.pick_bundled, inputs=[max_side], outputs=[image_path, clean_img, editor], **PRIVATE)
        upload.change(h.pick_upload, inputs=[upload, image_path, max_side], outputs=[image_path, clean_img, editor],
                      **PRIVATE)
        degradation.change(h.show_group, inputs=[degradation], outputs=degr_groups, **PRIVATE)
        methods.change(h.show_methods, inputs=[methods], outputs=[*method_boxes, *method_tabs], **PRIVATE)
        preset.change(h.apply_preset, inputs=[preset], **PRIVATE,
                      outputs=[preset_md, image_path, clean_img, editor, degradation, *degr_groups, *degr_widgets,
                               seed, max_side, methods, *method_boxes, *method_tabs, *method_widgets, seconds, tune,
                               observed])
        show_btn.click(h.show_degradation, inputs=settings, outputs=[clean_img, degraded_img, degraded_md], **PRIVATE)
        view = h.RunView(clean=clean_img, degraded=degraded_img, degraded_md=degraded_md, status=status,
                         overview=overview, images={m.name: img for m, img in zip(METHODS, method_imgs)},
                         progress={m.name: md for m, md in zip(METHODS, method_progress)}, table=table, plot=plot,
                         left=left, right=right, slider=slider, zoom=zoom, download=download, results=results_state,
                         tuning_plot=lam_plot, maps_plot=maps_plot, live=gr.State(None))
        (run_btn.click(h.start_run(view), inputs=settings, outputs=view.start_outputs(), show_progress="hidden",
                       api_visibility="private")
         .success(h.stream_run(view), inputs=[view.live], outputs=view.stream_outputs(), concurrency_id="compute",
                  concurrency_limit=h.CONCURRENT_RUNS, show_progress="minimal", show_progress_on=[status],
                  api_visibility="private")
         .then(h.finish_run(view), inputs=[view.live], outputs=view.finish_outputs(), show_progress="hidden",
               api_visibility="private"))
        stop_btn.click(h.stop, outputs=[status], concurrency_limit=None, queue=False, **PRIVATE)
        for m, tab, img in zip(METHODS, method_tabs, method_imgs):
            tab.select(h.method_image(m.name), inputs=[results_state], outputs=[img], show_progress="hidden",
                       **PRIVATE)
        for comp in (left, right):
            comp.change(h.slide, inputs=[results_state, left, right], outputs=[slider], **PRIVATE)
        for comp in (zoom_x, zoom_y, zoom_size):
            comp.release(h.zoom_all, inputs=[results_state, zoom_x, zoom_y, zoom_size], outputs=[zoom], **PRIVATE)

        # ---- API: JSON in, JSON + images out (what gradio_client and scripts use) --------------
        api_json = gr.Textbox(visible=False)
        api_preset = gr.Textbox(visible=False)
        api_seed = gr.Number(visible=False, precision=0)
        api_metrics = gr.JSON(visible=False)
        api_images = gr.Gallery(visible=False, format="png")
        gr.Button(visible=False).click(h.api_run_config, inputs=[api_json], outputs=[api_metrics, api_images],
                                       api_name="run_config", concurrency_id="compute",
                                       concurrency_limit=h.CONCURRENT_RUNS)
        api_file = gr.File(visible=False, type="filepath")
        api_info = gr.JSON(visible=False)
        gr.Button(visible=False).click(h.api_inspect_image, inputs=[api_file], outputs=[api_info],
                                       api_name="inspect_image")
        gr.Button(visible=False).click(h.api_run_preset, inputs=[api_preset, api_seed],
                                       outputs=[api_metrics, api_images], api_name="run_preset",
                                       concurrency_id="compute", concurrency_limit=h.CONCURRENT_RUNS)
    return demo


def main() -> None:
    demo = build_demo()
    demo.queue(max_size=h.QUEUE_SIZE, default_concurrency_limit=h.CONCURRENT_RUNS)
    demo.launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ["GRADIO_SERVER_PORT"]) if os.environ.get("GRADIO_SERVER_PORT") else None,
        max_file_size=h.MAX_FILE_SIZE, css=CSS, show_error=False,
    )


if __name__ == "__main__":
    main()
