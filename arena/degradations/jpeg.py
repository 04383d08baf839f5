"""JPEG compression: the observation made by Pillow's encoder, A a differentiable model of it."""

from __future__ import annotations

import io

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from arena.degradations.base import DEGRADATIONS, Degradation
from arena.degradations.quantize import round_straight_through
from arena.noise_models import NoiseModel, NoNoise
from arena.params import Param

# Why gradient methods' defaults do not beat the naive inverse (the decoded y) here, shared by their
# ``Method.limits`` (a learned method appends its own figure) and shown to users as the caveat.
ROUNDING_LIMIT = ("straight-through rounding of the DCT coefficients misleads gradient steps: most never change "
                  "the rounded output, so x drifts (smaller λ drifts further: TV −10 dB at λ/100); "
                  "levenberg_marquardt, which keeps only steps that lower the true objective, gains 0.4–0.7 dB")

LUMA = torch.tensor([
    [16, 11, 10, 16, 24, 40, 51, 61], [12, 12, 14, 19, 26, 58, 60, 55], [14, 13, 16, 24, 40, 57, 69, 56],
    [14, 17, 22, 29, 51, 87, 80, 62], [18, 22, 37, 56, 68, 109, 103, 77], [24, 35, 55, 64, 81, 104, 113, 92],
    [49, 64, 78, 87, 103, 121, 120, 101], [72, 92, 95, 98, 112, 100, 103, 99]], dtype=torch.float32)
"""ITU-T T.81 Annex K, Table K.1: the luminance quantization table at quality 50."""
CHROMA = torch.tensor([
    [17, 18, 24, 47, 99, 99, 99, 99], [18, 21, 26, 66, 99, 99, 99, 99], [24, 26, 56, 99, 99, 99, 99, 99],
    [47, 66, 99, 99, 99, 99, 99, 99]] + [[99] * 8] * 4, dtype=torch.float32)
