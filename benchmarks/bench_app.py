"""Time what a lecturer waits for in the browser: Run → first streamed image, Run → final table.

    python benchmarks/bench_app.py [--repeats 3]

Launches the app on 127.0.0.1, drives Debian's Chromium with Playwright, runs the app's default
settings (Gaussian denoising σ=25 on the astronaut, 256², naive + Tikhonov + TV), and prints the
median of ``--repeats`` runs. Saves ``assets/screenshot.png`` (the README's picture) from the last.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.app_server import running_app  # noqa: E402
from tests.test_app_browser import ARGS, CHROMIUM  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--screenshot", type=Path, default=ROOT / "assets" / "screenshot.png")
    args = ap.parse_args()
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


if __name__ == "__main__":
    main()
