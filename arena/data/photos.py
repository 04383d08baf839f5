"""Natural photographs that ship inside installed packages (nothing is downloaded).

The two views of scikit-image's ``stereo_motorcycle`` and matplotlib's ``grace_hopper.jpg``
(halved, to shrink its JPEG blocks): photographs like the arena's held-out images, used as
training patches for the learned networks and for tuning the baselines' λ in benchmarks.
"""

from __future__ import annotations

import numpy as np


def natural_photos() -> list[np.ndarray]:
    """RGB float images in [0, 1], ``(H, W, 3)``: motorcycle left, motorcycle right, Grace Hopper."""
    import matplotlib.cbook
    import skimage.data
    import skimage.transform

    from arena.images import load_image

    left, right, _ = skimage.data.stereo_motorcycle()
    hopper = load_image(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).x[0]
    hopper = skimage.transform.rescale(hopper.permute(1, 2, 0).numpy(), 0.5, channel_axis=2, anti_aliasing=True)
    return [left / 255.0, right / 255.0, hopper]
