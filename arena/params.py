"""One parameter schema drives UI widgets, CLI parsing and API checks.

A spec string is ``name[:key=value,key=value]``, e.g. ``blur:kernel=gaussian,sigma=1.6,noise=2``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from arena.errors import SpecError

Value = float | int | str | bool


def _parse_bool(value: Any) -> bool:
    """A bool from a bool, 0/1, or a string such as "yes"/"off"; ValueError otherwise."""
    if isinstance(value, str):
        low = value.strip().lower()
        if low not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
            raise ValueError
        return low in {"1", "true", "yes", "on"}
    if isinstance(value, (bool, int)) and value in (0, 1):
        return bool(value)
    raise ValueError


def _parse_int(value: Any) -> int:
    """An int from a number or string with no fractional part; ValueError for bools and non-finite values."""
    if isinstance(value, bool):
        raise ValueError
    f = float(value)
    if not math.isfinite(f) or f != int(f):
        raise ValueError
    return int(f)


def _parse_float(value: Any) -> float:
    """A finite float from a number or string; ValueError for bools."""
    if isinstance(value, bool):
        raise ValueError
    out = float(value)
    if not math.isfinite(out):
        raise ValueError
    return out


_PARSERS: dict[type, Callable[[Any], Value]] = {bool: _parse_bool, int: _parse_int, float: _parse_float}
"""How :meth:`Param.coerce` reads a value of each default type (anything else: ``str``)."""


@dataclass(frozen=True)
class Param:
    """A typed, bounded parameter. Its type is the type of ``default``.

    Parameters
    ----------
    name, default, help
        Key, default value, one-line explanation in plain words.
    min, max
        Inclusive numeric bounds (``None``: unbounded).
    log
        A slider for it should be logarithmic.
    choices
        Allowed values for a string (or int) parameter.
    adaptive
        ``default`` is only a fallback: the method computes the value from the problem it receives
        (``Method.defaults``). ``None`` or ``"auto"`` given for it means "use that rule".
    tunable
        The tuner (:mod:`arena.tuning`) may choose it over ``[min, max]`` (log scale when ``log``).
    applies
        ``(other, values)``: the parameter means something only while parameter ``other`` has one of
        ``values`` (a random mask's ratio); descriptions and widgets leave it out otherwise.
    server_path
        A path on the machine that runs the method (a checkpoint, a mask file): the CLI and config
        files may give it; a web client never may (:func:`refuse_server_paths`) — the app sets the
        painted mask's path itself and shows no widget for such a parameter.
    """

    name: str
    default: Value
    help: str
    min: float | None = None
    max: float | None = None
    log: bool = False
    choices: tuple[Value, ...] | None = None
    adaptive: bool = False
    tunable: bool = False
    server_path: bool = False
    applies: tuple[str, tuple[Value, ...]] | None = None

    def used(self, values: Mapping[str, Any]) -> bool:
        """Whether this parameter means something given the others' ``values`` (see ``applies``)."""
        return self.applies is None or values.get(self.applies[0]) in self.applies[1]

    @property
    def kind(self) -> type:
        return type(self.default)

    def coerce(self, value: Any, owner: str = "") -> Value:
        """Parse ``value`` (a string from the CLI, or a Python value from the API) and check it.

        Raises
        ------
        SpecError
            With a message that names the parameter, the bad value and what is allowed.
        """
        where = f"{owner}: " if owner else ""
        kind = self.kind
        try:
            out: Value = _PARSERS.get(kind, str)(value)
        except (TypeError, ValueError):
            raise SpecError(
                f"{where}{self.name}={value!r} is not a valid {kind.__name__}"
            ) from None
        if self.choices is not None and out not in self.choices:
            raise SpecError(
                f"{where}{self.name}={out!r} is not allowed; choose one of "
                f"{', '.join(map(str, self.choices))}"
            )
        if isinstance(out, (int, float)) and not isinstance(out, bool):
            if (self.min is not None and out < self.min) or (self.max is not None and out > self.max):
                raise SpecError(
                    f"{where}{self.name}={out} is out of range [{self.min}, {self.max}]"
                )
        return out

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description (for ``arena list --json`` and UI builders)."""
        return {
            "name": self.name,
            "type": self.kind.__name__,
            "default": self.default,
            "help": self.help,
            "min": self.min,
            "max": self.max,
            "log": self.log,
            "choices": list(self.choices) if self.choices is not None else None,
            "adaptive": self.adaptive,
            "tunable": self.tunable,
        }

    def is_auto(self, value: Any) -> bool:
        """True when ``value`` asks an adaptive parameter for its problem-aware rule."""
        return self.adaptive and (value is None or (isinstance(value, str) and value.strip().lower() == "auto"))


def check_given(params: Sequence[Param], given: Mapping[str, Any], owner: str) -> dict[str, Value]:
    """Only the values actually given, each checked; ``auto`` for an adaptive parameter is dropped
    (its rule applies). Unknown keys raise listing the valid ones."""
    by_name = {p.name: p for p in params}
    unknown = [k for k in given if k not in by_name]
    if unknown:
        valid = ", ".join(by_name) or "(none)"
        raise SpecError(f"{owner}: unknown parameter {unknown[0]!r}; valid keys: {valid}")
    return {k: by_name[k].coerce(v, owner) for k, v in given.items() if not by_name[k].is_auto(v)}


def resolve(params: Sequence[Param], given: Mapping[str, Any], owner: str) -> dict[str, Value]:
    """Defaults overlaid with ``given``, every value checked; unknown keys raise listing valid ones."""
    checked = check_given(params, given, owner)
    return {p.name: checked.get(p.name, p.default) for p in params}


def clip(p: Param, value: float) -> Value:
    """A rule's number brought inside ``p``'s bounds (and to ``p``'s type)."""
    lo = -math.inf if p.min is None else p.min
    hi = math.inf if p.max is None else p.max
    v = min(max(float(value), lo), hi)
    return int(round(v)) if p.kind is int else v


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """Split ``name:key=value,key=value`` into the name and a dict of raw string values."""
    name, _, rest = spec.strip().partition(":")
    name = name.strip()
    if not name:
        raise SpecError(f"empty name in spec {spec!r}; expected name[:key=value,...]")
    values: dict[str, str] = {}
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise SpecError(f"{name}: {item!r} is not key=value (spec {spec!r})")
        values[key.strip()] = value.strip()
    return name, values


def format_spec(name: str, values: Mapping[str, Value]) -> str:
    """Inverse of :func:`parse_spec`."""
    body = ",".join(f"{k}={v}" for k, v in values.items())
    return f"{name}:{body}" if body else name


def refuse_server_paths(schema: Sequence[Param], values: Mapping[str, Any], owner: str) -> None:
    """Raise :class:`SpecError` when ``values`` gives a ``server_path`` parameter (what a web client
    sends must never make the server open a file of its choosing)."""
    for p in schema:
        if p.server_path and values.get(p.name) not in (None, ""):
            raise SpecError(f"{owner}: {p.name} names a file on the server, which web clients cannot set; "
                            "use the shipped one, or the command line with your own file")
