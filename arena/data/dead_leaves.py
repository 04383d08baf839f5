"""The dead-leaves model: occluding discs with power-law radii, a classic synthetic training image.

Images of the model share the scale invariance and edge statistics of natural images (Lee, Mumford &
Huang, IJCV 2001), and restoration networks trained on them generalise to photographs
(Achddou, Gousseau & Ladjal, "Synthetic images as a regularity prior for image restoration neural
networks", SSVM 2021). Discs fall one after another; later ones hide earlier ones; radii follow
p(r) ∝ r^−3 on [r_min, r_max]; each disc takes a random grey level (or colour).
"""

from __future__ import annotations

import numpy as np


def dead_leaves(size: int, rng: np.random.Generator, *, r_min: float = 1.0, r_max: float | None = None,
                colour: bool = False, leaves: int | None = None) -> np.ndarray:
    """One ``(size, size)`` (or ``(size, size, 3)`` with ``colour``) float image on [0, 1]."""
    r_max = r_max if r_max is not None else size / 3
    leaves = leaves if leaves is not None else 4 * size * size // max(int(r_min * r_min), 1) // 8
    # Inverse-CDF sampling of p(r) ∝ r^-3 between r_min and r_max.
    u = rng.random(leaves)
    a, b = r_min ** -2, r_max ** -2
    radii = (a - u * (a - b)) ** -0.5
    centres = rng.uniform(-r_max / 2, size + r_max / 2, (leaves, 2))
    values = rng.random((leaves, 3 if colour else 1))
    out = np.full((size, size, values.shape[1]), np.nan)
    yy, xx = np.mgrid[0:size, 0:size]
    # Paint front to back: the first disc drawn is on top; stop once every pixel is covered.
    for (cy, cx), r, v in zip(centres, radii, values, strict=True):
        y0, y1 = max(int(cy - r), 0), min(int(cy + r) + 2, size)
        x0, x1 = max(int(cx - r), 0), min(int(cx + r) + 2, size)
        if y0 >= y1 or x0 >= x1:
            continue
        patch = out[y0:y1, x0:x1]
        hit = ((yy[y0:y1, x0:x1] - cy) ** 2 + (xx[y0:y1, x0:x1] - cx) ** 2 <= r * r) & np.isnan(patch[..., 0])
        patch[hit] = v
        if not np.isnan(out[..., 0]).any():
            break
    out[np.isnan(out)] = 0.5
    return out if colour else out[..., 0]
