"""Drive the app in headless Chromium (Debian's, via Playwright) like a lecturer would.

Screenshots go to ``$ARENA_SCREENSHOTS`` (default: the test's tmp folder) for people to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed "
                                "(apt-get install chromium; .ci/run does this)")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

from arena.method import METHODS  # noqa: E402
from tests.app_server import running_app  # noqa: E402


@pytest.fixture(scope="module")
def browser_page():
    with running_app() as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.get_by_text("Restoration Arena").first.wait_for(timeout=30_000)
        yield page
        browser.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("ARENA_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _choose(page, label: str, option: str) -> None:
    page.get_by_label(label).click()
    page.get_by_role("option", name=option).click()


def test_gallery_preset_run_shows_table_and_plot(browser_page, shots):
    page = browser_page
    page.locator("#bundled img[alt='camera']").click()
    page.locator("#clean-image img").first.wait_for(timeout=10_000)
    _choose(page, "Lecture preset", "Deblurring: the noise blow-up of least squares")
    page.get_by_text("semi-convergence").first.wait_for(timeout=10_000)
    t0 = time.perf_counter()
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("Finished:").wait_for(timeout=120_000)
    elapsed = time.perf_counter() - t0
    page.get_by_role("tab", name="Compare").click()
    table = page.locator(".arena-table table")
    table.wait_for(timeout=10_000)
    text = table.inner_text()
    for name in ("naive", "lsq", "tikhonov", "tv", "PSNR", "LPIPS"):
        assert name in text
    assert "unavailable" not in text, "LPIPS is a number (weights/lpips_alex.safetensors)"
    lesson = page.locator("#lesson").inner_text()
    assert "The lesson, checked on this run" in lesson
    lines = [line for line in lesson.splitlines() if "dB" in line or "data-fit" in line]
    assert len(lines) >= 4 and all(line.lstrip().startswith("✓") for line in lines), lesson  # semi-convergence held
    assert page.locator(".arena-table td.best").count() >= 2, "best values are highlighted"
    plot = page.locator("#convergence-plot img")
    plot.wait_for(timeout=10_000)
    box = plot.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 200, "the convergence plot is drawn"
    page.screenshot(path=str(shots / "compare.png"), full_page=True)
    assert elapsed < 120
    page.locator("#download a[href$='restoration-arena.zip']").wait_for(timeout=20_000)


def test_a_finished_method_tab_shows_the_lambda_used_and_its_rule_as_a_formula(browser_page, shots):
    """After the previous test's run: TV's tab lists the λ its rule chose and renders the update
    rule with KaTeX; its prose names no developer file or attribute; the status cell is dark text."""
    page = browser_page
    page.get_by_role("tab", name="Overview").click()
    captions = page.locator("#overview").inner_text()
    assert re.search(r"tv · \d+\.\d\d dB · SSIM 0\.\d{3}", captions), captions  # every output with its PSNR
    page.get_by_role("tab", name="Compare").click()
    colour = page.eval_on_selector(".arena-table td.status:not(:empty)", "e => getComputedStyle(e).color")
    assert sum(int(c) for c in re.findall(r"\d+", colour)[:3]) < 3 * 90, f"the status text is light: {colour}"
    page.get_by_role("tab", name="Total variation (smoothed)").click()
    page.get_by_text(re.compile(r"^0\.\d+$")).first.wait_for(timeout=10_000)  # λ in the table of values used
    used = page.get_by_text("Parameters used by the last run").first.evaluate("e => e.closest('div.block').innerText")
    assert re.search(r"lam\t0\.\d+\tsetting", used), used  # the preset's λ, said to be a setting
    formula = page.locator(".katex").first
    formula.wait_for(timeout=10_000)
    assert "div" in formula.inner_text() and "x_{k+1}" not in formula.inner_text()
    tab = formula.evaluate("e => e.closest('div.block').innerText")
    assert "sigma_eff" not in tab and "DEFAULTS.md" not in tab and "fair_start" not in tab
    page.screenshot(path=str(shots / "tv_tab.png"), full_page=True)


def test_compare_fits_the_maps_on_screen_and_the_slider_to_its_picture(browser_page, shots):
    """After the first test's run: the maps figure's label is above it (not over its panel titles)
    and the figure fits the screen's height; the slider is as wide as its picture, so its handle
    travels over the image, and its label names both sides."""
    page = browser_page
    page.get_by_role("tab", name="Compare").click()
    maps = page.locator("#maps-plot img").first
    maps.wait_for(timeout=30_000)
    label, img = page.locator("#maps-plot > label").bounding_box(), maps.bounding_box()
    assert label["y"] + label["height"] <= img["y"] + 1, (label, img)
    assert img["height"] <= page.viewport_size["height"], img
    slider = page.locator("#compare-slider")
    slider.scroll_into_view_if_needed()
    block, picture = slider.bounding_box(), page.locator("#compare-slider img").first.bounding_box()
    assert abs(block["width"] - picture["width"]) <= 4, (block, picture)
    text = page.locator("#compare-slider > label").inner_text()
    assert "left: degraded" in text and "right: " in text, text
    page.screenshot(path=str(shots / "compare_maps_slider.png"), full_page=True)


def test_stop_ends_a_long_run_and_the_ui_comes_back(browser_page, shots):
    page = browser_page
    page.get_by_role("tab", name="Overview").click()
    _choose(page, "Lecture preset", "Denoising σ=25: Tikhonov vs TV")
    page.get_by_text("Tikhonov blurs edges").first.wait_for(timeout=10_000)  # the preset has been applied
    # The previous run's results are gone, not left beside the new preset's settings.
    page.get_by_text("Preset loaded: press Run").first.wait_for(timeout=10_000)
    assert page.locator(".arena-table table").count() == 0 and page.locator("#lesson").inner_text().strip() == ""
    assert "No comparison yet" in page.locator(".arena-table").last.inner_text(), "Compare says what to do first"
    page.get_by_text("Total variation (smoothed) — parameters").click()
    iterations = page.get_by_label("iterations").last
    for _ in range(5):  # a freshly opened accordion can still overwrite a value typed at once
        iterations.fill("100000")
        iterations.press("Enter")
        time.sleep(0.5)
        if iterations.input_value() == "100000":
            break
    sync_api.expect(iterations).to_have_value("100000")
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("Running…").first.wait_for(timeout=30_000)
    sync_api.expect(page.get_by_role("button", name="Run", exact=True)).to_be_disabled()
    time.sleep(2.0)
    page.screenshot(path=str(shots / "running.png"), full_page=True)
    t0 = time.perf_counter()
    page.get_by_role("button", name="Stop").click()
    page.get_by_text("Finished:").wait_for(timeout=15_000)
    stop_to_results = time.perf_counter() - t0
    print(f"Stop → results shown and worker free: {stop_to_results:.2f} s")
    assert stop_to_results < 3.0
    sync_api.expect(page.get_by_role("button", name="Run", exact=True)).to_be_enabled()
    page.get_by_role("combobox", name="Degradation").click()  # the user's own change: the preset's text goes
    page.get_by_role("option", name="Deblurring").click()
    sync_api.expect(page.get_by_text("Tikhonov blurs edges")).to_have_count(0, timeout=10_000)
    assert "tv cancelled" in page.get_by_text("Finished:").inner_text()
    page.screenshot(path=str(shots / "stopped.png"), full_page=True)
    page.get_by_role("button", name="Run", exact=True).wait_for(state="visible")


def _run_preset(page, title: str, loaded: str, last_method: str) -> str:
    """Pick a preset, wait until its text shows, run it; the final status line."""
    page.get_by_role("tab", name="Overview").click()
    _choose(page, "Lecture preset", title)
    page.get_by_text(loaded).first.wait_for(timeout=10_000)
    page.get_by_role("button", name="Run", exact=True).click()
    status = page.get_by_text(re.compile(rf"Finished: .*{last_method}"))  # not the previous test's status line
    status.wait_for(timeout=180_000)
    return status.inner_text()


def test_gan_prior_preset_restores_a_face_and_photos_are_flagged(browser_page, shots):
    page = browser_page
    finished = _run_preset(page, "GAN prior: fill the centre of a face (Yeh et al.)", "eyes, nose and mouth come back", "gan")
    assert "gan done" in finished and "pgd done" in finished
    assert page.get_by_text("out of the prior's domain").count() == 0, "a held-out face is in the domain"
    page.screenshot(path=str(shots / "gan_face.png"), full_page=True)
    _choose(page, "Lecture preset", "A GAN prior only knows its class")
    page.get_by_text("A GAN prior only knows its class.").first.wait_for(timeout=10_000)  # the preset is applied
    page.get_by_role("button", name="Show degradation").click()
    page.get_by_text("out of the prior's domain").first.wait_for(timeout=30_000)
    page.get_by_text("cropped and resized from 256×256 to 64×64").first.wait_for(timeout=10_000)
    page.screenshot(path=str(shots / "gan_out_of_domain.png"), full_page=True)


def test_learned_preset_streams_the_rim_steps_and_the_direct_networks_result(browser_page, shots):
    page = browser_page
    finished = _run_preset(page, "Learned gradient descent vs a direct network: deblurring", "the RIM 16", "rim")
    assert all(f"{m} done" in finished for m in ("tikhonov", "tv", "direct", "rim")), finished
    page.screenshot(path=str(shots / "rim_deblur.png"), full_page=True)
    page.get_by_role("tab", name="Recurrent Inference Machine").click()
    page.get_by_text(re.compile(r"^16/16 · .* done")).first.wait_for(timeout=10_000)
    # opened after the run: the tab's image is filled from the finished run, not left empty
    page.locator("div.block", has_text="Recurrent Inference Machine: result").locator("img").first.wait_for(
        timeout=10_000)
    page.screenshot(path=str(shots / "rim_tab.png"), full_page=True)


def test_own_noisy_photo_restores_without_a_clean_image_and_shows_residual_maps(browser_page, shots):
    page = browser_page
    finished = _run_preset(page, "Your own noisy photo: no clean image, σ estimated", "judge by the data-fit", "red")
    assert "tv done" in finished and "tikhonov done" in finished
    page.get_by_text("noise σ estimated from the photo").first.wait_for(timeout=10_000)
    page.get_by_text("estimated from the photo for the last run").first.wait_for(timeout=10_000)
    sigma = float(page.get_by_label("sigma").first.input_value())
    assert sigma != 25 and 5 < sigma < 60, "the σ slider shows the estimate the run used"
    assert page.get_by_label("oracle: best PSNR").count() == 0, "no oracle without a clean image"
    page.get_by_role("tab", name="Compare").click()
    page.locator("#maps-plot img").first.wait_for(timeout=30_000)
    rows = page.locator(".arena-table table tbody tr")
    assert "—" in rows.nth(0).inner_text(), "no PSNR for an observed photo"
    assert "[auto]" in page.locator(".arena-table table").inner_text()
    page.locator("#tuning-plot img").first.wait_for(timeout=10_000)
    page.screenshot(path=str(shots / "own_photo_compare.png"), full_page=True)
    page.get_by_role("tab", name="Overview").click()


def test_a_bad_upload_is_named_and_a_new_image_clears_the_old_description(browser_page, shots, tmp_path):
    page = browser_page
    page.reload()  # a fresh page: the previous tests' presets leave other settings behind
    page.get_by_role("button", name="Show degradation").wait_for(timeout=30_000)
    page.get_by_role("button", name="Show degradation").click()
    page.get_by_text("degraded PSNR").first.wait_for(timeout=30_000)
    page.get_by_role("tab", name="Upload / paste").click()
    bad = tmp_path / "notes.png"
    bad.write_text("hello, not an image")
    page.locator("#upload input[type=file]").set_input_files(str(bad))
    page.get_by_text("is not an image format we can read").first.wait_for(timeout=15_000)
    time.sleep(1.0)
    page.screenshot(path=str(shots / "bad_upload.png"), full_page=True)
    assert page.get_by_text("Error", exact=True).count() == 0, "no output is marked as failed"
    assert page.get_by_text("degraded PSNR").count() >= 1, "a refused file changes nothing"
    page.get_by_role("tab", name="Gallery").click()
    page.locator("#bundled img[alt='chelsea']").click()
    page.get_by_text("A new image").first.wait_for(timeout=10_000)
    assert page.get_by_text("degraded PSNR").count() == 0, "nothing describes the previous image"


def test_a_phone_screen_never_scrolls_sideways(browser_page, shots):
    page = browser_page.context.browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    page.goto(browser_page.url)
    run = page.get_by_role("button", name="Run", exact=True)
    run.wait_for(timeout=30_000)
    for scroll in (0, 2500):  # Run stays on screen above a method list longer than the screen
        page.mouse.wheel(0, scroll)
        time.sleep(0.5)
        box = run.bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= 844, f"Run is off screen: {box}"
    run.click()
    page.get_by_text("Finished:").wait_for(timeout=120_000)
    for tab in ("Overview", "Compare"):
        page.get_by_role("tab", name=tab).click()
        time.sleep(1.0)
        if tab == "Compare":  # the table scrolls inside its own box, and says so
            inner, outer, overflow = page.eval_on_selector(
                ".table-scroll", "e => [e.scrollWidth, e.clientWidth, getComputedStyle(e).overflowX]")
            assert inner > outer and overflow == "auto", (inner, outer, overflow)
            assert page.locator(".scroll-cue").is_visible()
            maps = page.eval_on_selector("#maps-plot img", "e => e.getBoundingClientRect().width")
            assert maps >= 700, f"the maps figure is squeezed to {maps} px instead of scrolling in its box"
        width = page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=str(shots / f"phone_{tab.lower()}.png"), full_page=True)
        assert width <= 391, f"{tab}: the page is {width} px wide on a 390 px screen"
    page.locator("#download a[href$='restoration-arena.zip']").wait_for(timeout=20_000)
    page.close()


def test_presets_show_run_times_unticked_methods_lose_their_tabs_and_thumbnails_are_whole(browser_page, shots):
    page = browser_page
    page.reload()
    page.get_by_role("button", name="Run", exact=True).wait_for(timeout=30_000)
    fits = page.eval_on_selector_all("#bundled img", "els => els.map(e => getComputedStyle(e).objectFit)")
    assert fits and set(fits) == {"contain"}, f"gallery thumbnails are cropped: {fits}"
    page.get_by_label("Lecture preset").click()
    option = page.get_by_role("option", name="Deep Image Prior fits the image before the noise").first
    assert re.search(r"≈ \d+ s on a CPU", option.inner_text()), option.inner_text()
    field, listed = page.locator("#preset-pick input").bounding_box(), option.bounding_box()
    assert listed["y"] >= field["y"] + field["height"] - 1, f"the preset list opens upwards: {field}, {listed}"
    page.screenshot(path=str(shots / "preset_list.png"))
    option.click()
    page.get_by_text("Run time:").first.wait_for(timeout=10_000)
    def tabs() -> list[str]:
        return [t.inner_text() for t in page.locator("button[role=tab]").all() if t.is_visible()]

    page.get_by_role("tab", name="Deep Image Prior").wait_for(timeout=10_000)
    assert "Naive inverse" not in tabs() and "Tikhonov / Wiener" not in tabs(), "the previous methods' tabs went"
    page.get_by_role("checkbox", name="Deep Image Prior", exact=True).uncheck()
    page.wait_for_function("() => ![...document.querySelectorAll('button[role=tab]')].some("
                           "t => t.offsetParent !== null && t.innerText.trim() === 'Deep Image Prior')", timeout=10_000)
    assert {"Overview", "Compare", "Total variation (smoothed)"} <= set(tabs())
    assert page.get_by_text("Run time:").count() == 0, "the preset's text no longer describes the page"


def test_diffusion_preset_shows_its_std_map_and_the_pnp_tab_its_schedule(browser_page, shots):
    page = browser_page
    finished = _run_preset(page, "Diffusion prior: fill the centre of a face (DiffPIR vs GAN)",
                           "the std map (in the Overview gallery)", "diffusion")
    assert all(f"{m} done" in finished for m in ("pgd", "gan", "diffusion")), finished
    page.get_by_text("diffusion std (×4)").first.wait_for(timeout=10_000)
    page.screenshot(path=str(shots / "diffusion_face.png"), full_page=True)
    page.get_by_role("tab", name="Diffusion posterior sampling").click()
    page.get_by_text(re.compile(r"^100/100 · .* done · t 0")).first.wait_for(timeout=10_000)  # its own number, live
    finished = _run_preset(page, "Plug-and-play: a learned denoiser as the prior (DPIR)", "draws σ_k and the data weight μ_k",
                           "pnp")
    assert all(f"{m} done" in finished for m in ("tv", "rim", "pnp")), finished
    page.get_by_role("tab", name="Plug-and-play (DPIR, HQS)").click()
    page.get_by_text(re.compile(r"^8/8 · .* done · sigma_k 2 · mu_k 0.23")).first.wait_for(timeout=10_000)
    page.screenshot(path=str(shots / "pnp_tab.png"), full_page=True)


def test_dgp_and_perception_distortion_presets_show_their_pairs(browser_page, shots):
    page = browser_page
    finished = _run_preset(page, "Optimise the generator too: Deep Generative Prior at ×4", "fine-tunes a copy", "dgp")
    assert all(f"{m} done" in finished for m in ("gan", "dgp")), finished
    page.get_by_role("tab", name="Deep Generative Prior (z and θ)").click()
    page.get_by_text(re.compile(r"^600/600 · .* done · .*stage 5")).first.wait_for(timeout=10_000)
    page.screenshot(path=str(shots / "dgp_tab.png"), full_page=True)
    finished = _run_preset(page, "Perception vs distortion: SRResNet against SRGAN at ×4", "perception–distortion",
                           "srgan")
    assert all(f"{m} done" in finished for m in ("srresnet", "srgan", "tv")), finished
    page.get_by_role("tab", name="Compare").click()
    page.screenshot(path=str(shots / "perception_distortion.png"), full_page=True)


def test_rim_camera_preset_shows_the_data_proximal_step_and_its_choice(browser_page, shots):
    page = browser_page
    finished = _run_preset(page, "A learned method that must not move", "Morozov", "rim")
    assert all(f"{m} done" in finished for m in ("naive", "levenberg_marquardt", "lgn", "rim")), finished
    page.get_by_role("tab", name="Compare").click()
    table = page.locator(".arena-table table")
    table.wait_for(timeout=10_000)
    assert "data-proximal step (upre)" in table.inner_text(), "the status column says the output was moved"
    page.screenshot(path=str(shots / "rim_camera_compare.png"), full_page=True)
    page.get_by_role("tab", name="Overview").click()
    page.get_by_text("Recurrent Inference Machine — parameters").first.click()
    choice = page.get_by_label("consistency").first
    choice.wait_for(timeout=10_000)
    assert choice.input_value() == "upre", "the rim's default rule is shown"
    page.screenshot(path=str(shots / "rim_camera_params.png"), full_page=True)


def test_every_bundled_image_is_visible_in_the_gallery(browser_page):
    from ui.common import gallery_items

    page = browser_page
    page.get_by_role("tab", name="Gallery").click()
    box = page.locator("#bundled").bounding_box()
    thumbs = page.locator("#bundled img")
    assert thumbs.count() == len(gallery_items())
    for i in range(thumbs.count()):
        t = thumbs.nth(i).bounding_box()
        assert t and t["y"] + t["height"] <= box["y"] + box["height"] + 1 and t["x"] + t["width"] <= box["x"] + box["width"] + 1, \
            f"thumbnail {i} is outside the gallery's box"


def test_phone_tap_targets_and_methods_by_family(browser_page, shots):
    """On a 390×844 phone every button, tab, tick box and radio choice is at least 40 px tall
    (Gradio's own hidden tab copies, 1 px, and its footer aside); the methods are listed by family,
    and "select family" ticks exactly that family's methods, whose tabs appear."""
    from ui.common import FAMILIES

    page = browser_page.context.browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True,
                                                  has_touch=True)
    page.goto(browser_page.url)
    page.get_by_role("button", name="Run", exact=True).wait_for(timeout=30_000)
    small = page.evaluate("""() => [...document.querySelectorAll(
        'button, [role=tab], label:has(input[type=checkbox]), label:has(input[type=radio])')]
        .filter(e => e.offsetParent !== null && !e.closest('footer'))
        .map(e => [(e.innerText || e.getAttribute('aria-label') || e.className).trim().slice(0, 40),
                   e.getBoundingClientRect().height])
        .filter(([_, h]) => h > 1 && h < 40)""")
    assert not small, f"tap targets under 40 px: {small}"
    for label in FAMILIES.values():
        page.get_by_text(label).first.wait_for(timeout=10_000)
    page.get_by_role("radio", name="generative").check()
    count = len([m for m in METHODS if m.family == "generative"])
    page.wait_for_function("() => [...document.querySelectorAll('#method-families input[type=checkbox]:checked')]"
                           f".length === {count}", timeout=10_000)
    ticked = page.eval_on_selector_all("#method-families input[type=checkbox]:checked",
                                       "els => els.map(e => e.closest('label').innerText.trim())")
    assert set(ticked) == {m.label for m in METHODS if m.family == "generative"}, ticked
    page.screenshot(path=str(shots / "phone_families.png"), full_page=True)
    page.close()


def test_the_preset_browser_finds_every_dip_preset_and_a_click_loads_one(browser_page, shots):
    """The browser lists presets by topic with their run times; typing "DIP" leaves exactly the
    presets that run DIP or name it, and a click on one loads it (its text and run time appear)."""
    from ui.common import preset_rows

    page = browser_page
    page.reload()
    page.get_by_role("button", name="Run", exact=True).wait_for(timeout=30_000)
    page.get_by_text("Lecture presets: browse all").click()
    cells = page.locator("#preset-table .virtual-row .body-cell")
    cells.filter(has_text="≈ ").first.wait_for(timeout=10_000)
    page.get_by_label("search presets").press_sequentially("DIP", delay=50)
    expected = [r[1] for r in preset_rows("DIP")]
    title = "Deep Image Prior fits the image before the noise (CPU lecture, about a minute)"
    assert title in expected
    page.wait_for_function("n => document.querySelectorAll('#preset-table .virtual-row').length === n",
                           arg=len(expected), timeout=10_000)
    page.screenshot(path=str(shots / "preset_browser_dip.png"))
    cells.filter(has_text=title).first.click()
    page.get_by_text("Run time:").first.wait_for(timeout=10_000)
    assert title in page.get_by_label("Lecture preset").input_value()
