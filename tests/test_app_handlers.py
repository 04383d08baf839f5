"""The app's handlers without a server: settings → Config, painted masks, the metrics table."""

from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip("gradio")

from arena.degradations import DEGRADATIONS  # noqa: E402
from arena.errors import SpecError  # noqa: E402
from arena.method import METHODS  # noqa: E402
from arena.settings import ON_PAGE, page_value  # noqa: E402
from ui import common, inputs, run  # noqa: E402
from ui.registry import SETTINGS, Components  # noqa: E402
from ui.text import user_text  # noqa: E402
from ui.widgets import widget_default  # noqa: E402

VIEW = run.RunView(**{f: f for f in ("clean", "degraded", "degraded_md", "status", "overview", "table", "plot", "left",
                                    "right", "slider", "zoom", "download", "results", "tuning_plot", "maps_plot", "lesson",
                                    "live")},
                 images={m.name: f"image-{m.name}" for m in METHODS}, progress={m.name: f"progress-{m.name}" for m in METHODS},
                 run="run", names=Components())
"""Stand-ins for the run's output components (the handlers only use them as dictionary keys)."""


def run_updates(values) -> list[dict]:
    """Every update of a Run, through its three chained events as the page fires them."""
    first = run.start_run(VIEW)(values, FakeRequest())
    streamed = list(run.stream_run(VIEW)(FakeRequest(), first["live"]))
    live = next(u["live"] for u in reversed(streamed) if "live" in u)
    return [first, *streamed, *run.finish_run(VIEW)(FakeRequest(), live)]


class FakeRequest:
    """Only the attribute the handlers read; gradio builds the real one from the HTTP request."""

    session_hash = "testsession"


def settings(degradation="denoise", degr=None, methods=("naive", "tv"), method_params=None, mask=None, estimate=True,
             image=None, **scalars):
    """The settings as the page sends them, by name (ui.registry.SETTINGS); every widget is present,
    each scalar setting (arena.settings) at its page's start unless given (tiny and short by default)."""
    values = {"image": image or common.default_image(), "degradation": degradation, "mask": mask,
              "methods": list(methods), "estimate": estimate, "preset": None,
              **{s.name: page_value(s) for s in ON_PAGE}, "max_side": 64, "seconds": 30, **scalars}
    for d in DEGRADATIONS:
        for p in common.ui_params(d):
            values[f"degr.{d.name}.{p.name}"] = (degr or {}).get(p.name, p.default) if d.name == degradation else p.default
    for m in METHODS:
        for p in common.ui_params(m):
            values[f"method.{m.name}.{p.name}"] = (method_params or {}).get(m.name, {}).get(p.name, widget_default(p))
    return values


def test_settings_become_a_checked_config():
    cfg = inputs.config_from(settings("blur", {"sigma": 2.0}, method_params={"tv": {"lam": 0.01}}), "s")
    assert cfg.degradation == "blur" and cfg.degradation_params["sigma"] == 2.0
    assert [m["name"] for m in cfg.methods] == ["naive", "tv"] and cfg.methods[1]["params"]["lam"] == 0.01


def test_untouched_adaptive_widgets_leave_the_rule_to_the_problem_and_tune_is_passed():
    cfg = inputs.config_from(settings("blur", methods=("tv", "red"), tune="oracle"), "s")
    assert cfg.tune == "oracle"
    tv, red = (cfg.methods[0]["params"], cfg.methods[1]["params"])
    assert tv["lam"] is None and red["start"] == "auto"  # empty box / "auto" entry
    from arena.experiment import prepare_experiment

    prep = prepare_experiment(cfg)
    assert METHODS.get("tv").resolve(tv, prep.problem)["lam"] == pytest.approx(20 * (2 / 255) ** 2.3)


