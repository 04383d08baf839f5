"""Machine-dependent choices measured on first use, not fixed: the memory format of a net's step,
and (for ``precision=auto``) float32 or bfloat16 autocast, guarded by quality.

Channels-last against PyTorch's default (contiguous) layout for a conv net's forward + backward is
a matter of the machine and the shape: on one 2-core EPYC the DIP paper net at 256² took 1.13 s per
step channels-last and 2.33 s contiguous, on another day the same machine measured 3.48 s against
2.29 (benchmarks/SKIPNET.md, issue 13). So the first time a net configuration meets a shape, a
device and a thread count, both layouts are timed on a throwaway copy and the faster is kept —
in memory and in ``~/.cache/restoration-arena/autotune.json`` (like ``cudnn.benchmark``, once per
machine, not once per run: the app forks a fresh worker per run). ``ARENA_AUTOTUNE=0`` turns it
off (channels-last, the choice before). The layout changes only the order of floating-point sums:
one step agrees to float precision, a long fit drifts apart a little (``benchmarks/RULES.md``,
autotune), and a run on one machine repeats bit for bit once the choice is cached.

Precision: bfloat16 autocast is taken only where its step times faster here *and* a short fit with
it ends within ``GUARD_DB`` of the same fit in float32 (:func:`precision`); the verdict is cached
beside the timings, so the guard's fit runs once per net configuration and device.
"""

from __future__ import annotations

import copy
import fcntl
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from torch import nn

ENABLED = os.environ.get("ARENA_AUTOTUNE", "1") != "0"
FORMATS = {"channels_last": torch.channels_last, "contiguous": torch.contiguous_format}
"""The first is the choice when the autotune is off (the layout used before it existed)."""
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "restoration-arena" / "autotune.json"
TIMED_STEPS = 2
"""Timed steps per layout, after one warm-up step each (allocations, oneDNN's kernel choice); the
fastest counts, as the first steps after a start run slow. The first use of a shape pays for these
steps (not interruptible by Stop; other threads' lookups wait on the lock meanwhile)."""
GUARD_DB = 0.1
"""A faster arithmetic is kept only if its short fit ends at most this far (dB) below float32's."""
PRECISIONS = ("fp32", "bf16")
_lock = threading.Lock()
_memo: dict[str, str] = {}


def memory_format(key: str, net: nn.Module, z: torch.Tensor,
                  loss: Callable[[torch.Tensor], torch.Tensor]) -> torch.memory_format:
    """The faster layout for one step of ``net`` on ``z`` (forward, ``loss``, backward), chosen once
    per ``key`` (what identifies the net, e.g. its config) × shape × device × torch threads."""
    layouts = {name: (lambda fmt=fmt: (copy.deepcopy(net).to(memory_format=fmt), z.contiguous(memory_format=fmt)))
               for name, fmt in FORMATS.items()}
    return FORMATS[faster(key, z, layouts, loss)]


def faster(key: str, z: torch.Tensor, candidates: dict[str, Callable[[], tuple[nn.Module, torch.Tensor]]],
           loss: Callable[[torch.Tensor], torch.Tensor]) -> str:
    """The name of the candidate — a throwaway (net, input) pair — whose step is fastest, timed once
    per ``key`` × the shape and device of ``z`` × torch threads, kept in memory and in ``CACHE``
    (``ARENA_AUTOTUNE=0``: the first candidate)."""
    if not ENABLED:
        return next(iter(candidates))
    full = f"{key}|{tuple(z.shape)}|{z.device.type}|{torch.get_num_threads()}"
    with _lock:
        if full not in _memo:
            _memo.update(_read(candidates))
        if full not in _memo:
            times = {name: _step_seconds(*make(), loss) for name, make in candidates.items()}
            _memo[full] = min(times, key=times.__getitem__)
            _write(full, _memo[full])
        return _memo[full]


class Autocast(nn.Module):
    """A net run under bfloat16 autocast: convolutions in bf16, normalisation statistics and the
    returned output in float32 (the data term and Adam's state stay float32)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        with torch.autocast(z.device.type, dtype=torch.bfloat16):
            return self.net(z).float()


def precision(key: str, net: nn.Module, z: torch.Tensor, loss: Callable[[torch.Tensor], torch.Tensor],
              fit_db: Callable[[nn.Module], float]) -> str:
    """``"bf16"`` where a step of ``net`` under bfloat16 autocast times faster than in float32 (as
    :func:`faster`) and ``fit_db`` — a short fit of a throwaway copy, returning its final data PSNR —
    ends within ``GUARD_DB`` of float32's; else ``"fp32"``. Both verdicts are cached."""
    fast = faster(f"{key}|precision", z, {"fp32": lambda: (copy.deepcopy(net), z),
                                          "bf16": lambda: (Autocast(copy.deepcopy(net)), z)}, loss)
    if fast == "fp32":  # also when the autotune is off: faster() then answers its first candidate
        return "fp32"
    full = f"{key}|guard|{z.device.type}"
    with _lock:
        if full not in _memo:
            _memo.update(_read(PRECISIONS))
        if full not in _memo:
            kept = fit_db(Autocast(copy.deepcopy(net))) >= fit_db(copy.deepcopy(net)) - GUARD_DB
            _memo[full] = "bf16" if kept else "fp32"
            _write(full, _memo[full])
        return _memo[full]


def _step_seconds(net: nn.Module, z: torch.Tensor, loss: Callable[[torch.Tensor], torch.Tensor]) -> float:
    times = []
    for i in range(TIMED_STEPS + 1):
        t = time.perf_counter()
        net.zero_grad(set_to_none=True)
        loss(net(z)).backward()
        if z.device.type == "cuda":
            torch.cuda.synchronize(z.device)
        if i:
            times.append(time.perf_counter() - t)
    return min(times)


def _read(valid: Iterable[str]) -> dict[str, str]:
    try:
        data = json.loads(CACHE.read_text())
        return {k: v for k, v in data.items() if isinstance(v, str) and v in valid}
    except (OSError, ValueError, AttributeError):
        return {}


def _write(key: str, value: str) -> None:
    """Add one entry to the cache file: under an exclusive lock (two workers tuning at once must not
    drop each other's entry), written to a temporary file and renamed into place."""
    try:
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        with open(CACHE.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                old = json.loads(CACHE.read_text())
            except (OSError, ValueError):
                old = {}
            data = {**(old if isinstance(old, dict) else {}), key: value}
            fd, tmp = tempfile.mkstemp(dir=CACHE.parent, prefix=".autotune-")
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, indent=1, sort_keys=True)
            os.replace(tmp, CACHE)
    except OSError:
        pass  # a read-only home: the choice still holds for this process
