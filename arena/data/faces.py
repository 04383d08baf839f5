"""Cartoon faces drawn by code: the image class our GAN prior is trained on.

Every face is a pure function of its seed, so the training set, the held-out examples and the
benchmark images are all reproducible and never overlap (training draws seeds from
:data:`TRAIN_SEEDS`, evaluation from :data:`HELD_OUT_SEEDS`). Faces vary in skin tone, head
shape, hair colour and style (short, long, bald, fringe), eye colour, size and spacing, eyebrows,
nose, mouth (smile, frown, open), glasses, blush, beard, background colour and gradient, and a
small rotation, scale and shift — enough variety that a generator cannot just memorise a few.
They are drawn at 4× and downsampled with a box filter, so edges are antialiased like a photo.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

SIZE = 64
TRAIN_SEEDS = range(0, 1_000_000)
HELD_OUT_SEEDS = range(10_000_000, 10_001_000)
_SS = 4  # supersampling factor

_SKIN = [(255, 224, 196), (241, 194, 155), (224, 172, 125), (198, 134, 90), (141, 85, 54), (96, 60, 40),
         (255, 205, 170)]
_HAIR = [(20, 18, 18), (70, 45, 25), (120, 75, 40), (200, 160, 80), (235, 210, 140), (170, 60, 30),
         (150, 150, 150), (240, 240, 235), (60, 80, 170), (170, 60, 150)]
_IRIS = [(70, 45, 25), (40, 90, 170), (60, 130, 70), (110, 110, 120), (20, 20, 20)]


def _jitter(rng: np.random.Generator, rgb: tuple[int, int, int], amount: float) -> tuple[int, int, int]:
    c = np.asarray(rgb, float) + rng.normal(0, amount, 3)
    return tuple(int(v) for v in np.clip(c, 0, 255))  # type: ignore[return-value]


def _background(rng: np.random.Generator, n: int) -> Image.Image:
    a = rng.uniform(40, 255, 3)
    b = np.clip(a + rng.normal(0, 50, 3), 0, 255)
    angle = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:n, 0:n] / n
    s = (np.cos(angle) * xx + np.sin(angle) * yy)[..., None]
    s = (s - s.min()) / max(float(np.ptp(s)), 1e-6)
    img = a * (1 - s) + b * s
    return Image.fromarray(img.astype(np.uint8), "RGB")


def draw_face(seed: int, size: int = SIZE) -> np.ndarray:
    """One face as a ``(size, size, 3)`` uint8 array; the same seed always gives the same face."""
    rng = np.random.default_rng(seed)
    n = size * _SS
    img = _background(rng, n)
    canvas = _Canvas(img, n)
    skin = _jitter(rng, _SKIN[rng.integers(len(_SKIN))], 8)
    hair = _jitter(rng, _HAIR[rng.integers(len(_HAIR))], 10)
    shade = tuple(int(v * 0.82) for v in skin)
    cx, cy = 32 + rng.normal(0, 1.5), 34 + rng.normal(0, 1.5)
    rx, ry = rng.uniform(15, 19), rng.uniform(18, 22)
    _head(canvas, rng, (cx, cy, rx, ry), skin, hair, shade)
    dx = _eyes(canvas, rng, cx, cy, hair)
    _nose(canvas, rng, cx, cy, dx, shade)
    _mouth(canvas, rng, cx, cy, ry)
    return np.asarray(_tilted(img, rng, n).resize((size, size), Image.Resampling.BOX))


class _Canvas:
    """Drawing on the supersampled image in the coordinates of a 64-pixel canvas (unit ``u``)."""

    def __init__(self, img: Image.Image, n: int) -> None:
        self.d = ImageDraw.Draw(img)
        self.u = n / 64.0

    def box(self, cx: float, cy: float, rx: float, ry: float) -> tuple[float, float, float, float]:
        u = self.u
        return ((cx - rx) * u, (cy - ry) * u, (cx + rx) * u, (cy + ry) * u)


def _head(canvas: _Canvas, rng: np.random.Generator, head: tuple[float, float, float, float],
          skin: tuple[int, ...], hair: tuple[int, ...], shade: tuple[int, ...]) -> None:
    """Hair (short, long, bald or fringe), ears, shoulders, neck, the head and sometimes a beard."""
    d, u, box = canvas.d, canvas.u, canvas.box
    cx, cy, rx, ry = head
    style = rng.choice(["short", "long", "bald", "fringe"], p=[0.35, 0.3, 0.1, 0.25])
    if style == "long":  # hair behind the head, down to the shoulders
        d.rounded_rectangle(box(cx, cy + 4, rx + 4, ry + 6), radius=12 * u, fill=hair)
    d.ellipse(box(cx - rx, cy + 1, 3, 4.5), fill=skin)  # ears
    d.ellipse(box(cx + rx, cy + 1, 3, 4.5), fill=skin)
    d.ellipse(box(cx, cy + ry + 10, rx + 8, 8), fill=_jitter(rng, (60, 90, 160), 60))  # shoulders
    d.rectangle(box(cx, cy + ry, 5, 5), fill=shade)  # neck
    d.ellipse(box(cx, cy, rx, ry), fill=skin)
    if style in ("short", "long", "fringe"):
        top = cy - ry
        d.chord(box(cx, cy - 2, rx + 1.5, ry + 1), 180, 360, fill=hair)
        d.ellipse(box(cx, top + 4, rx * 0.95, 6), fill=hair)
        if style == "fringe":
            d.chord(box(cx, cy - ry * 0.45, rx * 0.95, 7), 0, 180, fill=hair)
    if rng.random() < 0.2:  # beard
        d.chord(box(cx, cy + ry * 0.35, rx * 0.95, ry * 0.7), 0, 180, fill=hair)


def _eyes(canvas: _Canvas, rng: np.random.Generator, cx: float, cy: float, hair: tuple[int, ...]) -> float:
    """Eyes with irises looking one way, eyebrows, sometimes glasses; returns their half-spacing."""
    d, u, box = canvas.d, canvas.u, canvas.box
    ey = cy - rng.uniform(1, 5)
    dx = rng.uniform(6, 8.5)
    er = rng.uniform(2.6, 4.0)
    iris = _jitter(rng, _IRIS[rng.integers(len(_IRIS))], 10)
    look = rng.normal(0, 0.5, 2)
    brow = rng.uniform(-0.35, 0.35)
    for side in (-1, 1):
        ex = cx + side * dx
        d.ellipse(box(ex, ey, er, er * rng.uniform(0.7, 0.9)), fill=(250, 250, 250))
        d.ellipse(box(ex + look[0], ey + look[1], er * 0.55, er * 0.55), fill=iris)
        d.ellipse(box(ex + look[0], ey + look[1], er * 0.25, er * 0.25), fill=(10, 10, 10))
        by = ey - er - 2.5
        d.line([((ex - 3.5) * u, (by + side * brow * 3) * u), ((ex + 3.5) * u, (by - side * brow * 3) * u)],
               fill=tuple(int(v * 0.6) for v in hair), width=max(1, int(1.3 * u)))
    if rng.random() < 0.25:  # glasses
        frame = _jitter(rng, (30, 30, 30), 40)
        for side in (-1, 1):
            d.ellipse(box(cx + side * dx, ey, er + 2, er + 1.5), outline=frame, width=max(1, int(0.9 * u)))
        d.line([((cx - dx + er + 2) * u, ey * u), ((cx + dx - er - 2) * u, ey * u)], fill=frame,
               width=max(1, int(0.9 * u)))
    return dx


def _nose(canvas: _Canvas, rng: np.random.Generator, cx: float, cy: float, dx: float,
          shade: tuple[int, ...]) -> None:
    """The nose and sometimes blushed cheeks."""
    d, box = canvas.d, canvas.box
    ny = cy + rng.uniform(3, 6)
    d.ellipse(box(cx, ny, rng.uniform(1.5, 2.5), rng.uniform(1.2, 2.0)), fill=shade)
    if rng.random() < 0.4:  # blush
        for side in (-1, 1):
            d.ellipse(box(cx + side * (dx + 2), ny + 1, 3, 1.8), fill=_jitter(rng, (235, 130, 130), 10))


def _mouth(canvas: _Canvas, rng: np.random.Generator, cx: float, cy: float, ry: float) -> None:
    """A smiling, frowning, open or flat mouth."""
    d, u, box = canvas.d, canvas.u, canvas.box
    my = cy + ry * rng.uniform(0.45, 0.6)
    mw = rng.uniform(4, 8)
    mood = rng.choice(["smile", "frown", "open", "flat"], p=[0.5, 0.15, 0.2, 0.15])
    lips = _jitter(rng, (170, 60, 60), 15)
    width = max(1, int(1.2 * u))
    if mood == "smile":
        d.arc(box(cx, my - 3, mw, 4), 20, 160, fill=lips, width=width)
    elif mood == "frown":
        d.arc(box(cx, my + 3, mw, 3), 200, 340, fill=lips, width=width)
    elif mood == "open":
        d.ellipse(box(cx, my, mw * 0.6, rng.uniform(1.5, 3)), fill=(110, 20, 30))
    else:
        d.line([((cx - mw) * u, my * u), ((cx + mw) * u, my * u)], fill=lips, width=width)


def _tilted(img: Image.Image, rng: np.random.Generator, n: int) -> Image.Image:
    """The whole picture rotated, scaled and shifted a little about its centre."""
    u = n / 64.0
    angle = rng.normal(0, 6)
    scale = rng.uniform(0.9, 1.08)
    shift = rng.normal(0, 1.5, 2) * u
    c, s = math.cos(math.radians(angle)) / scale, math.sin(math.radians(angle)) / scale
    ox, oy = n / 2, n / 2
    # Inverse affine map output → input about the centre (PIL's convention); edges repeat the background.
    coeffs = (c, s, ox - c * ox - s * oy - shift[0], -s, c, oy + s * ox - c * oy - shift[1])
    return img.transform((n, n), Image.Transform.AFFINE, coeffs, resample=Image.Resampling.BILINEAR,
                         fillcolor=img.getpixel((0, 0)))


def faces(seeds: range | list[int], size: int = SIZE) -> np.ndarray:
    """A stack of faces, ``(N, size, size, 3)`` uint8, one per seed."""
    return np.stack([draw_face(int(s), size) for s in seeds])


def held_out(n: int, size: int = SIZE) -> np.ndarray:
    """The first ``n`` held-out faces: never in any training set."""
    if n > len(HELD_OUT_SEEDS):
        raise ValueError(f"at most {len(HELD_OUT_SEEDS)} held-out faces")
    return faces(HELD_OUT_SEEDS[:n], size)