@pytest.mark.parametrize("kw,needle", [
    ({"methods": ()}, "at least one method"),
    ({"seed": -1}, "at least 0"),
    ({"seed": float("nan")}, "whole number"),
    ({"method_params": {"tv": {"lam": 1e9}}}, "out of range"),
    ({"degradation": "blur", "degr": {"size": 4}}, None),
    ({"degradation": "inpaint", "degr": {"mask": "file"}}, "paint the pixels"),
])
def test_bad_settings_are_refused_with_a_sentence(kw, needle):
    if needle is None:  # checked when the operator is built
        from arena.experiment import prepare_experiment

        with pytest.raises(SpecError, match="odd"):
            prepare_experiment(inputs.config_from(settings(**kw), "s"))
        return
    with pytest.raises(SpecError, match=needle):
        inputs.config_from(settings(**kw), "s")


def test_painted_strokes_become_the_inpainting_mask():
    from arena.experiment import prepare_experiment

    layer = np.zeros((64, 64, 4), dtype=np.uint8)
    layer[10:20, 30:50, 3] = 255  # the strokes: alpha > 0
    update = inputs.store_mask({"editor": {"background": None, "layers": [layer], "composite": None}}, FakeRequest())
    path = update["mask"]
    assert update["degradation"] == "inpaint" and update["degr.inpaint.mask"] == "file", "painting selects it"
    assert path is not None
    prep = prepare_experiment(inputs.config_from(settings("inpaint", {"mask": "file"}, mask=path), "s"))
    missing = 1 - prep.problem.degradation.mask[0, 0]
    assert float(missing.sum()) == 200 and float(missing[15, 40]) == 1.0
    assert inputs.store_mask({"editor": {"layers": [np.zeros((8, 8, 4), dtype=np.uint8)]}}, FakeRequest()) == {"mask": None}


def test_table_highlights_the_best_value_per_column():
    from arena.experiment import prepare_experiment
    from arena.experiment import run as run_experiment

    prep = prepare_experiment(inputs.config_from(settings(), "s"))
    results = list(run_experiment(prep, with_lpips=False))[-1].results
    html = run.table_html(results, prep.degraded_metrics)
    assert html.count(' best"') >= 2
    best_psnr = max(results, key=lambda k: results[k].metrics["psnr"])
    row = next(r for r in html.split("<tr>") if r.startswith(f'<td class="name">{best_psnr}</td>'))
    assert '<td class="number best">' in row


def test_table_columns_are_declared_with_their_formats():
    """Each header of the core's table has a declared column (a new column is not formatted by its
    position): PSNR with 2 decimals, SSIM and LPIPS with 3, iterations as a whole number; the status
    is one line, its whole text the tooltip; the table scrolls in its own box behind a cue."""
    from arena.report import TABLE_COLUMNS
    from arena.runner import MethodResult

    assert {h for _, h, _ in TABLE_COLUMNS} | {"method", "status"} == set(run.TABLE)
    r = MethodResult("tv", "tv", "tv", {}, message="stopped early by the rule " * 5,
                     metrics={"psnr": 27.333, "ssim": 0.81949, "lpips": 0.11249, "data_fit": 22.5}, seconds=1.234,
                     iterations=300)
    html = run.table_html({"tv": r}, {"psnr": 20.84, "ssim": 0.4741, "lpips": None})
    cells = [c.split(">", 1)[1].split("</td>")[0] for c in html.split("<tbody>")[1].split("<td")[1:]]
    assert cells[:8] == ["(degraded input)", "20.84", "0.474", "—", "—", "—", "—", ""], cells[:8]
    assert cells[8:15] == ["tv", "27.33", "0.819", "0.112", "1.23", "300", "22.50"], cells[8:15]
    assert cells[15].endswith(" …") and len(cells[15]) <= run.STATUS_CHARS + 2
    assert 'title="done: stopped early by the rule' in html
    assert '<div class="table-scroll"><table>' in html and 'class="scroll-cue"' in html


