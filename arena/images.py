"""Load any image input (path, bytes, array, PIL image) as a float32 tensor in [0, 1].

Every failure raises :class:`~arena.errors.ImageLoadError` with a sentence a user can act on.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from arena.errors import ImageLoadError

Source = str | Path | bytes | np.ndarray | Image.Image

MAX_PIXELS = 40_000_000
"""Decompression-bomb guard: images with more pixels are refused before decoding."""
MAX_BYTES = 64 * 1024 * 1024
MIN_SIDE = 8


@dataclass
class LoadedImage:
    """A loaded image and what happened on the way.

    Attributes
    ----------
    x : Tensor
        ``(1, C, H, W)`` float32 in [0, 1], C = 1 (gray) or 3 (RGB).
    notices : list of str
        Human-readable notes (resized, alpha flattened, rotated by EXIF, ...).
    """

    x: torch.Tensor
    notices: list[str] = field(default_factory=list)


def load_image(
    source: Source,
    *,
    max_side: int | None = None,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int = MAX_BYTES,
    mode: str = "auto",
) -> LoadedImage:
    """Read ``source`` into a float32 ``(1, C, H, W)`` tensor in [0, 1].

    Parameters
    ----------
    source : path, bytes, ndarray or PIL.Image
        Arrays may be ``(H, W)``, ``(H, W, 1|3|4)``; uint8, uint16, bool or float in [0, 1].
    max_side : int, optional
        Downscale (antialiased) so that the longer side is at most this; a notice says so.
    max_pixels, max_bytes : int
        Refuse larger inputs before decoding them.
    mode : {"auto", "rgb", "gray"}
        "auto" keeps gray images gray and everything else RGB.

    Raises
    ------
    ImageLoadError
        Broken, unsupported, too large or too small input.
    """
    if mode not in {"auto", "rgb", "gray"}:
        raise ImageLoadError(f"unknown colour mode {mode!r}; use auto, rgb or gray")
    notices: list[str] = []
    if isinstance(source, np.ndarray):
        arr = _array_to_float(source, notices)
    else:
        img = _open(source, max_pixels=max_pixels, max_bytes=max_bytes)
        frames = getattr(img, "n_frames", 1)
        if frames > 1:
            img.seek(0)
            notices.append(f"the file holds {frames} frames; the first one is used")
        arr = _pil_to_float(img, notices)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if mode == "rgb" and arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    elif mode == "gray" and arr.shape[2] == 3:
        arr = (arr @ np.array([0.299, 0.587, 0.114], dtype=np.float32))[:, :, None]
    h, w = arr.shape[:2]
    if h * w > max_pixels:
        raise ImageLoadError(f"image is {w}×{h} = {w * h:,} pixels; the limit is {max_pixels:,}")
    if min(h, w) < MIN_SIDE:
        raise ImageLoadError(f"image is {w}×{h}; both sides must be at least {MIN_SIDE} pixels")
    x = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))[None].float()
    if max_side is not None:
        x = _fit(x, int(max_side), notices)
    return LoadedImage(x.clamp_(0.0, 1.0).contiguous(), notices)


def _open(source: str | Path | bytes | Image.Image, *, max_pixels: int, max_bytes: int) -> Image.Image:
    if isinstance(source, Image.Image):
        img = source
    else:
        if isinstance(source, (bytes, bytearray)):
            if len(source) > max_bytes:
                raise ImageLoadError(f"file is {len(source) / 2**20:.0f} MiB; the limit is {max_bytes / 2**20:.0f} MiB")
            stream: io.BytesIO | Path = io.BytesIO(source)
            label = "the uploaded data"
        else:
            path = Path(source)
            label = path.name
            if not path.is_file():
                raise ImageLoadError(f"no image file at {path}")
            if path.stat().st_size > max_bytes:
                raise ImageLoadError(
                    f"{label} is {path.stat().st_size / 2**20:.0f} MiB; the limit is {max_bytes / 2**20:.0f} MiB"
                )
            stream = path
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img = Image.open(stream)
                w, h = img.size
                if w * h > max_pixels:
                    raise ImageLoadError(
                        f"{label} is {w}×{h} = {w * h:,} pixels; the limit is {max_pixels:,} "
                        "(a guard against decompression bombs)"
                    )
                img.load()
        except ImageLoadError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageLoadError(f"{label} claims more pixels than the limit of {max_pixels:,}: too large to decode "
                                 "safely (decompression-bomb guard)") from None
        except UnidentifiedImageError:
            raise ImageLoadError(f"{label} is not an image format we can read "
                                 "(PNG, JPEG, TIFF, BMP, WebP, GIF)") from None
        except (OSError, ValueError, SyntaxError) as exc:
            raise ImageLoadError(f"{label} is broken or truncated ({exc})") from None
    return img


def _pil_to_float(img: Image.Image, notices: list[str]) -> np.ndarray:
    """Any PIL mode → float32 (H, W) or (H, W, 3) in [0, 1]."""
    if _exif_orientation(img) not in (None, 1):
        try:
            img = ImageOps.exif_transpose(img)
            notices.append("rotated according to the camera's EXIF orientation")
        except Exception:  # a corrupt EXIF block must not stop an otherwise fine image
            notices.append("the EXIF orientation tag could not be applied; image shown as stored")
    if img.mode in {"I;16", "I;16B", "I;16L", "I;16N", "I"}:
        arr = np.asarray(img).astype(np.float32)
        return np.clip(arr / 65535.0, 0.0, 1.0)
    if img.mode == "F":
        arr = np.asarray(img, dtype=np.float32)
        if np.nanmax(arr) > 1.0:
            arr = arr / 255.0
        return _finite(arr)
    if img.mode == "1":
        img = img.convert("L")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in {"LA", "La", "PA", "RGBA", "RGBa"}:
        has_alpha_use = np.asarray(img.getchannel("A")).min() < 255
        gray = img.mode in {"LA", "La"}
        if has_alpha_use:
            notices.append("transparent areas were flattened onto white")
        base = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(base, img.convert("RGBA")).convert("L" if gray else "RGB")
    if img.mode == "L":
        return np.asarray(img, dtype=np.float32) / 255.0
    if img.mode != "RGB":
        img = img.convert("RGB")
    return np.asarray(img, dtype=np.float32) / 255.0


def _exif_orientation(img: Image.Image) -> int | None:
    try:
        return img.getexif().get(0x0112)
    except Exception:
        return None


def _array_to_float(arr: np.ndarray, notices: list[str]) -> np.ndarray:
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ImageLoadError(f"array of shape {arr.shape} is not an image; expected (H, W) or (H, W, 1|3|4)")
    if arr.dtype == np.bool_:
        out = arr.astype(np.float32)
    elif arr.dtype == np.uint8:
        out = arr.astype(np.float32) / 255.0
    elif arr.dtype == np.uint16:
        out = arr.astype(np.float32) / 65535.0
    elif np.issubdtype(arr.dtype, np.floating):
        out = _finite(arr.astype(np.float32))
        if out.min() < 0.0 or out.max() > 1.0:
            notices.append("values outside [0, 1] were clipped")
            out = np.clip(out, 0.0, 1.0)
    else:
        raise ImageLoadError(f"array dtype {arr.dtype} is not supported; use uint8, uint16, bool or float in [0, 1]")
    if out.ndim == 3 and out.shape[2] == 4:
        alpha = out[:, :, 3:]
        if alpha.min() < 1.0:
            notices.append("transparent areas were flattened onto white")
        out = out[:, :, :3] * alpha + (1.0 - alpha)
    return out


def _finite(arr: np.ndarray) -> np.ndarray:
    if not np.isfinite(arr).all():
        raise ImageLoadError("image contains NaN or infinite values")
    return arr


def _fit(x: torch.Tensor, max_side: int, notices: list[str]) -> torch.Tensor:
    if max_side < MIN_SIDE:
        raise ImageLoadError(f"max_side={max_side} is too small; use at least {MIN_SIDE}")
    h, w = x.shape[-2:]
    if max(h, w) <= max_side:
        return x
    scale = max_side / max(h, w)
    nh, nw = max(MIN_SIDE, round(h * scale)), max(MIN_SIDE, round(w * scale))
    notices.append(f"resized from {w}×{h} to {nw}×{nh} (longest side at most {max_side})")
    return F.interpolate(x, size=(nh, nw), mode="bicubic", antialias=True, align_corners=False)


def to_numpy(x: torch.Tensor) -> np.ndarray:
    """``(1, C, H, W)`` or ``(C, H, W)`` tensor → ``(H, W)`` or ``(H, W, 3)`` float64 clipped to [0, 1]."""
    t = x.detach().float().cpu()
    if t.ndim == 4:
        t = t[0]
    arr = t.clamp(0.0, 1.0).numpy().transpose(1, 2, 0).astype(np.float64)
    return arr[:, :, 0] if arr.shape[2] == 1 else arr


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """Tensor → uint8 array for display or PNG (rounded, clipped)."""
    return np.round(to_numpy(x) * 255.0).astype(np.uint8)


def save_png(x: torch.Tensor, path: str | Path) -> Path:
    """Write a tensor as a lossless 8-bit PNG."""
    path = Path(path)
    Image.fromarray(to_uint8(x)).save(path, format="PNG")
    return path


def zoom_window(shape: tuple[int, ...], cx: float, cy: float, size: int) -> tuple[int, int, int]:
    """(top, left, side) of the ``size``² window centred at (cx, cy) ∈ [0, 1]², kept inside the image."""
    h, w = shape[-2:]
    size = max(1, min(size, h, w))
    return min(max(0, round(cy * h - size / 2)), h - size), min(max(0, round(cx * w - size / 2)), w - size), size


def zoom_crop(x: torch.Tensor, cx: float, cy: float, size: int, scale: int = 4) -> torch.Tensor:
    """The ``size``² window centred at the relative position (cx, cy) ∈ [0, 1]², enlarged ``scale``×
    with nearest-neighbour (pixels stay visible as squares)."""
    top, left, size = zoom_window(x.shape, cx, cy, size)
    crop = x[..., top : top + size, left : left + size]
    return crop.repeat_interleave(scale, dim=-2).repeat_interleave(scale, dim=-1)


def fit_domain(x: torch.Tensor, shape: tuple[int, int, int]) -> tuple[torch.Tensor, list[str]]:
    """Centre-crop ``x`` to the aspect ratio of ``shape`` = (C, H, W), resize (antialiased) and
    repeat a grey channel to colour, for methods that only work at one size; with notices."""
    c, h, w = shape
    notices: list[str] = []
    _, xc, xh, xw = x.shape
    if (xh, xw) != (h, w):
        ch, cw = min(xh, xw * h // w), min(xw, xh * w // h)
        top, left = (xh - ch) // 2, (xw - cw) // 2
        x = x[..., top : top + ch, left : left + cw]
        x = F.interpolate(x, size=(h, w), mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)
        notices.append(f"cropped and resized from {xw}×{xh} to {w}×{h}, the size the generative prior works at")
    if xc == 1 and c == 3:
        x = x.repeat(1, 3, 1, 1)
        notices.append("grey image repeated to three colour channels for the generative prior")
    return x.contiguous(), notices
