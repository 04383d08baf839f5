"""Components by name: filled while app.py lays out the page, read by the handlers.

An event's inputs are a *set* of components, which Gradio hands to the function as one dict keyed
by component; :meth:`Components.named` turns it into a dict keyed by name. Nothing depends on the
order in which widgets were created, so adding a control is one line in app.py (its ``add``) and
the lines of the handler that reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import gradio as gr

from arena.settings import ON_PAGE

STRUCTURED = ("image", "mask", "degradation", "degr.", "methods", "method.", "estimate")
"""The settings the registries' schemas describe: the image (or the painted mask), the degradation
and the methods with one widget per parameter (prefixes ending in a dot: ``degr.<degradation>.<param>``,
``method.<method>.<param>``), and whether an observed photo's noise level is estimated."""

SETTINGS = (*STRUCTURED, *(s.name for s in ON_PAGE), "preset")
"""What a comparison is made of: the structured settings, the scalar ones of :mod:`arena.settings`,
and the preset whose lesson the run is checked against."""


class Components:
    """A name → component registry (and back)."""

    def __init__(self) -> None:
        self._by_name: dict[str, Any] = {}
        self._name_of: dict[int, str] = {}

    def add(self, name: str, component: Any) -> Any:
        """Register ``component`` under ``name`` (unique) and return it."""
        if name in self._by_name:
            raise ValueError(f"two components named {name!r}")
        self._by_name[name] = component
        self._name_of[id(component)] = name
        return component

    def __getitem__(self, name: str) -> Any:
        return self._by_name[name]

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def group(self, names: Iterable[str]) -> list[Any]:
        """The components with these names, a name ending in "." standing for every name it begins."""
        out = []
        for n in names:
            out += [c for k, c in self._by_name.items() if k.startswith(n)] if n.endswith(".") else [self._by_name[n]]
        return out

    def named(self, given: Mapping[Any, Any]) -> dict[str, Any]:
        """Gradio's component-keyed input dict as a name-keyed one (string keys pass through)."""
        return {k if isinstance(k, str) else self._name_of[id(k)]: v for k, v in given.items()}

    def keyed(self, values: Mapping[str, Any]) -> Any:
        """A name-keyed update as the component-keyed dict an event returns (Gradio's skip for an
        empty one: it reads an empty dict as too few outputs and marks every output "Error")."""
        return {self._by_name[k]: v for k, v in values.items()} if values else gr.skip()

    def bind(self, fn: Callable[..., Mapping[str, Any]], *, select: bool = False) -> Callable[..., dict[Any, Any]]:
        """An event function over components from ``fn(values, request) -> update``, both by name;
        with ``select``, ``fn(values, request, evt)`` also gets the selection (a gallery click)."""
        if select:
            def on_select(given: dict[Any, Any], request: gr.Request, evt: gr.SelectData) -> dict[Any, Any]:
                return self.keyed(fn(self.named(given), request, evt))

            return on_select

        def event(given: dict[Any, Any], request: gr.Request) -> dict[Any, Any]:
            return self.keyed(fn(self.named(given), request))

        return event