def test_an_observed_photo_runs_without_a_clean_image_and_shows_its_maps():
    from arena.experiment import bundled_observed

    cfg = inputs.config_from(settings(methods=("tv",), observed=True, image=str(bundled_observed()["noisy_rocket"])), "s")
    assert cfg.observed and cfg.degradation_params["sigma"] == "auto"
    updates = run_updates(settings(methods=("tv",), observed=True, method_params={"tv": {"iterations": 30}},
                                   image=str(bundled_observed()["noisy_rocket"])))
    first, last = updates[0], updates[-1]
    assert first["clean"] is None, "no clean image to show"
    assert "no PSNR" in first["degraded_md"] and "estimated from the photo" in first["degraded_md"]
    table = next(u["table"] for u in updates if u.get("table"))
    assert "—" in table
    assert any(u.get("image-tv") for u in updates), "the method's tab gets its result"
    maps = last["maps_plot"]
    assert maps.visible and str(maps.value["path"] if isinstance(maps.value, dict) else maps.value).endswith("maps.png")


def test_every_preset_sets_named_components_of_the_page_and_clears_the_last_image():
    import app
    from ui.common import PRESETS

    ui = Components()
    app.build_demo(ui)
    for pid in PRESETS:
        update = inputs.apply_preset({"preset": pid}, FakeRequest())
        ui.keyed(update)  # KeyError for a name the page does not have
        assert update["degraded"] is None and "new image" in update["degraded_md"], pid
        assert set(update["methods"]) == {m["name"] for m in PRESETS[pid].config.methods}
    settings_names = {n for n in SETTINGS if not n.endswith(".")}
    assert settings_names <= {k for k in settings()}, "the test's settings() sends every setting"


def test_a_widget_shows_only_while_its_parameter_applies():
    show = inputs.show_applicable("inpaint", "mask")
    for mask, shown in (("random", {"ratio"}), ("box", {"box"}), ("text", set()), ("file", set())):
        update = show({"degr.inpaint.mask": mask}, FakeRequest())
        assert {k.split(".")[-1] for k, u in update.items() if u["visible"]} == shown, mask
        assert set(update) == {"degr.inpaint.ratio", "degr.inpaint.box"}, "the server path has no widget"


def test_a_preset_run_shows_its_lesson_checked_and_a_free_run_none():
    """After a run that came from a preset, Compare shows each claim with ✓/✗ and the measured numbers;
    a run of the user's own settings shows no lesson (the preset's claims would not describe it)."""
    from ui.common import PRESETS

    values = settings("mri", methods=("naive", "tv", "pgd"), method_params={"tv": {"lam": 0.002, "iterations": 300}})
    values["degr.mri.noise"] = 0.0
    lesson = next(u["lesson"] for u in run_updates({**values, "preset": "mri-lines"}) if u.get("lesson"))
    assert lesson.startswith("**The lesson, checked on this run**")
    claims = [c for c in PRESETS["mri-lines"].claims]
    assert lesson.count("\n- ") == len(claims) and "✓" in lesson and "dB" in lesson
    assert not any(u.get("lesson") for u in run_updates({**values, "methods": ["tv"]}))
    assert "What the run should show" in inputs.apply_preset({"preset": "mri-lines"}, FakeRequest())["preset_md"]


def test_overview_captions_carry_psnr_and_the_tab_the_parameters_used():
    """The overview names each picture with its PSNR and SSIM; a finished TV run's tab shows the λ
    its rule chose (it was only in config.json); a long status message is one line in the table."""
    updates = run_updates(settings(methods=("naive", "tv"), method_params={"tv": {"iterations": 20}}))
    overview = next(u["overview"] for u in reversed(updates) if u.get("overview"))
    captions = [c for _, c in overview]
    assert any(c.startswith("tv · ") and " dB · SSIM " in c for c in captions), captions
    assert any(c.startswith("degraded · ") and " dB" in c for c in captions), captions
    tab = next(u["progress-tv"] for u in updates if u.get("progress-tv", "").startswith("**"))
    assert "| lam | 0." in tab and "| iterations | 20 | setting |" in tab, tab
    assert re.search(r"\| lam \| [0-9.e-]+ \| rule: from the problem \|", tab), tab
    from arena.runner import MethodResult

    long = MethodResult("x", "x", "x", {}, message="word " * 40, metrics={"psnr": 25.0})
    html = run.table_html({"x": long}, {"psnr": 20.0})
    assert 'title="done: word word' in html and " …</td>" in html
    cited = MethodResult("x", "x", "x", {}, message="known limit (best 21 dB, benchmarks/sweeps/gan_yeh.md): so",
                         metrics={"psnr": 25.0})
    assert ".md" not in run.table_html({"x": cited}, {"psnr": 20.0}), "a developer's file in the user's table"


