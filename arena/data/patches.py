"""Random training patches from a list of images (the training scripts' data sampler)."""

from __future__ import annotations

import numpy as np
import torch


def random_patches(images: list[np.ndarray], n: int, size: int, rng: np.random.Generator) -> torch.Tensor:
    """``n`` random ``size``² patches with random flips and quarter turns, ``(n, C, size, size)``;
    images are ``(H, W)`` (C = 1) or ``(H, W, C)``."""
    out = []
    for _ in range(n):
        im = images[rng.integers(len(images))]
        y, x = rng.integers(im.shape[0] - size + 1), rng.integers(im.shape[1] - size + 1)
        p = np.rot90(im[y : y + size, x : x + size], rng.integers(4))
        out.append(p[:, ::-1] if rng.random() < 0.5 else p)
    batch = torch.from_numpy(np.ascontiguousarray(np.stack(out)))
    return batch[:, None] if batch.dim() == 3 else batch.permute(0, 3, 1, 2).contiguous()
