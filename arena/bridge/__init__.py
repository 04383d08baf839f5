"""Bridges to other libraries, each imported lazily inside the module that needs it.

- :mod:`arena.bridge.physics`: our linear degradations as DeepInverse ``LinearPhysics``;
- :mod:`arena.bridge.published`: the field's published weight files (DeepInverse's checkpoints in the
  torch hub cache): what exists, what is cached, fetching, hashes, loading without the network.

The optional dependency is ``pip install "restoration-arena[deepinv]"``; without it the core runs and
a method that needs it refuses in one sentence.
"""