def test_run_waits_while_a_preset_loads_and_stays_off_during_a_run():
    """A Run click sends the widgets as they are: while a preset's settings travel to the page it
    would run the previous ones, so a pick disables Run until they arrive — and leaves it off when
    the session's run is still going (its end enables it)."""
    from ui.common import RUNS

    assert run.hold_run().interactive is False
    assert run.release_run(FakeRequest()).interactive is True
    flag = RUNS.start(FakeRequest.session_hash)
    try:
        assert run.release_run(FakeRequest()).interactive is False
    finally:
        RUNS.finish(FakeRequest.session_hash, flag)


def test_an_observed_photo_shows_its_estimated_sigma_and_has_no_oracle(monkeypatch):
    from dataclasses import replace

    from arena.experiment import bundled_observed
    from ui.registry import Components

    names = Components()
    names.add("degr.denoise.sigma", "sigma-widget")
    view = replace(VIEW, names=names)
    values = settings(methods=("tv",), observed=True, image=str(bundled_observed()["noisy_rocket"]))
    first = run.start_run(view)(values, FakeRequest())
    estimated = first["live"]["prep"].config.degradation_params["sigma"]
    assert isinstance(estimated, float) and 5 < estimated < 60, estimated
    assert first["sigma-widget"]["value"] == round(estimated, 2), "the slider shows the σ the run uses, not 25"
    plain = run.start_run(view)(settings(methods=("tv",)), FakeRequest())
    assert "sigma-widget" not in plain, "a clean image's σ is the user's own: left alone"

    infos: list[str] = []
    monkeypatch.setattr(inputs.gr, "Info", infos.append)
    update = inputs.observed_changed({"observed": True, "tune": "oracle"}, FakeRequest())
    assert update["tune"].value == "auto" and "oracle" not in {v for _, v in update["tune"].choices}
    assert update["estimate"].visible and infos and "clean image" in infos[0]
    back = inputs.observed_changed({"observed": False, "tune": "auto"}, FakeRequest())
    assert "oracle" in {v for _, v in back["tune"].choices} and not back["estimate"].visible


def test_an_uploaded_observed_photo_is_announced_as_cropped_not_resized(tmp_path, monkeypatch):
    from PIL import Image

    path = tmp_path / "big.png"
    Image.fromarray((np.random.default_rng(0).random((300, 400, 3)) * 255).astype(np.uint8)).save(path)
    infos: list[str] = []
    monkeypatch.setattr(inputs.gr, "Info", infos.append)
    shown = inputs.pick_upload("upload")({"upload": str(path), "max_side": 256, "observed": True}, FakeRequest())
    assert infos == ["centre-cropped from 400×300 to 256×256 (an observed photo is cropped, not resized, so its "
                     "noise stays as it is)"]
    assert Image.open(shown["clean"]).size == (256, 256)
    infos.clear()
    inputs.pick_upload("upload")({"upload": str(path), "max_side": 256, "observed": False}, FakeRequest())
    assert len(infos) == 1 and infos[0].startswith("resized from 400×300")


