"""Regenerate the bundled images in ``assets/images/`` from scikit-image's data and from code.

Run ``python assets/make_assets.py``; the output is deterministic. Sources and licences are in
``assets/README.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from skimage import data, transform

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from arena.data.faces import held_out  # noqa: E402

OUT = Path(__file__).parent / "images"
SIDE = 256


def square(img: np.ndarray, top: float = 0.5, left: float = 0.5) -> np.ndarray:
    """Crop the largest square (positioned by the fractions ``top``/``left``) and resize to SIDE."""
    h, w = img.shape[:2]
    s = min(h, w)
    y0, x0 = int((h - s) * top), int((w - s) * left)
    crop = img[y0 : y0 + s, x0 : x0 + s]
    out = transform.resize(crop, (SIDE, SIDE), anti_aliasing=True, preserve_range=True)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def shapes() -> np.ndarray:
    """A piecewise-constant colour test card: TV's ideal image, with edges in every direction."""
    img = Image.new("RGB", (SIDE, SIDE), (236, 232, 220))
    d = ImageDraw.Draw(img)
    d.rectangle((20, 24, 116, 120), fill=(200, 60, 50))
    d.ellipse((140, 20, 236, 116), fill=(40, 90, 170))
    d.polygon([(128, 140), (236, 236), (20, 236)], fill=(60, 150, 80))
    d.rectangle((150, 150, 200, 200), fill=(250, 200, 40))
    for i in range(8):
        d.line((10 + 12 * i, 130, 10 + 12 * i, 170), fill=(30, 30, 30), width=2 + i // 3)
    return np.asarray(img)


def noisy_photo() -> None:
    """``observed/noisy_rocket.png``: a photo that comes already noisy (σ = 25/255, seed 0, clipped and
    stored in 8 bits like a real one) for the own-photo lesson; its clean original is not bundled."""
    folder = OUT.parent / "observed"
    folder.mkdir(parents=True, exist_ok=True)
    clean = square(data.rocket(), left=0.45).astype(np.float64)
    noisy = clean + 25.0 * np.random.default_rng(0).standard_normal(clean.shape)
    Image.fromarray(np.clip(np.round(noisy), 0, 255).astype(np.uint8)).save(folder / "noisy_rocket.png", optimize=True)
    print("observed/noisy_rocket.png", clean.shape)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    noisy_photo()
    images = {
        "camera": square(data.camera()),
        "astronaut": square(data.astronaut()),
        "chelsea": square(data.chelsea(), left=0.3),
        "coffee": square(data.coffee(), left=0.3),
        "phantom": square(data.shepp_logan_phantom() * 255.0),
        "shapes": shapes(),
    }
    # In-domain examples for the GAN prior: held-out faces, never in the GAN's training set.
    images |= {f"face{i + 1}": f for i, f in enumerate(held_out(4))}
    for name, arr in images.items():
        Image.fromarray(arr).save(OUT / f"{name}.png", optimize=True)
        print(f"{name}.png {arr.shape}")


if __name__ == "__main__":
    main()
