"""The method-plugin contract: a solver is a generator of iterates.

Each file in the top-level ``methods/`` package defines one :class:`Method` subclass and
registers it with ``@METHODS.register``; :func:`load_methods` imports them all.
"""

from __future__ import annotations

import importlib
import pkgutil
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import torch

from arena.params import Param, Value, check_given, clip
from arena.problem import Problem
from arena.registry import Registry
from arena.resources import WEIGHTS


@dataclass(frozen=True)
class Step:
    """One iterate of a method.

    Attributes
    ----------
    it : int
        Iterations completed so far (1 after the first update).
    x : Tensor
        The current estimate, ``(1, C, H, W)``; the method must not modify it in place later.
    diagnostics : mapping of str to float
        Method-internal numbers only: ``loss`` (the objective it minimises) and extras such as an
        ADMM gap. Never a ground-truth metric: methods do not see the clean image.
    images : mapping of str to Tensor
        Other estimates worth showing beside ``x`` (e.g. DIP's raw network output next to its
        averaged one); the runner measures their PSNR too, as ``psnr_<name>``.
    maps : mapping of str to Tensor
        Per-pixel quantities that are not images of the scene (DIP's standard deviation across
        seeds): shown and saved on their own scale (×4), never scored against the clean image.
    notes : tuple of str
        Sentences for the user about choices the method made on its own ("net light: a step of the
        paper's net takes 2.1 s, too slow for 60 s", "stopped at step 840 because …"); the runner
        collects them into the result's message.
    chosen : mapping of str to value
        Parameter values the method settled while running (e.g. ``net`` and ``iterations`` picked
        from the time budget); the runner records them in the result's ``params`` so the report
        says what was actually used.
    budget_ended : bool
        Set on the last step when the time budget ended the run before the method's own stopping
        rule or its iteration count did (it planned fewer steps to fit, or stopped short): the
        result's status is then ``budget``, not ``done``.
    """

    it: int
    x: torch.Tensor
    diagnostics: Mapping[str, float] = field(default_factory=dict)
    images: Mapping[str, torch.Tensor] = field(default_factory=dict)
    maps: Mapping[str, torch.Tensor] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    chosen: Mapping[str, Value] = field(default_factory=dict)
    budget_ended: bool = False


ITERATIONS_MAX = 100_000


def iterations_param(default: int) -> Param:
    """The ``iterations`` parameter every iterative method accepts."""
    return Param("iterations", default, "number of iterations", min=1, max=ITERATIONS_MAX, log=True)


