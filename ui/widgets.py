"""Gradio widgets generated from :class:`arena.params.Param` schemas (same limits as the CLI)."""

from __future__ import annotations

import gradio as gr

from arena.params import Param
from arena.settings import Setting, page_value
from ui.text import user_text

CHOICE_LABELS = {("inpaint", "mask", "file"): "painted (Mask tab)"}
"""UI wording for some choices; the value sent to the core stays the schema's."""


AUTO = "auto"
"""What an adaptive parameter's widget holds (or an empty number box) until the user sets a value:
the method's problem-aware rule applies, and the report records the value it gave."""


def param_widget(owner: str, p: Param, *, visible: bool = True) -> gr.components.Component:
    """One input for ``p`` (hidden while ``visible`` is False: a parameter that does not apply). A
    dropdown for choices, checkbox for bools, slider for bounded linear
    numbers, number box for logarithmic or unbounded ones. Adaptive parameters start as "auto"
    (a dropdown entry, or an empty number box) so the problem-aware rule applies unless the user
    types a value. The core re-checks every value."""
    label = f"{p.name}"
    info = user_text(p.help)
    if p.choices is not None:
        choices = [(CHOICE_LABELS.get((owner, p.name, c), str(c)), c) for c in p.choices]
        if p.adaptive:
            choices = [("auto (from the problem)", AUTO), *choices]
        return gr.Dropdown(choices=choices, value=AUTO if p.adaptive else p.default, label=label, info=info,
                           visible=visible)
    if p.adaptive and isinstance(p.default, (int, float)):
        return gr.Number(value=None, minimum=p.min, maximum=p.max, label=label, info=info, visible=visible,
                         placeholder="auto (from the problem): leave empty or type a value",
                         precision=0 if isinstance(p.default, int) else None)
    if isinstance(p.default, bool):
        return gr.Checkbox(value=p.default, label=label, info=info, visible=visible)
    if isinstance(p.default, (int, float)):
        if p.min is not None and p.max is not None and not p.log and p.max - p.min <= 1000:
            step = 1 if isinstance(p.default, int) else _step(p)
            return gr.Slider(minimum=p.min, maximum=p.max, value=p.default, step=step, label=label, info=info,
                             visible=visible)
        return gr.Number(value=p.default, minimum=p.min, maximum=p.max, label=label, info=info, visible=visible,
                         precision=0 if isinstance(p.default, int) else None,
                         step=1 if isinstance(p.default, int) else 0.001)
    return gr.Textbox(value=str(p.default), label=label, info=info, visible=False)


def _step(p: Param) -> float:
    span = float(p.max) - float(p.min)
    return 0.01 if span <= 10 else 0.1


def widget_default(p: Param) -> object:
    """The value :func:`param_widget` starts with (what a preset leaves a parameter at)."""
    if p.adaptive:
        return AUTO if p.choices is not None else None
    return p.default


def setting_widget(s: Setting, **policy: object) -> gr.components.Component:
    """The page's input for a scalar setting (:mod:`arena.settings`), with the app's ``policy``
    (its own cap or default, e.g. the time budget's maximum) over the row's widget."""
    w = s.page
    assert w is not None, f"{s.name} has no widget"
    kw: dict = {"label": w.label, "value": page_value(s), "elem_id": f"setting-{s.name}"}
    if w.kind in ("slider", "number"):
        kw |= {"minimum": w.lo, "maximum": w.hi if w.hi is not None else s.hi}
    kw |= policy
    if w.kind == "checkbox":
        return gr.Checkbox(**kw)
    if w.kind == "radio":
        return gr.Radio(choices=list(w.choices), **kw)
    if w.kind == "slider":
        return gr.Slider(step=w.step, **kw)
    return gr.Number(precision=0 if s.type is int else None, **kw)
