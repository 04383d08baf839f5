"""The bundled images and the lecture presets, as package data (see arena/resources.py)."""