class Method(ABC):
    """A restoration method. Subclasses give the paper's update in their docstring.

    Class attributes
    ----------------
    name : registry key used by the CLI (``tv``)
    label : display name (``Total variation (smoothed)``)
    reference : the paper or course it follows
    params : parameter schema, shared by CLI, UI and API checks
    """

    name: ClassVar[str]
    label: ClassVar[str]
    reference: ClassVar[str]
    params: ClassVar[tuple[Param, ...]] = ()
    order: ClassVar[int] = 100
    """Listing position (baselines first, then classical, then learned)."""
    family: ClassVar[str] = "classical"
    """Where the page lists it: "classical", "deep priors", "learned" or "generative"."""
    rule: ClassVar[str] = ""
    """The update rule (or estimator) in LaTeX, which the page renders as a formula."""
    iterative: ClassVar[bool] = True
    """False for a method that is one computation, not an iteration (a naive inverse, a supervised
    network's forward pass): it has no ``iterations`` parameter."""
    heavy: ClassVar[bool] = False
    """True for methods dominated by large kernels (convolutional nets): the runner lets them use
    several torch threads; light element-wise methods run faster on one (see ``runner.METHOD_THREADS``)."""

    slow: ClassVar[bool] = False
    """True when a run with the defaults fits a network to the problem (seconds to minutes on a CPU):
    the registry-wide quality tests mark its cases ``slow``, run by ``pytest -m slow``."""
    baseline: ClassVar[bool] = False
    """True for the unregularised references (the naive inverse, plain least squares): the rule that
    defaults beat the naive inverse measures the other methods against them and expects nothing of them."""
    limits: ClassVar[Mapping[str, str]] = MappingProxyType({})
    """Degradation name → why this method's defaults do not beat the naive inverse on it: a limit of
    the method's model (it holds with the best λ too), not of its settings. :meth:`caveat` shows it
    beside the result; ``tests/test_fair_defaults.py`` expects exactly these pairings to fail (a
    strict xfail), so the day a limit is lifted the test says to delete it here. Reasons shared by
    several methods live with the degradation they describe (``arena.degradations.quantize``)."""

    schedule: ClassVar[tuple[str, ...]] = ()
    """Diagnostics the method follows as a schedule rather than reaches (PnP's σ_k and μ_k): the
    convergence figure draws them on their own panel."""

    weights: ClassVar[tuple[str, ...]] = ()
    """The files in ``weights/`` a run may read (a learned prior, a denoiser it may call): a sweep
    keys each run by their content, so retraining a network recomputes the runs that used it and
    only those. ``tests/test_methods.py`` checks every method reads nothing else."""

    published: ClassVar[tuple[str, ...]] = ()
    """Published weight files (``arena.bridge.published.PUBLISHED`` keys, kept in the torch hub cache,
    never in ``weights/``) a run may load; ``arena weights`` lists them with this method as a user."""
    published_note: ClassVar[str] = ""
    """When only some runs load them: which (``denoiser=drunet-published``), for ``arena weights``."""

    @classmethod
    def published_files(cls, params: Mapping[str, Any], problem: Problem | None = None) -> tuple[str, ...]:
        """The published files a run with ``params`` on ``problem`` loads (all of :attr:`published`
        by default; a method that loads them only for some choices narrows this)."""
        return cls.published

    @classmethod
    def unavailable(cls, params: Mapping[str, Any], problem: Problem | None = None) -> str | None:
        """One sentence if the run needs something this machine lacks (deepinv, a published file that
        is not in the cache), else None. The experiment asks before anything runs, so the CLI exits
        with it (code 2) and the app shows it; no run ever waits on the network."""
        names = cls.published_files(params, problem)
        if not names:
            return None
        from arena.bridge.published import missing

        return missing(names)

    domain: ClassVar[tuple[int, int, int] | None] = None
    """``(C, H, W)`` for methods that only know one image class and size (a generator's output):
    the experiment crops and resizes the image to it, and asks :meth:`domain_warning` about it."""
    domain_note: ClassVar[str] = ""
    """For domain methods: what the class is and where in-domain examples are, in words."""

    @classmethod
    def domain_warning(cls, clean: torch.Tensor, params: Mapping[str, Value]) -> str | None:
        """For domain methods: one sentence if ``clean`` looks outside the class the method knows."""
        return None

    @classmethod
    def weight_files(cls, params: Mapping[str, Any]) -> list[Path]:
        """The weight files a run with ``params`` may read: the files ``server_path`` parameters
        name (a user's checkpoint in place of the shipped one) and the published files it loads from
        the torch hub cache, else the shipped :attr:`weights`."""
        given = [Path(str(v)).expanduser() for p in cls.params if p.server_path and (v := params.get(p.name))]
        published = cls.published_files(params)
        if published:
            from arena.bridge.published import path

            given += [path(name) for name in published]
        return given or [WEIGHTS / name for name in cls.weights]

    def supports(self, problem: Problem) -> str | None:
        """``None`` if this method can solve ``problem``, else one sentence saying why not."""
        return None

    def caveat(self, problem: Problem) -> str | None:
        """What to keep in mind about a finished result on ``problem``: the run's :meth:`warning`, then
        the declared limit on its degradation (:attr:`limits`); ``None`` when there is neither.
        The runner shows it as the result's message; plugins declare, they do not override this."""
        name = problem.degradation.name
        limit = self.limits.get(name)
        known = f"known limit on {name} (the defaults do not beat the naive inverse): {limit}" if limit else None
        return " ".join(filter(None, [self.warning(problem), known])) or None

    def warning(self, problem: Problem) -> str | None:
        """One sentence when this run is outside what the method was built for (e.g. a network trained
        without noise given a noisy y); ``None`` otherwise. Part of :meth:`caveat`."""
        return None

    @abstractmethod
    def run(self, problem: Problem, **params: Value) -> Iterator[Step]:
        """Yield iterates. Closing the generator must free what the method holds."""

    def defaults(self, problem: Problem) -> dict[str, Value]:
        """Problem-aware values for the ``adaptive`` parameters (noise level, operator family,
        ‖A‖², size). Subclasses document each rule and where it comes from in their docstring."""
        return {}

    @classmethod
    def resolve(cls, values: Mapping[str, Any], problem: Problem | None = None) -> dict[str, Value]:
        """Defaults overlaid with ``values``, each checked against the schema.

        With ``problem``, adaptive parameters that were not given take the method's rule for it
        (brought inside the parameter's bounds): the values a run on ``problem`` actually uses. A
        rule may be a function of the values resolved so far (declaration order), for a default
        that depends on another parameter's choice.
        """
        given = check_given(cls.params, values, cls.name)
        out = {p.name: given.get(p.name, p.default) for p in cls.params}
        if problem is not None:
            rules = cls().defaults(problem)
            for p in cls.params:
                if p.adaptive and p.name not in given and p.name in rules:
                    rule = rules[p.name]
                    rule = rule(out) if callable(rule) else rule
                    number = isinstance(rule, (int, float)) and not isinstance(rule, bool)
                    out[p.name] = clip(p, rule) if number else rule
        return out

    @classmethod
    def tunable(cls) -> Param | None:
        """The parameter the tuner chooses (the first declared ``tunable``), if any."""
        return next((p for p in cls.params if p.tunable), None)

    @classmethod
    def summary(cls) -> str:
        """First paragraph of the docstring: the update equation in words."""
        doc = (cls.__doc__ or "").strip()
        return doc.split("\n\n")[0].replace("\n", " ")


METHODS: Registry[Method] = Registry("method")


def load_methods(package: str = "arena.methods") -> Registry[Method]:
    """Import every module of the plugin package (each registers itself) and return the registry."""
    pkg = importlib.import_module(package)
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package}.{info.name}")
    METHODS.sort(key=lambda cls: (cls.order, cls.name))
    return METHODS
