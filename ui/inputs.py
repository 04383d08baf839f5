"""Choosing the input: a bundled or uploaded image, a painted mask, a preset; and the settings
widgets' values, by name, as a checked :class:`~arena.experiment.Config`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

from arena.degradations import DEGRADATIONS
from arena.errors import ArenaError, SpecError
from arena.experiment import Config, crop_observed, resolve_image
from arena.images import load_image, to_uint8
from arena.lessons import promise
from arena.method import METHODS
from arena.settings import ON_PAGE, Setting, page_value
from ui.common import (
    DEFAULT_MAX_SIDE,
    FAMILIES,
    MAX_SECONDS,
    NO_ORACLE,
    PAGE_POLICY,
    PRESET_BY_TITLE,
    PRESETS,
    RUN_FIRST,
    TUNE_CHOICES,
    editor_background,
    family_members,
    gallery_items,
    preset_rows,
    run_time,
    session_of,
    ui_params,
)
from ui.images import png_file
from ui.session import session_dir
from ui.widgets import widget_default


def _file_or_none(a: np.ndarray | None) -> str | None:
    return png_file(a) if a is not None else None


# ---- input choices ----------------------------------------------------------------------------
CLEARED = {"degraded": None, "degraded_md": "*A new image: press **Show degradation** or **Run**.*"}
"""What a new image or preset leaves in the panels that described the previous one."""


def cleared_results() -> dict[str, Any]:
    """The result panels emptied when a preset replaces the comparison: nothing on the page may
    show the previous run as if it belonged to the new settings."""
    hidden = gr.Image(value=None, visible=False)
    return {"status": "*Preset loaded: press **Run** to compute it.*", "overview": [], "table": RUN_FIRST, "lesson": "",
            "plot": None, "tuning_plot": hidden, "maps_plot": hidden, "slider": None, "zoom": [], "download": None,
            "results": None, **{f"image.{m.name}": None for m in METHODS},
            **{f"progress.{m.name}": "not run yet" for m in METHODS}}


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
        observed = bool(v.get("observed"))
        try:  # an observed photo is cropped, not resized: show and say what the run will use
            loaded = load_image(path, max_side=None if observed else int(v["max_side"]))
        except ArenaError as exc:
            gr.Warning(f"{str(exc).rstrip('.')}. The previous image stays selected.")
            return {source: None}
        x, cropped = crop_observed(loaded.x, int(v["max_side"])) if observed else (loaded.x, [])
        for notice in [*loaded.notices, *cropped]:
            gr.Info(notice)
        return {"image": path, "clean": png_file(to_uint8(x)),
                "editor": to_uint8(x.expand(-1, 3, -1, -1)), **CLEARED, **NO_PRESET}

    return pick


def observed_changed(v: dict[str, Any], request: gr.Request) -> dict[str, Any]:
    """An observed photo has no clean image: the oracle leaves the tuning choices (a chosen oracle
    becomes auto, said once), and the noise estimate applies only to it."""
    observed = bool(v["observed"])
    tune = v["tune"]
    if observed and tune == "oracle":
        gr.Info(f"{NO_ORACLE}: auto (the discrepancy principle) is used instead")
        tune = "auto"
    choices = [c for c in TUNE_CHOICES if not (observed and c[1] == "oracle")]
    return {"tune": gr.Radio(choices=choices, value=tune, info=NO_ORACLE if observed else None),
            "estimate": gr.Checkbox(visible=observed)}


def show_applicable(degradation: str, other: str) -> Callable[[dict[str, Any], gr.Request], dict[str, Any]]:
    """The handler that shows a degradation's widgets only while they apply (``Param.applies``) as
    its parameter ``other`` changes — a random mask's ratio, a box mask's side."""
    d = DEGRADATIONS.get(degradation)

    def show(v: dict[str, Any], request: gr.Request) -> dict[str, Any]:
        values = {other: v[f"degr.{degradation}.{other}"]}
        return {f"degr.{degradation}.{p.name}": gr.update(visible=p.used(values))
                for p in ui_params(d) if p.applies and p.applies[0] == other}

    return show


def show_group(v: dict[str, Any], request: gr.Request) -> dict[str, Any]:
    return {f"group.{d.name}": gr.Group(visible=d.name == v["degradation"]) for d in DEGRADATIONS}


def show_methods(v: dict[str, Any], request: gr.Request) -> dict[str, Any]:
    chosen = set(v["methods"] or [])
    return ({f"box.{m.name}": gr.Accordion(visible=m.name in chosen and bool(ui_params(m))) for m in METHODS}
            # Gradio 6 shows a tab again on visible=True but ignores visible=False in an update
            # (checked in Chromium); "hidden" does hide it.
            | {f"tab.{m.name}": gr.Tab(visible=True if m.name in chosen else "hidden")
               for m in METHODS})


def family_values(v: dict[str, Any], request: gr.Request) -> dict[str, Any]:
    """The ticked methods (the one ``methods`` setting, which a preset or a family pick sets) shown
    in their family's box."""
    chosen = set(v["methods"] or [])
    return {f"family.{f}": [n for n in family_members(f) if n in chosen] for f in FAMILIES}


