"""ZeroGPU Spaces: the compute runs inside ``spaces.GPU`` with a duration from the run's budget there,
and nothing changes anywhere else (here: ``spaces`` installed, a CPU, no ZeroGPU hardware)."""

from __future__ import annotations

import sys
import types

import pytest

spaces = pytest.importorskip("spaces")

from ui import zerogpu  # noqa: E402


def test_without_zerogpu_hardware_the_functions_are_returned_unchanged():
    import app  # noqa: F401  (imports spaces before gradio and torch, as a ZeroGPU Space needs)
    from ui import api

    assert "spaces" in sys.modules and not zerogpu.zero_gpu()
    assert api._compute is api._final_event

    def fn(x):
        return x

    assert zerogpu.on_zero_gpu(fn, lambda x: 1) is fn


def test_on_zerogpu_the_compute_asks_for_its_budget_plus_setup(monkeypatch):
    asked = []

    def gpu(duration):
        def wrap(fn):
            def inner(*args):
                asked.append(duration(*args))
                return fn(*args)
            return inner
        return wrap

    monkeypatch.setattr(spaces.config.Config, "zero_gpu", True)
    monkeypatch.setattr(spaces, "GPU", gpu)
    from ui.common import MAX_SECONDS
    from ui.run import RunView, stream_run

    view = RunView(**{name: object() for name in RunView.__dataclass_fields__})
    stream = stream_run(view)
    prep = types.SimpleNamespace(config=types.SimpleNamespace(seconds=45.0))
    list(stream(None, None))  # no run prepared: nothing streamed, the budget's fallback asked
    assert asked == [MAX_SECONDS + zerogpu.SETUP_SECONDS]
    stream(None, {"prep": prep})  # a run of 45 s: asks 45 s and the setup margin (not iterated: no real run)
    assert asked[-1] == 45 + zerogpu.SETUP_SECONDS
