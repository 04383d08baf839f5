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
from typing import Any, ClassVar

import torch

from arena.params import Param, Value, resolve
from arena.problem import Problem
from arena.registry import Registry


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
    """

    it: int
    x: torch.Tensor
    diagnostics: Mapping[str, float] = field(default_factory=dict)
    images: Mapping[str, torch.Tensor] = field(default_factory=dict)


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
    heavy: ClassVar[bool] = False
    """True for methods dominated by large kernels (convolutional nets): the runner lets them use
    several torch threads; light element-wise methods run faster on one (see ``runner.METHOD_THREADS``)."""

    domain: ClassVar[tuple[int, int, int] | None] = None
    """``(C, H, W)`` for methods that only know one image class and size (a generator's output):
    the experiment crops and resizes the image to it, and asks :meth:`domain_warning` about it."""
    domain_note: ClassVar[str] = ""
    """For domain methods: what the class is and where in-domain examples are, in words."""

    @classmethod
    def domain_warning(cls, clean: torch.Tensor, params: Mapping[str, Value]) -> str | None:
        """For domain methods: one sentence if ``clean`` looks outside the class the method knows."""
        return None

    def supports(self, problem: Problem) -> str | None:
        """``None`` if this method can solve ``problem``, else one sentence saying why not."""
        return None

    def caveat(self, problem: Problem) -> str | None:
        """One sentence shown beside a finished result when the method runs outside what it was
        built for (e.g. a network trained on another degradation); ``None`` otherwise."""
        return None

    @abstractmethod
    def run(self, problem: Problem, **params: Value) -> Iterator[Step]:
        """Yield iterates. Closing the generator must free what the method holds."""

    @classmethod
    def resolve(cls, values: Mapping[str, Any]) -> dict[str, Value]:
        """Defaults overlaid with ``values``, each checked against the schema."""
        return resolve(cls.params, values, cls.name)

    @classmethod
    def summary(cls) -> str:
        """First paragraph of the docstring: the update equation in words."""
        doc = (cls.__doc__ or "").strip()
        return doc.split("\n\n")[0].replace("\n", " ")


METHODS: Registry[Method] = Registry("method")


def load_methods(package: str = "methods") -> Registry[Method]:
    """Import every module of the plugin package (each registers itself) and return the registry."""
    pkg = importlib.import_module(package)
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package}.{info.name}")
    METHODS.sort(key=lambda cls: (cls.order, cls.name))
    return METHODS
