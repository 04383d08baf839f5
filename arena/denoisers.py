"""Off-the-shelf Gaussian denoisers D(x; σ) for RED and DeepRED, from the libraries made for them.

- ``nlm``: scikit-image's non-local means, fast mode, h = 0.6σ, 5×5 patches, 13×13 search
  window (``patch_distance=6``), applied per channel — the DeepRED paper's setting.
- ``bm3d``: the ``bm3d`` package (Mäkinen, Azzari & Foi); CBM3D for colour images.
- ``tv``: scikit-image's Chambolle TV denoiser with weight σ.
- ``dncnn``: our learned DnCNN (``weights/dncnn.md``), blind over σ ∈ [0, 55] — σ is not used;
  the learned denoiser the DeepRED paper suggests in place of NLM/BM3D.
- ``drunet``: our small DRUNet (``weights/drunet.md``), non-blind: σ is an input, so it follows a
  plug-and-play schedule (DPIR).
- ``drunet-published``: the published DRUNet (DPIR's architecture, DeepInverse's fine-tuned weights,
  colour or grey by the image), non-blind; loaded from the torch hub cache through the optional
  deepinv bridge (``arena weights fetch drunet-color drunet-gray``), never downloaded during a run.

All take and return ``(1, C, H, W)`` tensors on any device (the work happens on the CPU).
"""

from __future__ import annotations

import numpy as np
import torch

DENOISERS = ("nlm", "bm3d", "tv", "dncnn", "drunet")
PUBLISHED_DENOISERS = ("drunet-published",)
"""Denoisers whose weights are published files (``arena.bridge.published``): offered by PnP and RED."""
MIN_SIGMA = 3.0 / 255
"""Denoiser strength for noiseless problems (SR, inpainting) when no σ is given."""


def denoiser_sigma(noise_rms: float, sigma_d: float) -> float:
    """σ for D on the [0, 1] scale: ``sigma_d`` (0–255) when set, else the problem's noise level
    (at least :data:`MIN_SIGMA`)."""
    return sigma_d / 255 if sigma_d > 0 else max(noise_rms, MIN_SIGMA)


def published_drunet(channels: int) -> str:
    """The published DRUNet file for an image of ``channels`` channels (grey: 1, colour: 3)."""
    return "drunet-gray" if channels == 1 else "drunet-color"


def published_files(kind: str, channels: int | None = None) -> tuple[str, ...]:
    """The published files denoiser ``kind`` loads for ``channels`` (both DRUNets when not known)."""
    if kind != "drunet-published":
        return ()
    return ("drunet-color", "drunet-gray") if channels is None else (published_drunet(channels),)


def denoise(x: torch.Tensor, sigma: float, kind: str) -> torch.Tensor:
    """D(x) for noise standard deviation ``sigma`` on the [0, 1] scale."""
    if kind not in DENOISERS + PUBLISHED_DENOISERS:
        raise ValueError(f"unknown denoiser {kind!r}; choose one of {', '.join(DENOISERS + PUBLISHED_DENOISERS)}")
    if kind == "drunet-published":
        from arena.bridge.published import load

        net = load(published_drunet(x.shape[1]), x.device)
        with torch.no_grad():
            return net(x.detach().float(), float(sigma)).clamp(0, 1)
    if kind == "drunet":
        from arena.nets.drunet import load_drunet_cached

        with torch.no_grad():
            return load_drunet_cached(str(x.device))(x.detach().float(), float(sigma)).clamp(0, 1)
    if kind == "dncnn":
        from arena.nets.rim import load_dncnn_cached

        with torch.no_grad():
            return load_dncnn_cached(str(x.device))(x.detach().float()).clamp(0, 1)
    arr = x.detach().float().cpu()[0].numpy().transpose(1, 2, 0).astype(np.float64)
    sigma = max(float(sigma), 1e-4)
    if kind == "nlm":
        from skimage.restoration import denoise_nl_means

        out = np.stack([denoise_nl_means(arr[..., c], patch_size=5, patch_distance=6, h=0.6 * sigma,
                                         fast_mode=True, sigma=sigma) for c in range(arr.shape[2])], axis=-1)
    elif kind == "bm3d":
        import bm3d

        if arr.shape[2] == 3:
            out = bm3d.bm3d_rgb(np.clip(arr, 0, 1), sigma)
        else:
            out = bm3d.bm3d(arr[..., 0], sigma)[..., None]
    else:
        from skimage.restoration import denoise_tv_chambolle

        out = denoise_tv_chambolle(arr, weight=sigma, channel_axis=-1)
    out = np.asarray(out, dtype=np.float32).reshape(arr.shape)
    return torch.from_numpy(out.transpose(2, 0, 1).copy())[None].to(x.device)
