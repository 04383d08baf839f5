"""The GPU check is ready before any GPU: it lists its steps on a CPU, and every step names a
module and options that exist here."""

from __future__ import annotations

import importlib
import subprocess
import sys

from benchmarks import gpu_check


def test_dry_run_lists_every_step_and_exits_0():
    out = subprocess.run([sys.executable, "-m", "benchmarks.gpu_check", "--dry-run"], capture_output=True, text=True,
                         cwd=gpu_check.ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    listed = [line for line in out.stdout.splitlines() if line[:2] in {f"{i}." for i in range(1, 10)}]
    assert len(listed) == len(gpu_check.CHECKS) >= 4


def test_every_step_names_a_module_that_exists_and_a_preset_it_knows():
    from arena.presets import load_presets

    for check in gpu_check.CHECKS:
        module = check.command[check.command.index("-m") + 1]
        assert importlib.util.find_spec(module) is not None, module
        if "--preset" in check.command:
            assert check.command[check.command.index("--preset") + 1] in load_presets()
