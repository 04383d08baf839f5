"""The skip net's memory layout is measured, not fixed: the faster layout wins, the choice is kept
on disk, and both layouts compute the same numbers."""

from __future__ import annotations

import time

import pytest
import torch
from torch import nn

from arena.nets import autotune
from arena.nets.skip import SkipConfig, SkipNet


class _SlowIn(nn.Module):
    """A layer that sleeps when its input is in ``slow`` layout (what the timing must see)."""

    def __init__(self, slow: torch.memory_format) -> None:
        super().__init__()
        self.slow = slow
        self.w = nn.Parameter(torch.ones(1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.is_contiguous(memory_format=self.slow):
            time.sleep(0.02)
        return z * self.w


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setattr(autotune, "CACHE", tmp_path / "autotune.json")
    monkeypatch.setattr(autotune, "ENABLED", True)
    monkeypatch.setattr(autotune, "_memo", {})
    return tmp_path / "autotune.json"


@pytest.mark.parametrize("slow,expected", [(torch.channels_last, torch.contiguous_format),
                                           (torch.contiguous_format, torch.channels_last)])
def test_the_faster_layout_is_chosen_and_kept_on_disk(cache, monkeypatch, slow, expected):
    z = torch.rand(1, 4, 8, 8)
    assert autotune.memory_format("slow-net", _SlowIn(slow), z, lambda out: out.sum()) == expected
    assert cache.is_file() and len(autotune._read(autotune.FORMATS)) == 1
    monkeypatch.setattr(autotune, "_memo", {})  # a new process: the choice comes from the file
    monkeypatch.setattr(autotune, "_step_seconds", lambda *a: pytest.fail("measured again"))
    assert autotune.memory_format("slow-net", _SlowIn(slow), z, lambda out: out.sum()) == expected


def test_off_means_channels_last(monkeypatch):
    monkeypatch.setattr(autotune, "ENABLED", False)
    monkeypatch.setattr(autotune, "_step_seconds", lambda *a: pytest.fail("measured while off"))
    assert autotune.memory_format("x", nn.Identity(), torch.rand(1, 1, 4, 4), lambda o: o.sum()) == torch.channels_last


def test_both_layouts_compute_the_same_numbers():
    torch.manual_seed(0)
    net = SkipNet(SkipConfig.light(8, 3))
    z = torch.rand(1, 8, 40, 40)
    plain = net(z)
    last = net.to(memory_format=torch.channels_last)(z.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(plain, last, atol=1e-5, rtol=0)


def test_precision_auto_takes_the_faster_and_the_report_says_which(cache):
    from arena.method import METHODS, load_methods
    from arena.problem import make_problem
    from tests.conftest import bundled

    load_methods()
    problem = make_problem(bundled("camera", 24), "denoise", {"sigma": 25}, seed=0)[0]
    m = METHODS.get("dip")()
    steps = list(m.run(problem, **m.resolve({"net": "light", "iterations": 3, "stop": "none", "precision": "auto",
                                             "input_depth": 4})))
    chosen = steps[-1].chosen["precision"]
    assert chosen in ("fp32", "bf16")
    keys = [k for k in autotune._read(("fp32", "bf16")) if k.endswith("|1") or "precision" in k]
    assert any("precision" in k for k in keys), "the choice is cached"


def test_bf16_stays_close_to_fp32():
    torch.manual_seed(0)
    net = SkipNet(SkipConfig.light(8, 3))
    z = torch.rand(1, 8, 32, 32)
    from arena.nets.autotune import Autocast

    diff = (Autocast(net)(z) - net(z)).abs()
    # bfloat16 keeps 8 significant bits: errors of ~1/256 per value (a wrong cast would give ~0.1);
    # what matters, the fits' PSNR, is measured in benchmarks/SKIPNET.md
    assert diff.mean() < 8e-3 and diff.max() < 0.06, (float(diff.mean()), float(diff.max()))


def test_under_bf16_the_padding_stays_in_bf16_and_pads_as_torch_does():
    """Autocast lists reflection padding as a float32 op; the skip net's pad keeps its input's
    precision (no copy up and back per convolution) and gives nn.ReflectionPad2d's values and
    gradient."""
    from arena.nets.skip import _ReflectPad

    x = torch.randn(1, 4, 9, 7, dtype=torch.bfloat16, requires_grad=True)
    ref = x.detach().clone().float().requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert nn.ReflectionPad2d(1)(x).dtype == torch.float32  # what autocast does to the plain module
        y = _ReflectPad(1)(x)
    assert y.dtype == torch.bfloat16
    expected = nn.ReflectionPad2d(1)(ref)
    assert torch.equal(y.float(), expected)
    w = torch.randn(expected.shape)
    (y.float() * w).sum().backward()
    (expected * w).sum().backward()
    torch.testing.assert_close(x.grad.float(), ref.grad, atol=0.05, rtol=0.02)


@pytest.mark.parametrize("bf16_db,expected", [(19.8, "fp32"), (19.95, "bf16"), (20.3, "bf16")])
def test_bf16_is_kept_only_if_its_short_fit_ends_within_the_guard(cache, monkeypatch, bf16_db, expected):
    monkeypatch.setattr(autotune, "faster", lambda *a: "bf16")  # bf16 timed faster here
    calls = []

    def fit_db(net):
        calls.append(type(net).__name__)
        return bf16_db if isinstance(net, autotune.Autocast) else 20.0

    net, z = SkipNet(SkipConfig.light(4, 3)), torch.rand(1, 4, 16, 16)
    assert autotune.precision("cfg", net, z, lambda o: o.mean(), fit_db) == expected
    assert sorted(calls) == ["Autocast", "SkipNet"]
    monkeypatch.setattr(autotune, "_memo", {})  # a new process: the verdict comes from the file
    assert autotune.precision("cfg", net, z, lambda o: o.mean(), lambda n: pytest.fail("fitted again")) == expected


def test_fp32_timed_faster_needs_no_guard_fit(cache, monkeypatch):
    monkeypatch.setattr(autotune, "faster", lambda *a: "fp32")
    net, z = SkipNet(SkipConfig.light(4, 3)), torch.rand(1, 4, 16, 16)
    assert autotune.precision("cfg", net, z, lambda o: o.mean(), lambda n: pytest.fail("guard run")) == "fp32"


def test_the_guard_fit_fits_the_crop():
    from arena.nets.skip import guard_fit_db, seeded_init

    net = SkipNet(SkipConfig.light(4, 3))
    seeded_init(net, torch.Generator().manual_seed(0))
    z = torch.rand(1, 4, 80, 80) * 0.1
    target = torch.rand(1, 3, 80, 80, generator=torch.Generator().manual_seed(1)).mul(0.2).add(0.4)
    start_db = -10 * torch.log10((net(z) - target).square().mean()).item()
    assert guard_fit_db(net, z, target) > start_db + 3  # 40 Adam steps fit the crop


def test_dips_chosen_precision_and_compilation_reach_metrics_json(cache, tmp_path):
    import json

    from arena.cli import main

    out = tmp_path / "dip"
    assert main(["run", "--image", "camera", "--max-side", "32", "--degradation", "denoise:sigma=25", "--method",
                 "dip:net=light,iterations=3,stop=none,input_depth=4", "--out", str(out), "--quiet", "--no-lpips"]) == 0
    params = json.loads((out / "metrics.json").read_text())["methods"]["dip"]["params"]
    assert params["precision"] in ("fp32", "bf16") and params["compile"] == "eager"  # a CPU: never compiled
