"""Exceptions whose message is meant for the user, not for a developer."""


class ArenaError(ValueError):
    """Base class: the message says what is wrong and how to fix it."""


class ImageLoadError(ArenaError):
    """An input image could not be read, or is unsuitable (broken, too big, too small)."""


class SpecError(ArenaError):
    """A degradation or method specification is unknown or has invalid parameters."""


class UnsupportedError(ArenaError):
    """A method cannot solve the given problem (e.g. it needs a linear operator)."""
