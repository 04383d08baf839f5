"""Circular convolution through ``torch.fft`` and the kernels the blur families use."""

from __future__ import annotations

import math

import torch


def otf(taps: torch.Tensor, offsets: tuple[torch.Tensor, torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
    """Transfer function (``rfft2`` grid) of the circular filter b[n] = Σ_m g[m] x[n − m].

    Parameters
    ----------
    taps : (kh, kw) tensor
        Filter weights.
    offsets : pair of 1-D integer tensors (length kh and kw)
        The displacement m of each row and column of ``taps``: a centred odd kernel of side k
        has offsets ``-(k//2) … k//2``.
    size : (H, W)
    """
    h, w = size
    g = torch.zeros(h, w, dtype=torch.float64)
    rows = (offsets[0] % h)[:, None].expand(taps.shape)
    cols = (offsets[1] % w)[None, :].expand(taps.shape)
    g.index_put_((rows.reshape(-1), cols.reshape(-1)), taps.double().reshape(-1), accumulate=True)
    return torch.fft.rfft2(g).to(torch.complex64)


def apply(x: torch.Tensor, transfer: torch.Tensor) -> torch.Tensor:
    """Circular convolution of every channel of ``x`` with the filter whose transfer is ``transfer``."""
    return torch.fft.irfft2(torch.fft.rfft2(x) * transfer, s=x.shape[-2:])


def apply_adjoint(y: torch.Tensor, transfer: torch.Tensor) -> torch.Tensor:
    """Adjoint of :func:`apply`: correlation, i.e. the conjugate transfer function."""
    return torch.fft.irfft2(torch.fft.rfft2(y) * transfer.conj(), s=y.shape[-2:])


def centred_offsets(k: int) -> torch.Tensor:
    return torch.arange(k) - k // 2


def gaussian_kernel(size: int, sigma: float) -> torch.Tensor:
    """Isotropic Gaussian of standard deviation ``sigma`` (pixels) on a ``size``² grid, sum 1."""
    t = centred_offsets(size).double()
    g = torch.exp(-(t**2) / (2 * sigma**2))
    k = g[:, None] * g[None, :]
    return k / k.sum()


def uniform_kernel(size: int) -> torch.Tensor:
    """The ``size``² box filter, sum 1."""
    return torch.full((size, size), 1.0 / size**2, dtype=torch.float64)


def motion_kernel(size: int, angle_deg: float) -> torch.Tensor:
    """A straight camera-shake line through the centre, ``size`` pixels long, antialiased, sum 1."""
    k = torch.zeros(size, size, dtype=torch.float64)
    c = size // 2
    theta = math.radians(angle_deg)
    dx, dy = math.cos(theta), -math.sin(theta)
    n = 8 * size
    for i in range(n):
        s = (i / (n - 1) - 0.5) * (size - 1)
        px, py = c + s * dx, c + s * dy
        x0, y0 = math.floor(px), math.floor(py)
        fx, fy = px - x0, py - y0
        for yy, xx, wgt in ((y0, x0, (1 - fx) * (1 - fy)), (y0, x0 + 1, fx * (1 - fy)),
                            (y0 + 1, x0, (1 - fx) * fy), (y0 + 1, x0 + 1, fx * fy)):
            if 0 <= yy < size and 0 <= xx < size:
                k[yy, xx] += wgt
    return k / k.sum()


def keys_cubic(t: torch.Tensor, a: float = -0.5) -> torch.Tensor:
    """Keys' cubic convolution kernel (a = −0.5, as Matlab's and PIL's bicubic)."""
    t = t.abs()
    inner = (a + 2) * t**3 - (a + 3) * t**2 + 1
    outer = a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a
    return torch.where(t <= 1, inner, torch.where(t < 2, outer, torch.zeros_like(t)))