DEVELOPER_NAMES = re.compile(r"[a-z_]+/[\w\-/*]+\.\w+|\b\w+\.(?:py|md)\b|:(?:func|class|mod|meth):|"
                             r"\b[A-Z][a-z]+\.[a-z_]{3,}|\b[A-Z]{2,}_[A-Z_]+\b|\barena\.\w+")


@pytest.mark.parametrize("m", list(METHODS), ids=lambda m: m.name)
def test_a_method_tab_shows_its_rule_as_a_formula_and_no_developer_names(m):
    """The tab's text opens with the update rule in LaTeX (the page renders it as a formula), and
    names no file, module, attribute or constant of the code (``Problem.sigma_eff``,
    ``benchmarks/DEFAULTS.md``) — a constant the prose needs is shown by its value."""
    text = common.teaching_text(m)
    assert m.rule, f"{m.name}: declare its update rule in LaTeX as `rule = r\"...\"` on the class"
    assert text.startswith(f"**Update rule.**\n\n$$\n{m.rule}\n$$"), text[:200]
    prose = text.split("$$")[-1]
    assert not DEVELOPER_NAMES.search(prose), DEVELOPER_NAMES.findall(prose)
    assert "()" not in prose and " :" not in prose


def test_user_text_takes_out_developer_references_and_keeps_the_sentence():
    doc = ("Default λ = 20 σ_eff^2.3 (σ_eff = √(σ² + σ_eq²), ``Problem.sigma_eff``): fitted "
           "(``benchmarks/DEFAULTS.md``). Holes start from their fill (:func:`arena.solvers.fair_start`), "
           "rolled back beyond ``BACKTRACK_DB``; see ``step``.")
    assert user_text(doc, {"BACKTRACK_DB": 5.0}) == (
        "Default λ = 20 σ_eff^2.3 (σ_eff = √(σ² + σ_eq²)): fitted. Holes start from their fill, "
        "rolled back beyond 5; see `step`.")


def test_methods_are_listed_by_family_and_a_family_can_be_selected_at_once():
    """Every method declares a family the page lists; a family's box shows the ticked methods of
    that family; ticks in the boxes become the one ``methods`` setting; "select family" ticks
    exactly that family's methods and leaves the preset."""
    assert {m.family for m in METHODS} == set(common.FAMILIES)
    assert {"naive", "tikhonov", "tv"} <= set(common.family_members("classical"))
    assert {"dip", "pnp"} <= set(common.family_members("deep priors"))
    assert {"gan", "diffusion"} <= set(common.family_members("generative"))
    assert {"rim", "srresnet"} <= set(common.family_members("learned"))
    shown = inputs.family_values({"methods": ["tv", "dip", "rim"]}, FakeRequest())
    assert shown == {"family.classical": ["tv"], "family.deep priors": ["dip"], "family.learned": ["rim"],
                     "family.generative": []}
    assert inputs.methods_from_families({**shown, "family.generative": ["gan"]}, FakeRequest())["methods"] == \
        [m.name for m in METHODS if m.name in {"tv", "dip", "rim", "gan"}]
    picked = inputs.select_family({"family_pick": "generative"}, FakeRequest())
    assert picked["methods"] == common.family_members("generative") and picked["family_pick"] is None
    assert picked["preset"] is None
    assert inputs.select_family({"family_pick": None}, FakeRequest()) == {}


def test_the_slider_names_both_sides_and_is_as_wide_as_its_picture():
    """The slider's label says which image is on which side (after a run and after a new pick), and
    its width follows the picture's shape, so the handle travels over the image only."""
    import torch

    images = {"degraded": torch.rand(1, 3, 40, 80), "tv": torch.rand(1, 3, 40, 80)}
    s = run.slide({"images": images}, "tv", "degraded")
    assert "left: tv" in s.label and "right: degraded" in s.label
    assert s.width == 2 * run.SLIDER_HEIGHT and s.max_height == run.SLIDER_HEIGHT
    updates = run_updates(settings(methods=("naive", "tv"), method_params={"tv": {"iterations": 20}}))
    after = next(u["slider"] for u in updates if u.get("slider") is not None)
    assert "left: degraded" in after.label and "right: tv" in after.label and after.width == run.SLIDER_HEIGHT


