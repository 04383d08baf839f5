"""Name → class registries that fail loudly on duplicates (torchvision's habit)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from arena.errors import SpecError

T = TypeVar("T")


class Registry(Generic[T]):
    """An ordered mapping from a class's ``name`` attribute to the class.

    Parameters
    ----------
    kind : str
        What is registered ("degradation", "method"); used in error messages.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, type[T]] = {}

    def register(self, cls: type[T]) -> type[T]:
        """Class decorator: add ``cls`` under ``cls.name``; a second class with that name raises."""
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name:
            raise TypeError(f"{cls.__qualname__} needs a non-empty class attribute 'name'")
        if name in self._items and self._items[name] is not cls:
            raise KeyError(
                f"{self.kind} name {name!r} is already registered by "
                f"{self._items[name].__module__}.{self._items[name].__qualname__}"
            )
        self._items[name] = cls
        return cls

    def get(self, name: str) -> type[T]:
        """The class registered as ``name``; an unknown name raises :class:`SpecError` listing valid ones."""
        try:
            return self._items[name]
        except KeyError:
            raise SpecError(
                f"unknown {self.kind} {name!r}; valid names: {', '.join(self._items)}"
            ) from None

    def sort(self, key: Callable[[type[T]], object]) -> None:
        """Reorder (listing order in the CLI and the app); names stay unique."""
        self._items = dict(sorted(self._items.items(), key=lambda kv: key(kv[1])))

    def names(self) -> list[str]:
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[type[T]]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

