"""Every registered method, on every registered degradation, derived from the registries."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from arena.degradations import DEGRADATIONS
from arena.errors import ArenaError
from arena.method import METHODS, Method, load_methods
from arena.problem import make_problem
from arena.registry import Registry

load_methods()
PAIRS = [(m.name, d.name) for m in METHODS for d in DEGRADATIONS]


def test_required_methods_registered():
    assert {"naive", "lsq", "tikhonov", "tv", "pgd"} <= set(METHODS.names())


@pytest.mark.parametrize("cls", list(METHODS), ids=lambda c: c.name)
def test_schema_and_documentation(cls: type[Method]):
    assert cls.label and cls.reference and len(cls.summary()) > 40, "docstring gives the update equation"
    for p in cls.params:
        assert p.coerce(p.default, cls.name) == p.default, f"default of {p.name} is within its own limits"
        assert p.help
    names = [p.name for p in cls.params]
    assert len(names) == len(set(names))
    if cls.iterative:  # naive, the supervised networks: one step, nothing to iterate
        assert "iterations" in names, "every iterative method accepts iterations"
    else:
        assert "iterations" not in names


@pytest.mark.parametrize("method,degradation", PAIRS, ids=[f"{m}-{d}" for m, d in PAIRS])
def test_runs_or_refuses_every_pairing(method: str, degradation: str):
    m = METHODS.get(method)()
    x = torch.rand(1, *(m.domain or (3, 16, 16)), generator=torch.Generator().manual_seed(0))
    problem, clean, _ = make_problem(x, degradation, {}, seed=0)
    why = m.supports(problem)
    if why is not None:
        assert isinstance(why, str) and len(why) > 20, "a refusal is a sentence saying why"
        return
    params = m.resolve({"iterations": 3} if any(p.name == "iterations" for p in m.params) else {})
    missing = m.unavailable(params, problem)
    if missing is not None:  # a published file not in this machine's cache: refused before the run
        assert "arena weights fetch" in missing or "pip install" in missing
        return
    gen = m.run(problem, **params)
    try:
        steps = list(gen)
    except ArenaError as exc:  # a parameter combination refused with a message is acceptable
        assert str(exc)
        return
    assert 1 <= len(steps) <= 3
    assert [s.it for s in steps] == sorted({s.it for s in steps})
    for s in steps:
        assert s.x.shape == clean.shape and s.x.dtype == torch.float32
        assert torch.isfinite(s.x).all()
        assert "loss" in s.diagnostics and torch.isfinite(torch.tensor(s.diagnostics["loss"]))


@pytest.fixture(scope="module")
def matrix() -> dict[str, dict[str, str]]:
    from support_matrix import support_matrix

    return support_matrix()


def test_the_support_matrix_matches_the_golden(matrix: dict[str, dict[str, str]]):
    """Any refusal passes the test above, so what each method refuses is pinned here: a method that
    starts refusing everything, a new method or a new degradation fails until the golden is regenerated."""
    from support_matrix import GOLDEN, difference, render

    golden, live = GOLDEN.read_text(encoding="utf-8"), render(matrix)
    assert live == golden, ("what the methods support changed; if that is meant, regenerate with "
                            "`python -m tests.support_matrix` and review the diff:\n" + difference(golden, live))


@pytest.mark.parametrize("cls", list(METHODS), ids=lambda c: c.name)
def test_declared_limits_name_pairings_that_run(cls: type[Method], matrix: dict[str, dict[str, str]]):
    """A limit on a degradation the method refuses (or a misspelt one) would never be tested or shown."""
    for degradation, reason in cls.limits.items():
        assert matrix[cls.name].get(degradation) == "runs", f"{cls.name}.limits names {degradation!r}"
        assert len(reason) > 20, "a limit is a reason, in words"
    assert cls.caveat is Method.caveat, "a plugin declares limits and writes warning(); caveat() joins them"


def test_a_declared_limit_reaches_the_result_as_its_caveat():
    from arena.runner import run_comparison

    tv = METHODS.get("tv")
    x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    colorize, clean, _ = make_problem(x, "colorize", {}, seed=0)
    assert tv().caveat(make_problem(x, "denoise", {}, seed=0)[0]) is None
    assert tv.limits["colorize"] in tv().caveat(colorize)
    results = next(ev.results for ev in run_comparison(colorize, clean, ["tv:iterations=3"], with_lpips=False)
                   if ev.kind == "done")
    assert results["tv"].status == "done" and tv.limits["colorize"] in results["tv"].message


@pytest.mark.parametrize("cls", list(METHODS), ids=lambda c: c.name)
def test_generator_closes_cleanly(cls: type[Method]):
    m = cls()
    problems = [make_problem(torch.rand(1, *(cls.domain or (c, 16, 16))), name, {}, seed=0)[0]
                for c in (1, 3) for name in ("inpaint", "blur", "sr", "denoise")]  # grey first; colour-only methods
    problem = next(p for p in problems if m.supports(p) is None)
    params = m.resolve({"iterations": 50} if any(p.name == "iterations" for p in m.params) else {})
    if m.unavailable(params, problem):
        pytest.skip(m.unavailable(params, problem))
    gen = m.run(problem, **params)
    first = next(gen)
    assert first.it == 1
    gen.close()
    with pytest.raises(StopIteration):
        next(gen)


def test_methods_never_receive_the_clean_image():
    import inspect

    for cls in METHODS:
        sig = inspect.signature(cls.run)
        assert list(sig.parameters)[:2] == ["self", "problem"]
        assert not {"clean", "x_true", "x_gt", "gt"} & set(sig.parameters)


def test_registry_refuses_duplicates():
    reg: Registry[Method] = Registry("method")

    class A:
        name = "same"

    class B:
        name = "same"

    reg.register(A)
    with pytest.raises(KeyError, match="already registered"):
        reg.register(B)


def _weights_read(monkeypatch, action) -> set[str]:
    """Names of the safetensors files ``action`` opens, with every loader cache of the arena emptied first."""
    import functools
    import gc

    import safetensors

    for obj in gc.get_objects():
        if type(obj) is functools._lru_cache_wrapper and (obj.__module__ or "").startswith("arena"):
            obj.cache_clear()
    opened: set[str] = set()
    real = safetensors.safe_open

    def spy(path, *args, **kwargs):
        opened.add(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(safetensors, "safe_open", spy)
    action()
    monkeypatch.setattr(safetensors, "safe_open", real)
    return opened


PROBES = (("blur", {}), ("sr", {"factor": 4}), ("inpaint", {}), ("denoise", {}))


@pytest.mark.parametrize("cls", list(METHODS), ids=lambda c: c.name)
def test_a_method_reads_exactly_the_weights_it_declares(cls: type[Method], monkeypatch):
    """A sweep keys runs by the content of ``Method.weights``: an undeclared file would let a
    retrained network's stale rows survive, so every file a run opens must be declared."""
    xs = [torch.rand(1, *(cls.domain or (c, 32, 32)), generator=torch.Generator().manual_seed(0)) for c in (1, 3)]
    m = cls()
    problem = next(p for x in xs for name, values in PROBES
                   if m.supports(p := make_problem(x, name, values, seed=0)[0]) is None)
    if m.unavailable(m.resolve({}), problem):  # published weights: never in weights/, and absent here
        pytest.skip(m.unavailable(m.resolve({}), problem))
    names = {p.name for p in cls.params}
    learned = [{"denoiser": d} for d in ("dncnn", "drunet") if "denoiser" in names]
    short = {"iterations": 2} if "iterations" in names else {}
    short |= {"denoise_every": 1} if "denoise_every" in names else {}  # DeepRED: call the denoiser at once
    read: set[str] = set()
    for given in [{}, *learned]:
        params = m.resolve(given | short)
        read |= _weights_read(monkeypatch, lambda params=params: list(m.run(problem, **params)))
    assert read == set(cls.weights)


@pytest.mark.parametrize("cls", list(DEGRADATIONS), ids=lambda c: c.name)
def test_a_degradation_reads_exactly_the_weights_it_declares(cls, monkeypatch):
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    assert _weights_read(monkeypatch, lambda: make_problem(x, cls.name, {}, seed=0)) == set(cls.weights)