def test_the_preset_browser_groups_by_topic_and_finds_presets_by_method_title_or_topic():
    """Every preset is a row under its topic (written on the topic's first row) with its methods and
    run time; typing a method's name or label finds every preset that runs it; a click picks it."""
    from ui.common import PRESETS

    rows = common.preset_rows()
    assert len(rows) == len(PRESETS) and all(r[3] for r in rows)
    assert [r[0] for r in rows if r[0]] == list(dict.fromkeys(p.topic for p in PRESETS.values()))
    uses_dip = {p.title for p in PRESETS.values() if "dip" in [m["name"] for m in p.config.methods]}
    for query in ("dip", "DIP", "deep image prior"):
        found = {r[1] for r in common.preset_rows(query)}
        assert uses_dip <= found, (query, uses_dip - found)
    assert {r[1] for r in common.preset_rows("classical tv")} == {
        p.title for p in PRESETS.values() if p.topic == "Classical" and "tv" in [m["name"] for m in p.config.methods]}
    assert "no preset matches" in inputs.search_presets({"preset_search": "zzz"}, FakeRequest())["preset_browser"][0][1]

    class Click:
        row_value = rows[1]

    assert inputs.browse_preset({}, FakeRequest(), Click()) == {"preset": common.PRESET_BY_TITLE[rows[1][1]]}


def test_a_tuned_lambda_is_marked_as_tuned_in_the_method_tab():
    updates = run_updates(settings(methods=("tv",), method_params={"tv": {"iterations": 20}}, tune="auto"))
    tab = next(u["progress-tv"] for u in updates if u.get("progress-tv", "").startswith("**"))
    assert re.search(r"\| lam \| [0-9.e-]+ \| tuned \(auto\) \|", tab), tab


def test_no_widget_help_names_a_developer_file_or_attribute():
    """A widget's help line (its info) is the parameter's help without developer references: DIP's
    precision once cited a benchmark file, the RIM's consistency a core module."""
    from ui.widgets import param_widget

    for owner in [*METHODS, *DEGRADATIONS]:
        for p in common.ui_params(owner):
            info = param_widget(owner.name, p).info or ""
            assert not DEVELOPER_NAMES.search(info), (owner.name, p.name, DEVELOPER_NAMES.findall(info))


def test_every_page_setting_reaches_the_config_and_a_missing_one_fails_loudly():
    """Each scalar setting with a widget (arena/settings.py), set to a non-default value as the page
    sends it (numbers as floats), arrives in the Config; an event that did not send it is an error,
    not a silent default."""
    from tests.test_settings import other_value

    for s in ON_PAGE:
        value = other_value(s)
        sent = float(value) if s.type in (int, float) else value
        cfg = inputs.config_from(settings(**{s.name: sent}), "s")
        assert getattr(cfg, s.name) == value and type(getattr(cfg, s.name)) is type(value), s.name
        missing = settings()
        del missing[s.name]
        with pytest.raises(KeyError):
            inputs.config_from(missing, "s")


def test_the_events_that_read_the_settings_are_given_every_declared_widget_and_a_preset_sets_them():
    import app

    ui = Components()
    demo = app.build_demo(ui)
    declared = {id(c) for c in ui.group(SETTINGS)}
    readers = [f for f in demo.fns.values() if f.name in ("start", "event") and len(f.inputs) > 20]
    assert len(readers) == 2, "Run and Show degradation"
    for f in readers:
        assert {id(c) for c in f.inputs} == declared, f.name
    for s in ON_PAGE:
        assert s.name in ui and ui[s.name].elem_id == f"setting-{s.name}"
    assert {s.name for s in ON_PAGE} <= set(inputs.apply_preset({"preset": "dip-cpu-lecture"}, FakeRequest()))