"""ITU-T T.81 Annex K, Table K.2: the chrominance table at quality 50."""
RGB_TO_YCBCR = torch.tensor([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
"""JFIF's full-range YCbCr (Cb and Cr offset by 128)."""
CHROMA_OFFSET = torch.tensor([0.0, 128.0, 128.0])
"""JFIF stores Cb and Cr offset by 128."""
YCBCR_TO_RGB = torch.tensor([[1.0, 0.0, 1.402], [1.0, -0.344136, -0.714136], [1.0, 1.772, 0.0]])


def scaled_table(base: torch.Tensor, quality: int) -> torch.Tensor:
    """The IJG library's quality scaling (``jpeg_quality_scaling`` and ``jpeg_add_quant_table`` in
    libjpeg's ``jcparam.c``, what Pillow's ``quality`` sets), all in integers: q clamped to
    [1, 100]; s = ⌊5000/q⌋ below 50, 200 − 2q from 50 on; Q = ⌊(base·s + 50)/100⌋ clamped to
    [1, 255] (baseline tables)."""
    q = min(max(int(quality), 1), 100)
    s = 5000 // q if q < 50 else 200 - 2 * q
    return torch.clamp(torch.div(base.long() * s + 50, 100, rounding_mode="floor"), 1, 255).to(base.dtype)


def dct_matrix(n: int = 8) -> torch.Tensor:
    """The orthonormal DCT-II: JPEG's 2-D transform of a block B is D B Dᵀ."""
    k = torch.arange(n, dtype=torch.float64)
    d = torch.cos(torch.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n)) * (2 / n) ** 0.5
    d[0] /= 2**0.5
    return d.float()


def _pad_to(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Replicate the last row and column up to a multiple of ``multiple``, as libjpeg pads blocks."""
    h, w = x.shape[-2:]
    return F.pad(x, (0, -w % multiple, 0, -h % multiple), mode="replicate")


@DEGRADATIONS.register
class Jpeg(Degradation):
    """JPEG compression at a quality setting (the Deep Image Prior paper's JPEG artefact removal).

    y is what Pillow's encoder and decoder make of x (libjpeg, quality q, chroma subsampling
    4:2:0 or 4:4:4). A is a differentiable model of the same pipeline: RGB → YCbCr (JFIF), chroma
    averaged 2×2 (4:2:0), 8×8 block DCT, each coefficient rounded to a multiple of its entry of
    the standard quantization table scaled by q (rounding with a straight-through gradient), the
    inverse DCT with every Y, Cb and Cr sample rounded and clamped to 0–255 (libjpeg's range
    limit), chroma upsampled bilinearly (libjpeg's "fancy" triangle filter), YCbCr → RGB,
    rounding to 8 bits. It differs from libjpeg only in the integer DCT and rounding details
    (``tests/test_degradations.py`` measures it against Pillow). Gray images are one Y plane.
    """

    name = "jpeg"
    order = 70
    label = "JPEG compression"
    linear = False
    rounds_only = True
    noise_key = None
    params = (
        Param("quality", 10, "JPEG quality (lower: coarser quantization, stronger blocking)", min=1, max=95),
        Param("subsampling", "4:2:0", "chroma subsampling (Pillow's default is 4:2:0)", choices=("4:2:0", "4:4:4")),
    )

    def setup(self) -> None:
        q = int(self.values["quality"])
        self.tables = (scaled_table(LUMA, q).to(self.device), scaled_table(CHROMA, q).to(self.device))
        self.dct = dct_matrix().to(self.device)
        self.half = self.values["subsampling"] == "4:2:0"

    def make_noise(self) -> NoiseModel:
        return NoNoise()

    def observe(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """y from Pillow: x as 8-bit, encoded at the quality, decoded."""
        arr = (x[0].detach().clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
        img = Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr)
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=int(self.values["quality"]), subsampling=2 if self.half else 0)
        buf.seek(0)
        out = np.asarray(Image.open(buf))
        out = out[..., None] if out.ndim == 2 else out
        return torch.from_numpy(out.copy()).permute(2, 0, 1)[None].float().div(255).to(x.device)

    def A(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        v = x.clamp(0, 1) * 255
        if v.shape[1] == 1:
            return (self._code(v, self.tables[0]) / 255)[..., :h, :w]
        offset = CHROMA_OFFSET.to(v)[:, None, None]
        ycc = torch.einsum("ij,bjhw->bihw", RGB_TO_YCBCR.to(v), v) + offset
        ycc = round_straight_through(ycc).clamp(0, 255)  # libjpeg's fixed-point conversion stays in 0–255
        luma = self._code(ycc[:, :1], self.tables[0])[..., :h, :w]
        chroma = ycc[:, 1:]
        if self.half:
            small = F.avg_pool2d(_pad_to(chroma, 2), 2)
            chroma = self._code(small, self.tables[1])
            chroma = F.interpolate(chroma, scale_factor=2, mode="bilinear", align_corners=False)
        else:
            chroma = self._code(chroma, self.tables[1])
        ycc = torch.cat([luma, chroma[..., :h, :w]], dim=1) - offset
        rgb = torch.einsum("ij,bjhw->bihw", YCBCR_TO_RGB.to(v), ycc)
        return round_straight_through(rgb.clamp(0, 255)) / 255

    def _code(self, plane: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        """Block DCT, quantize with ``table``, inverse DCT: what encoding + decoding does to planes
        ``(B, C, H, W)`` in 0–255 (padded to whole blocks by replication; the caller crops)."""
        p = _pad_to(plane, 8) - 128
        b, c, hh, ww = p.shape
        blocks = p.reshape(b, c, hh // 8, 8, ww // 8, 8).transpose(3, 4)  # (b, c, by, bx, 8, 8)
        coef = self.dct @ blocks @ self.dct.T
        coef = round_straight_through(coef / table) * table
        out = self.dct.T @ coef @ self.dct
        # libjpeg's inverse DCT range-limits every decoded sample to 0–255 (``range_limit`` in
        # jidctint.c), before chroma upsampling and the YCbCr → RGB conversion
        return round_straight_through(out.transpose(3, 4).reshape(b, c, hh, ww) + 128).clamp(0, 255)

    def initial(self, y: torch.Tensor) -> torch.Tensor:
        return y

    def equivalent_sigma(self) -> float:
        """σ_eq = 1.25 · mean(Q_luma)^0.42 / 255: the RMS error of Pillow's JPEG on the bundled
        photos (camera, astronaut, chelsea, coffee at 256², q = 5…90), fitted within ±30 %."""
        return 1.25 * float(self.tables[0].mean()) ** 0.42 / 255

    def lipschitz(self) -> float:
        """‖J‖² with straight-through rounding. J = M⁻¹ diag(1, P, P) M with M the RGB → YCbCr matrix
        and P the chroma path: P = I for 4:4:4, so ‖J‖ = 1; for 4:2:0 P (averaging, then bilinear
        upsampling) has gains between 0 and 1, and at gain 0 ‖J‖² = ‖M⁻¹e₁‖²‖e₁ᵀM‖² = 3 · 0.447
        = 1.34 (power iteration on a photo: 1.38); 5 % margin on that."""
        if not self.half:
            return 1.0
        luma_only = float(YCBCR_TO_RGB[:, 0].pow(2).sum() * RGB_TO_YCBCR[0].pow(2).sum())
        return 1.05 * max(1.0, luma_only)