def methods_from_families(v: dict[str, Any], request: gr.Request) -> dict[str, Any]:
    """A tick or untick in a family's box: the ``methods`` setting becomes every box's ticks, in the
    registry's order."""
    ticked = {n for f in FAMILIES for n in (v.get(f"family.{f}") or [])}
    return {"methods": [m.name for m in METHODS if m.name in ticked]}


def select_family(v: dict[str, Any], request: gr.Request) -> dict[str, Any]:
    """"Select family": exactly that family's methods are ticked; the picker is ready for the next pick."""
    family = v.get("family_pick")
    if family not in FAMILIES:
        return {}
    return {"methods": family_members(family), "family_pick": None, **NO_PRESET}


def search_presets(v: dict[str, Any], request: gr.Request) -> dict[str, Any]:
    """The preset browser shows the presets whose topic, title or methods contain every word typed."""
    rows = preset_rows(v["preset_search"])
    return {"preset_browser": rows or [["", "no preset matches: try a method's name, e.g. tv or dip", "", ""]]}


def browse_preset(v: dict[str, Any], request: gr.Request, evt: gr.SelectData) -> dict[str, Any]:
    """A cell of the preset browser clicked: its row's preset is picked (the title names it)."""
    row = evt.row_value or []
    pid = PRESET_BY_TITLE.get(row[1]) if len(row) > 1 else None
    return {"preset": pid} if pid else {}


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
    md = (f"**{p.title}.** {p.description}" + (f"\n\n*Convention:* {p.convention}" if p.convention else "")
          + f"\n\n*Run time:* {run_time(p)}.")
    if p.claims:
        md += "\n\n**What the run should show** (checked after it, under Compare):\n" + "\n".join(
            f"- {promise(c)}" for c in p.claims)
    return {"preset_md": md, "image": path, "clean": _file_or_none(img), "editor": img, **CLEARED, **cleared_results(),
            "degradation": c.degradation, **show_group({"degradation": c.degradation}, request),
            **{f"degr.{d.name}.{prm.name}": _number_or_default(c.degradation_params.get(prm.name, prm.default),
                                                                prm.default) for prm in ui_params(d)},
            "methods": list(chosen), **show_methods({"methods": list(chosen)}, request),
            **{f"method.{m.name}.{prm.name}": _shown_value(chosen[m.name].get(prm.name, widget_default(prm)))
               for m in METHODS if m.name in chosen for prm in ui_params(m)},
            **{s.name: _on_page(s, getattr(c, s.name)) for s in ON_PAGE}}


def _on_page(s: Setting, value: Any) -> Any:
    """A preset's value as the page's widget holds it: within the app's cap (:data:`PAGE_POLICY`),
    and none (no cap, never downscale) as the widget's start."""
    policy = PAGE_POLICY.get(s.name, {})
    if value is None:
        return policy.get("value", page_value(s))
    cap = policy.get("maximum")
    return min(value, cap) if cap is not None else value


def _shown_value(value: Any) -> Any:
    """A float as a person types it (a preset's 1/30 shows as 0.0333333)."""
    return float(f"{value:.6g}") if isinstance(value, float) else value


def _number_or_default(value: Any, default: Any) -> Any:
    """A preset's ``auto`` noise level shows as the default in its slider (the estimate replaces it)."""
    return default if isinstance(value, str) and value.strip().lower() == "auto" else value


# ---- settings → Config --------------------------------------------------------------------------
def config_from(v: Mapping[str, Any], session: str) -> Config:
    """The ``settings`` widgets' values, by name (:data:`ui.registry.SETTINGS`), as a checked
    :class:`Config`. Every setting is read by its name: one the event did not send is a KeyError,
    never a silent default."""
    image, degradation = v["image"], v["degradation"]
    d = DEGRADATIONS.get(str(degradation)) if degradation in DEGRADATIONS else None
    degr_params: dict[str, Any] = {p.name: v.get(f"degr.{degradation}.{p.name}", widget_default(p))
                                   for p in (ui_params(d) if d else [])}
    selected = list(v["methods"] or [])
    method_params = {n: {p.name: v.get(f"method.{n}.{p.name}", widget_default(p)) for p in ui_params(METHODS.get(n))}
                     for n in selected if n in METHODS}
    if not image:
        raise SpecError("choose an image first (Gallery or Upload)")
    if not selected:
        raise SpecError("tick at least one method")
    scalars = {s.name: s.check(v[s.name]) for s in ON_PAGE}
    if scalars["observed"] and v["estimate"] and d is not None and d.noise_key is not None:
        degr_params[d.noise_key] = "auto"
    if degradation == "inpaint" and degr_params.get("mask") == "file":
        if not v["mask"]:
            raise SpecError("mask 'painted' needs strokes: paint the pixels to remove on the Mask tab first")
        degr_params["path"] = v["mask"]
    if (scalars["seconds"] or 0) > MAX_SECONDS:
        gr.Info(f"the time budget is at most {MAX_SECONDS} s per method in the app; {MAX_SECONDS} s is used")
    cfg = Config(image=str(image), degradation=str(degradation), degradation_params=degr_params,
                 methods=[{"name": n, "params": method_params.get(n, {})} for n in selected],
                 **{**scalars, "seconds": min(scalars["seconds"] or MAX_SECONDS, MAX_SECONDS)})
    cfg.check()
    return cfg


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
    path = session_dir(session_of(request) + "mask") / "mask.png"
    Image.fromarray((painted * 255).astype(np.uint8)).save(path)
    return str(path)
