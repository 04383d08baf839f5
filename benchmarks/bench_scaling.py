"""How each method's cost grows with the image: seconds per iteration and peak memory by side.

    python -m benchmarks.bench_scaling [--sizes 128 256 512 1024] [--methods NAME ...] [--seconds 30]
                                       [--steps 10] [--step-limit 20] [--device cpu] [--no-placeholders]

Every registered method runs at its defaults (no time budget, as ``arena run`` without ``--seconds``)
on a square crop of a bundled photo resized to each side, on the first degradation it supports in
the order denoise σ=25, blur, SR ×4, inpainting, then the others. Each (method, side) cell runs in a
fresh subprocess, as the runner runs the method alone: its ``supports`` and ``unavailable`` sentences
first, the runner's torch thread count, then the method's generator, each ``next()`` timed. The
first step (which includes loading weights and building networks) is kept apart; seconds per
iteration is the median of the following steps, stopped after ``--steps`` of them or ``--seconds``,
whichever comes first. A method that ends sooner (a one-shot network, Tikhonov's closed form) is run
again and those runs' steps count too. Peak memory is the peak RSS (``resource.getrusage``) minus
the RSS just before the method started (the peak is reset there where Linux allows it), in MB; on
CUDA also ``torch.cuda.max_memory_allocated``. A method whose step takes more than ``--step-limit``
seconds at one side is not run at larger ones. Methods that work at one size only (the 64×64 face
generators) are measured at that size and their refusal of every other size is recorded; published
networks whose files are absent are timed with placeholder weights (the architecture's cost; their
refusal sentence is recorded too) unless ``--no-placeholders``.

The growth exponent is the least-squares slope of log(seconds per iteration) against log(pixels)
over the sides measured (1.0: linear in the pixels), and the same for memory. Writes
``benchmarks/SCALING.md`` and the raw numbers in ``benchmarks/SCALING.json``.
"""

from __future__ import annotations

import argparse
import ast
import gc
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from arena.images import load_image
from arena.method import METHODS, Method, Step, load_methods
from arena.problem import Problem, make_problem

ROOT = Path(__file__).resolve().parent.parent
OUT_MD = ROOT / "benchmarks" / "SCALING.md"
OUT_JSON = ROOT / "benchmarks" / "SCALING.json"
SIDES = (128, 256, 512, 1024)
PHOTO, FACE = "astronaut", "face1"
"""A colour photo (every method takes colour; some refuse grey) and an in-class face for the 64×64 generators."""
PREFERENCE: tuple[tuple[str, dict[str, Any], str], ...] = (
    ("denoise", {"sigma": 25}, "denoise σ=25"), ("blur", {}, "blur (defaults)"),
    ("sr", {"factor": 4}, "SR ×4"), ("inpaint", {}, "inpaint (defaults)"))
"""Degradations tried in this order; the first a method supports is its problem at every side."""
FIRST_STEP_GRACE = 240.0
"""Seconds a cell's subprocess may spend beyond ``--seconds`` (start-up, weights, a slow first step and
the one steady step it must still time); past them it is stopped and keeps the steps it reported."""
CELL_PREFIX, PART_PREFIX = "CELL ", "PART "
MEANINGFUL_S = 1e-3
"""Steps shorter than this measure allocation and interpreter overhead as much as arithmetic."""


