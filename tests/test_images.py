"""The loader turns every input form and PIL mode into float32 [0, 1] and refuses bad input clearly."""

import io

import numpy as np
import pytest
import torch
from PIL import Image, ImageFile

from arena.errors import ImageLoadError
from arena.images import load_image, save_png


def _png(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


RGB = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)


@pytest.mark.parametrize("mode,channels",
                         [("L", 1), ("RGB", 3), ("P", 3), ("CMYK", 3), ("1", 1), ("LA", 1), ("RGBA", 3)])
def test_pil_modes(mode, channels):
    img = Image.fromarray(RGB).convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    out = load_image(_png(img, fmt))
    assert out.x.dtype == torch.float32 and out.x.shape == (1, channels, 20, 30)
    assert 0.0 <= float(out.x.min()) and float(out.x.max()) <= 1.0


def test_rgb_values_exact():
    out = load_image(_png(Image.fromarray(RGB)))
    assert torch.allclose(out.x[0].permute(1, 2, 0), torch.from_numpy(RGB).float() / 255)


def test_sixteen_bit_png_keeps_precision(tmp_path):
    arr = (np.arange(20 * 30, dtype=np.uint16).reshape(20, 30) * 97).astype(np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(arr).save(path)
    x = load_image(path).x
    assert x.shape == (1, 1, 20, 30)
    assert torch.allclose(x[0, 0], torch.from_numpy(arr.astype(np.float32) / 65535), atol=1e-7)


def test_transparent_pixels_flatten_to_white():
    rgba = np.zeros((10, 10, 4), dtype=np.uint8)
    rgba[..., 0] = 255
    rgba[:5, :, 3] = 255  # top half opaque red, bottom half transparent
    out = load_image(_png(Image.fromarray(rgba, "RGBA")))
    assert torch.allclose(out.x[0, :, 0, 0], torch.tensor([1.0, 0.0, 0.0]))
    assert torch.allclose(out.x[0, :, 9, 0], torch.ones(3))
    assert any("transparent" in n for n in out.notices)


def test_exif_rotation_applied():
    arr = np.zeros((10, 20, 3), dtype=np.uint8)  # wide image, marked "rotate 90°"
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = 6
    out = load_image(_png(img, "JPEG", exif=exif))
    assert out.x.shape[-2:] == (20, 10)
    assert any("EXIF" in n for n in out.notices)


def test_arrays():
    assert load_image(RGB).x.shape == (1, 3, 20, 30)
    assert load_image(RGB[..., 0]).x.shape == (1, 1, 20, 30)
    assert load_image(RGB.astype(np.uint16) * 257).x.max() <= 1.0
    f = load_image(RGB.astype(np.float32) / 255 * 2)
    assert f.x.max() == 1.0 and any("clipped" in n for n in f.notices)
    with pytest.raises(ImageLoadError, match="NaN"):
        load_image(np.full((10, 10), np.nan, dtype=np.float32))
    with pytest.raises(ImageLoadError, match="not an image"):
        load_image(np.zeros((10, 10, 5), dtype=np.uint8))


def test_modes_gray_and_rgb():
    assert load_image(RGB, mode="gray").x.shape[1] == 1
    assert load_image(RGB[..., 0], mode="rgb").x.shape[1] == 3


def test_max_side_resizes_with_notice():
    out = load_image(np.zeros((100, 200), dtype=np.uint8), max_side=50)
    assert out.x.shape[-2:] == (25, 50)
    assert any("resized from 200×100 to 50×25" in n for n in out.notices)


@pytest.mark.parametrize("data,match", [
    (b"not an image at all", "not an image format"),
    (_png(Image.fromarray(RGB))[:60], "broken or truncated"),
])
def test_broken_input(data, match):
    with pytest.raises(ImageLoadError, match=match):
        load_image(data)


def test_missing_file(tmp_path):
    with pytest.raises(ImageLoadError, match="no image file"):
        load_image(tmp_path / "nope.png")


def test_decompression_bomb_refused_before_decoding(monkeypatch):
    """Refused from the header's size alone: no pixel is decoded, and the message says which guard."""
    big = _png(Image.new("L", (3000, 3000)))

    def decode(self):
        raise AssertionError("the image was decoded before its size was checked")

    monkeypatch.setattr(ImageFile.ImageFile, "load", decode)
    with pytest.raises(ImageLoadError, match=r"9,000,000 pixels; the limit is 1,000,000 \(a guard against decomp"):
        load_image(big, max_pixels=1_000_000)


def test_too_small_and_too_large_bytes():
    with pytest.raises(ImageLoadError, match="at least 8"):
        load_image(np.zeros((4, 40), dtype=np.uint8))
    with pytest.raises(ImageLoadError, match="MiB"):
        load_image(_png(Image.fromarray(RGB)), max_bytes=100)


def test_save_png_roundtrip(tmp_path):
    x = load_image(RGB).x
    back = load_image(save_png(x, tmp_path / "a.png")).x
    assert torch.equal(back, x)
