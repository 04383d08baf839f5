"""Time what a lecturer waits for in the browser: Run → first streamed image, Run → final table.

    python -m benchmarks.bench_app [--repeats 3]
    python -m benchmarks.bench_app --preset dip-cpu-lecture [--repeats 1]

Launches the app on 127.0.0.1, drives Debian's Chromium with Playwright, runs the app's default
settings (Gaussian denoising σ=25 on the astronaut, 256², naive + Tikhonov + TV), and prints the
median of ``--repeats`` runs. Saves ``assets/screenshot.png`` (the README's picture) from the last.

With ``--preset``, the same server runs the preset through its API (``/run_preset``) and then from
the page, one after the other, and prints each method's iterations per second on both paths: the
browser path must compute as fast as the API (the streaming must not slow the methods).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.app_server import running_app
from tests.test_app_browser import ARGS, CHROMIUM

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--screenshot", type=Path, default=ROOT / "assets" / "screenshot.png")
    ap.add_argument("--preset", help="a preset id: compare its iterations per second, API then browser")
    args = ap.parse_args()
    if args.preset:
        return api_then_browser(args.preset, args.repeats)
    first, final = [], []
    with running_app() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(url)
        page.get_by_text("Restoration Arena").first.wait_for(timeout=30_000)
        for _ in range(args.repeats):
            page.reload()
            page.get_by_role("button", name="Run", exact=True).wait_for()
            t0 = time.perf_counter()
            page.get_by_role("button", name="Run", exact=True).click()
            # The overview shows clean + degraded at once; a third picture is the first method iterate.
            page.wait_for_function("() => document.querySelectorAll('#overview img').length >= 3", timeout=60_000)
            first.append(time.perf_counter() - t0)
            page.get_by_text("Finished:").wait_for(timeout=120_000)
            final.append(time.perf_counter() - t0)
        page.get_by_role("tab", name="Compare").click()
        page.locator("#convergence-plot img").wait_for(timeout=10_000)
        page.get_by_role("tab", name="Overview").click()
        time.sleep(1.0)
        page.screenshot(path=str(args.screenshot))
        browser.close()
    print(f"Run → first streamed method image: median {statistics.median(first):.2f} s ({', '.join(f'{t:.2f}' for t in first)})")
    print(f"Run → final table: median {statistics.median(final):.2f} s ({', '.join(f'{t:.2f}' for t in final)})")


def _rates(methods: dict) -> dict[str, tuple[int, float, float]]:
    """iterations, seconds, PSNR per method of a metrics document."""
    return {k: (m["iterations"], m["seconds"], m["psnr"]) for k, m in methods.items()}


def cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by this process (the app server) and by all Chromium processes."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {"app": 0.0, "chromium": 0.0}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes()
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used = (int(fields[11]) + int(fields[12])) / tick
        if int(proc.name) == os.getpid():
            out["app"] += used
        elif b"chromium" in cmd:
            out["chromium"] += used
    return out


def api_then_browser(pid: str, repeats: int) -> None:
    import gradio_client

    from ui.common import PRESETS
    from ui.session import TMP_ROOT

    preset = PRESETS[pid]
    last = preset.config.methods[-1]["name"]
    rows = []
    with running_app() as url, sync_playwright() as p:
        client = gradio_client.Client(url, verbose=False)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.get_by_text("Restoration Arena").first.wait_for(timeout=30_000)
        for _ in range(repeats):
            doc, _ = client.predict(pid, None, api_name="/run_preset")
            rows.append(("API", _rates(doc["methods"])))
            print("API", rows[-1][1], flush=True)
            page.reload()
            page.get_by_label("Lecture preset").click()
            page.get_by_role("option", name=preset.title).click()
            page.get_by_text(preset.description[:40]).first.wait_for(timeout=10_000)
            t0, before = time.time(), cpu_seconds()
            page.get_by_role("button", name="Run", exact=True).click()
            page.get_by_text(re.compile(rf"Finished: .*{last}")).wait_for(timeout=600_000)
            used = {k: v - before[k] for k, v in cpu_seconds().items()}
            print(f"browser run: {time.time() - t0:.1f} s wall; CPU seconds meanwhile: "
                  + ", ".join(f"{k} {v:.1f}" for k, v in used.items()), flush=True)
            newest = max(TMP_ROOT.glob("*/*/restoration-arena/metrics.json"), key=lambda f: f.stat().st_mtime)
            assert newest.stat().st_mtime > t0, "the browser run wrote its metrics"
            rows.append(("browser", _rates(json.loads(newest.read_text())["methods"])))
        browser.close()
    for path, rates in rows:
        print(f"{path:8s}" + "  ".join(f"{k}: {it} it / {s:.1f} s = {it / s:.2f} it/s, {db:.2f} dB"
                                       for k, (it, s, db) in rates.items()))
    for k in rows[0][1]:
        ratio = [b[k][0] / b[k][1] / (a[k][0] / a[k][1]) for (_, a), (_, b) in zip(rows[::2], rows[1::2], strict=True)]
        print(f"{k}: browser/API iterations per second = {statistics.median(ratio):.2f}")


if __name__ == "__main__":
    main()
