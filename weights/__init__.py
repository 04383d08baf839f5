"""The trained checkpoints and their model cards, as package data (see arena/resources.py)."""
