"""Photographs from Debian's desktop-background packages: training data for the learned priors.

Nothing is downloaded at run time: the training scripts read the photographs from a directory
that holds the packages' files — the system's ``/usr`` when they are installed, or a folder where
they were unpacked without root::

    apt-get download mate-backgrounds plasma-workspace-wallpapers
    for f in *.deb; do dpkg-deb -x "$f" wallpapers; done     # then --photos wallpapers

Only photographs are listed (the packages also ship drawings and renders, which we skip); the
sources and licences are those of each package's ``/usr/share/doc/<package>/copyright``. Two
photographs are kept for validation and never cut into training patches. Tests never need this data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from arena.errors import SpecError


@dataclass(frozen=True)
class Photo:
    """One photograph: where its package installs it, who took it, under what licence."""

    package: str
    path: str
    author: str
    licence: str = "GPL-2+"


_MATE = "usr/share/backgrounds/mate/nature/"
_PLASMA = "usr/share/wallpapers/{}/contents/images/2560x1440.jpg"
PHOTOS: tuple[Photo, ...] = (
    Photo("mate-backgrounds", _MATE + "Aqua.jpg", "Charles Barbin"),
    Photo("mate-backgrounds", _MATE + "Blinds.jpg", "Lennart Poettering"),
    Photo("mate-backgrounds", _MATE + "Dune.jpg", "Marco Cogoni"),
    Photo("mate-backgrounds", _MATE + "FreshFlower.jpg", "Jens Ansorg"),
    Photo("mate-backgrounds", _MATE + "Garden.jpg", "Charles Barbin"),
    Photo("mate-backgrounds", _MATE + "GreenMeadow.jpg", "Timothy Schellhase"),
    Photo("mate-backgrounds", _MATE + "LadyBird.jpg", "Charles Barbin"),
    Photo("mate-backgrounds", _MATE + "RainDrops.jpg", "\"blackcombwhistler07\""),
    Photo("mate-backgrounds", _MATE + "Storm.jpg", "Sergey Nazarov"),
    Photo("mate-backgrounds", _MATE + "TwoWings.jpg", "Charles Barbin"),
    Photo("mate-backgrounds", _MATE + "Wood.jpg", "Jean-François Fortin Tam"),
    Photo("mate-backgrounds", _MATE + "YellowFlower.jpg", "Charles Barbin"),
    *(Photo("plasma-workspace-wallpapers", _PLASMA.format(name), "KDE Visual Design Group contributors")
      for name in ("BytheWater", "ColdRipple", "EveningGlow", "FallenLeaf", "Grey", "Kite",
                   "OneStandsOut", "Path", "Volna", "summer_1am")),
)
VALIDATION = ("YellowFlower.jpg", "Path/")
"""Photographs kept out of training (matched against the path)."""


def _is_validation(photo: Photo) -> bool:
    return any(v in photo.path for v in VALIDATION)


def wallpaper_photos(root: Path | str, *, scale: float = 0.25, split: str = "train") -> list[np.ndarray]:
    """The listed photographs under ``root`` as RGB float arrays in [0, 1], ``(H, W, 3)``.

    ``scale`` shrinks them (anti-aliased): a 2560-pixel wallpaper at ¼ has the detail per pixel
    of the arena's photos, and the shrinking averages away JPEG blocks and sensor noise that a
    denoiser would otherwise learn to keep. ``split``: ``train``, ``validation`` or ``all``.
    Raises :class:`SpecError` when none is found, saying how to get them.
    """
    import skimage.transform
    from PIL import Image

    if split not in ("train", "validation", "all"):
        raise ValueError(f"split must be train, validation or all, not {split!r}")
    chosen = [p for p in PHOTOS if split == "all" or _is_validation(p) == (split == "validation")]
    out = []
    for photo in chosen:
        path = Path(root) / photo.path
        if not path.is_file():
            continue
        with Image.open(path) as im:
            arr = np.asarray(im.convert("RGB"), dtype=np.float64) / 255.0
        out.append(skimage.transform.rescale(arr, scale, channel_axis=2, anti_aliasing=True))
    if not out:
        packages = " ".join(sorted({p.package for p in PHOTOS}))
        raise SpecError(f"none of the wallpaper photographs is under {root}; unpack them with "
                        f"`apt-get download {packages} && for f in *.deb; do dpkg-deb -x \"$f\" DIR; done` "
                        "and pass DIR (or install the packages and pass /)")
    return out
