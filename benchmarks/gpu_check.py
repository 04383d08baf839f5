"""One command for the first minutes on a GPU machine: what needs CUDA, timed, written down.

    python -m benchmarks.gpu_check [--dry-run] [--budget 470]

Runs, in order, each with its own time limit and all within ``--budget`` seconds (a step that would
start past the budget is listed as skipped):

1. the tests that run on CUDA (every method on the device, methods in parallel on one device, the
   bf16/fp16 paths, Stop, the worker/threads choice: the ``cuda`` cases of the test suite);
2. every preset on the GPU (``benchmarks.bench_presets --device cuda``): its time and its claims
   into ``assets/preset_times.json`` and ``benchmarks/PRESETS.md``;
3. DIP's paper net at 512² for 3000 iterations (denoising σ = 25): seconds and PSNR;
4. the browser against the API on the CPU-lecture preset (``benchmarks.bench_app``), where Chromium
   is installed.

Writes ``benchmarks/GPU.md`` (each step's exit code, seconds and last lines). On a machine without
CUDA it prints the steps it would run and exits 0; ``--dry-run`` does that anywhere.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


@dataclass(frozen=True)
class Check:
    name: str
    command: list[str]
    timeout_s: int
    needs: str = ""
    """An executable the step needs (skipped with a reason where it is absent)."""


CHECKS = (
    Check("tests that run on CUDA", [PY, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-k", "cuda"], 110),
    Check("every preset on the GPU (times and claims)",
          [PY, "-m", "benchmarks.bench_presets", "--device", "cuda", "--cap", "30"], 200),
    Check("DIP paper net, 512², 3000 iterations",
          [PY, "-m", "arena.cli", "run", "--image", "astronaut", "--max-side", "512", "--degradation",
           "denoise:sigma=25", "--method", "dip:net=paper,iterations=3000,stop=none", "--device", "cuda",
           "--no-lpips", "--out", "runs/gpu_check/dip512"], 100),
    Check("browser vs API, CPU-lecture preset", [PY, "-m", "benchmarks.bench_app", "--preset", "dip-cpu-lecture",
                                                 "--repeats", "1"], 120, needs="chromium"),
)


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def run(check: Check, left_s: float) -> dict:
    """Run one check within ``min(its limit, left_s)``; its exit code, seconds and output tail."""
    if check.needs and shutil.which(check.needs) is None:
        return {"rc": None, "seconds": 0.0, "tail": f"skipped: {check.needs} is not installed"}
    t0 = time.perf_counter()
    try:
        out = subprocess.run(check.command, cwd=ROOT, capture_output=True, text=True,
                             timeout=max(1.0, min(check.timeout_s, left_s)))
        rc, text = out.returncode, out.stdout + out.stderr
    except subprocess.TimeoutExpired as exc:
        rc, text = 124, f"{exc.stdout or ''}{exc.stderr or ''}\ntimed out"
    tail = "\n".join(str(text).strip().splitlines()[-8:])
    return {"rc": rc, "seconds": time.perf_counter() - t0, "tail": tail}


def report(results: list[tuple[Check, dict]], device: str) -> str:
    lines = [f"# GPU check ({device}, {time.strftime('%Y-%m-%d')})", "",
             "`python -m benchmarks.gpu_check` — each step's exit code, seconds and last lines.", ""]
    for check, r in results:
        lines += [f"## {check.name}", "", f"exit {r['rc']}, {r['seconds']:.1f} s", "", "```", r["tail"], "```", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dry-run", action="store_true", help="list the steps and exit")
    ap.add_argument("--budget", type=float, default=470.0, help="seconds for all steps together")
    args = ap.parse_args(argv)
    if args.dry_run or not cuda_available():
        print("no CUDA device: " if not args.dry_run else "", "the GPU check would run:", sep="")
        for i, c in enumerate(CHECKS, 1):
            print(f"{i}. {c.name} (≤ {c.timeout_s} s): {' '.join(Path(a).name if a == PY else a for a in c.command)}")
        return 0
    import torch

    device = torch.cuda.get_device_name(0)
    results, start = [], time.perf_counter()
    for check in CHECKS:
        left = args.budget - (time.perf_counter() - start)
        r = run(check, left) if left > 10 else {"rc": None, "seconds": 0.0, "tail": "skipped: the budget was spent"}
        results.append((check, r))
        print(f"{check.name}: exit {r['rc']}, {r['seconds']:.1f} s", flush=True)
        (ROOT / "benchmarks" / "GPU.md").write_text(report(results, device))
    return 0 if all(r["rc"] in (0, None) for _, r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
