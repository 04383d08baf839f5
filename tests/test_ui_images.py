"""The app's display files: one file per picture, never seen half-written by a concurrent reader."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("gradio")

from ui.images import png_file  # noqa: E402


def test_same_picture_same_file_and_exact_pixels():
    a = np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8)
    b = a.copy()
    b[0, 0, 0] ^= 1
    assert png_file(a) == png_file(a.copy())
    assert png_file(a) != png_file(b)
    np.testing.assert_array_equal(np.asarray(Image.open(png_file(a))), a)


def test_a_reader_never_sees_a_partial_file_while_it_is_written():
    """What broke CI: every client's clean image written to one path while another client read it.
    The file is removed and written again each round, so each round races a fresh first write."""
    a = np.random.default_rng(1).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    path = Path(png_file(a))
    size = path.stat().st_size
    seen: list[int] = []
    for _ in range(40):
        path.unlink()
        writers = [threading.Thread(target=png_file, args=(a,)) for _ in range(2)]
        for t in writers:
            t.start()
        while any(t.is_alive() for t in writers) or not seen or not path.exists():
            try:
                seen.append(len(path.read_bytes()))
            except FileNotFoundError:
                continue
        for t in writers:
            t.join()
    assert seen and set(seen) == {size}, f"partial reads: {sorted(set(seen) - {size})[:5]}"
