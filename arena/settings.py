"""A comparison's scalar settings, one row each: the page, presets, the CLI and the checks read this table.

Adding a setting is one row here plus the :class:`~arena.experiment.Config` field it fills (a
test holds the two together). From the row come: its check (:meth:`Setting.check`, called by
``Config.check``), its widget on the page and the app's reading of it (``ui.widgets.setting_widget``,
``ui.inputs.config_from``), a preset's value (``presets.json`` → :func:`arena.presets.load_presets`,
shown on the page by ``ui.inputs.apply_preset``), its ``arena run`` flag and the tests' page
settings. A preset may set exactly the settings the page shows, so the page can show what it set.

The structured settings — the image, the degradation and the methods with their parameters — are
described by the registries' parameter schemas (:class:`arena.params.Param`), not here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from arena.errors import SpecError


@dataclass(frozen=True)
class Widget:
    """How the page shows a setting (the UI builds the Gradio component from it)."""

    kind: str
    """``number``, ``slider``, ``checkbox`` or ``radio``."""
    label: str
    region: str
    """Where on the page: ``photo`` (under the image choice), ``image`` (beside the degradation),
    ``run`` (beside Run)."""
    value: Any = None
    """What the page starts with when it differs from the setting's default."""
    lo: float | None = None
    hi: float | None = None
    step: float | None = None
    choices: tuple[tuple[str, Any], ...] = ()
    """(label, value) pairs of a radio."""


@dataclass(frozen=True)
class Setting:
    """One scalar setting of a comparison: the :class:`~arena.experiment.Config` field of that name,
    the key of that name in a preset, the flag ``--name-with-dashes`` of ``arena run``."""

    name: str
    type: type
    default: Any
    help: str
    lo: float | None = None
    hi: float | None = None
    above: bool = False
    """``lo`` is excluded (a time budget must be positive, not zero)."""
    choices: tuple[Any, ...] = ()
    optional: bool = False
    """None is a value (no cap, never downscale)."""
    cli: bool = True
    page: Widget | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def check(self, value: Any) -> Any:
        """``value`` as this setting holds it (a whole float becomes an int), or a one-sentence
        :class:`SpecError` saying what is allowed."""
        if value is None and self.optional:
            return None
        value = self._typed(value)
        if self.choices and value not in self.choices:
            raise SpecError(f"{self.name}={value!r} is not one of {', '.join(map(str, self.choices))}")
        if self.lo is not None and (value <= self.lo if self.above else value < self.lo):
            raise SpecError(f"{self.name}={value!r} must be {'above' if self.above else 'at least'} {self.lo:g}"
                            + (f" and at most {self.hi:g}" if self.hi is not None else ""))
        if self.hi is not None and value > self.hi:
            raise SpecError(f"{self.name}={value!r} must be at most {self.hi:g}")
        return value

    def _typed(self, value: Any) -> Any:
        if self.type is bool:
            if not isinstance(value, bool):
                raise SpecError(f"{self.name}={value!r} must be true or false")
            return value
        if self.type is str:
            return str(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise SpecError(f"{self.name}={value!r} must be a {'whole ' if self.type is int else ''}number")
        if self.type is int:
            if value != int(value):
                raise SpecError(f"{self.name}={value!r} must be a whole number")
            return int(value)
        return float(value)


TUNE_MODES = ("off", "auto", "oracle")
"""How a method's regularisation weight is chosen (:mod:`arena.tuning`)."""

SETTINGS: tuple[Setting, ...] = (
    Setting("seed", int, 0, "random seed (noise, masks, network initialisations)", lo=0, hi=2**31 - 1,
            page=Widget("number", "seed", "image", lo=0, hi=2**31 - 1)),
    Setting("max_side", int, 256, "downscale so the longer side is at most N pixels (0 or none: never)", lo=8,
            optional=True, page=Widget("slider", "longest side (px)", "image", lo=32, hi=1024, step=8)),
    Setting("seconds", float, None, "wall-time cap per method, seconds (none: no cap)", lo=0, above=True,
            optional=True, page=Widget("slider", "time budget per method (s)", "run", value=60, lo=1, step=1)),
    Setting("iterations", int, None, "iteration cap per method (none: each method's own)", lo=1, optional=True),
    Setting("metrics_every", int, 10, "measure PSNR/SSIM every K iterations", lo=1),
    Setting("sequential", bool, False, "run methods one after another (fair timing)",
            page=Widget("checkbox", "fair timing (run methods one after another)", "run")),
    Setting("tune", str, "off", "choose each method's regularisation weight: off (problem-aware default), auto "
            "(discrepancy principle, never sees the clean image), oracle (best PSNR: uses it)", choices=TUNE_MODES,
            page=Widget("radio", "tune λ", "run", choices=(
                ("off: problem-aware defaults", "off"),
                ("auto: discrepancy principle (never sees the clean image)", "auto"),
                ("oracle: best PSNR (uses the clean image, as papers tune)", "oracle")))),
    Setting("observed", bool, False, "the image is a photo that came degraded (it is y: no clean image, no PSNR)",
            cli=False,  # arena run --observed PATH names the photo itself
            page=Widget("checkbox", "I only have the degraded photo (it is y: no clean image, no PSNR)", "photo")),
    Setting("device", str, "auto", "auto, cpu, cuda or cuda:N"),
)
"""Every scalar setting, in the order the page and ``arena run --help`` show them."""

BY_NAME = {s.name: s for s in SETTINGS}
ON_PAGE = tuple(s for s in SETTINGS if s.page is not None)
"""The settings with a widget: the ones a preset may set."""


def page_value(s: Setting) -> Any:
    """What the page's widget for ``s`` starts with."""
    return s.default if s.page is None or s.page.value is None else s.page.value