# ---- one cell, inside its own process --------------------------------------------------------------
def clean_image(side: int, name: str = PHOTO) -> torch.Tensor:
    """The bundled image ``name``, centre-cropped square and resized (bicubic, antialiased) to ``side``².

    Why: the bundled photos are 256²; the larger sides are what an upload gives the app, and a
    step's cost depends on the shape, not on the content (up to ES-WMV and CG tolerances)."""
    x = load_image(ROOT / "assets" / "images" / f"{name}.png", mode="rgb").x
    h, w = x.shape[-2:]
    s = min(h, w)
    x = x[..., (h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
    if s != side:
        x = F.interpolate(x, size=(side, side), mode="bicubic", antialias=True, align_corners=False)
    return x.clamp(0, 1).contiguous()


def build(method: Method, side: int, degradation: str, values: dict[str, Any],
          device: torch.device | str = "cpu") -> Problem:
    """The problem a cell runs: the face for a domain method at its size, else the photo."""
    image = FACE if method.domain is not None and side == method.domain[1] else PHOTO
    problem, _, _ = make_problem(clean_image(side, image), degradation, values, seed=0, device=device)
    return problem


def refusal(method: Method, problem: Problem, placeholders: bool) -> dict[str, Any] | None:
    """The method's own sentence when it will not run ``problem``, as the runner and the experiment
    ask it (``supports``, then ``unavailable``); None when it runs. With ``placeholders`` a missing
    published file does not stop it (see :func:`use_placeholder_weights`), but its sentence is kept."""
    why = method.supports(problem)
    if why:
        return {"status": "refused", "why": why}
    missing = type(method).unavailable(type(method).resolve({}, problem), problem)
    if missing and not placeholders:
        return {"status": "unavailable", "why": missing}
    return {"status": "placeholder", "why": missing} if missing else None


@lru_cache(maxsize=4)
def placeholder_net(name: str, device: torch.device | str = "cpu") -> torch.nn.Module:
    """A published architecture (``arena.bridge.published``) with random weights, in eval mode.

    Why: the files are hundreds of MB and absent on an offline machine, but a step's time and
    memory are those of the architecture; its numbers are marked as such in the table. Cached, as
    ``load`` is, so a one-shot method's repeated runs do not build it again."""
    from arena.bridge import published

    net = published._build(name)
    derived = published._derived_buffers(net)
    net = net.to_empty(device="cpu")
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(0.02 * torch.randn(p.shape, generator=gen))
        for key, b in net.named_buffers():
            b.copy_(derived[key] if key in derived else torch.zeros_like(b))
    return net.float().to(device).eval()


def use_placeholder_weights() -> None:
    """Make ``arena.bridge.published.load`` build placeholder networks, in this process only."""
    from arena.bridge import published

    torch.set_flush_denormal(True)  # random weights must not fall into slow denormal arithmetic
    published.load = placeholder_net  # type: ignore[assignment]


def rss_mb() -> float:
    """This process's resident set now, in MB (``/proc/self/status``; the peak where that is absent)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mb()


def peak_rss_mb() -> float:
    """``resource.getrusage``'s peak resident set, in MB (kB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (Linux ``clear_refs`` 5), so the peak read after the method is
    its own and not the problem's construction; False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class StepTimes:
    """The step times of one cell so far: the first apart, the steady ones after it."""

    def __init__(self, seconds: float, max_steps: int, min_steady: int) -> None:
        """The cell's caps; the clock starts now, with the first step."""
        self.seconds, self.max_steps, self.min_steady = seconds, max_steps, min_steady
        self.start = time.perf_counter()
        self.first: float | None = None
        self.steady: list[float] = []
        self.runs, self.notes = 0, []  # type: ignore[var-annotated]

    def more(self) -> bool:
        """Whether to time another step: until ``max_steps`` steady ones, or ``seconds`` since the start
        once ``min_steady`` of them are in (a first step includes setup, so it alone is no steady time)."""
        if self.first is None:
            return True
        if len(self.steady) >= self.max_steps:
            return False
        return time.perf_counter() - self.start < self.seconds or len(self.steady) < self.min_steady

    def add(self, dt: float, step: Step) -> None:
        """Record one step's seconds (the first apart) and the sentences the method wrote on it."""
        self.notes += [n for n in step.notes if n not in self.notes]
        if self.first is None:
            self.first = dt
        else:
            self.steady.append(dt)

    def summary(self) -> dict[str, Any]:
        """The cell's times so far: first step, median and mean of the steady ones, all of them."""
        s = self.steady
        return {"first_s": self.first, "steady_s": statistics.median(s) if s else None,
                "mean_s": statistics.fmean(s) if s else None, "steps": len(s), "runs": self.runs,
                "step_times": [round(t, 5) for t in s], "notes": list(self.notes)}


def time_steps(method: Method, problem: Problem, params: dict[str, Any], times: StepTimes,
               sync: Callable[[], None], report: Callable[[], None] = lambda: None) -> dict[str, Any]:
    """Time each ``next()`` of the method's generator into ``times`` (``report`` after every step, so a
    cell stopped from outside keeps what it had); a generator that ends is started again (its weights
    are cached by then), so one-shot methods get repeated runs."""
    while times.more():
        times.runs += 1
        gen: Iterator[Step] = method.run(problem, **params)
        yielded = 0
        try:
            while times.more():
                t0 = time.perf_counter()
                step = next(gen, None)
                sync()
                if step is None:
                    break
                times.add(time.perf_counter() - t0, step)
                yielded += 1
                report()
        finally:
            gen.close()
        if yielded == 0:
            raise RuntimeError(f"{method.name} ended without yielding a step")
    return times.summary()


def measure_cell(spec: dict[str, Any], report: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """One (method, side) cell in this process: refusal, or the step times and peak memory.

    ``report`` gets the result so far after every step. ``spec`` holds method, side, degradation,
    values, seconds, max_steps, min_steady, device, placeholders and threads (0: the runner's rule for
    one method alone — all cores for a ``heavy`` method, ``METHOD_THREADS`` for the others)."""
    from arena.runner import METHOD_THREADS

    load_methods()
    device = torch.device(spec.get("device", "cpu"))
    method = METHODS.get(spec["method"])()
    problem = build(method, spec["side"], spec["degradation"], spec["values"], device)
    base = {"method": method.name, "side": spec["side"], "pixels": spec["side"] ** 2}
    refused = refusal(method, problem, bool(spec.get("placeholders")))
    if refused is not None and refused["status"] != "placeholder":
        return {**base, **refused}
    if refused is not None:
        use_placeholder_weights()
    params = type(method).resolve({}, problem)
    threads = int(spec.get("threads") or 0) or (max(1, os.cpu_count() or 1) if method.heavy else METHOD_THREADS)
    if device.type == "cpu":
        torch.set_num_threads(threads)
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    gc.collect()
    reset, before = reset_peak_rss(), rss_mb()
    times = StepTimes(float(spec["seconds"]), int(spec["max_steps"]), int(spec.get("min_steady", 1)))
    fixed = {**base, "status": "ok", "threads": threads if device.type == "cpu" else None,
             "rss_before_mb": round(before, 1), "peak_reset": reset, "placeholder": refused is not None,
             "why": refused["why"] if refused is not None else None}

    def result() -> dict[str, Any]:
        """The cell as it stands: fixed facts, the times so far and the peak memory so far."""
        # The kernel's peak mark is refreshed lazily: memory freed between the baseline and the reset can
        # leave the peak a fraction of a MB under the baseline. A method's growth is then 0, not negative.
        out = {**fixed, **times.summary(), "peak_mb": round(max(0.0, peak_rss_mb() - before), 1)}
        if cuda:
            out["cuda_peak_mb"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
        return out

    time_steps(method, problem, params, times, (lambda: torch.cuda.synchronize(device)) if cuda else (lambda: None),
               (lambda: report(result())) if report else (lambda: None))
    return result()


def cell_main(spec_json: str) -> None:
    """Entry point of a cell's subprocess: a ``PART {json}`` line after every step, then one ``CELL {json}``
    line; a failure is a cell too (its exception and the innermost frames), never a lost run."""
    spec = json.loads(spec_json)
    try:
        out = measure_cell(spec, lambda part: print(PART_PREFIX + json.dumps(part), flush=True))
    except Exception as exc:  # noqa: BLE001 — any failure is reported in the table, with its frames
        frames = traceback.extract_tb(exc.__traceback__)[-3:]
        out = {"method": spec["method"], "side": spec["side"], "pixels": spec["side"] ** 2, "status": "error",
               "why": f"{type(exc).__name__}: {str(exc)[:300]}",
               "traceback": [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in frames]}
    print(CELL_PREFIX + json.dumps(out), flush=True)


# ---- the sweep, in the parent process ----------------------------------------------------------------
def choose_degradation(method: Method) -> tuple[str, str, dict[str, Any]] | str:
    """(label, degradation, values): the first in ``PREFERENCE`` (then every other family with its
    defaults) that the method supports on a small problem; else the first refusal sentence."""
    from arena.degradations import DEGRADATIONS

    side = method.domain[1] if method.domain is not None else 64
    others = [(n, {}, f"{n} (defaults)") for n in DEGRADATIONS.names() if n not in {p[0] for p in PREFERENCE}]
    first_why = ""
    for name, values, label in (*PREFERENCE, *others):
        try:
            why = method.supports(build(method, side, name, values))
        except Exception as exc:  # noqa: BLE001 — a family that cannot take this image is skipped
            why = f"{type(exc).__name__}: {exc}"
        if why is None:
            return label, name, values
        first_why = first_why or why
    return first_why


def run_cell(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    """:func:`cell_main` in a fresh Python process (its peak memory is the method's alone). A cell that
    outlives ``timeout`` is stopped: it keeps the steps it reported (``cut``), or is a timeout."""
    cmd = [sys.executable, "-m", "benchmarks.bench_scaling", "--cell", json.dumps(spec)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    base = {"method": spec["method"], "side": spec["side"], "pixels": spec["side"] ** 2}
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, cwd=ROOT, env=env)
        try:
            proc.wait(timeout)
            cut = False
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            cut = True
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    final = [ln for ln in stdout.splitlines() if ln.startswith(CELL_PREFIX)]
    parts = [ln for ln in stdout.splitlines() if ln.startswith(PART_PREFIX)]
    if final:
        cell = json.loads(final[-1][len(CELL_PREFIX):])
    elif cut and parts:
        cell = {**json.loads(parts[-1][len(PART_PREFIX):]), "cut": f"stopped after {timeout:.0f} s"}
    elif cut:
        cell = {**base, "status": "timeout", "why": f"no step ended within {timeout:.0f} s (the process was stopped)"}
    else:
        tail = [ln for ln in stderr.strip().splitlines() if ln.strip()][-4:]
        cell = {**base, "status": "error", "why": f"the process exited with code {proc.returncode}", "traceback": tail}
    return {**cell, "wall_s": round(time.perf_counter() - t0, 1), "load_after": round(os.getloadavg()[0], 2)}


def step_seconds(cell: dict[str, Any]) -> float | None:
    """A measured cell's seconds per iteration: the steady median, or the first step when it was the
    only one (a step longer than the cell's time)."""
    if cell.get("status") != "ok":
        return None
    return cell["steady_s"] if cell.get("steady_s") is not None else cell.get("first_s")


def sweep_method(name: str, sides: Sequence[int], args: argparse.Namespace,
                 log: Callable[[str], None]) -> dict[str, Any]:
    """Every side of one method, smallest first, until a step exceeds the limit or a cell times out."""
    method = METHODS.get(name)()
    chosen = choose_degradation(method)
    row: dict[str, Any] = {"method": name, "label": method.label, "heavy": method.heavy,
                           "iterative": method.iterative, "domain": method.domain, "cells": []}
    if isinstance(chosen, str):
        row["refused_everywhere"] = chosen
        return row
    row["problem"], degradation, values = chosen
    row["degradation"], row["values"] = degradation, values
    domain = method.domain[1] if method.domain is not None else None
    stop: str | None = None
    for side in ([domain] if domain else []) + [s for s in sides if s != domain]:
        spec = {"method": name, "side": side, "degradation": degradation, "values": values,
                "seconds": args.seconds, "max_steps": args.steps, "device": args.device,
                "placeholders": args.placeholders, "threads": args.threads, "min_steady": args.min_steady}
        why = method.supports(build(method, side, degradation, values)) if domain not in (None, side) else None
        if why:  # a domain method refuses every other size before any work: no process needed
            cell = {"method": name, "side": side, "pixels": side**2, "status": "refused", "why": why}
        elif stop is not None:
            cell = {"method": name, "side": side, "pixels": side**2, "status": "skipped", "why": stop}
        else:
            cell = run_cell(spec, args.seconds + FIRST_STEP_GRACE)
        row["cells"].append(cell)
        t = step_seconds(cell)
        log(f"{name} {side}: {cell['status']} {t} s/it {cell.get('peak_mb')} MB {cell.get('why') or ''}"[:240])
        if stop is None and (cell["status"] == "timeout" or (t is not None and t > args.step_limit)):
            stop = (f"the {side}² cell timed out" if cell["status"] == "timeout"
                    else f"a step took over {args.step_limit:g} s at {side}²")
    row["exponent_time"], row["exponent_memory"] = exponents(row["cells"])
    return row


# ---- growth exponents ---------------------------------------------------------------------------------
def growth_exponent(pixels: Sequence[float], values: Sequence[float | None]) -> float | None:
    """Least-squares slope of log(value) against log(pixels): 1.0 means the value grows in proportion to
    the pixel count, 0 that it does not grow. Pairs with no value or a value ≤ 0 are left out (a
    memory delta below the resolution of RSS); None with fewer than two distinct pixel counts left."""
    pairs = [(math.log(p), math.log(v)) for p, v in zip(pixels, values, strict=True) if v is not None and v > 0]
    if len({lp for lp, _ in pairs}) < 2:
        return None
    mx = statistics.fmean(lp for lp, _ in pairs)
    my = statistics.fmean(lv for _, lv in pairs)
    return sum((lp - mx) * (lv - my) for lp, lv in pairs) / sum((lp - mx) ** 2 for lp, _ in pairs)


def exponents(cells: Sequence[dict[str, Any]]) -> tuple[float | None, float | None]:
    """(time exponent, memory exponent) of a method over its measured sides; a method measured at one
    size only (the 64×64 generators, which the app always runs at that size) has none. Time uses the
    steady medians only: a cell where only the first step was timed (setup included) is left out."""
    ok = [c for c in cells if c["status"] == "ok"]
    pixels = [c["pixels"] for c in ok]
    t = growth_exponent(pixels, [c.get("steady_s") for c in ok])
    m = growth_exponent(pixels, [c.get("peak_mb") for c in ok])
    return (None if t is None else round(t, 3)), (None if m is None else round(m, 3))


# ---- the Markdown -------------------------------------------------------------------------------------
SHORT = {"refused": "refused", "unavailable": "unavailable", "skipped": "not run", "error": "error",
         "timeout": "timed out"}


def _cell(row: dict[str, Any], side: int) -> dict[str, Any] | None:
    """The row's cell at ``side``, or None when that side was not in the sweep."""
    return next((c for c in row["cells"] if c["side"] == side), None)


def fmt_value(cell: dict[str, Any] | None, key: str) -> str:
    """One table entry: a number (``*`` only the first step was timed, ``†`` placeholder weights) or
    what happened instead."""
    if cell is None:
        return ""
    if cell["status"] != "ok":
        return SHORT.get(cell["status"], cell["status"])
    value = step_seconds(cell) if key == "time" else cell.get(key)
    if value is None:
        return "–"
    mark = ("*" if key == "time" and cell.get("steady_s") is None else "") + ("†" if cell.get("placeholder") else "")
    return f"{value:.3g}{mark}" if key != "peak_mb" else f"{value:.0f}{mark}"


def fmt_exp(value: float | None) -> str:
    """An exponent to two decimals (the fit is not more precise than that), or – when there is none."""
    return "–" if value is None else f"{value:.2f}"


def numbers_table(rows: Sequence[dict[str, Any]], sides: Sequence[int], key: str, exp_key: str | None) -> list[str]:
    """A method × side table of one quantity, with the growth exponent when ``exp_key`` is given."""
    head = ["method", "problem", *[f"{s}²" for s in sides]] + (["exponent"] if exp_key else [])
    lines = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
    for row in rows:
        problem = row.get("problem", "—")
        values = [fmt_value(_cell(row, s), key) for s in sides]
        domain = row.get("domain")
        if domain and (c := _cell(row, domain[1])) is not None:
            problem += f"; at its {domain[2]}×{domain[1]}: {fmt_value(c, key)}"
        exp = [fmt_exp(row.get(exp_key))] if exp_key else []
        lines.append("| " + " | ".join([row["method"], problem, *values, *exp]) + " |")
    return lines


def app_limits() -> dict[str, Any]:
    """The size limits the app and the CLI apply, read from the code: the page's longest-side slider
    and the CLI's default (arena/settings.py), the page's default on a GPU and a CPU (ui/common.py; not
    imported, it starts gradio), the loader's pixel limit, and the sentence a worker killed for memory gives."""
    from arena.images import MAX_PIXELS
    from arena.settings import BY_NAME
    from arena.workers import _why

    side = BY_NAME["max_side"]
    page = None
    for node in ast.parse((ROOT / "ui" / "common.py").read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "DEFAULT_MAX_SIDE":
            v = node.value
            page = (v.body.value, v.orelse.value) if isinstance(v, ast.IfExp) else (v.value, v.value)
    return {"slider": (side.page.lo, side.page.hi), "page_default_gpu_cpu": page, "cli_max_side": side.default,
            "max_pixels": MAX_PIXELS, "killed": _why(-9),
            "gpu_oom": _literal(ROOT / "arena" / "runner.py", "out of GPU memory")}


def _literal(path: Path, start: str) -> str | None:
    """The first string literal in ``path`` that starts with ``start`` (a message the code gives)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith(start):
            return node.value
    return None


def general_limits(limits: dict[str, Any]) -> list[str]:
    """What the app and the CLI do with a large image, for every method without a limit of its own."""
    lo, hi = limits["slider"] or ("?", "?")
    gpu, cpu = limits["page_default_gpu_cpu"] or ("?", "?")
    return [f"No method has a size limit of its own and nothing in `arena/` tiles an image: a method runs on the "
            f"whole image or not at all. What limits the size is the input: the page's *longest side* slider "
            f"goes from {lo} to {hi} px (default {cpu} on a CPU, {gpu} on a GPU) and downscales a larger upload "
            f"to it (`load_image(max_side=…)`, a notice says so); the CLI does the same with `--max-side` "
            f"(default {limits['cli_max_side']}, 0 = never); the API runs the bundled images only (256², so "
            f"the larger sides here come from uploads); `load_image` refuses an image over "
            f"{limits['max_pixels']:,} pixels before decoding it. Past the machine's memory, the app's worker "
            f"process on a CPU is killed and the method ends with “…{limits['killed']}”, and on a GPU with "
            f"“{limits['gpu_oom']}”. There is no time-based refusal: without a budget a slow method just takes "
            "long, and with one (the page's seconds) DIP and DeepRED choose a smaller net or fewer steps, the "
            "others stop at the budget."]


def past_limit(row: dict[str, Any]) -> tuple[str, str]:
    """(its limit, what the app does past it) for one method, from its recorded sentences."""
    if "refused_everywhere" in row:
        return "no degradation tried", f"refused in one sentence: “{row['refused_everywhere']}”"
    cells = row["cells"]
    domain = row.get("domain")
    if domain:
        why = next((c["why"] for c in cells if c["status"] == "refused"), "")
        return (f"{domain[2]}×{domain[1]}, {domain[0]} channels only",
                "the experiment crops and resizes every image to that size before the method runs "
                f"(`fit_domain`, with a notice), so its cost never grows with the upload; given another size "
                f"directly, `supports()` refuses: “{why}”")
    missing = next((c["why"] for c in cells if c.get("why") and c["status"] in ("unavailable", "ok")
                    and (c["status"] == "unavailable" or c.get("placeholder"))), None)
    slow = next((c["why"] for c in cells if c["status"] == "skipped"), None)
    limit = "none of its own" + (f"; here {slow}, so larger sides were not run" if slow else "")
    what = "the general rules above"
    if missing:
        what = (f"refused before anything runs while its published file is absent (numbers marked † are the "
                f"architecture with placeholder weights): “{missing}”; with the file, {what}")
    return limit, what


def _extremes(rows: Sequence[dict[str, Any]]) -> str:
    """The slowest- and fastest-growing of ``rows`` by time exponent, in words, for the headline."""
    lo = min(rows, key=lambda r: r["exponent_time"])
    hi = max(rows, key=lambda r: r["exponent_time"])
    return (f"slowest-growing **{lo['method']}** (exponent {lo['exponent_time']:.2f}), fastest-growing "
            f"**{hi['method']}** ({hi['exponent_time']:.2f})")


def headline(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The slowest- and fastest-growing methods (over all, and over those whose every step is long enough
    to be arithmetic rather than overhead) and the largest peak memory, in words."""
    grown = [r for r in rows if r.get("exponent_time") is not None]
    lines = []
    if grown:
        lines.append(f"- Time per iteration, all methods: {_extremes(grown)}.")
        long = [r for r in grown if min(c["steady_s"] for c in r["cells"] if c.get("steady_s")) >= MEANINGFUL_S]
        if long and len(long) < len(grown):
            lines.append(f"- Among the methods whose every step takes at least {MEANINGFUL_S * 1e3:g} ms (the "
                         f"others' exponents include overhead): {_extremes(long)}.")
    cells = [(r["method"], c) for r in rows for c in r["cells"] if c["status"] == "ok" and c.get("peak_mb") is not None]
    if cells:
        name, c = max(cells, key=lambda mc: mc[1]["peak_mb"])
        lines.append(f"- Largest peak memory: **{name}** at {c['side']}², {c['peak_mb']:.0f} MB above its "
                     f"starting RSS{' (placeholder weights)' if c.get('placeholder') else ''}.")
    return lines


def odd_things(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Errors and timeouts, with their innermost frames, and the sentences methods wrote about their choices."""
    lines = []
    for row in rows:
        for c in row["cells"]:
            if c["status"] in ("error", "timeout"):
                frames = "; ".join(c.get("traceback") or [])
                lines.append(f"- **{row['method']}** at {c['side']}²: {c['status']} — {c['why']}"
                             + (f" (at {frames})" if frames else ""))
            elif c.get("cut"):
                lines.append(f"- **{row['method']}** at {c['side']}²: {c['cut']}, after {c['steps']} step(s) "
                             "past the first")
        notes = sorted({n for c in row["cells"] for n in c.get("notes", [])})
        if notes:
            lines.append(f"- {row['method']} said: " + " / ".join(f"“{n}”" for n in notes))
    return lines or ["- nothing: every cell ran or was refused in its own sentence."]


def markdown(doc: dict[str, Any]) -> str:
    """SCALING.md from the JSON document: header, headline, the three tables, limits, odd things."""
    rows, sides = doc["methods"], doc["sizes"]
    loads = doc.get("load", {})
    lines = ["# How cost grows with the image", "",
             f"Written by `{doc['command']}` on {doc['date']} "
             f"({doc['total_s'] / 60:.0f} min); raw numbers in `benchmarks/SCALING.json`.", "",
             f"Machine: {doc['machine']}; device {doc['device']}.", "",
             f"**Shared machine:** the 1-minute load average was {loads.get('start', '?')} at the start and "
             f"{loads.get('end', '?')} at the end, on {doc['cores']} cores (each cell's is in the JSON): other "
             "work shared the cores while this ran, so every time is an upper bound on this machine's; the "
             "exponents, ratios of times taken under similar load, are the more reliable part." +
             (f" {doc['note']}" if doc.get("note") else ""), "",
             "Each method at its defaults, without a time budget (as `arena run` without `--seconds`), on the "
             f"bundled `{PHOTO}` photo resized to each side, on the first degradation it supports of denoise "
             "σ=25, blur, SR ×4 (the side is x's; y is a quarter of it), inpainting (column *problem*). One fresh "
             f"process per cell, {threads_text(doc['args'].get('threads', 0))}. Seconds per iteration: median "
             "of the steps after the first, "
             f"at most {doc['args']['steps']} steps or {doc['args']['seconds']:g} s per cell (one-shot methods: "
             f"repeated runs, weights already loaded), and at least {doc['args'].get('min_steady', 1)} after the "
             f"first whatever the cap, unless the cell's process outlives {FIRST_STEP_GRACE:g} s more. `*`: only "
             "the first step was timed (the cell was stopped after it; left out of the exponent, since a first "
             "step includes setup); `†`: placeholder weights (a published file absent here: the architecture's "
             "cost). "
             f"A method is not run at larger sides once a step takes over {doc['args']['step_limit']:g} s "
             "(*not run*). Exponent: least-squares slope of log(value) against log(pixels) over the sides "
             "measured; 1.0 is linear in the pixels. Steps under a millisecond (naive, lsq, tv at small sides) "
             "measure allocation and interpreter overhead as much as arithmetic: their exponents are the least "
             "reliable. A memory exponent below 1 means a fixed part (weights, buffers, allocator pools) "
             "weighs most at the small sides.", "", "## Headline", "", *headline(rows), "",
             "## Seconds per iteration", "", *numbers_table(rows, sides, "time", "exponent_time"), "",
             "## First step (setup included: weights, networks, plans), seconds", "",
             "DIP's and DeepRED's first step at a shape, thread count and net this machine has not met before "
             "also times both memory layouts (`arena/nets/autotune.py`), unless an earlier run cached the "
             "choice in `~/.cache/restoration-arena/autotune.json`.", "",
             *numbers_table(rows, sides, "first_s", None), "",
             "## Peak memory, MB above the RSS before the method started", "",
             *numbers_table(rows, sides, "peak_mb", "exponent_memory"), ""]
    if any(c.get("cuda_peak_mb") is not None for r in rows for c in r["cells"]):
        lines += ["## Peak GPU memory (`torch.cuda.max_memory_allocated`), MB", "",
                  *numbers_table(rows, sides, "cuda_peak_mb", None), ""]
    lines += ["## Past each method's limit", "", *general_limits(doc["limits"]), "",
              "| method | its limit | what the app does past it |", "|---|---|---|"]
    lines += [f"| {r['method']} | {a} | {b} |" for r in rows for a, b in [past_limit(r)]]
    lines += ["", "## Odd things seen", "", *odd_things(rows), ""]
    return "\n".join(lines)


def threads_text(threads: int) -> str:
    """How many torch threads the cells used, in words."""
    if threads:
        return f"with {threads} torch thread{'s' if threads > 1 else ''} for every method (`--threads {threads}`)"
    return "with the runner's torch threads (all cores for `heavy` methods, `METHOD_THREADS` for the others)"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line (``--cell`` is the subprocess's own entry point)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIDES), help="image sides (square)")
    ap.add_argument("--methods", nargs="+", help="method names (default: every registered method)")
    ap.add_argument("--seconds", type=float, default=30.0, help="the most a cell steps for (after its first step)")
    ap.add_argument("--steps", type=int, default=10, help="the most steps timed after the first")
    ap.add_argument("--min-steady", type=int, default=1, help="steps after the first timed even past --seconds "
                    "(a first step includes setup, so it alone is no steady time)")
    ap.add_argument("--step-limit", type=float, default=20.0, help="a step longer than this stops larger sides")
    ap.add_argument("--threads", type=int, default=0, help="torch threads for every method (0: the runner's rule; "
                    "1 is steadier on a machine that other work shares)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (the CPU table is the default)")
    ap.add_argument("--no-placeholders", dest="placeholders", action="store_false",
                    help="record absent published files as refusals only, without timing the architecture")
    ap.add_argument("--note", default="", help="a sentence about the conditions, written under the machine")
    ap.add_argument("--out", type=Path, default=OUT_MD, help="the Markdown file (the JSON goes beside it)")
    ap.add_argument("--redraw", action="store_true", help="rewrite the Markdown from the JSON beside it, measuring "
                    "nothing")
    ap.add_argument("--cell", help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def command(args: argparse.Namespace) -> str:
    """The command that regenerates the table with these settings."""
    parts = ["PYTHONPATH=. python -m benchmarks.bench_scaling", "--sizes", *map(str, args.sizes),
             "--seconds", f"{args.seconds:g}", "--steps", str(args.steps), "--step-limit", f"{args.step_limit:g}"]
    if args.threads:
        parts += ["--threads", str(args.threads)]
    if args.min_steady != 1:
        parts += ["--min-steady", str(args.min_steady)]
    if args.device != "cpu":
        parts += ["--device", args.device]
    if not args.placeholders:
        parts.append("--no-placeholders")
    return " ".join(parts)


def main(argv: Sequence[str] | None = None) -> None:
    """Sweep the methods (keeping the other methods' rows of an earlier run with the same sizes), write
    the JSON after every method and the Markdown at the end."""
    args = parse_args(argv)
    if args.cell:
        return cell_main(args.cell)
    if args.redraw:
        args.out.write_text(markdown(json.loads(args.out.with_suffix(".json").read_text())))
        return print(f"wrote {args.out} from {args.out.with_suffix('.json')}")
    from benchmarks.bench_methods import machine

    load_methods()
    names = args.methods or METHODS.names()
    for n in names:
        METHODS.get(n)  # an unknown name fails now, with the valid ones
    out_json = args.out.with_suffix(".json")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(out_json.read_text()) if out_json.is_file() else {}
    keep = [r for r in old.get("methods", []) if r["method"] not in names] if old.get("sizes") == args.sizes else []
    doc: dict[str, Any] = {"command": command(args), "date": time.strftime("%Y-%m-%d"), "machine": machine(),
                           "device": args.device, "cores": os.cpu_count(), "sizes": args.sizes, "args": {
                               k: v for k, v in vars(args).items() if k not in ("cell", "out", "methods")},
                           "note": args.note, "load": {"start": round(os.getloadavg()[0], 2)},
                           "limits": app_limits(), "methods": keep}
    t0 = time.perf_counter()
    for name in names:
        doc["methods"].append(sweep_method(name, args.sizes, args, lambda s: print(s, flush=True)))
        doc["methods"].sort(key=lambda r: (METHODS.get(r["method"]).order, r["method"]))
        doc["total_s"] = round(time.perf_counter() - t0 + old.get("total_s", 0) * bool(keep), 1)
        doc["load"]["end"] = round(os.getloadavg()[0], 2)
        out_json.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    args.out.write_text(markdown(doc))
    print(f"wrote {args.out} and {out_json} in {doc['total_s'] / 60:.1f} min")


if __name__ == "__main__":
    main()
