"""The settings table (arena/settings.py): one row per scalar setting drives the checks, presets and CLI."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from arena.cli import _parser, main
from arena.errors import SpecError
from arena.experiment import Config
from arena.presets import PRESETS_FILE, load_presets
from arena.settings import ON_PAGE, SETTINGS, Setting

STRUCTURED_FIELDS = {"image", "degradation", "degradation_params", "methods"}


def other_value(s: Setting) -> object:
    """A valid value of ``s`` that is not its default (and not its page's start)."""
    if s.type is bool:
        return not s.default
    if s.choices:
        return next(c for c in s.choices if c not in (s.default, "oracle"))
    if s.type is str:
        return "cpu"
    lo = s.page.lo if s.page is not None and s.page.lo is not None else (s.lo or 0)
    return s.type(max(lo, 8) + 3) if s.name == "max_side" else s.type(lo + 2)


def test_every_row_is_a_config_field_and_every_scalar_field_has_a_row():
    fields = {f.name: f for f in dataclasses.fields(Config)}
    assert {s.name for s in SETTINGS} == set(fields) - STRUCTURED_FIELDS
    for s in SETTINGS:
        default = fields[s.name].default
        assert default == s.default, f"{s.name}: Config says {default!r}, the row {s.default!r}"


@pytest.mark.parametrize("name,value,needle", [
    ("seed", -1, "at least 0"), ("seed", 2.5, "whole number"), ("seed", math.nan, "whole number"),
    ("seed", True, "whole number"), ("seconds", 0, "above 0"), ("iterations", 0, "at least 1"),
    ("metrics_every", 0, "at least 1"), ("tune", "best", "not one of off, auto, oracle"),
    ("sequential", "yes", "true or false"), ("max_side", 4, "at least 8"), ("seed", 2**31, "at most"),
])
def test_config_refuses_a_bad_value_in_one_sentence_naming_the_setting(name, value, needle):
    cfg = Config(image="camera", degradation="denoise", methods=[{"name": "naive", "params": {}}])
    setattr(cfg, name, value)
    with pytest.raises(SpecError, match=needle) as err:
        cfg.check()
    assert name in str(err.value)


def test_a_whole_float_becomes_an_int_and_max_side_zero_means_never():
    cfg = Config(image="camera", degradation="denoise", methods=[{"name": "naive", "params": {}}], seed=3.0,
                 max_side=0)
    cfg.check()
    assert cfg.seed == 3 and type(cfg.seed) is int and cfg.max_side is None


def test_a_preset_may_set_every_page_setting_and_no_other(tmp_path):
    raw = json.loads(PRESETS_FILE.read_text())
    first = raw["presets"][0]
    given = {s.name: other_value(s) for s in ON_PAGE if s.name != "observed"}
    path = tmp_path / "presets.json"
    path.write_text(json.dumps({"presets": [{**first, **given}]}))
    cfg = load_presets(path)[first["id"]].config
    assert {k: getattr(cfg, k) for k in given} == given
    path.write_text(json.dumps({"presets": [{**first, "iterations": 5}]}))
    with pytest.raises(SpecError, match="unknown key 'iterations'.*may set seed"):
        load_presets(path)


def test_every_cli_row_has_a_flag_that_reaches_config_json(tmp_path):
    """A non-default value for every setting with a flag, through ``arena run``, into config.json (which
    records a tuning as its outcome: the tuned values, and tune=off for an exact replay)."""
    rows = [s for s in SETTINGS if s.cli]
    help_text = _parser()._subparsers._group_actions[0].choices["run"].format_help()
    assert all(s.flag in help_text for s in rows)
    given = {s.name: other_value(s) for s in rows}
    flags = [a for s in rows for a in ([s.flag] if s.type is bool else [s.flag, str(given[s.name])])]
    out = tmp_path / "run"
    assert main(["run", "--image", "camera", "--degradation", "denoise", "--method", "tv:iterations=3", "--quiet",
                 "--no-lpips", "--out", str(out), *flags]) == 0
    saved = json.loads((out / "config.json").read_text())
    assert given.pop("tune") == "auto" and saved["tuned"]["tv"]["mode"] == "auto"
    assert {k: saved[k] for k in given} == given


def test_a_preset_keeps_its_settings_unless_a_flag_names_another(tmp_path):
    preset = load_presets()["denoise-classical"]
    out = tmp_path / "p"
    assert main(["run", "--preset", "denoise-classical", "--max-side", "40", "--iterations", "3", "--quiet", "--no-lpips",
                 "--out", str(out)]) == 0
    saved = json.loads((out / "config.json").read_text())
    assert saved["max_side"] == 40 and saved["iterations"] == 3
    assert saved["seed"] == preset.config.seed and saved["tune"] == preset.config.tune


def test_an_optional_flag_takes_none_and_a_bad_number_is_one_line(capsys):
    assert main(["run", "--image", "camera", "--degradation", "denoise", "--method", "naive", "--seconds", "soon"]) == 2
    assert "--seconds 'soon' must be a number or none" in capsys.readouterr().err
