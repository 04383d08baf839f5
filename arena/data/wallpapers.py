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

import warnings
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
    shrink: float = 1.0
    """Extra shrinking on top of ``scale`` (a 5120-pixel file: ½, so that it matches the others)."""


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
                   "OneStandsOut", "Path", "summer_1am")),
    Photo("plasma-workspace-wallpapers", "usr/share/wallpapers/Volna/contents/images/5120x2880.jpg",
          "KDE Visual Design Group contributors", shrink=0.5),
)
VALIDATION = ("YellowFlower.jpg", "Path/")
"""Photographs kept out of training (matched against the path)."""


def _is_validation(photo: Photo) -> bool:
    return any(v in photo.path for v in VALIDATION)


def wallpaper_photos(root: Path | str, *, scale: float = 0.25, split: str = "train") -> list[np.ndarray]:
    """The listed photographs under ``root`` as RGB float arrays in [0, 1], ``(H, W, 3)``.

    ``root`` is where the packages are unpacked, or a ``.npz`` written by :func:`pack` (the
    shrunk photographs in one file, to carry to a machine without the packages).

    ``scale`` shrinks them (anti-aliased): a 2560-pixel wallpaper at ¼ has the detail per pixel
    of the arena's photos, and the shrinking averages away JPEG blocks and sensor noise that a
    denoiser would otherwise learn to keep. ``split``: ``train``, ``validation`` or ``all``.
    Raises :class:`SpecError` when none is found, saying how to get them.
    """
    if split not in ("train", "validation", "all"):
        raise ValueError(f"split must be train, validation or all, not {split!r}")
    chosen = [p for p in PHOTOS if split == "all" or _is_validation(p) == (split == "validation")]
    out, missing = [], []
    packed = np.load(root) if str(root).endswith(".npz") and Path(root).is_file() else None
    for photo in chosen:
        if packed is not None:
            if photo.path in packed.files:
                out.append(packed[photo.path].astype(np.float64) / 255.0)
            continue
        path = Path(root) / photo.path
        if not path.is_file():
            missing.append(photo.path)
            continue
        out.append(_read(path, scale * photo.shrink))
    if out and missing:
        warnings.warn(f"{len(missing)} wallpaper photograph(s) not found under {root}: {', '.join(missing)}",
                      stacklevel=2)
    if not out:
        packages = " ".join(sorted({p.package for p in PHOTOS}))
        raise SpecError(f"none of the wallpaper photographs is under {root}; unpack them with "
                        f"`apt-get download {packages} && for f in *.deb; do dpkg-deb -x \"$f\" DIR; done` "
                        "and pass DIR (or install the packages and pass /)")
    return out


def _read(path: Path, scale: float) -> np.ndarray:
    import skimage.transform
    from PIL import Image

    with Image.open(path) as im:
        arr = np.asarray(im.convert("RGB"), dtype=np.float64) / 255.0
    return skimage.transform.rescale(arr, scale, channel_axis=2, anti_aliasing=True)


def pack(root: Path | str, out: Path | str, scale: float = 0.25) -> int:
    """Write every listed photograph under ``root``, shrunk, as 8-bit arrays keyed by path into the
    ``.npz`` file ``out`` (about 10 MB): the training data in one file. Returns how many."""
    arrays = {}
    for photo in PHOTOS:
        if (Path(root) / photo.path).is_file():
            im = _read(Path(root) / photo.path, scale * photo.shrink)
            arrays[photo.path] = np.round(im * 255).astype(np.uint8)
    np.savez_compressed(out, **arrays)
    return len(arrays)


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="Pack the wallpaper photographs, shrunk, into one .npz file.")
    ap.add_argument("root", type=Path, help="where the packages are unpacked (or /)")
    ap.add_argument("out", type=Path, help="the .npz file to write")
    a = ap.parse_args()
    print(f"{pack(a.root, a.out)} photographs written to {a.out}")
